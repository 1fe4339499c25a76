"""Customers of a merchant: who they are (name, company, address, VAT and company numbers) and how to reach them."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, or_, select

from portal.domain.errors import DomainError
from portal.domain.identifiers import check_party_numbers, optional_text
from portal.domain.parties import Address
from portal.extensions import db
from portal.models import Customer, Merchant
from portal.models.base import utcnow
from portal.services.errors import NotFound

#: Stands for "not given" in a partial update, where None means "clear it".
UNSET = object()


def check_language(language: str) -> str:
    """Return the language if the portal speaks it."""
    if language not in current_app.config["LANGUAGES"]:
        supported = ", ".join(current_app.config["LANGUAGES"])
        raise DomainError(f"Language must be one of {supported}", "language")
    return language


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError("A customer needs a name", "name")
    if len(name) > 200:
        raise DomainError("The name is at most 200 characters", "name")
    return name


def _set_identity(customer: Customer, changes: dict) -> None:
    """Apply the identity fields given, checking VAT and company numbers against the resulting address."""
    if "address" in changes:
        customer.set_address(changes["address"])
    if "company" in changes:
        customer.company = optional_text(changes["company"], "company", 200)
    if "phone" in changes:
        from portal.services.sms import normalize_phone

        customer.phone = normalize_phone(changes["phone"], customer.country or customer.merchant.country)
    vat = changes.get("vat_number", customer.vat_number)
    company_number = changes.get("company_number", customer.company_number)
    customer.vat_number, customer.company_number = check_party_numbers(vat, company_number, customer.country)


def create_customer(
    merchant: Merchant,
    *,
    name: str,
    email: str,
    language: str = "en",
    company: str | None = None,
    address: Address | None = None,
    vat_number: str | None = None,
    company_number: str | None = None,
    phone: str | None = None,
    consumer: bool = False,
    reminders_paused: bool = False,
) -> Customer:
    """Create a customer of the merchant."""
    customer = Customer(
        merchant=merchant,
        name=_name(name),
        email=email.strip(),
        language=check_language(language),
        consumer=bool(consumer),
        reminders_paused=bool(reminders_paused),
    )
    _set_identity(
        customer,
        dict(company=company, address=address, vat_number=vat_number, company_number=company_number, phone=phone),
    )
    db.session.add(customer)
    db.session.flush()
    from portal.services.contacts import primary_contact

    primary_contact(customer)  # the customer's own address is its first billing contact
    return customer


def get_customer(merchant: Merchant, customer_id: int, field: str | None = None) -> Customer:
    """Return the merchant's customer, or NotFound for anyone else's."""
    customer = db.session.scalar(
        select(Customer).where(Customer.id == customer_id, Customer.merchant_id == merchant.id)
    )
    if customer is None:
        raise NotFound("No such customer", field)
    return customer


def revoke_links(customer: Customer) -> None:
    """Invalidate every portal link issued to the customer so far."""
    customer.link_version += 1
    db.session.flush()


def update_customer(
    customer: Customer,
    *,
    name: str | object = UNSET,
    email: str | object = UNSET,
    language: str | object = UNSET,
    company: str | None | object = UNSET,
    address: Address | None | object = UNSET,
    vat_number: str | None | object = UNSET,
    company_number: str | None | object = UNSET,
    phone: str | None | object = UNSET,
    consumer: bool | object = UNSET,
    reminders_paused: bool | object = UNSET,
) -> Customer:
    """Change what is given of a customer; documents already finalized keep the customer they were issued to."""
    if consumer is not UNSET:
        customer.consumer = bool(consumer)
    if reminders_paused is not UNSET:
        customer.reminders_paused = bool(reminders_paused)
    if name is not UNSET:
        customer.name = _name(name)
    if email is not UNSET:
        customer.email = email.strip()
    if language is not UNSET:
        customer.language = check_language(language)
    given = dict(company=company, address=address, vat_number=vat_number, company_number=company_number, phone=phone)
    _set_identity(customer, {key: value for key, value in given.items() if value is not UNSET})
    db.session.flush()
    if name is not UNSET or email is not UNSET or language is not UNSET:
        from portal.services.contacts import sync_primary

        sync_primary(customer)
    return customer


def search_customers(
    merchant: Merchant, query: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[list[Customer], bool]:
    """Return one page of the merchant's customers whose name, company or email holds the query, and whether more follow."""
    statement = (
        select(Customer).where(Customer.merchant_id == merchant.id).order_by(func.lower(Customer.name), Customer.id)
    )
    query = query.strip().lower()
    if query:
        statement = statement.where(
            or_(
                func.lower(Customer.name).contains(query, autoescape=True),
                func.lower(Customer.company).contains(query, autoescape=True),
                func.lower(Customer.email).contains(query, autoescape=True),
            )
        )
    rows = list(db.session.scalars(statement.limit(limit + 1).offset(offset)))
    return rows[:limit], len(rows) > limit


def archive_customer(customer: Customer) -> Customer:
    """Set a customer aside: lists leave it out and no new invoice is drafted for it; its documents stay."""
    if customer.archived_at is None:
        customer.archived_at = utcnow()
    db.session.flush()
    return customer


def restore_customer(customer: Customer) -> Customer:
    """Bring an archived customer back into the lists."""
    customer.archived_at = None
    db.session.flush()
    return customer

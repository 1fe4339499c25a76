"""Customers of a merchant."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Customer, Merchant
from portal.services.errors import NotFound


def check_language(language: str) -> str:
    """Return the language if the portal speaks it."""
    if language not in current_app.config["LANGUAGES"]:
        supported = ", ".join(current_app.config["LANGUAGES"])
        raise DomainError(f"Language must be one of {supported}", "language")
    return language


def create_customer(merchant: Merchant, *, name: str, email: str, language: str = "en") -> Customer:
    """Create a customer of the merchant."""
    name = name.strip()
    if not name:
        raise DomainError("A customer needs a name", "name")
    customer = Customer(merchant=merchant, name=name, email=email.strip(), language=check_language(language))
    db.session.add(customer)
    db.session.flush()
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


def update_customer(customer: Customer, *, name: str, email: str, language: str) -> Customer:
    """Change a customer's name, address and language."""
    name = name.strip()
    if not name:
        raise DomainError("A customer needs a name", "name")
    customer.name = name
    customer.email = email.strip()
    customer.language = check_language(language)
    db.session.flush()
    return customer


def search_customers(
    merchant: Merchant, query: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[list[Customer], bool]:
    """Return one page of the merchant's customers whose name or email holds the query, and whether more follow."""
    from sqlalchemy import func, or_

    statement = (
        select(Customer).where(Customer.merchant_id == merchant.id).order_by(func.lower(Customer.name), Customer.id)
    )
    query = query.strip().lower()
    if query:
        statement = statement.where(
            or_(
                func.lower(Customer.name).contains(query, autoescape=True),
                func.lower(Customer.email).contains(query, autoescape=True),
            )
        )
    rows = list(db.session.scalars(statement.limit(limit + 1).offset(offset)))
    return rows[:limit], len(rows) > limit

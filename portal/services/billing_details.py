"""Billing details kept by the customer: company name, address, VAT number, purchase order, language.

A change applies to documents finalized afterwards only (issued ones keep their snapshot). Every
change is logged for staff, who are notified; when the merchant requires approval it waits, pending,
until staff approve it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.domain.identifiers import check_party_numbers, optional_text
from portal.domain.parties import Address, check_address
from portal.extensions import db
from portal.models import Customer, Merchant, StaffUser
from portal.models.base import utcnow
from portal.models.self_service import BillingDetailChange
from portal.services.customers import check_language, update_customer
from portal.services.errors import Conflict, NotFound

#: What a customer may change themselves, in the order the change log shows it.
FIELDS = ("company", "address", "vat_number", "purchase_order", "language")


@dataclass(frozen=True)
class BillingDetails:
    company: str | None
    address: Address | None
    vat_number: str | None
    purchase_order: str | None
    language: str

    def to_json(self) -> dict:
        return {
            "company": self.company,
            "address": self.address.to_json() if self.address else None,
            "vat_number": self.vat_number,
            "purchase_order": self.purchase_order,
            "language": self.language,
        }


def current_details(customer: Customer) -> BillingDetails:
    """Return the customer's billing details as documents finalized now would use them."""
    return BillingDetails(
        customer.company, customer.address, customer.vat_number, customer.purchase_order, customer.language
    )


def check_details(
    customer: Customer,
    *,
    company: str | None,
    line1: str | None,
    line2: str | None,
    postal_code: str | None,
    city: str | None,
    country: str | None,
    vat_number: str | None,
    purchase_order: str | None,
    language: str,
) -> BillingDetails:
    """Return the details checked as staff's edits are (the VAT number as the legal-invoice rules read it)."""
    address = check_address(
        line1=line1, line2=line2, postal_code=postal_code, city=city, country=(country or "").upper() or None
    )
    vat, _ = check_party_numbers(vat_number, customer.company_number, address.country if address else None)
    return BillingDetails(
        company=optional_text(company, "company", 200),
        address=address,
        vat_number=vat,
        purchase_order=optional_text(purchase_order, "purchase_order", 100),
        language=check_language(language),
    )


def request_change(
    customer: Customer, details: BillingDetails, *, contact_id: int | None = None
) -> BillingDetailChange | None:
    """Log the change (None when nothing changes), apply it unless the merchant requires approval, notify staff."""
    from portal.mail.notifications import notify_staff_of_billing_change

    old, new = current_details(customer).to_json(), details.to_json()
    changes = {name: {"old": old[name], "new": new[name]} for name in FIELDS if old[name] != new[name]}
    if not changes:
        return None
    change = BillingDetailChange(
        merchant_id=customer.merchant_id,
        customer_id=customer.id,
        contact_id=contact_id,
        changes=changes,
        status="pending",
    )
    db.session.add(change)
    if not customer.merchant.billing_changes_need_approval:
        _apply(change, customer)
    db.session.flush()
    notify_staff_of_billing_change(change)
    return change


def _apply(change: BillingDetailChange, customer: Customer) -> None:
    values = {name: value["new"] for name, value in change.changes.items()}
    given = {}
    if "company" in values:
        given["company"] = values["company"]
    if "address" in values:
        given["address"] = Address.from_json(values["address"])
    if "vat_number" in values:
        given["vat_number"] = values["vat_number"]
    if "language" in values:
        given["language"] = values["language"]
    update_customer(customer, **given)
    if "purchase_order" in values:
        customer.purchase_order = values["purchase_order"]
    change.status = "applied"
    change.decided_at = utcnow()


def pending_change(customer: Customer) -> BillingDetailChange | None:
    """Return the newest change still waiting for staff, if any."""
    return db.session.scalar(
        select(BillingDetailChange)
        .where(BillingDetailChange.customer_id == customer.id, BillingDetailChange.status == "pending")
        .order_by(BillingDetailChange.id.desc())
        .limit(1)
    )


def change_log(customer: Customer) -> list[BillingDetailChange]:
    """Return every change the customer asked for, newest first."""
    return list(
        db.session.scalars(
            select(BillingDetailChange)
            .where(BillingDetailChange.customer_id == customer.id)
            .order_by(BillingDetailChange.created_at.desc(), BillingDetailChange.id.desc())
        )
    )


def get_change(merchant: Merchant, change_id: int) -> BillingDetailChange:
    change = db.session.scalar(
        select(BillingDetailChange).where(
            BillingDetailChange.id == change_id, BillingDetailChange.merchant_id == merchant.id
        )
    )
    if change is None:
        raise NotFound("No such change")
    return change


def decide_change(change: BillingDetailChange, *, approve: bool, staff: StaffUser) -> None:
    """Apply (approve) or drop (reject) a pending change."""
    if change.status != "pending":
        raise Conflict(f"This change was {change.status} already", "status")
    try:
        if approve:
            _apply(change, change.customer)
        else:
            change.status = "rejected"
            change.decided_at = utcnow()
    except DomainError:
        raise
    change.decided_by_id = staff.id
    db.session.flush()

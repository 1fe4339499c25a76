"""Who the customer is (from the session) and which documents they may open."""

from __future__ import annotations

from flask import abort, session
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice

SESSION_CUSTOMER = "customer_id"
SESSION_LINK_VERSION = "link_version"


def start_customer_session(customer: Customer) -> None:
    """Remember the customer for this browser session."""
    session.clear()
    session[SESSION_CUSTOMER] = customer.id
    session[SESSION_LINK_VERSION] = customer.link_version
    session.permanent = False


def current_customer() -> Customer | None:
    """Return the signed-in customer, or None (also after their links were revoked)."""
    customer_id = session.get(SESSION_CUSTOMER)
    if not isinstance(customer_id, int):
        return None
    customer = db.session.get(Customer, customer_id)
    if customer is None or session.get(SESSION_LINK_VERSION) != customer.link_version:
        return None
    return customer


def customer_invoice(customer: Customer, number: str) -> Invoice:
    """Return the customer's finalized invoice by number, or abort 404 like a missing one."""
    invoice = db.session.scalar(
        select(Invoice)
        .where(
            Invoice.merchant_id == customer.merchant_id,
            Invoice.customer_id == customer.id,
            Invoice.number == number,
            Invoice.status != "draft",
        )
        .options(selectinload(Invoice.lines), selectinload(Invoice.payments), selectinload(Invoice.credit_notes))
    )
    if invoice is None:
        abort(404)
    return invoice


def customer_credit_note(customer: Customer, number: str) -> CreditNote:
    """Return the customer's credit note by number, or abort 404 like a missing one."""
    note = db.session.scalar(
        select(CreditNote)
        .where(
            CreditNote.merchant_id == customer.merchant_id,
            CreditNote.customer_id == customer.id,
            CreditNote.number == number,
        )
        .options(selectinload(CreditNote.lines))
    )
    if note is None:
        abort(404)
    return note

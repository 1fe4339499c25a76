"""Who the customer is (from the session) and which documents they may open."""

from __future__ import annotations

from flask import abort, g, session
from flask_limiter.util import get_remote_address
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice
from portal.models.self_service import Contact

SESSION_CUSTOMER = "customer_id"
SESSION_LINK_VERSION = "link_version"
SESSION_CONTACT = "contact_id"
SESSION_CONTACT_VERSION = "contact_link_version"
#: The merchant whose brand error pages show when no customer is signed in (kept after signing out).
SESSION_BRAND_MERCHANT = "brand_merchant_id"


def start_customer_session(customer: Customer, contact: Contact | None = None) -> None:
    """Remember the customer, and which of its contacts is reading, for this browser session."""
    session.clear()
    g.pop("portal_customer", None)
    g.pop("portal_contact", None)
    session[SESSION_CUSTOMER] = customer.id
    session[SESSION_LINK_VERSION] = customer.link_version
    if contact is not None:
        session[SESSION_CONTACT] = contact.id
        session[SESSION_CONTACT_VERSION] = contact.link_version
    session[SESSION_BRAND_MERCHANT] = customer.merchant_id
    session.permanent = False


def current_contact() -> Contact | None:
    """Return the contact reading the portal (the primary one for sessions begun before contacts existed)."""
    customer = current_customer()
    if customer is None:
        return None
    return g.portal_contact


def require_acting_contact() -> Contact | None:
    """Abort 403 when the reader is a viewer the merchant lets only look; return the contact otherwise."""
    from portal.services.contacts import may_act

    contact = current_contact()
    if not may_act(contact):
        abort(403)
    return contact


def current_customer() -> Customer | None:
    """Return the signed-in customer, or None (also after their links were revoked)."""
    # The locale selector, the context processor and the view all ask; look once per request.
    if "portal_customer" not in g:
        g.portal_customer, g.portal_contact = _load_customer()
    return g.portal_customer


def _load_customer() -> tuple[Customer | None, Contact | None]:
    customer_id = session.get(SESSION_CUSTOMER)
    if not isinstance(customer_id, int):
        return None, None
    # With its merchant: every portal page shows the merchant's name, brand and time zone.
    customer = db.session.get(Customer, customer_id, options=[joinedload(Customer.merchant)])
    if customer is None or session.get(SESSION_LINK_VERSION) != customer.link_version:
        return None, None
    contact_id = session.get(SESSION_CONTACT)
    if contact_id is None:
        from portal.services.contacts import primary_contact

        return customer, primary_contact(customer)
    contact = db.session.get(Contact, contact_id) if isinstance(contact_id, int) else None
    # Revoking one contact's links (or removing the contact) ends their sessions, not the others'.
    if (
        contact is None
        or contact.customer_id != customer.id
        or contact.removed_at is not None
        or session.get(SESSION_CONTACT_VERSION) != contact.link_version
    ):
        return None, None
    return customer, contact


def require_customer() -> Customer:
    """Return the signed-in customer, or abort 401 (the page asks to open the emailed link)."""
    customer = current_customer()
    if customer is None:
        abort(401)
    return customer


def customer_rate_key() -> str:
    """Key rate limits on the signed-in customer, falling back to the caller's address."""
    customer_id = session.get(SESSION_CUSTOMER)
    if isinstance(customer_id, int):
        return f"customer:{customer_id}"
    return f"address:{get_remote_address()}"


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

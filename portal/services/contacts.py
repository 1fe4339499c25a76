"""The contacts of a customer (a company): each with their own links, language, role and mail preferences.

Every customer has one primary billing contact (its own email and language); links that name only
the customer open as that contact, so links sent before contacts existed keep working. A billing
contact receives invoices, reminders and statements and may pay; a viewer only looks (and, when
the merchant so decides, may neither pay nor comment).
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Customer, Merchant
from portal.models.base import utcnow
from portal.models.self_service import CONTACT_ROLES, Contact
from portal.services.customers import check_language
from portal.services.errors import Conflict, NotFound

#: Kinds of mail a contact may switch off, with the preference that decides.
PREFERENCES = {
    "invoice": "notify_invoices",
    "reminder": "notify_reminders",
    "payment": "notify_payments",
    "statement": "notify_statements",
}
#: Mail the law requires to reach the customer (e.g. the first reminder of the Belgian B2C rule):
#: preferences never switch it off.
LEGALLY_REQUIRED = frozenset({"legal_reminder"})


def _email(value: str) -> str:
    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise DomainError("This is not a valid email address", "email") from None


def _name(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 200:
        raise DomainError("A contact needs a name of at most 200 characters", "name")
    return value


def _role(value: str) -> str:
    if value not in CONTACT_ROLES:
        raise DomainError(f"Role must be one of {', '.join(CONTACT_ROLES)}", "role")
    return value


def primary_contact(customer: Customer) -> Contact:
    """Return the customer's primary contact, creating it from the customer's own address when missing."""
    contact = db.session.scalar(
        select(Contact).where(Contact.customer_id == customer.id, Contact.is_primary.is_(True)).limit(1)
    )
    if contact is None:
        contact = Contact(
            merchant_id=customer.merchant_id,
            customer_id=customer.id,
            name=customer.name,
            email=customer.email,
            language=customer.language,
            role="billing",
            is_primary=True,
            link_version=1,
        )
        db.session.add(contact)
        db.session.flush()
    return contact


def sync_primary(customer: Customer) -> None:
    """Keep the primary contact's name, email and language those of the customer."""
    contact = primary_contact(customer)
    contact.name, contact.email, contact.language = customer.name, customer.email, customer.language


def list_contacts(customer: Customer) -> list[Contact]:
    """Return the customer's contacts (removed ones left out), the primary first."""
    primary_contact(customer)
    return list(
        db.session.scalars(
            select(Contact)
            .where(Contact.customer_id == customer.id, Contact.removed_at.is_(None))
            .order_by(Contact.is_primary.desc(), Contact.id)
        )
    )


def get_contact(merchant: Merchant, contact_id: int) -> Contact:
    """Return the merchant's contact, or NotFound for anyone else's (or a removed one)."""
    contact = db.session.scalar(
        select(Contact).where(
            Contact.id == contact_id, Contact.merchant_id == merchant.id, Contact.removed_at.is_(None)
        )
    )
    if contact is None:
        raise NotFound("No such contact")
    return contact


def find_contact_by_email(merchant_id: int, email: str) -> Contact | None:
    """Return the merchant's (not removed) contact with this address, the primary ones first, or None."""
    return db.session.scalar(
        select(Contact)
        .where(
            Contact.merchant_id == merchant_id,
            Contact.removed_at.is_(None),
            func.lower(Contact.email) == (email or "").strip().lower(),
        )
        .order_by(Contact.is_primary.desc(), Contact.id)
        .limit(1)
    )


def add_contact(customer: Customer, *, name: str, email: str, language: str, role: str = "billing") -> Contact:
    """Add a contact to the customer; they get links of their own."""
    primary_contact(customer)
    contact = Contact(
        merchant_id=customer.merchant_id,
        customer_id=customer.id,
        name=_name(name),
        email=_email(email),
        language=check_language(language),
        role=_role(role),
        is_primary=False,
        link_version=1,
    )
    db.session.add(contact)
    db.session.flush()
    return contact


def update_contact(contact: Contact, **changes) -> Contact:
    """Change what is given of a contact (name, email, language, role, notify_*)."""
    if "name" in changes:
        contact.name = _name(changes["name"])
    if "email" in changes:
        contact.email = _email(changes["email"])
    if "language" in changes:
        contact.language = check_language(changes["language"])
    if "role" in changes:
        role = _role(changes["role"])
        if contact.is_primary and role != "billing":
            raise Conflict("The primary contact is a billing contact", "role")
        contact.role = role
    for preference in PREFERENCES.values():
        if preference in changes:
            setattr(contact, preference, bool(changes[preference]))
    if contact.is_primary:
        customer = contact.customer
        customer.name, customer.email, customer.language = contact.name, contact.email, contact.language
    db.session.flush()
    return contact


def remove_contact(contact: Contact) -> None:
    """Remove a contact: their links stop working and they receive nothing more."""
    if contact.is_primary:
        raise Conflict("The primary contact cannot be removed; change its details instead", "id")
    contact.removed_at = utcnow()
    contact.link_version += 1
    db.session.flush()


def revoke_contact_links(contact: Contact) -> None:
    """Invalidate this contact's links only; the company's other contacts keep theirs."""
    contact.link_version += 1
    db.session.flush()


def recipients(customer: Customer, kind: str) -> list[Contact]:
    """Return the billing contacts who receive this kind of mail (invoice, reminder, payment, statement …).

    A kind in LEGALLY_REQUIRED reaches every billing contact whatever their preferences.
    """
    chosen = []
    for contact in list_contacts(customer):
        if not contact.is_billing:
            continue
        preference = PREFERENCES.get(kind)
        if kind in LEGALLY_REQUIRED or preference is None or getattr(contact, preference):
            chosen.append(contact)
    return chosen


def may_act(contact: Contact | None) -> bool:
    """Tell whether the signed-in contact may pay and comment (viewers not, when the merchant says so)."""
    if contact is None or contact.is_billing:
        return True
    return not contact.customer.merchant.viewers_read_only

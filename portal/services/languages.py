"""The language a customer reads the portal, mails and documents in."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Customer
from portal.services.customers import check_language


def set_customer_language(customer: Customer, language: str) -> None:
    """Store the customer's language choice."""
    customer.language = check_language(language)
    from portal.services.contacts import sync_primary

    sync_primary(customer)
    db.session.flush()

"""Magic links: signed, expiring tokens that open a customer's portal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.base import utcnow
from portal.models.self_service import Contact

SALT = "portal.magic-link"


class LinkInvalid(Exception):
    """The token was tampered with, revoked, or names nothing that exists."""


class LinkRevoked(LinkInvalid):
    """The token is genuine but staff revoked the customer's links since it was made."""

    def __init__(self, customer: Customer) -> None:
        super().__init__("link revoked")
        self.customer = customer


class LinkExpired(Exception):
    """The token is genuine but older than the maximum age."""

    def __init__(self, customer_id: int | None, contact_id: int | None = None) -> None:
        super().__init__("link expired")
        self.customer_id = customer_id
        #: The contact the link was for (None for links made before contacts existed: the primary one).
        self.contact_id = contact_id


@dataclass(frozen=True)
class PortalLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkTarget:
    customer: Customer
    invoice: Invoice | None
    contact: Contact


def _serializer() -> URLSafeTimedSerializer:
    # Signed with SECRET_KEY; links signed with a key since rotated out (SECRET_KEY_FALLBACKS) still open.
    # itsdangerous signs with the last key and tries every one, as Flask orders them for sessions.
    config = current_app.config
    return URLSafeTimedSerializer([*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]], salt=SALT)


def _max_age() -> timedelta:
    return timedelta(days=int(current_app.config["LINK_MAX_AGE_DAYS"]))


def public_url(endpoint: str, **values) -> str:
    """Return an absolute URL on PUBLIC_URL, never on the request's Host (also outside a request)."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context():
            path = url_for(endpoint, **values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def make_portal_link(customer: Customer, invoice: Invoice | None = None, contact: Contact | None = None) -> PortalLink:
    """Sign a link for one contact of the customer (its primary one unless told), optionally opening one invoice."""
    from portal.services.contacts import primary_contact

    contact = contact or primary_contact(customer)
    payload = {"c": customer.id, "v": customer.link_version, "p": contact.id, "pv": contact.link_version}
    if invoice is not None:
        payload["i"] = invoice.id
    token = _serializer().dumps(payload)
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return PortalLink(url=f"{base}/l/{token}", expires_at=utcnow() + _max_age())


def read_portal_link(token: str) -> LinkTarget:
    """Return what a token opens, or raise LinkInvalid / LinkExpired."""
    serializer = _serializer()
    try:
        payload = serializer.loads(token, max_age=int(_max_age().total_seconds()))
    except SignatureExpired as exc:
        # The signature is genuine, so the payload can be trusted to say who it was for.
        try:
            data = serializer.load_payload(exc.payload)
        except BadSignature:
            data = None
        customer_id = data.get("c") if isinstance(data, dict) else None
        contact_id = data.get("p") if isinstance(data, dict) else None
        raise LinkExpired(
            customer_id if isinstance(customer_id, int) else None,
            contact_id if isinstance(contact_id, int) else None,
        ) from None
    except BadSignature:
        raise LinkInvalid() from None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), int):
        raise LinkInvalid()
    customer = db.session.get(Customer, payload["c"])
    if customer is None:
        raise LinkInvalid()
    if payload.get("v") != customer.link_version:
        raise LinkRevoked(customer)
    contact = _link_contact(customer, payload)
    if contact is None:
        raise LinkRevoked(customer)
    invoice = None
    if "i" in payload:
        invoice = db.session.get(Invoice, payload["i"])
        if invoice is None or invoice.customer_id != customer.id or invoice.status == "draft":
            invoice = None
    return LinkTarget(customer=customer, invoice=invoice, contact=contact)


def _link_contact(customer: Customer, payload: dict) -> Contact | None:
    """Return the contact a link opens as, or None when that contact's links were revoked or it was removed."""
    from portal.services.contacts import primary_contact

    if "p" not in payload:
        # A link made before contacts existed names the customer only: it opens as the primary
        # contact, until that contact's own links are revoked.
        contact = primary_contact(customer)
        return contact if contact.link_version == 1 else None
    contact = db.session.get(Contact, payload["p"]) if isinstance(payload["p"], int) else None
    if contact is None or contact.customer_id != customer.id or contact.removed_at is not None:
        return None
    return contact if payload.get("pv") == contact.link_version else None

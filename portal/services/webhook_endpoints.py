"""The merchant's webhook endpoints: where its events are posted (the API and Settings → Webhooks)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from portal.api.integration_schemas import EVENT_TYPES
from portal.api.webhook_delivery import check_url, new_secret, resend
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Merchant
from portal.models.api import Event, WebhookDelivery, WebhookEndpoint
from portal.payments.encryption import encrypt_secret
from portal.services.errors import NotFound

#: Endpoints a merchant may have (each event is posted to each).
MAX_ENDPOINTS = 16

_UNSET = object()


def _events(events: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    if not chosen:
        raise DomainError("Choose at least one event type", "events")
    unknown = [name for name in chosen if name != "*" and name not in EVENT_TYPES]
    if unknown:
        raise DomainError(f"Unknown event type {unknown[0]!r}", "events")
    return ["*"] if "*" in chosen else chosen


def _url(url: str) -> str:
    url = url.strip()
    if len(url) > 2048:
        raise DomainError("The URL is at most 2048 characters", "url")
    check_url(url)  # https, and a host that resolves to public addresses only
    return url


def _description(description: str | None) -> str | None:
    description = (description or "").strip()
    if len(description) > 500:
        raise DomainError("The description is at most 500 characters", "description")
    return description or None


def create_endpoint(
    merchant: Merchant, *, url: str, events: Sequence[str], description: str | None = None, enabled: bool = True
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint and return it with its signing secret, which is shown this once."""
    count = len(list_endpoints(merchant))
    if count >= MAX_ENDPOINTS:
        raise DomainError(f"A merchant has at most {MAX_ENDPOINTS} webhook endpoints", "url")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        merchant_id=merchant.id,
        url=_url(url),
        events=_events(events),
        description=_description(description),
        secret_encrypted=encrypt_secret(secret),
        enabled=enabled,
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str | object = _UNSET,
    events: Sequence[str] | object = _UNSET,
    description: str | None | object = _UNSET,
    enabled: bool | object = _UNSET,
) -> WebhookEndpoint:
    """Change what is given of an endpoint; deliveries already queued keep going to it."""
    if url is not _UNSET:
        endpoint.url = _url(url)
    if events is not _UNSET:
        endpoint.events = _events(events)
    if description is not _UNSET:
        endpoint.description = _description(description)
    if enabled is not _UNSET:
        endpoint.enabled = bool(enabled)
    db.session.flush()
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its deliveries."""
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.flush()


def get_endpoint(merchant: Merchant, endpoint_id: int) -> WebhookEndpoint:
    """Return the merchant's endpoint, or NotFound for anyone else's."""
    endpoint = db.session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.merchant_id == merchant.id)
    )
    if endpoint is None:
        raise NotFound("No such webhook endpoint")
    return endpoint


def list_endpoints(merchant: Merchant) -> list[WebhookEndpoint]:
    """Return the merchant's endpoints, oldest first."""
    return list(
        db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == merchant.id).order_by(WebhookEndpoint.id)
        )
    )


def recent_deliveries(merchant: Merchant, *, limit: int = 50) -> list[WebhookDelivery]:
    """Return the merchant's latest deliveries, newest first, with their endpoint and event."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.merchant_id == merchant.id)
            .options(selectinload(WebhookDelivery.endpoint), selectinload(WebhookDelivery.event))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def get_delivery(merchant: Merchant, delivery_id: int) -> WebhookDelivery:
    """Return the merchant's delivery, or NotFound for anyone else's."""
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.merchant_id == merchant.id)
    )
    if delivery is None:
        raise NotFound("No such delivery")
    return delivery


def resend_delivery(delivery: WebhookDelivery) -> WebhookDelivery:
    """Post the delivery's event to its endpoint again, now (a new delivery with a fresh 3 days of retries)."""
    if not delivery.endpoint.enabled:
        raise DomainError("The endpoint is disabled: enable it first", "endpoint")
    return resend(delivery)


def get_event(merchant: Merchant, event_id: int) -> Event:
    """Return the merchant's event, or NotFound for anyone else's (or one purged)."""
    event = db.session.scalar(select(Event).where(Event.id == event_id, Event.merchant_id == merchant.id))
    if event is None:
        raise NotFound("No such event")
    return event

"""Outbound webhooks: each event goes to the merchant's endpoints, signed, retried for 3 days, never inward.

A delivery row and its "webhook.deliver" job are written in the event's transaction. The job posts
`{"id", "type", "created", "data"}` with `Portal-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">` under the endpoint's secret. A 2xx answer is success; anything else is tried
again after 1 min, 2 min, 4 min … (at most 6 h apart) until 3 days after the event, then given up.

Server-side request forgery: an endpoint must be https, and every address its host resolves to
must be a public one (not loopback, private, link-local — the cloud metadata service —, shared,
multicast, reserved or unspecified). That is checked when the endpoint is saved and again before
each delivery, which then connects to the very address it checked, so a DNS answer that changes in
between (DNS rebinding) cannot point it inward. PORTAL_WEBHOOKS_ALLOW_PRIVATE=true (tests,
development) allows http and any address.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.jobs.queue import enqueue, job_type
from portal.models.api import Event, WebhookDelivery, WebhookEndpoint
from portal.models.base import utcnow
from portal.payments.encryption import decrypt_secret

log = logging.getLogger(__name__)

DELIVER = "webhook.deliver"
WEBHOOK_QUEUE = "webhooks"
SIGNATURE_HEADER = "Portal-Signature"
USER_AGENT = "InvoicePortal-Webhooks/1"
#: Attempts go on this long after the event, then the delivery is given up.
RETRY_WINDOW = timedelta(days=3)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
#: How much of an endpoint's answer is kept for the admin page.
KEPT_RESPONSE_CHARS = 2000


class UnsafeDestination(DomainError):
    """The URL is not https, or its host resolves to an address the portal must never call."""

    code = "unsafe_url"


class Unresolvable(DomainError):
    """The URL's host has no address (now)."""

    code = "unresolvable_url"


# --- where we may post -----------------------------------------------------------------------------


def allow_private() -> bool:
    """Return whether PORTAL_WEBHOOKS_ALLOW_PRIVATE lets endpoints use http and inward addresses."""
    value = current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False)
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside IPv6 (mapped, 6to4, Teredo, NAT64) must be public itself.
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not _is_public(embedded):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Destination:
    """A checked URL: where to connect (the addresses checked) and what to ask for."""

    scheme: str
    host: str
    port: int
    target: str
    addresses: tuple[str, ...]


def check_url(url: str, *, resolve: bool = True) -> Destination:
    """Return the URL's destination once it is safe to post to; raise UnsafeDestination or Unresolvable."""
    relaxed = allow_private()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination("The URL is not valid", "url") from None
    if parts.scheme != "https" and not (relaxed and parts.scheme == "http"):
        raise UnsafeDestination("The URL must start with https://", "url")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise UnsafeDestination("The URL needs a host, and no user name or password", "url")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not resolve:
        return Destination(parts.scheme, host, port, target, ())
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"The host {host} does not resolve: {exc}", "url") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not relaxed and not _is_public(address):
            raise UnsafeDestination(
                f"The host {host} resolves to {address}, a loopback, private, link-local or reserved address", "url"
            )
        if str(address) not in addresses:
            addresses.append(str(address))
    if not addresses:
        raise Unresolvable(f"The host {host} has no address", "url")
    return Destination(parts.scheme, host, port, target, tuple(addresses))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to the address we checked (allowed only with PORTAL_WEBHOOKS_ALLOW_PRIVATE)."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the address we checked, verifying the certificate for the URL's host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def post(destination: Destination, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST to the first of the checked addresses that accepts a connection; never follow a redirect."""
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    failure: OSError | None = None
    for address in destination.addresses:
        connection = connection_class(destination.host, address, destination.port, timeout)
        try:
            connection.request("POST", destination.target, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read(64 * 1024).decode("utf-8", "replace")
            return Answer(response.status, text[:KEPT_RESPONSE_CHARS])
        except (OSError, http.client.HTTPException) as exc:
            failure = exc if isinstance(exc, OSError) else OSError(str(exc) or type(exc).__name__)
        finally:
            connection.close()
    raise failure or OSError("no address to connect to")


# --- signing ---------------------------------------------------------------------------------------


def new_secret() -> str:
    """Return a fresh signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """Return the Portal-Signature header's value for a body sent at `timestamp` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(event: Event) -> bytes:
    """Return the JSON every delivery of the event posts, the same bytes each time."""
    document = {"id": event.id, "type": event.type, "created": int(event.created_at.timestamp()), "data": event.data}
    return json.dumps(document, separators=(",", ":"), sort_keys=False).encode()


# --- queueing and delivering -----------------------------------------------------------------------


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    """Return whether the endpoint subscribed to the event type."""
    return "*" in endpoint.events or event_type in endpoint.events


def queue_delivery(endpoint: WebhookEndpoint, event: Event) -> WebhookDelivery:
    """Add a delivery of the event to the endpoint, and its job, in the caller's transaction."""
    now = utcnow()
    delivery = WebhookDelivery(
        merchant_id=event.merchant_id,
        endpoint_id=endpoint.id,
        event_id=event.id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    enqueue(DELIVER, {"delivery_id": delivery.id}, merchant_id=event.merchant_id, queue=WEBHOOK_QUEUE)
    return delivery


def queue_deliveries(events: list[Event]) -> list[WebhookDelivery]:
    """Queue each event for each enabled endpoint of its merchant that wants its type (one query per merchant)."""
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    deliveries = []
    for event in events:
        if event.merchant_id not in endpoints:
            endpoints[event.merchant_id] = list(
                db.session.scalars(
                    select(WebhookEndpoint)
                    .where(WebhookEndpoint.merchant_id == event.merchant_id, WebhookEndpoint.enabled.is_(True))
                    .order_by(WebhookEndpoint.id)
                )
            )
        deliveries += [
            queue_delivery(endpoint, event) for endpoint in endpoints[event.merchant_id] if wants(endpoint, event.type)
        ]
    return deliveries


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after the given number of failed attempts: 1 min, 2 min, 4 min … at most 6 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def attempt(delivery: WebhookDelivery) -> None:
    """Post the delivery's event once, record the answer, and schedule the next attempt or give up (flushes)."""
    endpoint, event = delivery.endpoint, delivery.event
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = None
    delivery.response_body = None
    delivery.last_error = None
    final_failure = False
    if not endpoint.enabled:
        delivery.last_error = "The endpoint is disabled"
        final_failure = True
    else:
        try:
            destination = check_url(endpoint.url)
            body = event_body(event)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(decrypt_secret(endpoint.secret_encrypted), body, int(time.time())),
            }
            answer = post(destination, body, headers, float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"]))
        except UnsafeDestination as exc:
            delivery.last_error = f"Not delivered: {exc.message}"
            final_failure = True  # refused for safety: trying again would be refused again
        except Unresolvable as exc:
            delivery.last_error = exc.message
        except OSError as exc:
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:KEPT_RESPONSE_CHARS]
        else:
            delivery.response_status = answer.status
            delivery.response_body = answer.body
            if 200 <= answer.status < 300:
                delivery.status = "succeeded"
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                db.session.flush()
                return
            delivery.last_error = f"The endpoint answered HTTP {answer.status}"
    next_at = now + retry_delay(delivery.attempts)
    if final_failure or next_at > delivery.created_at + RETRY_WINDOW:
        delivery.status = "failed"
        delivery.next_attempt_at = None
        log.warning("webhook delivery %s given up: %s", delivery.id, delivery.last_error)
    else:
        delivery.next_attempt_at = next_at
        enqueue(
            DELIVER, {"delivery_id": delivery.id}, merchant_id=delivery.merchant_id, queue=WEBHOOK_QUEUE, run_at=next_at
        )
    db.session.flush()


@job_type(DELIVER, queue=WEBHOOK_QUEUE, priority=5, lease=timedelta(minutes=2))
def deliver(payload: dict[str, Any], job) -> None:
    """Make the next attempt of one delivery (its outcome and the next job commit with this job's "done")."""
    delivery = db.session.get(WebhookDelivery, payload.get("delivery_id"))
    if delivery is None or delivery.status != "pending" or delivery.merchant_id != job.merchant_id:
        return  # delivered, given up, resent as a new delivery, or purged with its event
    attempt(delivery)


def resend(delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue the delivery's event to its endpoint again now, as a new delivery (staff's "resend")."""
    return queue_delivery(delivery.endpoint, delivery.event)

"""Provider callbacks: CSRF-exempt, authenticated by fetching (Mollie) or signatures (Stripe)."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, request
from sqlalchemy import select

from portal.extensions import csrf, db
from portal.input_checks import parse_db_id
from portal.models.online_payment import PaymentAttempt
from portal.payments.base import ProviderError, UnknownPayment
from portal.payments.registry import build_provider, default_credentials, merchant_credentials, provider_for
from portal.payments.stripe import InvalidSignature, MalformedEvent, StripeProvider
from portal.services.online_payments import (
    apply_provider_payment,
    apply_reported_reversal,
    attempt_for_provider_payment,
)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)

log = logging.getLogger(__name__)

_MOLLIE_ID = re.compile(r"tr_\w{1,64}")


def _empty(status: int):
    return "", status, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/mollie")
def mollie():
    """Fetch the payment Mollie names and apply its status; the body is only an id."""
    payment_id = request.form.get("id", "")
    # Unknown ids get 200 as Mollie asks, so probing reveals nothing.
    if not _MOLLIE_ID.fullmatch(payment_id):
        log.info("Mollie webhook ignored: not a payment id")
        return _empty(200)
    attempt = attempt_for_provider_payment("mollie", payment_id)
    if attempt is None:
        log.info("Mollie webhook ignored: no attempt for payment %s", payment_id)
        return _empty(200)
    provider = provider_for(attempt.merchant_id, "mollie", include_disabled=True)
    if provider is None:
        log.warning("Mollie webhook for attempt %s but no credentials", attempt.id)
        return _empty(503)
    try:
        answer = provider.fetch_payment(payment_id)
    except UnknownPayment:
        log.info("Mollie webhook for attempt %s: Mollie does not know payment %s", attempt.id, payment_id)
        return _empty(200)
    except ProviderError as exc:
        # Mollie retries the webhook later; the status will be fetched then.
        log.warning("Mollie webhook for attempt %s: fetch failed: %s", attempt.id, exc)
        db.session.rollback()
        return _empty(503)
    outcome = apply_provider_payment(attempt.id, answer)
    db.session.commit()
    log.info("Mollie webhook for attempt %s: %s", attempt.id, outcome)
    return _empty(200)


def _stripe_attempt(payload: bytes) -> PaymentAttempt | None:
    """Find the attempt an unverified event names, only to choose the secret that verifies it."""
    session_id, reference, intent_id = StripeProvider.event_references(payload)
    attempt = attempt_for_provider_payment("stripe", session_id) if session_id else None
    if attempt is None and intent_id:
        # A charge or dispute names the session's PaymentIntent.
        attempt = db.session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.provider == "stripe", PaymentAttempt.provider_intent_id == intent_id
            )
        )
    reference_id = parse_db_id(reference)
    if attempt is None and reference_id is not None:
        attempt = db.session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.id == reference_id,
                PaymentAttempt.provider == "stripe",
                PaymentAttempt.provider_payment_id.is_(None),
            )
        )
    return attempt


@bp.post("/stripe")
def stripe():
    """Verify the signature on the raw body, then apply the event once."""
    payload = request.get_data(cache=False)
    attempt = _stripe_attempt(payload)
    if attempt is not None:
        credentials = merchant_credentials(attempt.merchant_id, "stripe", include_disabled=True)
    else:
        credentials = default_credentials("stripe")
    if credentials is None or not credentials.webhook_secret:
        log.warning("Stripe webhook rejected: no webhook secret to verify it with")
        return _empty(400)
    try:
        notice = build_provider("stripe", credentials).parse_webhook(payload, request.headers.get("Stripe-Signature"))
    except InvalidSignature as exc:
        log.warning("Stripe webhook rejected: %s", exc)
        return _empty(400)
    except MalformedEvent as exc:
        # Signed by Stripe (or with our secret), yet not an event we can read: say so, change nothing.
        log.warning("Stripe webhook rejected: a signed but malformed event: %s", exc)
        return _empty(400)
    if notice is None or attempt is None or (notice.payment is None and notice.reversal is None):
        log.info("Stripe webhook ignored: %s", "an event we do not use" if notice is None else "no payment of ours")
        return _empty(200)
    if notice.reversal is not None:
        outcome = apply_reported_reversal(
            attempt.id, notice.reversal, event_id=notice.event_id or "", event_type=notice.event_type
        )
        db.session.commit()
        log.info("Stripe %s for attempt %s: %s", notice.event_type, attempt.id, outcome)
        # Before its payment was booked: ask Stripe to deliver it again later.
        return _empty(503 if outcome == "not_paid" else 200)
    outcome = apply_provider_payment(attempt.id, notice.payment, event_id=notice.event_id, event_type=notice.event_type)
    db.session.commit()
    log.info("Stripe %s for attempt %s: %s", notice.event_type, attempt.id, outcome)
    return _empty(200)

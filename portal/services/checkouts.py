"""Stopping an invoice's checkouts once it needs no more money (void, settled by credit notes or payments)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice
from portal.models.base import utcnow
from portal.models.online_payment import PaymentAllocation, PaymentAttempt
from portal.payments.base import ProviderError
from portal.payments.registry import provider_for

log = logging.getLogger(__name__)


def cancel_checkout(attempt: PaymentAttempt) -> bool:
    """Cancel one open checkout at its provider (Mollie cancel, Stripe expire); return whether it stopped.

    A checkout the provider will not stop (the customer started paying, a transfer is under way)
    stays live: if its money still arrives, it is booked on the credit balance.
    """
    if attempt.status != "open" or attempt.provider_payment_id is None:
        return False
    provider = provider_for(attempt.merchant_id, attempt.provider, include_disabled=True)
    if provider is None:
        return False
    try:
        stopped = provider.cancel_payment(attempt.provider_payment_id)
    except ProviderError as exc:
        log.warning("Could not cancel attempt %s at %s: %s", attempt.id, attempt.provider, exc)
        return False
    if stopped:
        attempt.status = "superseded"
        attempt.finished_at = utcnow()
        db.session.flush()
    return stopped


def cancel_live_checkouts(invoice: Invoice) -> list[PaymentAttempt]:
    """Cancel every checkout of the invoice that could still take money; return those left running."""
    return cancel_live_checkouts_of([invoice.id])


def cancel_live_checkouts_of(invoice_ids: list[int]) -> list[PaymentAttempt]:
    """Cancel every checkout of these invoices that could still take money, a shared one (several invoices
    in one checkout) included; return those left running."""
    attempts: dict[int, PaymentAttempt] = {}
    for start in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[start : start + 500]
        shared = select(PaymentAllocation.attempt_id).where(PaymentAllocation.invoice_id.in_(chunk))
        for attempt in db.session.scalars(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.invoice_id.in_(chunk) | PaymentAttempt.id.in_(shared),
                PaymentAttempt.status.in_(("creating", "open", "pending")),
            )
            .order_by(PaymentAttempt.id)
        ):
            attempts[attempt.id] = attempt
    attempts = list(attempts.values())
    return [attempt for attempt in attempts if not cancel_checkout(attempt)]


def live_checkouts(invoice_ids: list[int]) -> dict[int, PaymentAttempt]:
    """Return, per invoice, its checkout that may still take money (open or pending), for staff to see."""
    if not invoice_ids:
        return {}
    rows = db.session.scalars(
        select(PaymentAttempt).where(
            PaymentAttempt.invoice_id.in_(invoice_ids), PaymentAttempt.status.in_(("creating", "open", "pending"))
        )
    )
    return {attempt.invoice_id: attempt for attempt in rows}

"""Money about an invoice that is not on it: online payments still pending, and credit parked from it.

Staff read it on the invoice page, so an invoice that looks unpaid (or overpaid) is explained: a bank
transfer through a provider is on its way, or what came in beyond the invoice sits on the customer's
credit balance, to apply to another invoice or to refund.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from portal.extensions import db
from portal.models import Invoice
from portal.models.credit_note import CreditNote
from portal.models.ledger import CreditEntry
from portal.models.online_payment import PaymentAllocation, PaymentAttempt

#: Credit booked because of an invoice: money beyond what it needed, or given back by one of its credit notes.
PARKED_REASONS = ("overpayment", "invoice_settled", "invoice_void", "credit_note")


@dataclass(frozen=True)
class PendingPayment:
    """An online payment the provider reports as under way (a bank transfer), with this invoice's share of it."""

    attempt: PaymentAttempt
    amount: int
    shared: bool


@dataclass(frozen=True)
class MoneyInView:
    pending: list[PendingPayment]
    parked: list[CreditEntry]

    @property
    def parked_total(self) -> int:
        return sum(entry.amount for entry in self.parked)


def money_in_view(invoice: Invoice) -> MoneyInView:
    """Return the invoice's pending online payments (its own checkouts and its part of shared ones) and its parked credit."""
    shares = {
        allocation.attempt_id: allocation.amount
        for allocation in db.session.scalars(
            select(PaymentAllocation).where(PaymentAllocation.invoice_id == invoice.id)
        )
    }
    attempts = db.session.scalars(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.merchant_id == invoice.merchant_id,
            PaymentAttempt.status == "pending",
            or_(PaymentAttempt.invoice_id == invoice.id, PaymentAttempt.id.in_(list(shares))),
        )
        .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
    )
    pending = [
        PendingPayment(
            attempt, shares.get(attempt.id, attempt.amount), attempt.id in shares and len(attempt.allocations) > 1
        )
        for attempt in attempts
    ]
    notes = select(CreditNote.id).where(CreditNote.invoice_id == invoice.id)
    parked = list(
        db.session.scalars(
            select(CreditEntry)
            .where(
                CreditEntry.merchant_id == invoice.merchant_id,
                CreditEntry.amount > 0,
                CreditEntry.reason.in_(PARKED_REASONS),
                or_(CreditEntry.invoice_id == invoice.id, CreditEntry.credit_note_id.in_(notes)),
            )
            .order_by(CreditEntry.created_at, CreditEntry.id)
        )
    )
    return MoneyInView(pending, parked)

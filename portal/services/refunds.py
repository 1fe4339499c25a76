"""Sending money back at staff's request: a payment, or credit from the balance, the way it came."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain.errors import DomainError, InvalidAmount
from portal.domain.money import Money
from portal.extensions import db
from portal.models import Customer, Merchant, Payment
from portal.models.ledger import RECEIPT_METHODS, PaymentReversal, Receipt
from portal.models.online_payment import PaymentAttempt
from portal.payments.base import ProviderRefused, ProviderUnavailable
from portal.payments.registry import provider_for
from portal.services.errors import Conflict, NotFound
from portal.services.ledger import (
    InsufficientCredit,
    MoneySource,
    book_money_returned,
    credit_balance,
    lock_receipt,
    refundable_credit,
)


class RefundNotSent(Conflict):
    """The provider refused the refund, or could not be reached: nothing was booked."""

    code = "refund_not_sent"


def get_payment(merchant: Merchant, payment_id: int) -> Payment:
    """Return the merchant's payment, or NotFound for anyone else's."""
    payment = db.session.scalar(select(Payment).where(Payment.id == payment_id, Payment.merchant_id == merchant.id))
    if payment is None:
        raise NotFound("No such payment")
    return payment


def _refund_at_provider(receipt: Receipt, amount: Money, note: str | None) -> str:
    """Refund through the provider the money came from; return the provider's refund id."""
    # A checkout of several invoices books one receipt per invoice: "<attempt id>:<position>".
    attempt_id = (receipt.source_id or "").split(":", 1)[0]
    attempt = (
        db.session.get(PaymentAttempt, int(attempt_id))
        if receipt.source_type == "payment_attempt" and attempt_id.isdigit()
        else None
    )
    if attempt is None or attempt.provider_payment_id is None:
        raise Conflict("This money did not come through a checkout of ours: refund it by hand", "method")
    provider = provider_for(attempt.merchant_id, attempt.provider, include_disabled=True)
    if provider is None:
        raise RefundNotSent(f"{attempt.provider} has no credentials for this merchant any more", "method")
    # The same refund asked twice (a retry after a crash) carries the same key: the provider refunds once.
    already = sum(
        r.amount
        for r in db.session.scalars(select(PaymentReversal).where(PaymentReversal.receipt_id == receipt.id))
        if r.leaving
    )
    key = f"portal-refund-{receipt.id}-{already}-{amount.minor}"
    try:
        refund = provider.refund_payment(
            attempt.provider_payment_id,
            amount,
            idempotency_key=key,
            description=note or f"Refund {receipt.reference or receipt.id}",
            intent_id=attempt.provider_intent_id,
        )
    except ProviderRefused as exc:
        raise RefundNotSent(f"{attempt.provider} refused the refund: {exc}", "amount") from exc
    except ProviderUnavailable as exc:
        raise RefundNotSent(f"{attempt.provider} could not be reached; nothing was refunded, try again: {exc}") from exc
    return refund.refund_id


def refund_payment(
    payment: Payment, amount: int | None = None, *, note: str | None = None, created_by_id: int | None = None
) -> PaymentReversal:
    """Send (part of) a payment back: through its provider for online money, else recorded as refunded by hand.

    amount None refunds all that is still kept of it. The invoice's paid amount drops and a paid
    invoice reopens.
    """
    if payment.receipt_id is None:
        raise Conflict(
            "This payment came from the credit balance: give it back with a credit note (credit to balance)", "status"
        )
    receipt = lock_receipt(payment.receipt_id)
    db.session.refresh(payment)
    refundable = payment.kept_principal + payment.kept_late
    amount = refundable if amount is None else amount
    if refundable <= 0:
        raise Conflict("Nothing of this payment is left to refund", "amount")
    if amount <= 0:
        raise InvalidAmount("The amount must be positive", "amount")
    if amount > refundable:
        raise InvalidAmount(
            f"At most {Money(refundable, payment.currency).format_plain()} of this payment can be refunded", "amount"
        )
    money = Money(amount, payment.currency)
    if receipt.online:
        source = MoneySource("provider_refund", _refund_at_provider(receipt, money, note))
    else:
        source = MoneySource("recorded")
    return book_money_returned(
        receipt.customer,
        money,
        kind="refunded",
        method=receipt.method,
        source=source,
        returned_on=payment.invoice.merchant.today(),
        receipt=receipt,
        payment=payment,
        note=note,
        created_by_id=created_by_id,
    )


def refund_credit(
    customer: Customer,
    amount: int,
    currency: str,
    *,
    receipt_id: int | None = None,
    method: str = "bank_transfer",
    note: str | None = None,
    created_by_id: int | None = None,
) -> PaymentReversal:
    """Pay credit from the balance back to the customer.

    receipt_id: through the provider that money came with (up to what it brought); None: staff
    sent it themselves (by `method`) and record it here.
    """
    receipt = None
    if receipt_id is not None:
        receipt = db.session.scalar(select(Receipt).where(Receipt.id == receipt_id, Receipt.customer_id == customer.id))
        if receipt is None or receipt.merchant_id != customer.merchant_id:
            raise NotFound("No such money received for this customer", "receipt_id")
        receipt = lock_receipt(receipt.id)
        currency = receipt.currency
    elif method not in RECEIPT_METHODS or method in ("mollie", "stripe"):
        raise DomainError("Choose how the money was sent back (bank transfer, cash, cheque or other)", "method")
    db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    if amount <= 0:
        raise InvalidAmount("The amount must be positive", "amount")
    balance = credit_balance(customer, currency)
    if amount > balance:
        raise InsufficientCredit(f"The credit balance is {Money(max(balance, 0), currency).format_plain()}", "amount")
    money = Money(amount, currency)
    if receipt is not None:
        available = next(
            (item.amount for item in refundable_credit(customer, currency) if item.receipt.id == receipt.id), 0
        )
        if amount > available:
            raise InvalidAmount(
                f"At most {Money(available, currency).format_plain()} of this credit came with that payment", "amount"
            )
        if receipt.online:
            source = MoneySource("provider_refund", _refund_at_provider(receipt, money, note))
        else:
            source = MoneySource("recorded")
        method = receipt.method
    else:
        source = MoneySource("recorded")
    return book_money_returned(
        customer,
        money,
        kind="refunded",
        method=method,
        source=source,
        returned_on=customer.merchant.today(),
        receipt=receipt,
        from_credit=True,
        note=note,
        created_by_id=created_by_id,
    )

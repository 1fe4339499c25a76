"""How money received or sent back is split between an invoice and the customer's credit balance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.domain.errors import InvalidAmount


@dataclass(frozen=True)
class AskedFor:
    """What a payer was asked for: the outstanding principal and the late fee and interest on top."""

    principal: int
    fee: int = 0
    interest: int = 0

    @property
    def total(self) -> int:
        """Return the whole amount asked."""
        return self.principal + self.fee + self.interest


@dataclass(frozen=True)
class ReceivedSplit:
    """Money received, split: principal, fee and interest go on the invoice, the rest on the balance."""

    principal: int
    fee: int
    interest: int
    credit: int

    @property
    def on_invoice(self) -> int:
        """Return what is booked on the invoice."""
        return self.principal + self.fee + self.interest


@dataclass(frozen=True)
class ReturnedSplit:
    """Money sent back, split: off the payment's principal, off its late charges, out of the balance."""

    principal: int
    late: int
    credit: int


def _check_positive(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an int, not {type(amount).__name__}")
    if amount <= 0:
        raise InvalidAmount("An amount of money must be positive", "amount")


def split_received(amount: int, outstanding: int, asked: AskedFor | None = None) -> ReceivedSplit:
    """Split money received for an invoice with `outstanding` principal left (0: it takes nothing).

    The late fee and interest the payer was shown are booked only when the principal they were
    computed on is still what is outstanding and the whole amount asked arrived; otherwise the
    money pays principal. Whatever the invoice cannot take goes to the credit balance.
    """
    _check_positive(amount)
    outstanding = max(0, outstanding)
    if asked is not None and outstanding > 0 and asked.principal == outstanding and amount >= asked.total:
        return ReceivedSplit(asked.principal, asked.fee, asked.interest, amount - asked.total)
    principal = min(amount, outstanding)
    return ReceivedSplit(principal, 0, 0, amount - principal)


def split_returned(amount: int, kept_principal: int, kept_late: int, *, payment_first: bool = True) -> ReturnedSplit:
    """Split money sent back between the payment it came with and the credit balance.

    payment_first (a refund or chargeback of a payment): off its principal, then its late charges,
    and only what exceeds them out of the balance. Otherwise (a refund of credit): all out of the balance.
    """
    _check_positive(amount)
    if not payment_first:
        return ReturnedSplit(0, 0, amount)
    principal = min(amount, max(0, kept_principal))
    late = min(amount - principal, max(0, kept_late))
    return ReturnedSplit(principal, late, amount - principal - late)


def share_returned(amount: int, holding: Sequence[int]) -> list[int]:
    """Share money sent back of one payment among the parts it paid, in the order given.

    Each part gives back up to what it still holds; a part that holds nothing gives nothing. What
    exceeds them all (a provider reporting more than arrived) falls on the last part, where it comes
    out of the credit balance. The shares always add up to the amount.
    """
    _check_positive(amount)
    if not holding:
        raise ValueError("Money sent back needs at least one part to come from")
    shares = []
    left = amount
    for held in holding:
        share = min(left, max(0, held))
        shares.append(share)
        left -= share
    shares[-1] += left
    return shares

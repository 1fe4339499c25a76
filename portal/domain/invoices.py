"""Invoice lines, discounts, tax per rate, totals and lifecycle rules."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from portal.domain.errors import InvalidAmount, InvalidTransition
from portal.domain.money import EXACT_PRECISION, check_decimal, check_int, round_half_up

MAX_QUANTITY = Decimal("1000000")
MAX_UNIT_AMOUNT = 10**12
MAX_PERCENT = Decimal("100")
MAX_DESCRIPTION_LENGTH = 500

_HUNDRED = Decimal(100)


class InvoiceStatus(str, enum.Enum):  # noqa: UP042 (str() of a member must stay its value)
    """Where an invoice is in its lifecycle; overdue is derived, never stored."""

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


ALLOWED_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.OPEN}),
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def check_transition(current: InvoiceStatus, target: InvoiceStatus) -> None:
    """Raise InvalidTransition unless an invoice may move from current to target."""
    current, target = InvoiceStatus(current), InvoiceStatus(target)
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(f"A {current.value} invoice cannot become {target.value}", "status")


def is_editable(status: InvoiceStatus) -> bool:
    """Tell whether lines may still change: only drafts, finalized documents are immutable."""
    return status == InvoiceStatus.DRAFT


def is_overdue(status: InvoiceStatus, due_date: date, today: date) -> bool:
    """Tell whether an invoice is open and past its due date."""
    return status == InvoiceStatus.OPEN and today > due_date


def _check_discount_percent(value: Decimal) -> None:
    check_decimal(value, "discount_percent", maximum=MAX_PERCENT, places=2)


def _rate_key(rate: Decimal) -> Decimal:
    # normalize() alone turns 20 into 2E+1; keep integers plain for display.
    rate = rate.normalize()
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate


@dataclass(frozen=True)
class Line:
    """One invoice or credit-note line; unit_amount is in minor units."""

    description: str
    quantity: Decimal
    unit_amount: int
    tax_rate: Decimal
    discount_percent: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a str, not {type(self.description).__name__}")
        if not self.description.strip():
            raise InvalidAmount("A line needs a description", "description")
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidAmount(
                f"A line description is at most {MAX_DESCRIPTION_LENGTH} characters",
                "description",
            )
        check_decimal(self.quantity, "quantity", maximum=MAX_QUANTITY, places=3, positive=True)
        check_int(self.unit_amount, "unit_amount", maximum=MAX_UNIT_AMOUNT)
        check_decimal(self.tax_rate, "tax_rate", maximum=MAX_PERCENT, places=2)
        _check_discount_percent(self.discount_percent)

    @property
    def net(self) -> int:
        """Return quantity × unit amount less the line discount, rounded half-up once."""
        with localcontext(prec=EXACT_PRECISION):
            kept = (_HUNDRED - self.discount_percent) / _HUNDRED
            exact = self.quantity * self.unit_amount * kept
        return round_half_up(exact)


@dataclass(frozen=True)
class TaxAmount:
    """The tax of one rate: its discounted base and the amount, in minor units."""

    rate: Decimal
    base: int
    amount: int


@dataclass(frozen=True)
class Totals:
    """An invoice's totals in minor units; the parts always add up."""

    subtotal: int
    discount: int
    net: int
    taxes: tuple[TaxAmount, ...]
    tax: int
    total: int


def compute_totals(lines: Sequence[Line], discount_percent: Decimal = Decimal("0")) -> Totals:
    """Compute the totals, discounting and taxing per rate with one rounding each (EU practice)."""
    _check_discount_percent(discount_percent)
    subtotals: dict[Decimal, int] = {}
    for line in lines:
        key = _rate_key(line.tax_rate)
        subtotals[key] = subtotals.get(key, 0) + line.net

    taxes = []
    discount = 0
    for rate in sorted(subtotals):
        rate_subtotal = subtotals[rate]
        # The invoice discount is split per rate so each base is what is taxed,
        # and the invoice's discount is the sum of these rounded parts.
        with localcontext(prec=EXACT_PRECISION):
            rate_discount = round_half_up(rate_subtotal * discount_percent / _HUNDRED)
            base = rate_subtotal - rate_discount
            amount = round_half_up(base * rate / _HUNDRED)
        discount += rate_discount
        taxes.append(TaxAmount(rate=rate, base=base, amount=amount))

    subtotal = sum(subtotals.values())
    net = subtotal - discount
    tax = sum(t.amount for t in taxes)
    return Totals(
        subtotal=subtotal,
        discount=discount,
        net=net,
        taxes=tuple(taxes),
        tax=tax,
        total=net + tax,
    )

"""Invoice lines, discounts, tax per (VAT category, rate), totals and lifecycle rules.

Discounts come in two kinds, on a line and on the whole invoice, all amounts in integer minor units:

- a line takes its percentage first, then its fixed amount:
  ``line_net = round(quantity × unit_amount × (1 − discount_percent / 100)) − discount_fixed``;
  a fixed discount larger than what the line comes to after its percentage is refused (a line never
  goes below zero); equal to it, the line is free.
- the invoice's discounts reduce the sum of line nets per (VAT category, rate), so that tax is
  computed on the discounted base and rounded once per rate (EU practice). For each group, first
  ``percent_part = round(group_subtotal × discount_percent / 100)``; then the invoice's fixed discount
  is spread over the groups in proportion to what is left of each (``group_subtotal − percent_part``)
  by the largest-remainder method: each group gets the floor of its exact share, and the minor units
  still missing go one by one to the groups with the largest fractional remainders (ties to the
  group listed first, i.e. the lower rate), so the parts add up to the fixed discount exactly. A
  fixed discount larger than the subtotal after the percentage is refused.
- ``base = group_subtotal − percent_part − fixed_part``; ``tax = round(base × rate / 100)``.

Vector: lines 100.00 at 21 % and 50.00 at 6 %, a fixed invoice discount of 10.00 → parts 6.67 and
3.33 (exact shares 6.666… and 3.333…; the one missing cent goes to the larger remainder, 0.666…),
bases 93.33 and 46.67, taxes 19.60 and 2.80.
A credit note's lines follow the same line rule; credit notes have no invoice-level discount.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from portal.domain.errors import IncompleteDocument, InvalidAmount, InvalidTransition
from portal.domain.money import EXACT_PRECISION, check_decimal, check_int, round_half_up
from portal.domain.vat import (
    CATEGORY_ORDER,
    NEEDS_BUYER_VAT,
    TaxCategory,
    check_category_rate,
    default_category,
    tax_category,
)

MAX_QUANTITY = Decimal("1000000")
MAX_UNIT_AMOUNT = 10**12
MAX_PERCENT = Decimal("100")
#: The largest fixed discount: far beyond any real invoice, small enough that no sum overflows.
MAX_TOTAL_AMOUNT = 10**15
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
    # A refund or chargeback that makes the outstanding amount positive again reopens it (SPEC §1).
    InvoiceStatus.PAID: frozenset({InvoiceStatus.OPEN}),
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


def _check_discount_fixed(value: int) -> None:
    # check_int refuses what is not an int; the range gets wording of its own ("discount fixed" reads badly).
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_TOTAL_AMOUNT:
        raise InvalidAmount(f"The fixed discount must be between 0 and {MAX_TOTAL_AMOUNT}", "discount_fixed")
    check_int(value, "discount_fixed", maximum=MAX_TOTAL_AMOUNT)


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """Split amount in proportion to non-negative weights so the parts add up to it exactly.

    Largest remainder: every part is the floor of its exact share; the units still missing go one
    each to the largest fractional remainders, the earlier weight first on a tie.
    """
    whole = sum(weights)
    if amount == 0 or whole == 0:
        return [0] * len(weights)
    parts = [amount * weight // whole for weight in weights]
    remainders = [amount * weight % whole for weight in weights]
    missing = amount - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: -remainders[i])[:missing]:
        parts[index] += 1
    return parts


def _rate_key(rate: Decimal) -> Decimal:
    # normalize() alone turns 20 into 2E+1; keep integers plain for display.
    rate = rate.normalize()
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate


@dataclass(frozen=True)
class Line:
    """One invoice or credit-note line; unit_amount is in minor units.

    tax_category is the EN 16931 code; left out (None) it is S, or Z for a 0 % line. discount_fixed is
    a fixed amount off the line in minor units, taken after discount_percent.
    """

    description: str
    quantity: Decimal
    unit_amount: int
    tax_rate: Decimal
    discount_percent: Decimal = Decimal("0")
    tax_category: TaxCategory | None = None
    discount_fixed: int = 0

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
        _check_discount_fixed(self.discount_fixed)
        if self.discount_fixed > self.amount_after_percent:
            raise InvalidAmount("The line's fixed discount is larger than the line's amount", "discount_fixed")
        category = default_category(self.tax_rate) if self.tax_category is None else tax_category(self.tax_category)
        check_category_rate(category, self.tax_rate)
        object.__setattr__(self, "tax_category", category)

    @property
    def amount_after_percent(self) -> int:
        """Return quantity × unit amount less the line's percentage, rounded half-up once."""
        with localcontext(prec=EXACT_PRECISION):
            kept = (_HUNDRED - self.discount_percent) / _HUNDRED
            exact = self.quantity * self.unit_amount * kept
        return round_half_up(exact)

    @property
    def net(self) -> int:
        """Return the line's amount less both its discounts: the percentage (rounded once), then the fixed amount."""
        return self.amount_after_percent - self.discount_fixed


@dataclass(frozen=True)
class TaxAmount:
    """The tax of one (category, rate): its discounted base and the amount, in minor units."""

    category: TaxCategory
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


def _group_order(key: tuple[TaxCategory, Decimal]) -> tuple[Decimal, int]:
    # By rate first, so a plain invoice lists its rates as before; categories in EN 16931 order.
    category, rate = key
    return rate, CATEGORY_ORDER.index(category)


def compute_totals(lines: Sequence[Line], discount_percent: Decimal = Decimal("0"), discount_fixed: int = 0) -> Totals:
    """Compute the totals, discounting and taxing per (category, rate) with one rounding each (EU practice).

    This is the one place the tax breakdown is computed: pages, PDFs, the API and e-invoices read it.
    The invoice's discounts are split per group as the module's docstring says.
    """
    _check_discount_percent(discount_percent)
    _check_discount_fixed(discount_fixed)
    subtotals: dict[tuple[TaxCategory, Decimal], int] = {}
    for line in lines:
        key = (line.tax_category, _rate_key(line.tax_rate))
        subtotals[key] = subtotals.get(key, 0) + line.net

    keys = sorted(subtotals, key=_group_order)
    # The percentage is split per group so each base is what is taxed, and the invoice's
    # discount is the sum of these rounded parts.
    with localcontext(prec=EXACT_PRECISION):
        after_percent = [subtotals[key] - round_half_up(subtotals[key] * discount_percent / _HUNDRED) for key in keys]
    if discount_fixed > sum(after_percent):
        raise InvalidAmount("The invoice's fixed discount is larger than its lines' amount", "discount_fixed")
    taxes = []
    for key, left, fixed_part in zip(keys, after_percent, spread(discount_fixed, after_percent), strict=True):
        category, rate = key
        base = left - fixed_part
        with localcontext(prec=EXACT_PRECISION):
            amount = round_half_up(base * rate / _HUNDRED)
        taxes.append(TaxAmount(category=category, rate=rate, base=base, amount=amount))

    subtotal = sum(subtotals.values())
    net = sum(t.base for t in taxes)
    tax = sum(t.amount for t in taxes)
    return Totals(
        subtotal=subtotal,
        discount=subtotal - net,
        net=net,
        taxes=tuple(taxes),
        tax=tax,
        total=net + tax,
    )


def check_finalizable(
    lines: Sequence[Line], total: int, missing_seller_fields: Sequence[str], buyer_vat_number: str | None
) -> None:
    """Raise unless a draft holds what a legal invoice needs (EU VAT Directive art. 226).

    The seller's legal name and address, at least one line with an amount, and the buyer's VAT
    number when a line is reverse-charged or an intra-Community supply.
    """
    if missing_seller_fields:
        raise IncompleteDocument(
            "Complete your company's legal name and address (Settings → Company) before finalizing: "
            + ", ".join(missing_seller_fields)
            + " missing",
            f"seller.{missing_seller_fields[0]}",
        )
    if not any(line.net > 0 for line in lines):
        raise IncompleteDocument("An invoice needs at least one line with an amount to be finalized", "lines")
    if total <= 0:
        raise IncompleteDocument("An invoice needs a total above zero to be finalized", "lines")
    needing_vat = sorted({line.tax_category.value for line in lines if line.tax_category in NEEDS_BUYER_VAT})
    if needing_vat and not buyer_vat_number:
        raise IncompleteDocument(
            f"Lines of category {' and '.join(needing_vat)} need the customer's VAT number: add it to the customer first",
            "customer.vat_number",
        )


def shown_status(status: str, *, overdue: bool, credited: int, paid: int) -> str:
    """Return the status a customer reads; like overdue, credited and partly paid are derived (SPEC §1).

    credited: settled by credit notes with no money received; partly_paid: open, some money received.
    Overdue wins over partly paid (the page tells what was paid beside it).
    """
    if status == InvoiceStatus.PAID.value and paid <= 0 and credited > 0:
        return "credited"
    if status == InvoiceStatus.OPEN.value:
        if overdue:
            return "overdue"
        if paid > 0:
            return "partly_paid"
    return status

"""The document as issued: the frozen input of the e-invoice writers, its amounts from the domain's arithmetic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.errors import DomainError
from portal.domain.invoices import Line, compute_totals
from portal.domain.money import currency_exponent

# The parties are the finalize snapshot's own value objects (the API's `seller` and `buyer`); the writers
# import them from here.
from portal.domain.parties import Address, Buyer, Seller  # noqa: F401
from portal.domain.vat import CATEGORY_CODES, NEEDS_BUYER_VAT, NEEDS_REASON

#: EN 16931 VAT category codes (UNCL5305 subset), in the order breakdowns list them.
TAX_CATEGORIES = CATEGORY_CODES
#: Categories whose breakdown must state why no VAT is charged.
EXEMPT_CATEGORIES = frozenset(category.value for category in NEEDS_REASON)
#: Categories that need the buyer's VAT number (BR-AE-02, BR-IC-02).
BUYER_VAT_CATEGORIES = frozenset(category.value for category in NEEDS_BUYER_VAT)
KINDS = ("invoice", "credit_note")


class NotExpressible(DomainError):
    """Signal a document that no EN 16931 e-invoice can state as it was issued."""

    code = "einvoice_not_expressible"


def _text(data: Mapping, key: str) -> str | None:
    value = data.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


@dataclass(frozen=True)
class DocumentLine:
    """One line as issued; net is the domain's rounded line net in minor units."""

    description: str
    quantity: Decimal
    unit_amount: int
    tax_category: str
    tax_rate: Decimal
    discount_percent: Decimal
    net: int

    @classmethod
    def issued(cls, line: Line, tax_category: str | None = None) -> DocumentLine:
        """Take the domain's line and its VAT category; the net is the domain's, never recomputed.

        Without a category a line is standard rated, or zero rated at 0 % (BR-S-05 forbids S at 0 %).
        """
        return cls(
            description=line.description.strip(),
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            tax_category=tax_category or ("S" if line.tax_rate > 0 else "Z"),
            tax_rate=line.tax_rate,
            discount_percent=line.discount_percent,
            net=line.net,
        )

    @property
    def tax_key(self) -> tuple[str, Decimal]:
        return self.tax_category, self.tax_rate.normalize()


@dataclass(frozen=True)
class TaxGroup:
    """One row of the VAT breakdown: a (category, rate) with its lines' sum, discounted base and tax."""

    category: str
    rate: Decimal
    #: Sum of the line nets of this (category, rate).
    subtotal: int
    #: The subtotal less this group's share of the invoice discount: what is taxed.
    base: int
    amount: int
    exemption_reason: str | None = None
    exemption_code: str | None = None

    @property
    def discount(self) -> int:
        """Return this group's share of the invoice-level discount."""
        return self.subtotal - self.base

    @property
    def key(self) -> tuple[str, Decimal]:
        return self.category, self.rate.normalize()


@dataclass(frozen=True)
class InvoiceReference:
    """The invoice a credit note corrects."""

    number: str
    issue_date: date


@dataclass(frozen=True)
class EDocument:
    """A finalized invoice or credit note, exactly as issued (late fees and interest are never part of it)."""

    kind: str
    number: str
    issue_date: date
    currency: str
    seller: Seller
    buyer: Buyer
    lines: tuple[DocumentLine, ...]
    taxes: tuple[TaxGroup, ...]
    discount_percent: Decimal
    subtotal: int
    discount: int
    net: int
    tax: int
    total: int
    due_date: date | None = None
    supply_date: date | None = None
    #: Structured creditor reference: Belgian OGM/VCS or ISO 11649 RF.
    payment_reference: str | None = None
    corrected_invoice: InvoiceReference | None = None
    note: str | None = None
    terms: str | None = None
    #: The buyer's own reference (BT-10); the document number stands in when there is none.
    buyer_reference: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown document kind {self.kind!r}")
        exponent = currency_exponent(self.currency)
        if exponent > 2:
            raise NotExpressible(
                f"EN 16931 amounts have at most two decimals; {self.currency} has {exponent}", "currency"
            )
        if not self.lines:
            raise NotExpressible("An e-invoice needs at least one line", "lines")
        if not self.seller.legal_name or not (self.seller.address and self.seller.address.country):
            raise NotExpressible("An e-invoice needs the seller's legal name and country", "seller")
        self._check_amounts_add_up()
        self._check_categories()

    def _check_amounts_add_up(self) -> None:
        # The writers state these numbers as they are; a mismatch here is a bug upstream, and the
        # official rules would reject the file, so refuse it before anyone receives it.
        subtotals: dict[tuple[str, Decimal], int] = {}
        for line in self.lines:
            subtotals[line.tax_key] = subtotals.get(line.tax_key, 0) + line.net
        groups = {group.key: group for group in self.taxes}
        problems = []
        if len(groups) != len(self.taxes) or set(groups) != set(subtotals):
            problems.append("the VAT breakdown does not have one row per (category, rate) of the lines")
        elif any(groups[key].subtotal != subtotal for key, subtotal in subtotals.items()):
            problems.append("a breakdown row's subtotal is not the sum of its lines")
        if self.subtotal != sum(line.net for line in self.lines):
            problems.append("the subtotal is not the sum of the line nets")
        if self.discount != sum(group.discount for group in self.taxes):
            problems.append("the discount is not the sum of the breakdown's discounts")
        if self.net != self.subtotal - self.discount or self.net != sum(group.base for group in self.taxes):
            problems.append("the net is not the subtotal less the discount")
        if self.tax != sum(group.amount for group in self.taxes) or self.total != self.net + self.tax:
            problems.append("the tax or total does not add up")
        if any(group.discount < 0 or group.base < 0 for group in self.taxes):
            problems.append("a breakdown row has a negative base or discount")
        if problems:
            raise ValueError(f"{self.kind} {self.number}: " + "; ".join(problems))

    def _check_categories(self) -> None:
        categories = {group.category for group in self.taxes}
        for group in self.taxes:
            if group.category not in TAX_CATEGORIES:
                raise NotExpressible(f"Unknown VAT category {group.category!r}", "tax_category")
            if group.category == "S" and group.rate <= 0:
                raise NotExpressible("Standard-rated (S) lines need a VAT rate above 0 %", "tax_rate")
            if group.category != "S" and (group.rate != 0 or group.amount != 0):
                raise NotExpressible(
                    f"Category {group.category} lines carry no VAT: their rate must be 0 %", "tax_rate"
                )
        if "O" in categories and len(categories) > 1:
            # BR-O-11: a document not subject to VAT cannot hold taxed or exempt lines as well.
            raise NotExpressible("Lines not subject to VAT (O) cannot share a document with other categories", "lines")
        needing_vat = sorted(categories & BUYER_VAT_CATEGORIES)
        if needing_vat and not self.buyer.vat_number:
            raise NotExpressible(f"Category {needing_vat[0]} needs the customer's VAT number", "buyer")

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(group.category for group in self.taxes)


def tax_groups(
    lines: Sequence[DocumentLine],
    domain_lines: Sequence[Line],
    discount_percent: Decimal,
    exemption_reasons: Mapping[str, str] | None = None,
) -> tuple[TaxGroup, ...]:
    """Return the VAT breakdown per (category, rate), computed by the domain once per category.

    `compute_totals` discounts and taxes per rate, rounding once each; running it on each category's
    lines gives exactly one rounding per (category, rate), as SPEC §7 asks.
    """
    reasons = exemption_reasons or {}
    by_category: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        by_category.setdefault(line.tax_category, []).append(index)
    order = {category: position for position, category in enumerate(TAX_CATEGORIES)}
    groups = []
    for category in sorted(by_category, key=lambda c: order.get(c, len(order))):
        indexes = by_category[category]
        totals = compute_totals([domain_lines[i] for i in indexes], discount_percent)
        for tax in totals.taxes:
            subtotal = sum(lines[i].net for i in indexes if lines[i].tax_rate == tax.rate)
            groups.append(
                TaxGroup(
                    category=category,
                    rate=tax.rate,
                    subtotal=subtotal,
                    base=tax.base,
                    amount=tax.amount,
                    exemption_reason=_text(reasons, category) if category in EXEMPT_CATEGORIES else None,
                )
            )
    return tuple(groups)


def issued_document(
    *,
    kind: str,
    number: str,
    issue_date: date,
    currency: str,
    seller: Seller,
    buyer: Buyer,
    lines: Sequence[tuple[Line, str | None]],
    discount_percent: Decimal = Decimal("0"),
    exemption_reasons: Mapping[str, str] | None = None,
    **details,
) -> EDocument:
    """Build the document from the domain's lines (each with its VAT category) and the domain's totals."""
    domain_lines = [line for line, _ in lines]
    document_lines = tuple(DocumentLine.issued(line, category) for line, category in lines)
    taxes = tax_groups(document_lines, domain_lines, discount_percent, exemption_reasons)
    subtotal = sum(line.net for line in document_lines)
    discount = sum(group.discount for group in taxes)
    tax = sum(group.amount for group in taxes)
    return EDocument(
        kind=kind,
        number=number,
        issue_date=issue_date,
        currency=currency,
        seller=seller,
        buyer=buyer,
        lines=document_lines,
        taxes=taxes,
        discount_percent=discount_percent,
        subtotal=subtotal,
        discount=discount,
        net=subtotal - discount,
        tax=tax,
        total=subtotal - discount + tax,
        **details,
    )

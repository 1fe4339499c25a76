"""The document as issued: the frozen input of the e-invoice writers, its amounts from the domain's arithmetic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.errors import DomainError, InvalidAmount
from portal.domain.invoices import Line, Totals, compute_totals
from portal.domain.money import currency_exponent

# The parties are the finalize snapshot's own value objects (the API's `seller` and `buyer`); the writers
# import them from here.
from portal.domain.parties import Address, Buyer, Seller  # noqa: F401
from portal.domain.vat import NEEDS_BUYER_VAT, NEEDS_REASON, TaxCategory, check_category_rate, tax_category

KINDS = ("invoice", "credit_note")


class NotExpressible(DomainError):
    """Signal a document that no EN 16931 e-invoice can state as it was issued."""

    code = "einvoice_not_expressible"


class NotOnPeppol(NotExpressible):
    """Signal a party Peppol cannot address (a consumer): the document is a Factur-X e-invoice, not a Peppol one."""

    code = "not_on_peppol"


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
    #: The fixed amount off the line in minor units, taken after the percentage.
    discount_fixed: int = 0

    @classmethod
    def issued(cls, line: Line) -> DocumentLine:
        """Take the domain's line as it is: its category, and its net, never recomputed."""
        return cls(
            description=line.description.strip(),
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            tax_category=line.tax_category.value,
            tax_rate=line.tax_rate,
            discount_percent=line.discount_percent,
            net=line.net,
            discount_fixed=line.discount_fixed,
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
    #: Why no VAT is charged, as the document states it (categories other than S and Z).
    exemption_reason: str | None = None

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
    #: The invoice-level fixed discount in minor units (part of discount, spread over the breakdown's rows).
    discount_fixed: int = 0

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
        if not (self.seller.vat_number or self.seller.company_number):
            # BR-CO-26: the buyer must be able to identify the seller by a registration or VAT number.
            raise NotExpressible("An e-invoice needs the seller's VAT or company number", "seller")
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
        # The domain's rules (a rate above 0 only for S), applied to rows that may not come from its lines.
        for group in self.taxes:
            try:
                check_category_rate(tax_category(group.category), group.rate)
            except InvalidAmount as exc:
                raise NotExpressible(exc.message, exc.field) from None
            if group.category != TaxCategory.STANDARD.value and group.amount != 0:
                raise NotExpressible(f"Category {group.category} lines carry no VAT", "tax_rate")
        categories = self.categories
        if TaxCategory.NOT_SUBJECT.value in categories and len(categories) > 1:
            # BR-O-11: a document not subject to VAT cannot hold taxed or exempt lines as well.
            raise NotExpressible("Lines not subject to VAT (O) cannot share a document with other categories", "lines")
        needing_vat = sorted(categories & {category.value for category in NEEDS_BUYER_VAT})
        if needing_vat and not self.buyer.vat_number:
            raise NotExpressible(f"Category {needing_vat[0]} needs the customer's VAT number", "buyer")

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(group.category for group in self.taxes)


def tax_groups(lines: Sequence[Line], totals: Totals, exemption_reasons: Mapping[str, str]) -> tuple[TaxGroup, ...]:
    """Return the VAT breakdown as the domain computed it, one row per (category, rate), with its lines' sum."""
    groups = []
    for tax in totals.taxes:
        category = tax.category
        subtotal = sum(line.net for line in lines if line.tax_category is category and line.tax_rate == tax.rate)
        groups.append(
            TaxGroup(
                category=category.value,
                rate=tax.rate,
                subtotal=subtotal,
                base=tax.base,
                amount=tax.amount,
                exemption_reason=_text(exemption_reasons, category.value) if category in NEEDS_REASON else None,
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
    lines: Sequence[Line],
    discount_percent: Decimal = Decimal("0"),
    discount_fixed: int = 0,
    exemption_reasons: Mapping[str, str] | None = None,
    **details,
) -> EDocument:
    """Build the document from the domain's lines and the domain's totals (one compute_totals, as issued)."""
    totals = compute_totals(lines, discount_percent, discount_fixed)
    return EDocument(
        kind=kind,
        number=number,
        issue_date=issue_date,
        currency=currency,
        seller=seller,
        buyer=buyer,
        lines=tuple(DocumentLine.issued(line) for line in lines),
        taxes=tax_groups(lines, totals, exemption_reasons or {}),
        discount_percent=discount_percent,
        discount_fixed=discount_fixed,
        subtotal=totals.subtotal,
        discount=totals.discount,
        net=totals.net,
        tax=totals.tax,
        total=totals.total,
        **details,
    )

"""What UBL and CII state alike: amounts as text, how lines carry their discounts and rounding, identifiers.

The domain rounds once per step (SPEC §1): a line net is round(quantity × price × (1 − discount)), and the
invoice discount is split per (category, rate), each part rounded. EN 16931 wants every stated amount to
follow from the others within a small tolerance (Peppol R120 for a line, BR-S-08 and BR-CO-10…17 for the
totals), so the writers state each rounded step as it happened:

- a line discount is a line allowance of exactly round(quantity × price) − line net, so that the line
  net is quantity × price − allowance to within half a minor unit; a fixed discount is part of it;
- when the currency has no cents (JPY) half a minor unit is more than R120 tolerates, so the price
  carries the rounding: the net price is round(quantity × price) / quantity, the gross price the real one;
- the invoice discount is one document-level allowance per (category, rate), of exactly the amount the
  domain took off that row's base, so each breakdown row's base is its lines less its allowance;
- a percentage is stated beside an amount only where the rules' tolerance holds for it, and never
  when a fixed discount is part of the amount (the percentage would then describe only part of it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from portal.domain.identifiers import InvalidIdentifier, check_company_number
from portal.domain.money import EXACT_PRECISION, Money, round_half_up
from portal.domain.payment_references import format_reference, normalize_reference
from portal.domain.vat import NEEDS_REASON, VATEX_CODES, TaxCategory, default_exemption_reason
from portal.einvoice.document import Address, DocumentLine, EDocument, TaxGroup

#: The largest gap between stated amounts that the rules accept (R040, R120: 0.02), with a margin.
SLACK = Decimal("0.01")
#: UN/ECE Recommendation 20 "one" (unit): the portal does not record units of measure.
UNIT_CODE = "C62"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
#: UNCL5189 code and text for a discount.
DISCOUNT_REASON_CODE = "95"
DISCOUNT_REASON = "Discount"
#: UNCL4461 payment means: SEPA credit transfer, credit transfer, instrument not defined.
SEPA_CREDIT_TRANSFER, CREDIT_TRANSFER, NOT_DEFINED = "58", "30", "1"
#: IBAN country codes of the SEPA scheme.
SEPA_COUNTRIES = frozenset(
    "AD AT BE BG CH CY CZ DE DK EE ES FI FR GB GI GR HR HU IE IS IT LI LT LU LV MC MT NL NO PL PT RO SE SI SK SM VA".split()
)
#: Peppol electronic address schemes (EAS) for VAT numbers, by country.
VAT_ENDPOINT_SCHEMES = {
    "AT": "9914",
    "BE": "9925",
    "BG": "9926",
    "CH": "9927",
    "CY": "9928",
    "CZ": "9929",
    "DE": "9930",
    "EE": "9931",
    "ES": "9920",
    "FR": "9957",
    "GB": "9932",
    "GR": "9933",
    "HR": "9934",
    "HU": "9910",
    "IE": "9935",
    "LT": "9937",
    "LU": "9938",
    "LV": "9939",
    "MT": "9943",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
    "RO": "9947",
    "SI": "9949",
    "SK": "9950",
}
#: Electronic address schemes for company numbers that are not ISO 6523 registrations: US EIN.
COMPANY_ENDPOINT_SCHEMES = {"US": "9959"}
#: EN 16931 accepts an email as electronic address; Peppol's code list does not (it routes by registration).
EMAIL_SCHEME = "EM"


def decimal_text(value: Decimal) -> str:
    """Write a rate, quantity or price without exponent or trailing zeros: 21, 5.5, 1.333."""
    value = value.normalize()
    if value == value.to_integral_value():
        value = value.quantize(Decimal(1))
    return f"{value:f}"


def amount_text(minor: int, currency: str) -> str:
    """Write minor units with the currency's decimals: 1234 EUR → 12.34, 1234 JPY → 1234."""
    return f"{Money(minor, currency).to_decimal():f}"


def _major(minor: int | Decimal, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-Money.zero(currency).exponent)


@dataclass(frozen=True)
class LineTerms:
    """How one line states its price, discount and rounding."""

    #: Item net price (BT-146), in major units, with as many decimals as it needs.
    price: Decimal
    #: Item gross price (BT-148) when the net price carries the rounding; else None.
    gross_price: Decimal | None
    #: Line allowance (BT-136) in minor units: the line discount as the domain took it off; 0 for none.
    allowance: int
    #: Its base (BT-137, minor units) and percentage (BT-138), stated only where they agree with it.
    allowance_base: int | None
    allowance_percent: Decimal | None

    @property
    def price_discount(self) -> Decimal | None:
        """Return the item price discount (BT-147) when a gross price is stated."""
        return None if self.gross_price is None else self.gross_price - self.price


def _percent_agrees(base: int, percent: Decimal, amount: int, currency: str) -> bool:
    with localcontext(prec=EXACT_PRECISION):
        return abs(_major(base, currency) * percent / 100 - _major(amount, currency)) <= SLACK


def line_terms(line: DocumentLine, currency: str) -> LineTerms:
    """Return the price and allowance that make the line net follow from them (Peppol R120)."""
    with localcontext(prec=EXACT_PRECISION):
        gross = round_half_up(line.quantity * line.unit_amount)
        unit_price = _major(line.unit_amount, currency)
        exact = line.quantity * unit_price
        price, gross_price = unit_price, None
        if abs(exact - _major(gross, currency)) > SLACK:
            # Only without cents: state the price the rounded amount implies, keep the real one as gross.
            price = (_major(gross, currency) / line.quantity).quantize(Decimal("1e-8"), rounding=ROUND_HALF_UP)
            price = Decimal(decimal_text(price))
            gross_price = unit_price if price <= unit_price else None
    allowance = gross - line.net
    agrees = (
        allowance > 0 and not line.discount_fixed and _percent_agrees(gross, line.discount_percent, allowance, currency)
    )
    return LineTerms(
        price=price,
        gross_price=gross_price,
        allowance=allowance,
        allowance_base=gross if agrees else None,
        allowance_percent=line.discount_percent if agrees else None,
    )


@dataclass(frozen=True)
class DocumentAllowance:
    """The invoice discount's share of one (category, rate): a document-level allowance (BG-20)."""

    category: str
    rate: Decimal
    amount: int
    base: int | None
    percent: Decimal | None


def document_allowances(document: EDocument) -> tuple[DocumentAllowance, ...]:
    """Return one allowance per breakdown row that the invoice discount reduced."""
    allowances = []
    for group in document.taxes:
        if group.discount <= 0:
            continue
        agrees = not document.discount_fixed and _percent_agrees(
            group.subtotal, document.discount_percent, group.discount, document.currency
        )
        allowances.append(
            DocumentAllowance(
                category=group.category,
                rate=group.rate,
                amount=group.discount,
                base=group.subtotal if agrees else None,
                percent=document.discount_percent if agrees else None,
            )
        )
    return tuple(allowances)


def exemption(group: TaxGroup) -> tuple[str | None, str | None]:
    """Return the exemption reason text and VATEX code a breakdown row states (none for S and Z).

    The code is the domain's (E has many legal grounds, so it goes by its wording alone); the text is the
    wording the document was issued with, or the English legal wording when it has none.
    """
    category = TaxCategory(group.category)
    if category not in NEEDS_REASON:
        return None, None
    return group.exemption_reason or default_exemption_reason(category, "en"), VATEX_CODES.get(category)


def buyer_address(document: EDocument) -> Address:
    """Return the buyer's address; EN 16931 needs its country (BR-11), so a customer without one is domestic."""
    address = document.buyer.address
    if address and address.country:
        return address
    return Address(line1="", line2=None, postal_code="", city="", country=document.seller.address.country)


def states_vat_numbers(document: EDocument) -> bool:
    """Tell whether the parties' VAT numbers are stated: never on a document not subject to VAT (BR-O-02)."""
    return "O" not in document.categories


def payment_terms(document: EDocument) -> str | None:
    """Return the payment terms (BT-20); a credit note without any names its invoice instead.

    BR-CO-25: an amount to pay needs terms or a due date, and a credit note has no due date.
    """
    if document.terms:
        return document.terms
    if document.is_credit_note and document.corrected_invoice:
        return f"Credit note for invoice {document.corrected_invoice.number}"
    return None


def item_name(description: str) -> tuple[str, str | None]:
    """Split a line's description into the item name (its first line) and, when longer, the full text."""
    name, _, rest = description.partition("\n")
    return name.strip() or description, description if rest.strip() else None


def states_rate(category: str) -> bool:
    """Tell whether a VAT rate is stated: never for O, not subject to VAT (BR-O-05)."""
    return category != "O"


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-/]", "", value).upper()


def vat_identifier(vat_number: str, country: str) -> str:
    """Return the VAT number compact, with its country prefix (EL for Greece, BR-CO-09)."""
    vat = _compact(vat_number)
    if not vat[:2].isalpha():
        vat = ("EL" if country == "GR" else country) + vat
    return vat


#: ISO 6523 schemes of the company registers whose numbers the domain checks: BE enterprise number,
#: NL KvK, FR SIREN (9 digits) and SIRET (14).
REGISTRATION_SCHEMES = {"BE": {10: "0208"}, "NL": {8: "0106"}, "FR": {9: "0002", 14: "0009"}}


def legal_registration(company_number: str | None, country: str) -> tuple[str, str | None] | None:
    """Return the company number and its ISO 6523 scheme where one is known (0208 BE, 0106 NL, 0002/0009 FR).

    A number that fails its register's rules is stated as written, without a scheme.
    """
    if not company_number:
        return None
    schemes = REGISTRATION_SCHEMES.get(country)
    if schemes:
        try:
            digits = re.sub(r"\D", "", check_company_number(company_number, country))
        except InvalidIdentifier:
            digits = ""
        if len(digits) in schemes:
            return digits, schemes[len(digits)]
    return company_number.strip(), None


def peppol_endpoint(country: str, company_number: str | None, vat_number: str | None) -> tuple[str, str] | None:
    """Return (scheme, id) of the party's Peppol participant identifier: its registration, else its VAT number.

    A consumer has neither, and Peppol has no scheme for an email address: it is not on Peppol.
    """
    registration = legal_registration(company_number, country)
    if registration and registration[1]:
        return registration[1], registration[0]
    if vat_number and country in VAT_ENDPOINT_SCHEMES:
        return VAT_ENDPOINT_SCHEMES[country], vat_identifier(vat_number, country)
    if company_number and country in COMPANY_ENDPOINT_SCHEMES:
        return COMPANY_ENDPOINT_SCHEMES[country], re.sub(r"\D", "", company_number)
    return None


def endpoint(
    country: str, company_number: str | None, vat_number: str | None, email: str | None
) -> tuple[str, str] | None:
    """Return (scheme, id) of the party's electronic address: its Peppol identifier, else its email (EN 16931's EM)."""
    found = peppol_endpoint(country, company_number, vat_number)
    if found is None and email:
        return EMAIL_SCHEME, email
    return found


def compact_iban(iban: str) -> str:
    return _compact(iban)


def payment_means_code(iban: str | None, currency: str) -> str:
    """Return 58 for a SEPA transfer in euro, 30 for another transfer, 1 when no account is known."""
    if not iban:
        return NOT_DEFINED
    if currency == "EUR" and compact_iban(iban)[:2] in SEPA_COUNTRIES:
        return SEPA_CREDIT_TRANSFER
    return CREDIT_TRANSFER


def payment_id(reference: str) -> str:
    """Write a structured reference as banks read it: +++123/4567/89012+++ (OGM/VCS) or RF18539007547034."""
    compact = normalize_reference(reference)
    if compact is None:
        return _compact(reference)
    return compact if compact.startswith("RF") else format_reference(compact)

"""UBL (Peppol BIS Billing 3.0) and CII (Factur-X EN 16931) documents pass the official rules with zero fatal errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from portal.domain.invoices import MAX_UNIT_AMOUNT, compute_totals
from portal.einvoice import en16931
from portal.einvoice.cii import cii_xml
from portal.einvoice.document import Buyer, EDocument, NotExpressible, Seller, TaxGroup
from portal.einvoice.ubl import ubl_xml
from tests.einvoice.samples import (
    BUYER_BE,
    BUYER_DE,
    BUYER_FR,
    BUYER_NL,
    BUYER_NO_ADDRESS,
    BUYER_NO_VAT,
    BUYER_US,
    CONSUMER,
    CONSUMER_NO_ADDRESS,
    EXEMPTION_REASONS,
    SELLER,
    SELLER_DE,
    SELLER_NL,
    invoice,
    line,
)

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
}
WRITERS = {"ubl": ubl_xml, "cii": cii_xml}

SCENARIOS = {
    "one rate": lambda: invoice(
        [line("3", 12500, description="Design\nLogo, house style and\ttemplates", category="S")]
    ),
    "several rates": lambda: invoice(
        [line("2", 4999, "21", category="S"), line("1", 1999, "6", category="S"), line("5", 350, "12", category="S")]
    ),
    "line and document discounts": lambda: invoice(
        [
            line("2.125", 1999, "21", "10", category="S"),
            line("1.333", 777, "21", "7.5", category="S"),
            line("3", 12345, "6", "33.33", category="S"),
            line("0.001", 1, "21", category="S"),
        ],
        discount="5.5",
    ),
    "zero rated (Z)": lambda: invoice([line("4", 2500, "0", category="Z"), line("1", 10000, "21", category="S")]),
    "exempt (E)": lambda: invoice(
        [line("1", 90000, "0", description="Training course", category="E")], buyer=BUYER_NO_VAT
    ),
    "reverse charge (AE)": lambda: invoice([line("10", 8500, "0", "5", category="AE")], discount="2"),
    "intra-community supply (K)": lambda: invoice([line("12", 1575, "0", category="K")], buyer=BUYER_FR),
    "export outside the EU (G)": lambda: invoice([line("3", 45000, "0", category="G")], buyer=BUYER_US),
    "not subject to VAT (O)": lambda: invoice([line("1", 120000, "0", category="O")], buyer=BUYER_US),
    "not subject to VAT, seller without company number": lambda: invoice(
        [line("1", 120000, "0", category="O")], seller=SELLER_DE, buyer=BUYER_FR
    ),
    "mixed categories": lambda: invoice(
        [line("1", 10000, "21", category="S"), line("2", 5000, "0", category="E"), line("3", 1000, "0", category="Z")],
        discount="10",
    ),
    "credit note": lambda: invoice(
        [line("1", 2500, "21", category="S"), line("0.5", 4000, "6", "10", category="S")],
        kind="credit_note",
        number="CN-2026-0003",
    ),
    "JPY invoice": lambda: invoice(
        [
            line("1.5", 9999, "10", category="S"),
            line("1.1", 1234, "8", "7.5", category="S"),
            line("3", 500, "10", category="S"),
        ],
        currency="JPY",
        discount="3",
        seller=SELLER,
        buyer=BUYER_BE,
    ),
    "customer without VAT number": lambda: invoice([line("2", 3000, "21", category="S")], buyer=BUYER_NO_VAT),
    "customer without address": lambda: invoice([line("1", 3000, "21", category="S")], buyer=BUYER_NO_ADDRESS),
    "German seller and buyer": lambda: invoice(
        [line("2", 9000, "19", category="S"), line("1", 1200, "7", category="S")], seller=SELLER_DE, buyer=BUYER_DE
    ),
    "German credit note": lambda: invoice(
        [line("1", 9000, "19", category="S")], seller=SELLER_DE, buyer=BUYER_DE, kind="credit_note", number="CN-1"
    ),
    "Dutch seller and buyer": lambda: invoice([line("8", 11000, "21", category="S")], seller=SELLER_NL, buyer=BUYER_NL),
    "Dutch credit note": lambda: invoice(
        [line("1", 11000, "21", category="S")], seller=SELLER_NL, buyer=BUYER_NL, kind="credit_note", number="CN-1"
    ),
}


@pytest.mark.parametrize("syntax", sorted(WRITERS))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_documents_pass_the_official_rules(rules, scenario, syntax):
    rules.assert_valid(WRITERS[syntax](SCENARIOS[scenario]()))


def _ubl(document: EDocument) -> etree._Element:
    return etree.fromstring(ubl_xml(document))


def _cii(document: EDocument) -> etree._Element:
    return etree.fromstring(cii_xml(document))


def _texts(root: etree._Element, path: str) -> list[str]:
    return [element.text for element in root.xpath(path, namespaces=NS)]


def test_amounts_are_the_domains_per_category_and_rate():
    lines = [line("2.125", 1999, "21", "10"), line("3", 12345, "6"), line("1.333", 777, "21", "7.5")]
    document = invoice(lines, discount="5")
    totals = compute_totals(lines, Decimal("5"))
    assert (document.subtotal, document.discount, document.net, document.tax, document.total) == (
        totals.subtotal,
        totals.discount,
        totals.net,
        totals.tax,
        totals.total,
    )
    assert [(g.rate, g.base, g.amount) for g in document.taxes] == [(t.rate, t.base, t.amount) for t in totals.taxes]

    root = _ubl(document)
    assert _texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == [en16931.amount_text(totals.total, "EUR")]
    assert _texts(root, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount") == [
        en16931.amount_text(t.base, "EUR") for t in totals.taxes
    ]
    assert _texts(root, "cac:InvoiceLine/cbc:LineExtensionAmount") == [en16931.amount_text(x.net, "EUR") for x in lines]
    # The invoice discount is one allowance per (category, rate), summing to the domain's discount.
    allowances = [Decimal(a) for a in _texts(root, "cac:AllowanceCharge/cbc:Amount")]
    assert len(allowances) == 2 and sum(allowances) == Decimal(totals.discount) / 100


def test_a_line_without_category_is_standard_or_zero_rated():
    document = invoice([line("1", 1000, "21"), line("1", 500, "0")])
    assert [(line.tax_category, line.tax_rate) for line in document.lines] == [("S", Decimal(21)), ("Z", Decimal(0))]


def test_a_category_is_grouped_apart_from_another_at_the_same_rate():
    document = invoice(
        [line("1", 1000, "0", category="Z"), line("1", 2000, "0", category="E"), line("1", 500, "0", category="E")]
    )
    assert [(g.category, g.rate, g.base) for g in document.taxes] == [
        ("Z", Decimal("0"), 1000),
        ("E", Decimal("0"), 2500),
    ]


def test_jpy_amounts_have_no_decimals_and_the_price_carries_the_rounding():
    document = SCENARIOS["JPY invoice"]()
    root = _ubl(document)
    amounts = root.xpath("//*[@currencyID][not(ancestor::cac:Price)]", namespaces=NS)
    assert amounts and all("." not in element.text for element in amounts)
    # 1.5 × 9999 = 14998.5 rounds to 14999: the net price states it, there is no cent to hide it in.
    first = root.xpath("cac:InvoiceLine[1]", namespaces=NS)[0]
    assert _texts(first, "cbc:LineExtensionAmount") == ["14999"]
    assert _texts(first, "cac:Price/cbc:PriceAmount") == ["9999.33333333"]
    # 1.1 × 1234 = 1357.4 → 1357, less 7.5 % of 1357.4 → 1256: the discount is the line allowance, the
    # rounding a price discount from the real (gross) price.
    second = root.xpath("cac:InvoiceLine[2]", namespaces=NS)[0]
    assert _texts(second, "cbc:LineExtensionAmount") == ["1256"]
    assert _texts(second, "cac:AllowanceCharge/cbc:Amount") == ["101"]
    assert _texts(second, "cac:Price/cbc:PriceAmount") == ["1233.63636364"]
    assert _texts(second, "cac:Price/cac:AllowanceCharge/cbc:BaseAmount") == ["1234"]
    assert _texts(second, "cac:Price/cac:AllowanceCharge/cbc:Amount") == ["0.36363636"]


@pytest.mark.parametrize(
    ("category", "code"),
    [("E", None), ("AE", "VATEX-EU-AE"), ("K", "VATEX-EU-IC"), ("G", "VATEX-EU-G"), ("O", "VATEX-EU-O")],
)
def test_exempt_categories_state_their_reason(category, code):
    buyer = BUYER_US if category in ("G", "O") else BUYER_FR
    document = invoice([line("1", 5000, "0", category=category)], buyer=buyer)
    ubl, cii = _ubl(document), _cii(document)
    category_path = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"
    assert _texts(ubl, f"{category_path}/cbc:TaxExemptionReason") == [EXEMPTION_REASONS[category]]
    assert _texts(ubl, f"{category_path}/cbc:TaxExemptionReasonCode") == ([code] if code else [])
    trade_tax = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert _texts(cii, f"{trade_tax}/ram:ExemptionReason") == [EXEMPTION_REASONS[category]]
    assert _texts(cii, f"{trade_tax}/ram:ExemptionReasonCode") == ([code] if code else [])


def test_a_document_not_subject_to_vat_states_no_vat_numbers(rules):
    document = invoice([line("1", 5000, "0", category="O")], buyer=BUYER_FR)
    ubl = _ubl(document)
    assert ubl.xpath("//cac:PartyTaxScheme", namespaces=NS) == []
    assert ubl.xpath("//cac:ClassifiedTaxCategory/cbc:Percent", namespaces=NS) == []
    rules.assert_valid(etree.tostring(ubl))


def test_payment_means_endpoints_and_references():
    root = _ubl(SCENARIOS["one rate"]())
    assert _texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["58"]
    assert _texts(root, "cac:PaymentMeans/cbc:PaymentID") == ["+++090/9337/55493+++"]
    assert _texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["BE71096123456769"]
    supplier, customer = "cac:AccountingSupplierParty/cac:Party", "cac:AccountingCustomerParty/cac:Party"
    assert root.xpath(f"{supplier}/cbc:EndpointID/@schemeID", namespaces=NS) == ["0208"]
    assert _texts(root, f"{supplier}/cbc:EndpointID") == ["0403170701"]
    assert _texts(root, f"{customer}/cac:PartyTaxScheme/cbc:CompanyID") == ["BE0417497106"]

    association = _ubl(invoice([line(category="S")], buyer=BUYER_NO_VAT))
    assert association.xpath(f"{customer}/cbc:EndpointID/@schemeID", namespaces=NS) == ["0208"]
    assert _texts(association, f"{customer}/cbc:EndpointID") == ["0202239951"]

    rf = _ubl(invoice([line(category="S")], seller=SELLER_DE, buyer=BUYER_DE, payment_reference="RF18 5390 0754 7034"))
    assert _texts(rf, "cac:PaymentMeans/cbc:PaymentID") == ["RF18539007547034"]
    assert rf.xpath(f"{supplier}/cbc:EndpointID/@schemeID", namespaces=NS) == ["9930"]


@pytest.mark.parametrize(
    ("country", "company", "vat", "expected"),
    [
        ("BE", "0403.170.701", "BE0403170701", ("0208", "0403170701")),
        ("BE", None, "BE 0403.170.701", ("9925", "BE0403170701")),
        ("BE", "0403.170.702", None, ("EM", "a@b.example")),  # wrong check digits: not an enterprise number
        ("NL", "12345678", "NL853746333B01", ("0106", "12345678")),
        ("FR", "303265045", None, ("0002", "303265045")),
        ("DE", "HRB 12345", "DE136695976", ("9930", "DE136695976")),
        ("US", "12-3456789", None, ("9959", "123456789")),
        ("US", None, None, ("EM", "a@b.example")),
    ],
)
def test_endpoint_schemes(country, company, vat, expected):
    assert en16931.endpoint(country, company, vat, "a@b.example") == expected


@pytest.mark.parametrize("buyer", [CONSUMER, CONSUMER_NO_ADDRESS], ids=["consumer", "consumer without address"])
def test_a_consumer_is_addressed_by_email_in_factur_x_and_has_no_peppol_ubl(rules, buyer):
    """EN 16931 takes an email as electronic address (EM); Peppol lists no such scheme, so no UBL for consumers.

    Writing one would break PEPPOL-EN16931-CL008 (or R010 without an address): a consumer is not on Peppol.
    """
    document = invoice([line("2", 3000, "21", category="S")], buyer=buyer)
    cii = cii_xml(document)
    rules.assert_valid(cii)
    address = _cii(document).xpath("//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID", namespaces=NS)
    assert [(element.get("schemeID"), element.text) for element in address] == [("EM", buyer.email)]
    with pytest.raises(NotExpressible, match="buyer by a company or VAT number"):
        ubl_xml(document)


def test_a_seller_needs_a_vat_or_company_number():
    """BR-CO-26: the buyer identifies the seller by one of them."""
    seller = replace(SELLER, vat_number=None, company_number=None)
    with pytest.raises(NotExpressible, match="seller's VAT or company number"):
        invoice([line(category="S")], seller=seller)


def test_a_credit_note_references_the_invoice_it_corrects():
    root = _ubl(SCENARIOS["credit note"]())
    assert etree.QName(root).localname == "CreditNote"
    assert _texts(root, "cbc:CreditNoteTypeCode") == ["381"]
    assert _texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == ["2026-0007"]
    assert _texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == ["2026-01-15"]
    cii = _cii(SCENARIOS["credit note"]())
    assert _texts(cii, "rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    reference = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument"
    assert _texts(cii, f"{reference}/ram:IssuerAssignedID") == ["2026-0007"]


@pytest.mark.parametrize("syntax", sorted(WRITERS))
def test_a_line_amount_one_cent_off_is_reported(rules, syntax):
    """The check cannot pass vacuously: the validator catches a tampered amount."""
    root = etree.fromstring(WRITERS[syntax](SCENARIOS["several rates"]()))
    path = "cac:InvoiceLine/cbc:LineExtensionAmount" if syntax == "ubl" else "//ram:LineTotalAmount"
    amount = root.xpath(path, namespaces=NS)[0]
    amount.text = f"{Decimal(amount.text) + Decimal('0.01'):f}"
    fatal = {failure.id for failure in rules.fatal(etree.tostring(root))}
    assert "BR-CO-10" in fatal


def test_documents_no_e_invoice_can_state_are_refused():
    with pytest.raises(NotExpressible, match="two decimals"):
        invoice([line(category="S")], currency="KWD")
    with pytest.raises(NotExpressible, match="not subject to VAT"):
        invoice([line(rate="0", category="O"), line(category="S")])
    with pytest.raises(NotExpressible, match="VAT number"):
        invoice([line(rate="0", category="AE")], buyer=CONSUMER)


@pytest.mark.parametrize(("category", "rate", "message"), [("E", "21", "rate must be 0"), ("S", "0", "above 0")])
def test_rows_that_break_the_domains_category_rules_are_refused(category, rate, message):
    """The domain's lines cannot be built so; a document assembled otherwise meets the same rule."""
    document = invoice([line(rate="0", category="Z")])
    rate = Decimal(rate)
    lines = tuple(replace(item, tax_category=category, tax_rate=rate) for item in document.lines)
    taxes = tuple(replace(group, category=category, rate=rate) for group in document.taxes)
    with pytest.raises(NotExpressible, match=message):
        EDocument(**{**document.__dict__, "lines": lines, "taxes": taxes})


def test_amounts_that_do_not_add_up_are_refused():
    document = invoice([line("1", 1000, category="S")])
    group = document.taxes[0]
    with pytest.raises(ValueError, match="tax or total"):
        EDocument(**{**document.__dict__, "total": document.total + 1})
    wrong_group = TaxGroup(group.category, group.rate, group.subtotal, group.base, group.amount + 1)
    with pytest.raises(ValueError, match="tax or total"):
        EDocument(**{**document.__dict__, "taxes": (wrong_group,)})


# Hypothesis: any document the domain can compute is a valid e-invoice. Rates are those EU states use plus
# arbitrary ones from 1 %: the rules' own check (BR-CO-17) rounds the rate to a whole percent first.
STANDARD_RATES = [Decimal(r) for r in ("21", "20", "19", "10", "9", "8.5", "7", "6", "5.5", "2.1", "25.5", "17")]
rates = st.sampled_from(STANDARD_RATES) | st.decimals(min_value=1, max_value=30, places=2)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3)
percents = st.sampled_from([Decimal(0), Decimal(10), Decimal("33.33")]) | st.decimals(
    min_value=0, max_value=100, places=2
)


@st.composite
def documents(draw):
    currency = draw(st.sampled_from(["EUR", "EUR", "JPY", "USD"]))
    kind = draw(st.sampled_from(["invoice", "invoice", "credit_note"]))
    zero_categories = draw(st.sampled_from([(), ("Z",), ("E",), ("Z", "E")]))
    entries = []
    for _ in range(draw(st.integers(1, 6))):
        category = draw(st.sampled_from(("S", "S", *zero_categories)))
        rate = draw(rates) if category == "S" else Decimal(0)
        unit_amount = draw(st.integers(0, 10**6) | st.integers(0, MAX_UNIT_AMOUNT // 1000))
        entries.append(line(str(draw(quantities)), unit_amount, str(rate), str(draw(percents)), category=category))
    discount = draw(percents)
    buyer = draw(st.sampled_from([BUYER_BE, BUYER_NO_VAT, BUYER_NO_ADDRESS, BUYER_NL]))
    return invoice(entries, currency=currency, discount=str(discount), kind=kind, buyer=buyer)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents())
def test_any_document_the_domain_computes_passes_the_rules(rules, document):
    for write in WRITERS.values():
        rules.assert_valid(write(document))


def test_parties_are_read_from_the_finalize_snapshot(rules):
    """The snapshot shape agreed for `seller` and `buyer` (stored on documents, returned by the API)."""
    seller = Seller.from_json(
        {
            "legal_name": "Atelier Dupont SRL",
            "address": {
                "line1": "Rue de la Loi 16",
                "line2": None,
                "postal_code": "1000",
                "city": "Bruxelles",
                "country": "be",
            },
            "vat_number": "BE0403170701",
            "company_number": "0403.170.701",
            "email": "billing@atelier-dupont.example",
            "phone": None,
            "website": "",
            "iban": "BE71096123456769",
            "bic": "GKCCBEBB",
        }
    )
    buyer = Buyer.from_json(
        {
            "name": "Tom Janssens",
            "company": None,
            "address": None,
            "vat_number": None,
            "company_number": None,
            "email": "tom@example.org",
            "phone": None,
        }
    )
    assert seller == SELLER.__class__(**{**SELLER.__dict__, "phone": None, "website": None, "iban": "BE71096123456769"})
    assert buyer == CONSUMER_NO_ADDRESS
    rules.assert_valid(cii_xml(invoice([line(category="S")], seller=seller, buyer=buyer)))


def test_supply_date_is_the_delivery_date():
    root = _ubl(invoice([line(category="S")], supply_date=date(2026, 1, 3)))
    assert _texts(root, "cac:Delivery/cbc:ActualDeliveryDate") == ["2026-01-03"]

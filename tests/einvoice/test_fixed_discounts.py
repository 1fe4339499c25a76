"""Fixed-amount discounts in UBL and CII: line allowances and document allowances per (category, rate)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from lxml import etree

from portal.documents.pdf import credit_note_pdf, invoice_pdf
from portal.einvoice import en16931
from portal.einvoice.cii import cii_xml
from portal.einvoice.ubl import ubl_xml
from portal.services import credit_notes, einvoices
from tests.einvoice.samples import BUYER_BE, BUYER_NO_VAT, SELLER, invoice, line
from tests.factories import make_company_customer, make_invoice, make_merchant

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
}
WRITERS = {"ubl": ubl_xml, "cii": cii_xml}


def fixed(base_line, amount: int):
    """Return the line with a fixed discount (checked by the domain again)."""
    return replace(base_line, discount_fixed=amount)


SCENARIOS = {
    "fixed line discounts at mixed rates": lambda: invoice(
        [
            fixed(line("3", 12500, "21", category="S"), 777),
            fixed(line("2.125", 1999, "6", "10", category="S"), 123),
            line("1", 5000, "12", category="S"),
        ]
    ),
    "fixed invoice discount spread over mixed rates": lambda: invoice(
        [line("1", 10000, "21", category="S"), line("1", 5000, "6", category="S")], discount_fixed=1000
    ),
    "percentage and fixed on the invoice and its lines": lambda: invoice(
        [
            fixed(line("1.333", 777, "21", "7.5", category="S"), 50),
            fixed(line("3", 12345, "6", "33.33", category="S"), 999),
            line("4", 2500, "0", category="Z"),
        ],
        discount="5.5",
        discount_fixed=1234,
    ),
    "fixed discount over exempt and zero-rated lines": lambda: invoice(
        [line("1", 10000, "21", category="S"), line("2", 5000, "0", category="E"), line("3", 1000, "0", category="Z")],
        discount_fixed=2001,
        buyer=BUYER_NO_VAT,
    ),
    "a line made free by its fixed discount": lambda: invoice(
        [fixed(line("1", 2500, "21", description="Goodwill gesture", category="S"), 2500), line("1", 10000, "21")]
    ),
    "JPY fixed discounts": lambda: invoice(
        [fixed(line("1.5", 9999, "10", category="S"), 500), line("1.1", 1234, "8", category="S")],
        currency="JPY",
        discount_fixed=333,
        seller=SELLER,
        buyer=BUYER_BE,
    ),
    "credit note with a fixed line discount": lambda: invoice(
        [fixed(line("1", 2500, "21", category="S"), 300), fixed(line("0.5", 4000, "6", "10", category="S"), 100)],
        kind="credit_note",
        number="CN-2026-0004",
    ),
}


@pytest.mark.parametrize("syntax", sorted(WRITERS))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_fixed_discounts_pass_the_official_rules(rules, scenario, syntax):
    rules.assert_valid(WRITERS[syntax](SCENARIOS[scenario]()))


def _texts(xml: bytes, path: str) -> list[str]:
    return [element.text for element in etree.fromstring(xml).xpath(path, namespaces=NS)]


def test_the_invoice_fixed_discount_is_one_allowance_per_rate_of_exactly_its_part():
    document = SCENARIOS["fixed invoice discount spread over mixed rates"]()
    ubl, cii = ubl_xml(document), cii_xml(document)
    # 10.00 spread 100:50 → 3.33 on the 6 % row, 6.67 on the 21 % row (the larger remainder).
    assert _texts(ubl, "cac:AllowanceCharge/cbc:Amount") == ["3.33", "6.67"]
    assert _texts(ubl, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent") == ["6", "21"]
    assert _texts(ubl, "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount") == ["10.00"]
    assert _texts(ubl, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount") == ["46.67", "93.33"]
    assert _texts(ubl, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount") == ["2.80", "19.60"]
    # A fixed amount has no percentage: none is stated.
    assert _texts(ubl, "cac:AllowanceCharge/cbc:MultiplierFactorNumeric") == []
    assert _texts(cii, "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount") == [
        "3.33",
        "6.67",
    ]
    assert _texts(cii, "//ram:AllowanceTotalAmount") == ["10.00"]


def test_a_percentage_is_not_stated_for_an_allowance_that_holds_a_fixed_part():
    # 10 % of 100.00 with 0.01 off besides: the percentage would describe 10.00, the allowance is 10.01.
    document = invoice([fixed(line("1", 10000, "21", "10", category="S"), 1)], discount="10", discount_fixed=1)
    ubl = ubl_xml(document)
    assert _texts(ubl, "cac:InvoiceLine/cac:AllowanceCharge/cbc:Amount") == ["10.01"]
    assert _texts(ubl, "cac:InvoiceLine/cac:AllowanceCharge/cbc:MultiplierFactorNumeric") == []
    assert _texts(ubl, "cac:AllowanceCharge/cbc:Amount") == ["9.01"]  # round(8.999) = 9.00, plus 0.01
    assert _texts(ubl, "cac:AllowanceCharge/cbc:MultiplierFactorNumeric") == []


# -- issued documents: from the finalized invoice's rows ------------------------------------------


@pytest.fixture
def issued(ctx):
    merchant = make_merchant("Atelier Lumen", company_number="0403.170.701", iban="BE68539007547034", bic="GKCCBEBB")
    customer = make_company_customer(merchant)
    return make_invoice(
        customer,
        lines=[
            fixed(line("2", 12500, "21", "10", description="Design", category="S"), 1500),
            line("250", 120, "6", description="Print", category="S"),
        ],
        discount_percent=Decimal("5"),
        discount_fixed=2000,
    )


def _pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_a_finalized_invoice_states_its_fixed_discounts_in_the_einvoices_and_the_pdf(issued, rules):
    # Design: 2 × 125.00 = 250.00 − 10 % = 225.00 − 15.00 = 210.00; Print: 300.00.
    # 5 %: 10.50 and 15.00 → 199.50 and 285.00; 20.00 spread 199.5:285 → 8.24 and 11.76.
    assert [line.net_amount for line in issued.lines] == [21000, 30000]
    assert (issued.subtotal, issued.discount_amount, issued.net_amount) == (51000, 2550 + 2000, 46450)
    document = einvoices.invoice_document(issued)
    assert [(group.rate, group.base) for group in document.taxes] == [
        (Decimal("6"), 28500 - 1176),
        (Decimal("21"), 19950 - 824),
    ]
    ubl, cii = einvoices.ubl(issued), einvoices.facturx_cii(issued)
    rules.assert_valid(ubl)
    rules.assert_valid(cii)
    assert _texts(ubl, "cac:LegalMonetaryTotal/cbc:PayableAmount") == [en16931.amount_text(issued.total, "EUR")]
    assert _texts(ubl, "cac:InvoiceLine/cac:AllowanceCharge/cbc:Amount") == ["40.00"]  # 25.00 + 15.00

    text = _pdf_text(invoice_pdf(issued))
    assert "5 % and €20.00" in text or "5% and €20.00" in text, text
    assert "10 % and €15.00" in text or "10% and €15.00" in text, text
    assert "−€45.50" in text


def test_a_credit_note_with_a_fixed_line_discount_is_valid_and_lowers_the_outstanding(issued, rules):
    note = credit_notes.issue_credit_note(
        issued,
        lines=[fixed(line("1", 10000, "21", description="Design, partly", category="S"), 2500)],
        issue_date=date(2026, 1, 10),
        reason="Goodwill",
    )
    assert note.net_amount == 7500 and note.total == 7500 + 1575
    assert issued.credited == note.total
    rules.assert_valid(einvoices.ubl(note))
    rules.assert_valid(einvoices.facturx_cii(note))
    text = _pdf_text(credit_note_pdf(note))
    assert "€25.00" in text and "€75.00" in text

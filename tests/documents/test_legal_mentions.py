"""Every document carries the mentions of VAT Directive art. 226, per VAT category, in the customer's language."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from flask_babel import force_locale
from sqlalchemy import select

from portal.documents.html import CATEGORY_NAMES
from portal.documents.pdf import credit_note_pdf, invoice_pdf
from portal.domain.invoices import compute_totals
from portal.domain.money import Money
from portal.domain.parties import Address
from portal.domain.vat import TaxCategory, default_exemption_reason
from portal.extensions import db
from portal.models import Customer, Invoice
from portal.services.demo import load_demo
from tests.factories import credit, line, make_api_key, make_customer, make_invoice, make_merchant
from tests.portal.conftest import plain, sign_in

pytestmark = pytest.mark.usefixtures("ctx")

#: What the documents call the numbers in each language (the translations of the labels, with the
#: language's own colon: French puts a no-break space before it).
LABELS = {
    "en": {"vat": "VAT number:", "company": "Company number:", "supply": "Supply date", "country": "Belgium"},
    "fr": {
        "vat": "N° de TVA\u00a0:",
        "company": "N° d’entreprise\u00a0:",
        "supply": "Date de livraison ou de prestation",
        "country": "Belgique",
    },
    "nl": {"vat": "Btw-nummer:", "company": "Ondernemingsnummer:", "supply": "Leveringsdatum", "country": "België"},
    "de": {"vat": "USt-IdNr.:", "company": "Registernummer:", "supply": "Leistungsdatum", "country": "Belgien"},
}


def text_of(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    return " ".join(plain(text).split())


def flat(value: str) -> str:
    return " ".join(plain(value).split())


def money(minor: int, language: str) -> str:
    return flat(format_currency(Money(minor, "EUR").to_decimal(), "EUR", locale=language))


def rate(percent: Decimal, language: str) -> str:
    """Write a rate as the locale does (21 % in fr and de, 21% in nl and en), as the pages do."""
    return flat(format_percent(percent / 100, locale=language, decimal_quantization=False))


def day(value: date, language: str) -> str:
    return flat(format_date(value, "medium", locale=language))


def test_a_reverse_charge_invoice_to_a_belgian_vat_registered_customer(client, time_machine):
    time_machine.move_to("2026-01-15 12:00", tick=False)
    seller = make_merchant(
        "Studio Noord",
        country="NL",
        city="Amsterdam",
        postal_code="1012 AB",
        address_line1="Damrak 1",
        vat_number="NL004495445B01",
    )
    customer = make_customer(
        seller,
        "Daan de Vries",
        language="nl",
        company="De Vries Architecten BV",
        address=Address("Korenmarkt 12", None, "9000", "Gent", "BE"),
        vat_number="BE0836542153",
    )
    invoice = make_invoice(customer, lines=[line("Ontwerp website", "1", 250000, tax_category="AE")])
    sign_in(client, customer)

    text = text_of(invoice_pdf(invoice))
    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))
    api = invoice_api(client, seller, invoice)

    for shown in (text, page):
        assert "Btw verlegd" in shown  # the reverse-charge wording in the customer's language
        assert "BE0836542153" in shown and "NL004495445B01" in shown  # both VAT numbers
        assert "Btw 21" not in shown  # no VAT charged
    assert "AE – Btw verlegd" in text and "Btw verlegd (AE) op € 2.500,00 € 0,00" in text
    assert invoice.tax_amount == 0 and invoice.total == 250000
    assert api["taxes"] == [{"tax_category": "AE", "rate": "0", "base": 250000, "amount": 0}]
    assert api["exemption_reasons"] == {"AE": "Btw verlegd"}
    assert api["buyer"]["vat_number"] == "BE0836542153" and api["language"] == "nl"


def invoice_api(client, merchant, invoice) -> dict:
    key = make_api_key(merchant)
    db.session.commit()
    response = client.get(f"/api/v1/invoices/{invoice.id}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    return response.json


def test_an_exempt_line_shows_its_reason_and_an_override_replaces_the_wording(time_machine):
    time_machine.move_to("2026-01-15 12:00", tick=False)
    customer = make_customer(make_merchant(), language="fr")
    lines = [line("Formation professionnelle", "1", 60000, tax_category="E"), line("Support", "2", 10000, "21")]
    default = make_invoice(customer, lines=lines)
    custom = make_invoice(customer, lines=lines, exemption_reasons={"E": "Exonération, article 44 § 2, 4° du CTVA"})

    assert "E – Exonération de TVA" in text_of(invoice_pdf(default))
    custom_text = text_of(invoice_pdf(custom))
    assert "E – Exonération, article 44 § 2, 4° du CTVA" in custom_text and "Exonération de TVA" not in custom_text
    assert custom.exemption_reasons == {"E": "Exonération, article 44 § 2, 4° du CTVA"}


def test_mixed_categories_and_rates_show_one_row_each_on_the_pdf_the_page_and_in_the_api(client, time_machine):
    time_machine.move_to("2026-01-15 12:00", tick=False)
    merchant = make_merchant()
    customer = make_customer(merchant, vat_number="DE136695976")
    invoice = make_invoice(
        customer,
        lines=[
            line("A", "1", 1005, "21"),
            line("B", "1", 2000, "21"),
            line("C", "1", 1005, "6"),
            line("D", "1", 3000, tax_category="K"),
            line("E", "1", 700),  # zero rated
        ],
        discount_percent=Decimal("10"),
    )
    sign_in(client, customer)
    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))
    text = text_of(invoice_pdf(invoice))
    api = invoice_api(client, merchant, invoice)

    expected = [
        {"tax_category": "Z", "rate": "0", "base": 630, "amount": 0},
        {"tax_category": "K", "rate": "0", "base": 2700, "amount": 0},
        {"tax_category": "S", "rate": "6", "base": 904, "amount": 54},
        {"tax_category": "S", "rate": "21", "base": 2704, "amount": 568},
    ]
    assert api["taxes"] == expected
    assert page.count('data-testid="tax-row"') == 4
    for label in (
        "Zero rated (Z) on €6.30",
        "Intra-Community supply (K) on €27.00",
        "Tax 6% on €9.04",
        "Tax 21% on €27.04",
    ):
        assert label in text and label in page
    assert "€5.68" in text and "€0.54" in text
    assert "Intra-Community supply of goods exempt from VAT (Article 138 of Directive 2006/112/EC)" in text


def test_a_credit_note_names_the_invoice_and_its_date_and_both_parties():
    merchant = make_merchant("Acme", vat_number="BE0477472701", company_number="0477.472.701")
    customer = make_customer(merchant, language="de", company="Kunde GmbH", vat_number="DE136695976")
    invoice = make_invoice(customer)
    note = credit(invoice, 20000, date(2026, 1, 20))

    text = text_of(credit_note_pdf(note))

    assert "Zur Rechnung 2026-0001" in text and "Rechnungsdatum 01.01.2026" in text
    assert "Kunde GmbH" in text and "DE136695976" in text and "BE0477472701" in text and "0477.472.701" in text


def _demo_invoice(language: str) -> Invoice:
    """The customer's invoice with the most lines: standard-rated, discounted and exempt or reverse-charged."""
    customer = db.session.scalar(select(Customer).where(Customer.language == language))
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.customer_id == customer.id, Invoice.status != "draft").order_by(Invoice.id)
    )
    return max(invoices, key=lambda invoice: (len(invoice.lines), -invoice.id))


@pytest.mark.parametrize("language", ["en", "fr", "nl", "de"])
def test_a_demo_invoice_pdf_shows_every_mandatory_mention(language, time_machine):
    time_machine.move_to("2026-03-02 12:00", tick=False)
    load_demo()
    invoice = _demo_invoice(language)
    assert invoice.document_language == language
    seller, buyer = invoice.seller_party, invoice.buyer_party
    labels = LABELS[language]

    text = text_of(invoice_pdf(invoice))

    def shows(value: str) -> None:
        assert flat(value) in text, f"{language}: {value!r} missing"

    # Both parties: names, addresses, VAT numbers, the seller's company number (art. 226 (3)-(5)).
    for value in (seller.legal_name, seller.address.line1, seller.address.locality, labels["country"]):
        shows(value)
    shows(f"{labels['vat']} {seller.vat_number}")
    shows(f"{labels['company']} {seller.company_number}")
    shows(buyer.billed_name)
    shows(buyer.address.line1)
    shows(buyer.address.locality)
    if buyer.vat_number:
        shows(f"{labels['vat']} {buyer.vat_number}")
    # The unique number, the issue and supply dates (art. 226 (1), (2), (7)), and the due date.
    shows(invoice.number)
    shows(day(invoice.issue_date, language))
    shows(f"{labels['supply']} {day(invoice.document_supply_date, language)}")
    shows(day(invoice.due_date, language))
    # Per line: quantity, unit price, discount, category and rate (art. 226 (6), (8), (9)).
    for row in invoice.lines:
        shows(row.description)
        vat = row.tax_category + (f" {rate(row.tax_rate, language)}" if row.tax_category == "S" else "")
        quantity = flat(format_decimal(row.quantity, format="#,##0.###", locale=language))
        unit_price = money(row.unit_amount, language)
        discount = f" {rate(row.discount_percent, language)}" if row.discount_percent else ""
        shows(f"{quantity} {unit_price}{discount} {vat} {money(row.net_amount, language)}")
    # Per (category, rate): the taxable base and the tax (art. 226 (8), (10)); the exemption wording (11), (11a).
    for tax in compute_totals([row.to_domain() for row in invoice.lines], invoice.discount_percent).taxes:
        shows(money(tax.base, language))
        shows(money(tax.amount, language))
    assert invoice.document_exemption_reasons
    for code in invoice.document_exemption_reasons:
        shows(f"{code} – {default_exemption_reason(TaxCategory(code), language)}")
    for code in {row.tax_category for row in invoice.lines}:
        with force_locale(language):
            shows(f"{code} = {CATEGORY_NAMES[code]}")  # the legend names each category used
    # The total, the late-payment terms and the bank details.
    shows(money(invoice.total, language))
    shows(rate(Decimal(12), language))
    shows(money(4000, language))
    shows("BE68 5390 0754 7034")
    shows("GKCCBEBB")


def test_the_demo_has_a_reverse_charged_invoice_to_a_company_in_another_member_state():
    load_demo()
    reverse = [
        invoice
        for invoice in db.session.scalars(select(Invoice).where(Invoice.status != "draft"))
        if "AE" in invoice.document_exemption_reasons
    ]
    assert reverse and all(invoice.buyer_party.vat_number for invoice in reverse)
    assert reverse[0].seller_party.iban == "BE68539007547034"
    assert re.fullmatch(r"DE\d{9}", reverse[0].buyer_party.vat_number)

"""Pay by bank transfer: the page and the PDF show the account as issued, today's amount, the reference and a QR code."""

from __future__ import annotations

import html
import io
import re
from datetime import date

import pypdf
import pytest

from portal.extensions import db
from portal.services import invoices, payment_settings
from portal.services.payment_choices import set_payment_choice
from tests.bank.scanner import decode, decode_data_uri
from tests.factories import credit, line, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import plain, sign_in

pytestmark = pytest.mark.usefixtures("ctx")

BANK = {"legal_name": "Atelier Lumen SRL", "iban": "BE68539007547034", "bic": "GKCCBEBB"}
_BLOCK = re.compile(r'<section class="card transfer".*?</section>', re.S)
_QR = re.compile(r'<img src="(data:image/png;base64,[^"]+)" data-testid="epc-qr"\s+alt="([^"]+)"')


def transfer_block(client, number: str) -> str | None:
    """Return the page's "Pay by bank transfer" card, or None when there is none."""
    found = _BLOCK.search(client.get(f"/invoices/{number}").get_data(as_text=True))
    return plain(found.group(0)) if found else None


def pdf_text(client, number: str) -> str:
    response = client.get(f"/invoices/{number}/pdf")
    assert response.status_code == 200
    pages = pypdf.PdfReader(io.BytesIO(response.data)).pages
    return plain("\n".join(page.extract_text() for page in pages))


def pdf_images(client, number: str) -> list[bytes]:
    """Return each image the PDF holds once (WeasyPrint lists one image in every page's resources)."""
    reader = pypdf.PdfReader(io.BytesIO(client.get(f"/invoices/{number}/pdf").data))
    return list({image.name: image.data for page in reader.pages for image in page.images}.values())


def test_an_overdue_invoice_shows_todays_amount_with_late_fees_and_a_qr_code_that_scans(client, spec_day, tmp_path):
    customer = make_customer(make_merchant("Atelier Lumen", **BANK))
    invoice = make_invoice(customer)  # 1,000.00 EUR due 2026-01-31, seen 30 days late (SPEC §1)
    sign_in(client, customer)

    block = transfer_block(client, invoice.number)

    assert block is not None and "Pay by bank transfer" in block
    assert 'data-testid="transfer-beneficiary">Atelier Lumen SRL<' in block
    assert 'data-testid="transfer-iban">BE68 5390 0754 7034<' in block
    assert 'data-testid="transfer-bic">GKCCBEBB<' in block
    # The amount the page shows as due today: the total, the 40.00 fee and 9.86 of interest.
    assert 'data-testid="transfer-amount">€1,049.86<' in block
    assert 'data-testid="transfer-reference">+++202/6000/00192+++<' in block
    uri, alt = _QR.search(block).groups()
    assert html.unescape(alt) == (
        "QR code for your banking app: transfer €1,049.86 to Atelier Lumen SRL, "
        "IBAN BE68 5390 0754 7034, reference +++202/6000/00192+++"
    )
    assert decode_data_uri(uri, tmp_path) == [
        "BCD",
        "002",
        "1",
        "SCT",
        "GKCCBEBB",
        "Atelier Lumen SRL",
        "BE68539007547034",
        "EUR1049.86",
        "",
        "202600000192",
    ]


def test_the_pdf_shows_the_same_transfer_and_its_qr_code_scans(client, spec_day, tmp_path):
    customer = make_customer(make_merchant("Atelier Lumen", **BANK))
    invoice = make_invoice(customer)
    pay(invoice, 40000, date(2026, 2, 15))  # the SPEC's third vector: 647.89 due today
    sign_in(client, customer)

    text = pdf_text(client, invoice.number)

    assert "PAY BY BANK TRANSFER" in text  # a heading, in capitals
    assert "BE68 5390 0754 7034" in text and "GKCCBEBB" in text and "Atelier Lumen SRL" in text
    assert "Payment reference +++202/6000/00192+++" in text
    assert "Amount to transfer €647.89" in text
    [png] = pdf_images(client, invoice.number)  # the merchant has no logo: the QR code is the one image
    lines = decode(png, tmp_path)
    assert lines[6:] == ["BE68539007547034", "EUR647.89", "", "202600000192"]


def test_an_rf_reference_for_a_merchant_outside_belgium(client, spec_day, tmp_path):
    merchant = make_merchant(
        "Studio",
        address_line1="Keizersgracht 1",
        postal_code="1015 CJ",
        city="Amsterdam",
        country="NL",
        iban="NL91ABNA0417164300",
        bic=None,
    )
    customer = make_customer(merchant)
    invoice = make_invoice(customer, due_date=date(2026, 3, 31))
    sign_in(client, customer)

    block = transfer_block(client, invoice.number)

    assert 'data-testid="transfer-reference">RF42 2026 0000 01<' in block
    assert "transfer-bic" not in block
    lines = decode_data_uri(_QR.search(block).group(1), tmp_path)
    assert lines[4:] == ["", "Studio", "NL91ABNA0417164300", "EUR1000", "", "RF422026000001"]
    assert "Payment reference RF42 2026 0000 01" in pdf_text(client, invoice.number)


def test_the_amount_follows_credit_notes(client, spec_day, tmp_path):
    customer = make_customer(make_merchant(**BANK))
    invoice = make_invoice(customer)
    credit(invoice, 20000, date(2026, 1, 20))
    sign_in(client, customer)

    block = transfer_block(client, invoice.number)

    assert 'data-testid="transfer-amount">€847.89<' in block
    assert decode_data_uri(_QR.search(block).group(1), tmp_path)[7] == "EUR847.89"


def test_no_transfer_block_on_a_paid_or_void_invoice(client, spec_day):
    customer = make_customer(make_merchant(**BANK))
    paid = make_invoice(customer)
    pay(paid, 100000, date(2026, 1, 20))
    void = make_invoice(customer)
    invoices.void_invoice(void)
    sign_in(client, customer)

    for invoice in (paid, void):
        assert transfer_block(client, invoice.number) is None
        text = pdf_text(client, invoice.number)
        assert "PAY BY BANK TRANSFER" not in text and "Amount to transfer" not in text
        assert pdf_images(client, invoice.number) == []


def test_another_currency_gets_the_transfer_details_without_a_qr_code(client, spec_day):
    customer = make_customer(make_merchant(**BANK))
    invoice = make_invoice(customer, currency="USD", due_date=date(2026, 3, 31))
    sign_in(client, customer)

    block = transfer_block(client, invoice.number)

    # The EPC QR code carries euros only; the account and reference still tell how to pay.
    assert 'data-testid="transfer-amount">$1,000.00<' in block and "BE68 5390 0754 7034" in block
    assert "epc-qr" not in block
    assert "Amount to transfer $1,000.00" in pdf_text(client, invoice.number)
    assert pdf_images(client, invoice.number) == []


def test_no_transfer_block_when_staff_turn_bank_transfer_off(client, spec_day):
    customer = make_customer(make_merchant(**BANK))
    invoice = make_invoice(customer)
    sign_in(client, customer)
    assert transfer_block(client, invoice.number) is not None

    set_payment_choice(invoice, [], bank_transfer=False)
    db.session.commit()

    assert transfer_block(client, invoice.number) is None
    text = pdf_text(client, invoice.number)
    assert "Amount to transfer" not in text and pdf_images(client, invoice.number) == []
    # The document keeps the account it was issued with.
    assert "BE68 5390 0754 7034" in text


def test_no_transfer_block_without_an_iban_as_issued(client, spec_day):
    merchant = make_merchant()
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    # An IBAN added later never reaches an invoice issued without one.
    merchant.iban = BANK["iban"]
    sign_in(client, customer)

    assert transfer_block(client, invoice.number) is None
    assert "BE68" not in client.get(f"/invoices/{invoice.number}").get_data(as_text=True)


def test_a_merchant_without_providers_gets_paid_by_transfer(client, spec_day, app, monkeypatch):
    monkeypatch.setitem(app.config, "MOLLIE_API_KEY", None)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    customer = make_customer(make_merchant(**BANK))
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)

    assert "pay-button" not in page
    assert 'data-testid="bank-transfer"' in page


def test_transfer_and_online_payment_side_by_side(client, spec_day):
    merchant = make_merchant(**BANK)
    payment_settings.set_provider_account(merchant, "mollie", enabled=True, api_key="test_abcdefghijklmnopq")
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert 'data-testid="pay-button"' in page and 'data-testid="bank-transfer"' in page

    set_payment_choice(invoice, ["mollie"], bank_transfer=False)
    db.session.commit()
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert 'data-testid="pay-button"' in page and 'data-testid="bank-transfer"' not in page


def test_only_the_invoices_own_bank_details_ever_show(client, spec_day, tmp_path):
    ours = make_merchant("Atelier Lumen", **BANK)
    theirs = make_merchant("Rival", legal_name="Rival NV", iban="NL91ABNA0417164300", bic="ABNANL2A")
    rival_invoice = make_invoice(make_customer(theirs))
    customer = make_customer(ours)
    invoice = make_invoice(customer)
    assert invoice.number == rival_invoice.number and invoice.payment_reference == rival_invoice.payment_reference
    # The merchant changes bank after issuing: the invoice keeps the account it was issued with.
    ours.iban, ours.bic, ours.legal_name = "DE89370400440532013000", "COBADEFFXXX", "Renamed GmbH"
    sign_in(client, customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    text = pdf_text(client, invoice.number)

    for shown in (page, text):
        assert "BE68 5390 0754 7034" in shown
        for foreign in ("NL91", "ABNANL2A", "Rival NV", "DE89", "COBADEFF", "Renamed GmbH"):
            assert foreign not in shown
    lines = decode_data_uri(_QR.search(page).group(1), tmp_path)
    assert lines[4:7] == ["GKCCBEBB", "Atelier Lumen SRL", "BE68539007547034"]


def test_the_overview_shows_the_reference_of_open_invoices(client, spec_day):
    customer = make_customer(make_merchant(**BANK))
    invoice = make_invoice(customer, lines=[line(unit_amount=50000)])
    sign_in(client, customer)

    overview = plain(client.get("/").get_data(as_text=True))

    assert invoice.number in overview and "+++202/6000/00192+++" in overview


@pytest.mark.parametrize(
    "language, heading, label",
    [
        ("fr", "Payer par virement", "Référence de paiement"),
        ("nl", "Betalen met een overschrijving", "Mededeling"),
        ("de", "Per Überweisung bezahlen", "Verwendungszweck"),
    ],
)
def test_the_transfer_block_speaks_the_customers_language(client, spec_day, language, heading, label):
    customer = make_customer(make_merchant(**BANK), language=language)
    invoice = make_invoice(customer)
    sign_in(client, customer)

    block = transfer_block(client, invoice.number)
    text = pdf_text(client, invoice.number)

    assert heading in block and label in block
    assert heading.upper() in text and f"{label} +++202/6000/00192+++" in text

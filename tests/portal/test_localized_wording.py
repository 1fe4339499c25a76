"""The wording a native speaker reviewed, as customers read it on the pages and in the PDFs (fr, nl, de)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pypdf
import pytest

from portal.documents.pdf import credit_note_pdf, invoice_pdf
from portal.domain.late_fees import LateFeePolicy
from portal.services import invoices as invoice_service
from tests.factories import credit, line, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import plain, sign_in

NBSP = "\u00a0"


def pdf_text(data: bytes) -> str:
    """The PDF's text with runs of ordinary spaces and line breaks made one space (no-break spaces kept)."""
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[ \n]+", " ", text)


def page_text(client, path: str) -> str:
    """The page's text, tags stripped, with runs of ordinary spaces made one space (no-break spaces kept)."""
    html = client.get(path).get_data(as_text=True)
    return re.sub(r"[ \n\t]+", " ", re.sub(r"<[^>]+>", " ", html))


def calculation(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    panel = html.split('id="calculation"', 1)[1].split("</details>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", plain(panel)))


def test_the_french_credit_note_pdf_takes_the_colon_after_the_reason_from_the_catalogue(ctx, spec_day):
    customer = make_customer(make_merchant(), "Camille Martin", language="fr")
    note = credit(make_invoice(customer), 20000, date(2026, 1, 20), reason="Remise commerciale")

    text = pdf_text(credit_note_pdf(note))

    assert f"Motif{NBSP}: Remise commerciale" in text and "Motif:" not in text
    assert f"N° de TVA{NBSP}: BE0403170701" in text
    assert "DESTINATAIRE" in text and "Facture d’origine 2026-0001" in text  # headings are upper case
    assert f"Catégories de TVA{NBSP}: Z = Taux zéro" in text


def test_the_german_credit_note_pdf_is_headed_as_an_invoice_correction(ctx, spec_day):
    customer = make_customer(make_merchant(), language="de")
    note = credit(make_invoice(customer), 20000, date(2026, 1, 20), reason="Kulanz")

    text = pdf_text(credit_note_pdf(note))

    assert "GUTSCHRIFT (RECHNUNGSKORREKTUR)" in text
    assert "Grund: Kulanz" in text and "Gesamtbetrag" in text


@pytest.mark.parametrize(
    ("language", "tax", "line_rate"),
    [
        ("fr", f"TVA 21{NBSP}% sur", f"S 21{NBSP}%"),
        ("de", f"MwSt. 21{NBSP}% auf", f"S 21{NBSP}%"),
        ("nl", "Btw 21% op", "S 21%"),  # Dutch writes 21% (CLDR), on the page as in the PDF
    ],
)
def test_the_pdf_writes_rates_as_the_page_does(ctx, client, spec_day, language, tax, line_rate):
    customer = make_customer(make_merchant(), language=language)
    invoice = make_invoice(customer, lines=[line("Consulting", "1", 100000, "21")])
    sign_in(client, customer)

    text = pdf_text(invoice_pdf(invoice))
    page = page_text(client, f"/invoices/{invoice.number}")

    assert tax in text and tax in page
    assert line_rate in text and line_rate in page
    if language != "nl":
        assert "21%" not in text and "12%" not in text


def test_french_pdf_writes_the_late_payment_rate_with_a_no_break_space(ctx, spec_day):
    invoice = make_invoice(make_customer(make_merchant(), language="fr"))

    text = pdf_text(invoice_pdf(invoice))

    assert f"Tout retard de paiement entraîne des intérêts de 12{NBSP}% par an" in text
    assert f"Intérêts de retard (12{NBSP}% par an) sur 1" in text
    assert "Indemnité forfaitaire pour frais de recouvrement" in text


def test_the_german_calculation_names_the_fixed_fee_verzugspauschale(ctx, client, spec_day):
    customer = make_customer(make_merchant(), language="de")
    invoice = make_invoice(customer)
    sign_in(client, customer)

    panel = calculation(client, f"/invoices/{invoice.number}")

    assert "Verzugsentschädigung Verzugspauschale 40,00 €" in panel
    assert "Verzugszinsen vom 01.02.2026 bis 02.03.2026" in panel
    assert "Zahlbetrag zum 02.03.2026 1.049,86 €" in panel
    assert "Gebühr" not in panel


def test_dutch_ranges_include_their_end_day(ctx, client, spec_day):
    customer = make_customer(make_merchant(), language="nl")
    invoice = make_invoice(customer)
    sign_in(client, customer)

    panel = calculation(client, f"/invoices/{invoice.number}")
    overview = page_text(client, "/")

    assert "Intrest van 1 feb 2026 tot en met 2 mrt 2026" in panel
    assert "Te betalen bedrag per 2 mrt 2026 € 1.049,86" in panel
    assert "Datum vanaf" in overview and "Datum tot en met" in overview
    assert "Uitgegeven" not in overview


@pytest.mark.parametrize("language", ["en", "fr", "nl", "de"])
def test_an_overdue_invoice_without_a_late_fee_policy_promises_no_free_days(ctx, client, spec_day, language):
    customer = make_customer(make_merchant(policy=None), language=language)
    invoice = make_invoice(customer)
    sign_in(client, customer)

    html = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)

    # There is no policy, so there are no free days to announce: "the first 0 days" (or, in French, whose
    # singular covers 0, "le premier jour") was shown before.
    assert "calculation__note" not in html
    for wording in ("first 0 days", "premier jour", "premiers jours", "eerste", "ersten"):
        assert wording not in html


@pytest.mark.parametrize(
    ("language", "grace_days", "wording"),
    [
        ("fr", 1, "Pas de frais de retard le premier jour suivant l’échéance."),
        ("nl", 1, "Geen nalatigheidskosten op de eerste dag na de vervaldag."),
        ("de", 1, "Am ersten Tag nach Fälligkeit fallen keine Verzugskosten an."),
        ("en", 1, "No late charges on the first day after the due date."),
        ("fr", 5, "Pas de frais de retard pendant les 5 premiers jours suivant l’échéance."),
        ("de", 5, "In den ersten 5 Tagen nach Fälligkeit fallen keine Verzugskosten an."),
    ],
)
def test_grace_days_are_announced_in_the_language(ctx, client, time_machine, language, grace_days, wording):
    time_machine.move_to(datetime(2026, 2, 1, 12, tzinfo=UTC), tick=False)  # one day after the due date
    policy = LateFeePolicy(Decimal("12"), Decimal("0"), 4000, grace_days)
    customer = make_customer(make_merchant(policy=policy), language=language)
    invoice = make_invoice(customer)
    sign_in(client, customer)

    html = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)

    assert wording in html
    assert "1 premier" not in html and "eerste 1 " not in html and "ersten 1 " not in html


def test_the_french_pdf_announces_one_free_day_as_the_first_day(ctx, spec_day):
    policy = LateFeePolicy(Decimal("12"), Decimal("0"), 4000, 1)
    invoice = make_invoice(make_customer(make_merchant(policy=policy), language="fr"))

    text = pdf_text(invoice_pdf(invoice))

    assert "Rien n’est réclamé le premier jour suivant l’échéance." in text


def test_french_statuses_and_filters_each_have_their_own_words(ctx, client, spec_day):
    customer = make_customer(make_merchant(), language="fr")
    make_invoice(customer, due_date=date(2026, 3, 31))
    paid = make_invoice(customer)
    pay(paid, 100000, date(2026, 1, 20))
    invoice_service.void_invoice(make_invoice(customer))
    sign_in(client, customer)

    html = client.get("/").get_data(as_text=True)
    overview = page_text(client, "/")

    # The filter lists documents, so its options are plural; a badge describes one invoice.
    assert '<option value="paid">Payées</option>' in html and '<option value="void">Annulées</option>' in html
    assert '<option value="open">À payer</option>' in html
    assert '<span class="badge badge--paid">Payée</span>' in html
    assert '<span class="badge badge--void">Annulée</span>' in html
    assert '<span class="badge badge--open">À payer</span>' in html
    # The column of issue dates is headed as a date, not with the status word.
    assert "Date d’émission" in overview and " Émise " not in overview
    assert "Factures à payer" in overview and "ouverte" not in overview


def test_german_and_dutch_filters_name_the_invoices_they_show(ctx, client, spec_day):
    for language, options in {
        "de": ("Offene Rechnungen", "Überfällige Rechnungen", "Bezahlte Rechnungen", "Stornierte Rechnungen"),
        "nl": ("Openstaande facturen", "Vervallen facturen", "Betaalde facturen", "Geannuleerde facturen"),
    }.items():
        customer = make_customer(make_merchant(), language=language)
        make_invoice(customer)
        sign_in(client, customer)

        html = client.get("/").get_data(as_text=True)

        for value, option in zip(("open", "overdue", "paid", "void"), options, strict=True):
            assert f'<option value="{value}">{option}</option>' in html, (language, option)

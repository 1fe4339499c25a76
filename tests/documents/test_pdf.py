"""Invoice and credit-note PDFs: content, language, branding, draft mark, and the cache of finalized ones."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest
from jinja2 import DictLoader, TemplateNotFound
from sqlalchemy import func, select

from portal.documents import html
from portal.documents.pdf import RestrictedURLFetcher, credit_note_pdf, invoice_pdf, invoice_source, write_pdf
from portal.extensions import db
from portal.models.document import RenderedDocument
from portal.services.demo import _logo
from tests.factories import credit, line, make_customer, make_invoice, make_merchant, pay

pytestmark = pytest.mark.usefixtures("ctx")


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    # Locales group digits with (narrow) no-break spaces; compare with plain ones.
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def rendered_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(RenderedDocument))


def test_invoice_pdf_shows_the_spec_breakdown_in_the_customers_language(time_machine):
    time_machine.move_to("2026-03-02 12:00", tick=False)
    merchant = make_merchant(
        "Atelier Lumen", logo_png=_logo(), support_email="billing@lumen.example", terms="Payment within 30 days."
    )
    invoice = make_invoice(make_customer(merchant, "Camille Martin", language="fr"), notes="Merci !")

    data = invoice_pdf(invoice)

    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    text = pdf_text(data)
    assert "2026-0001" in text
    assert "Camille Martin" in text and "Atelier Lumen" in text
    assert "1 000,00 €" in text  # the total, formatted for fr
    assert "9,86 €" in text and "40,00 €" in text  # interest and the fixed fee
    assert "1 049,86 €" in text  # the SPEC's amount due on 2026-03-02
    assert "31 janv. 2026" in text
    assert "Merci !" in text and "Payment within 30 days." in text
    assert "1 / 1" in text  # page numbers
    assert "DRAFT" not in text
    # The logo is embedded as an image.
    assert any(page.images for page in reader.pages)


def test_paid_invoice_shows_payments_and_no_amount_due(time_machine):
    time_machine.move_to("2026-02-20 12:00", tick=False)
    invoice = make_invoice(make_customer(make_merchant()))
    credit(invoice, 20000, date(2026, 1, 20))
    pay(invoice, 80000, date(2026, 2, 15))

    text = pdf_text(invoice_pdf(invoice))

    assert "CN-2026-0001" in text and "−€200.00" in text and "−€800.00" in text
    assert "paid in full" in text.lower()
    assert "amount due" not in text.lower()


def test_draft_preview_is_marked_and_never_cached():
    invoice = make_invoice(make_customer(make_merchant()), finalize=False)

    text = pdf_text(invoice_pdf(invoice))

    assert "DRAFT" in text
    assert rendered_rows() == 0


def test_credit_note_pdf_names_its_invoice():
    invoice = make_invoice(make_customer(make_merchant(), language="de"))
    note = credit(invoice, 25050, date(2026, 1, 10), reason="Rabatt")

    text = pdf_text(credit_note_pdf(note))

    assert "CN-2026-0001" in text and "2026-0001" in text
    assert "250,50 €" in text and "Rabatt" in text


def test_a_finalized_pdf_is_rendered_once_then_reused():
    invoice = make_invoice(make_customer(make_merchant()), lines=[line(unit_amount=12345)])
    first = invoice_pdf(invoice, as_of=date(2026, 1, 15))
    row = db.session.scalar(select(RenderedDocument))
    assert row.pdf == first and row.kind == "invoice" and row.language == "en"

    # Mark the stored copy: getting it back proves nothing was rendered the second time.
    row.pdf = b"%PDF-cached"
    db.session.flush()

    assert invoice_pdf(invoice, as_of=date(2026, 1, 16)) == b"%PDF-cached"
    assert rendered_rows() == 1


def test_a_cached_pdf_is_served_without_rendering_any_html(monkeypatch):
    """Freshness is decided from the document's inputs, not by rendering its HTML again to hash it."""
    merchant = make_merchant()
    invoice = make_invoice(make_customer(merchant))
    note = credit(invoice, 10000, date(2026, 1, 10))
    first, first_note = invoice_pdf(invoice, as_of=date(2026, 1, 15)), credit_note_pdf(note)
    # No document template can be found from here on: rendering any HTML would raise.
    environment = html.environment()
    monkeypatch.setattr(environment, "loader", DictLoader({}))
    monkeypatch.setattr(environment, "cache", None)

    assert invoice_pdf(invoice, as_of=date(2026, 1, 16)) == first
    assert credit_note_pdf(note) == first_note
    pay(invoice, 10000, date(2026, 1, 12))
    with pytest.raises(TemplateNotFound):
        invoice_pdf(invoice, as_of=date(2026, 1, 16))  # what it shows changed: it is rendered again


@pytest.mark.parametrize("change", ["payment", "branding", "logo", "theme"])
def test_the_cache_is_refreshed_when_content_or_branding_changes(change):
    merchant = make_merchant()
    invoice = make_invoice(make_customer(merchant))
    invoice_pdf(invoice, as_of=date(2026, 1, 15))
    row = db.session.scalar(select(RenderedDocument))
    row.pdf = b"%PDF-stale"
    db.session.flush()

    if change == "payment":
        pay(invoice, 10000, date(2026, 1, 10))
    elif change == "branding":
        merchant.primary_color = "#123456"
    elif change == "logo":
        merchant.logo_png = _logo()
    else:
        merchant.theme = "midnight"

    fresh = invoice_pdf(invoice, as_of=date(2026, 1, 15))
    assert fresh.startswith(b"%PDF-1.")
    assert db.session.scalar(select(RenderedDocument)).pdf == fresh
    assert rendered_rows() == 1


def test_a_finalized_pdf_keeps_the_language_it_was_issued_in():
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    draft = make_invoice(customer, finalize=False)
    english = invoice_pdf(invoice, as_of=date(2026, 1, 15))
    customer.language = "nl"
    again = invoice_pdf(invoice, as_of=date(2026, 1, 15))

    # The issued document stays English, as mailed; a draft follows the customer's language.
    assert again == english and "€1,000.00" in pdf_text(again)
    assert "€ 1.000,00" in pdf_text(invoice_pdf(draft, as_of=date(2026, 1, 15)))
    assert set(db.session.scalars(select(RenderedDocument.language))) == {"en"}


@pytest.mark.parametrize("theme", ["classic", "midnight"])
def test_the_theme_stylesheet_is_served_by_the_restricted_fetcher(theme):
    invoice = make_invoice(make_customer(make_merchant(theme=theme, logo_png=_logo())))
    fetcher = RestrictedURLFetcher()

    data = write_pdf(invoice_source(invoice, date(2026, 1, 15)), fetcher)

    assert data.startswith(b"%PDF-")
    assert any(url.endswith(f"/themes/{theme}/pdf.css") for url in fetcher.served)
    assert any(url.startswith("data:image/png") for url in fetcher.served)
    assert fetcher.refused == []


def test_a_long_invoice_breaks_across_pages_with_numbers():
    lines = [line(f"Item {n}", unit_amount=1000 + n) for n in range(1, 61)]
    invoice = make_invoice(make_customer(make_merchant()), lines=lines)

    data = invoice_pdf(invoice, as_of=date(2026, 1, 15))

    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    assert len(pages) >= 2
    assert f"2 / {len(pages)}" in pages[1].extract_text()
    assert "Item 60" in pdf_text(data)

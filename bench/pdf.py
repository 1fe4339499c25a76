"""Benchmark the invoice PDF: first render against a bare WeasyPrint render, and cached downloads.

The portal's PDF of a finalized invoice is a Factur-X PDF/A-3 (its CII e-invoice embedded); the bare
render is the same HTML as a plain PDF, so the ratio includes what Factur-X costs. The app is warmed
as a worker is when it starts (portal.warm_up: templates compiled, locale data loaded) before the
first render is timed. Goals (issue 18): first render ≤ 1.1 × bare; a cached PDF download ≤ 3 ms of
server time; a cached zip of 6 documents (the invoice and 5 credit notes) ≤ 10 ms.

Run: .venv/bin/python bench/pdf.py   (uses its own temporary SQLite database)
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pypdf  # noqa: E402
import weasyprint  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from portal import create_app  # noqa: E402
from portal.customer.access import SESSION_CUSTOMER, SESSION_LINK_VERSION  # noqa: E402
from portal.documents.pdf import invoice_pdf, invoice_source  # noqa: E402
from portal.domain.invoices import Line  # noqa: E402
from portal.domain.parties import Address  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.services import credit_notes, customers, invoices, merchants  # noqa: E402
from portal.services.demo import _logo  # noqa: E402
from portal.warm_up import warm_up  # noqa: E402

LINES = 30
REPEATS = 20
CREDIT_NOTES = 5
GOAL_FIRST_RENDER = 1.1
GOAL_CACHED_PDF_MS = 3.0
GOAL_CACHED_ZIP_MS = 10.0


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def bare_render(source) -> bytes:
    """The same HTML and stylesheets through WeasyPrint with its defaults: no fetcher, no cache, no templates."""
    stylesheets = [weasyprint.CSS(string=css, base_url=source.base_url) for css in source.stylesheets]
    if source.theme_stylesheet_url:
        stylesheets.append(weasyprint.CSS(url=source.theme_stylesheet_url))
    return weasyprint.HTML(string=source.html, base_url=source.base_url).write_pdf(stylesheets=stylesheets)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "DATABASE_URL": f"sqlite:///{folder}/bench.db",
                "PUBLIC_URL": "http://bench.test",
                "LOG_LEVEL": "WARNING",  # no line per request in the figures
            }
        )
        with app.app_context():
            upgrade()
            merchant = merchants.create_merchant(name="Atelier Lumen", slug="bench", timezone="UTC")
            merchant.logo_png = _logo()
            # Documents cannot be finalized without the seller's legal name and address (art. 226).
            merchants.set_company(
                merchant,
                legal_name="Atelier Lumen SRL",
                address=Address("Rue Haute 112", None, "1000", "Bruxelles", "BE"),
                email="billing@lumen.example",
                vat_number="BE0712345630",
                iban="BE68 5390 0754 7034",
            )
            merchant.terms = "Payment within 30 days."
            customer = customers.create_customer(merchant, name="Jane Cooper", email="jane@example.com")
            lines = [
                Line(f"Consulting, week {n}", Decimal("7.5"), 9500 + n, Decimal("21") if n % 3 else Decimal("6"))
                for n in range(1, LINES + 1)
            ]
            invoice = invoices.create_draft(
                merchant,
                customer=customer,
                currency="EUR",
                issue_date=date(2026, 1, 1),
                due_date=date(2026, 1, 31),
                lines=lines,
            )
            invoices.finalize_invoice(invoice)
            db.session.commit()
            number, customer_id, link_version = invoice.number, customer.id, customer.link_version
            invoice_id = invoice.id

            # WeasyPrint's first call in a process loads fonts; pay that once for both sides.
            weasyprint.HTML(string="<p>warm-up</p>").write_pdf()
        # What a worker does when it starts (create_app with WARM_UP, the default outside the tests).
        warm_up(app)
        with app.app_context():
            invoice = db.session.get(invoices.Invoice, invoice_id)

            first, pdf = timed(lambda: invoice_pdf(invoice))
            db.session.commit()
            source = invoice_source(invoice)
            bare = statistics.median(timed(lambda: bare_render(source))[0] for _ in range(3))
            reader = pypdf.PdfReader(io.BytesIO(pdf))
            pages, embedded = len(reader.pages), sorted(reader.attachments)
            # A content change (a payment) in a warm process: templates compiled, fingerprint new.
            invoices.record_payment(invoice, amount=10000, paid_on=date(2026, 1, 20), method="bank_transfer")
            changed, current_pdf = timed(lambda: invoice_pdf(invoice))
            for n in range(CREDIT_NOTES):
                credit_notes.issue_credit_note(
                    invoice,
                    lines=[Line(f"Goodwill {n + 1}", Decimal("1"), 1000, Decimal("21"))],
                    issue_date=date(2026, 1, 25),
                )
            db.session.commit()
            current_pdf = invoice_pdf(invoice)  # the credit notes show on the invoice: a new PDF
            db.session.commit()

        client = app.test_client()
        with client.session_transaction() as session:
            session[SESSION_CUSTOMER] = customer_id
            session[SESSION_LINK_VERSION] = link_version
        url = f"/invoices/{number}/pdf"
        response = client.get(url)  # rendered already above: this one is served from the cache too
        assert response.status_code == 200 and response.data == current_pdf, "the download must reuse the cached PDF"
        repeated = [timed(lambda: client.get(url))[0] for _ in range(REPEATS)]
        zip_url = f"/invoices/{number}/download"
        first_zip = client.get(zip_url)  # renders the credit notes' PDFs once
        assert first_zip.status_code == 200 and first_zip.mimetype == "application/zip", first_zip.status_code
        with zipfile.ZipFile(io.BytesIO(first_zip.data)) as archive:
            members = len([name for name in archive.namelist() if name.endswith(".pdf")])
        zipped = [timed(lambda: client.get(zip_url))[0] for _ in range(REPEATS)]

    cached_ms, zip_ms = statistics.median(repeated) * 1000, statistics.median(zipped) * 1000
    print(f"Invoice with {LINES} lines: {pages} pages, {len(pdf):,} bytes, embedded files: {embedded or 'none'}")
    print(f"first render (portal pipeline): {first * 1000:8.1f} ms  (in a worker warmed at start)")
    print(f"bare WeasyPrint, same HTML:     {bare * 1000:8.1f} ms  (median of 3)")
    print(
        f"ratio first render / bare:      {first / bare:8.2f}  (goal ≤ {GOAL_FIRST_RENDER}: "
        f"{'met' if first / bare <= GOAL_FIRST_RENDER else 'NOT met'}; Factur-X's CII and PDF/A-3 included)"
    )
    print(f"re-render after a payment:      {changed * 1000:8.1f} ms  (ratio {changed / bare:.2f})")
    print(
        f"cached PDF download:            {cached_ms:8.1f} ms  (median of {REPEATS}, test client; goal ≤ "
        f"{GOAL_CACHED_PDF_MS:.0f} ms: {'met' if cached_ms <= GOAL_CACHED_PDF_MS else 'NOT met'};"
        f" min {min(repeated) * 1000:.1f} ms, max {max(repeated) * 1000:.1f} ms)"
    )
    print(
        f"cached zip of {members} PDFs:           {zip_ms:8.1f} ms  (median of {REPEATS}; goal ≤ "
        f"{GOAL_CACHED_ZIP_MS:.0f} ms: {'met' if zip_ms <= GOAL_CACHED_ZIP_MS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()

"""Benchmark the invoice PDF: first render against a bare WeasyPrint render, and a repeated download.

The portal's PDF of a finalized invoice is a Factur-X PDF/A-3 (its CII e-invoice embedded); the bare
render is the same HTML as a plain PDF, so the ratio includes what Factur-X costs.

Run: .venv/bin/python bench/pdf.py   (uses its own temporary SQLite database)
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
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
from portal.services import customers, invoices, merchants  # noqa: E402
from portal.services.demo import _logo  # noqa: E402

LINES = 30
REPEATS = 20


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

            # WeasyPrint's first call in a process loads fonts; pay that once for both sides.
            weasyprint.HTML(string="<p>warm-up</p>").write_pdf()

            first, pdf = timed(lambda: invoice_pdf(invoice))
            db.session.commit()
            source = invoice_source(invoice)
            bare = statistics.median(timed(lambda: bare_render(source))[0] for _ in range(3))
            reader = pypdf.PdfReader(io.BytesIO(pdf))
            pages, embedded = len(reader.pages), sorted(reader.attachments)
            # A content change (a payment) in a warm process: templates compiled, fingerprint new.
            invoices.record_payment(invoice, amount=10000, paid_on=date(2026, 1, 20), method="bank_transfer")
            changed, current_pdf = timed(lambda: invoice_pdf(invoice))
            db.session.commit()

        client = app.test_client()
        with client.session_transaction() as session:
            session[SESSION_CUSTOMER] = customer_id
            session[SESSION_LINK_VERSION] = link_version
        url = f"/invoices/{number}/pdf"
        response = client.get(url)  # rendered already above: this one is served from the cache too
        assert response.status_code == 200 and response.data == current_pdf, "the download must reuse the cached PDF"
        repeated = [timed(lambda: client.get(url))[0] for _ in range(REPEATS)]

    print(f"Invoice with {LINES} lines: {pages} pages, {len(pdf):,} bytes, embedded files: {embedded or 'none'}")
    print(f"first render (portal pipeline): {first * 1000:8.1f} ms")
    print(f"bare WeasyPrint, same HTML:     {bare * 1000:8.1f} ms  (median of 3)")
    print(f"ratio first render / bare:      {first / bare:8.2f}  (includes compiling the templates once)")
    print(f"re-render after a payment:      {changed * 1000:8.1f} ms  (ratio {changed / bare:.2f})")
    print(
        f"repeated download (cached):     {statistics.median(repeated) * 1000:8.1f} ms  "
        f"(median of {REPEATS}; min {min(repeated) * 1000:.1f} ms, max {max(repeated) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()

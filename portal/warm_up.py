"""Pay a worker's one-off costs when it starts, not on its first requests: templates and locale data.

A fresh process otherwise compiles each Jinja template, parses each language's Babel locale data
and reads each catalogue the first time a page or PDF needs them, which made the first PDF of a
worker cost 1.7 times a bare WeasyPrint render.
"""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

import weasyprint
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from flask import Flask
from flask_babel import force_locale, get_translations

from portal.documents import html
from portal.documents.epc_qr import CreditTransfer, epc_qr_png
from portal.documents.pdf import BASE_STYLESHEET, RestrictedURLFetcher, renderer_digest
from portal.domain.money import Money

#: A page with what documents hold (a table, bold and small text, a PNG image, page numbers), so WeasyPrint,
#: Pango and cffi meet each kind of box, font and C type once before the first real PDF.
_SAMPLE_PAGE = """<!doctype html><html lang="en"><body><h1>Invoice <strong>2026-0001</strong></h1>
<p><em>Due</em> <small>31 January 2026</small></p><img alt="" src="{image}">
<table><thead><tr><th>Item</th><th class="num">Amount</th></tr></thead>
<tbody><tr><td>Consulting</td><td class="num">1 000,00 €</td></tr></tbody></table></body></html>"""


def warm_up(app: Flask) -> None:
    """Compile the customer portal's templates and the documents' and mails', and load each language's locale data.

    The admin area's templates are left to their first use: staff are few, customers many.
    """
    with app.app_context():
        for name in app.jinja_env.list_templates(filter_func=lambda name: name.startswith("customer/")):
            app.jinja_env.get_template(name)
        # What a cached PDF's fingerprint hashes once per process: templates, code, catalogues.
        renderer_digest(str(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
        documents = html.environment()
        for name in documents.list_templates(extensions=("html", "txt")):
            documents.get_template(name)
        for language in app.config["LANGUAGES"]:
            locale = Locale.parse(language)
            # Touching the formats loads the locale's data (dates, numbers, currency names) once.
            format_date(date(2026, 1, 31), "medium", locale=locale)
            format_decimal(Decimal("1234.5"), locale=locale)
            format_percent(Decimal("0.12"), locale=locale)
            format_currency(Decimal("1234.50"), "EUR", locale=locale)
            with app.test_request_context(), force_locale(language):
                get_translations()
        _render_sample_pdf()


def _render_sample_pdf() -> None:
    # The first PDF of a process otherwise parses cffi's C declarations and loads fonts (about 0.2 s).
    png = epc_qr_png(CreditTransfer("Warm-up", "BE68539007547034", None, Money(100, "EUR"), "RF18539007547034"))
    image = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    fetcher = RestrictedURLFetcher()
    weasyprint.HTML(string=_SAMPLE_PAGE.format(image=image), url_fetcher=fetcher).write_pdf(
        stylesheets=[weasyprint.CSS(string=BASE_STYLESHEET.read_text(), url_fetcher=fetcher)]
    )

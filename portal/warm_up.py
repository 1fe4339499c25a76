"""Pay a worker's one-off costs when it starts, not on its first requests: templates and locale data.

A fresh process otherwise compiles each Jinja template, parses each language's Babel locale data
and reads each catalogue the first time a page or PDF needs them, which made the first PDF of a
worker cost 1.7 times a bare WeasyPrint render.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from flask import Flask
from flask_babel import force_locale, get_translations

from portal.documents import html
from portal.documents.pdf import renderer_digest


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

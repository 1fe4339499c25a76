"""A worker warms up when it starts: its first page and PDF find their templates compiled."""

from __future__ import annotations

from portal.documents import html
from tests.conftest import build_app, dispose


def test_an_app_created_to_serve_has_its_templates_compiled(database_url):
    app = build_app(database_url, WARM_UP=True)
    try:
        with app.app_context():
            # Jinja keys its cache of compiled templates by (loader, name).
            compiled = {key[1] for key in app.jinja_env.cache.keys()}
            documents = {key[1] for key in html.environment().cache.keys()}
        assert {"customer/invoice.html", "customer/overview.html"} <= compiled
        assert {"documents/invoice.html", "documents/credit_note.html", "documents/receipt.html"} <= documents
    finally:
        dispose(app)

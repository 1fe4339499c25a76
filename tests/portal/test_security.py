"""Security headers, escaping of hostile text, cookies and CSRF."""

from __future__ import annotations

from datetime import date

from portal.extensions import db
from portal.models import Comment
from tests.conftest import build_app
from tests.factories import credit, line, make_customer, make_invoice, make_merchant
from tests.portal.conftest import sign_in

HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", '"><svg onload=alert(1)>']


def _assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Addresses stay on this site; of a magic link's address (it holds the token) only the origin leaves.
    secret = response.request.path.startswith("/l/")
    assert response.headers["Referrer-Policy"] == ("strict-origin" if secret else "same-origin")


def test_every_page_and_asset_carries_the_security_headers(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    note = credit(invoice, 1000, date(2026, 2, 1))
    # Committed first: the requests share this app context's session, and an error page rolls it back.
    db.session.commit()
    anonymous = [client.get(path) for path in ("/", "/nowhere", "/l/garbage", "/healthz", "/assets/portal.css")]
    sign_in(client, customer)
    pages = [
        client.get(path)
        for path in (
            "/",
            f"/invoices/{invoice.number}",
            f"/credit-notes/{note.number}",
            "/brand.css",
            "/theme/classic/theme.css",
            "/invoices/0000",
        )
    ]
    for response in anonymous + pages:
        _assert_security_headers(response)
        response.close()  # file responses hold the file open until closed
    assert pages[1].headers["Cache-Control"] == "no-store"


def test_pages_hold_no_inline_script_or_style(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)

    for path in ("/", f"/invoices/{invoice.number}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page and "<style" not in page
        assert " onclick=" not in page


def test_hostile_text_is_shown_as_text(ctx, client, spec_day):
    merchant = make_merchant(HOSTILE[0], support_email="a@example.com")
    merchant.terms = HOSTILE[1]
    customer = make_customer(merchant, name=HOSTILE[2])
    invoice = make_invoice(customer, lines=[line(HOSTILE[0])], notes=HOSTILE[1])
    note = credit(invoice, 1000, date(2026, 2, 1), reason=HOSTILE[0])
    for body in HOSTILE:
        db.session.add(Comment(merchant_id=merchant.id, invoice=invoice, author_kind="customer", body=body))
    sign_in(client, customer)

    for path in ("/", f"/invoices/{invoice.number}", f"/credit-notes/{note.number}"):
        page = client.get(path).get_data(as_text=True)
        for text in HOSTILE:
            assert text not in page, (path, text)
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
    invoice_page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in invoice_page
    assert f"<title>{'&lt;img src=x onerror=alert(1)&gt;'}" in invoice_page


def test_session_cookies_are_secure_outside_development(app, database_url):
    # Asking for `app` too makes conftest empty the tables this second app writes to.
    production = build_app(database_url, DEVELOPMENT=False)
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_HTTPONLY"] is True
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"

    try:
        with production.app_context():
            customer = make_customer(make_merchant())
            db.session.commit()
            client = production.test_client()
            response = sign_in(client, customer)
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()  # this app's own pool; the shared app's tables are emptied by conftest


def test_forms_carry_csrf_tokens(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)

    assert page.count("<form") == page.count('name="csrf_token"') + page.count('method="get"')
    assert client.post("/language", data={"language": "fr"}).status_code == 400


def test_a_theme_asset_cannot_escape_its_folder(client):
    for path in (
        "/theme/classic/../../portal/config.py",
        "/theme/classic/%2e%2e/%2e%2e/wsgi.py",
        "/theme/nope/theme.css",
        "/theme/classic/missing.css",
        "/assets/../config.py",
    ):
        with client.get(path) as response:
            assert response.status_code == 404, path


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"

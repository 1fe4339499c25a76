"""Behind a TLS-terminating proxy: forms keep working, CSRF stays strict, limits see the real client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import Customer
from portal.services.links import make_portal_link
from tests.admin.conftest import PASSWORD, make_staff
from tests.factories import make_customer, make_invoice, make_merchant
from tests.fakes.mollie import FakeMollie
from tests.operations.conftest import CSRF, Browser, path_of
from tests.payments.conftest import MOLLIE_KEY

SPEC_DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
STAFF_EMAIL = "owner@proxy.example"


@pytest.fixture
def fake_mollie() -> FakeMollie:
    fake = FakeMollie().start()
    yield fake
    fake.stop()


@pytest.fixture
def shop(app, behind_proxy, fake_mollie, monkeypatch, time_machine):
    """A merchant with a staff login and Mollie (the fake), a customer, and one open, overdue invoice."""
    time_machine.move_to(SPEC_DAY, tick=True)
    monkeypatch.setitem(behind_proxy.config, "MOLLIE_API_ENDPOINT", fake_mollie.url)
    monkeypatch.setitem(behind_proxy.config, "MOLLIE_API_KEY", MOLLIE_KEY)
    with app.app_context():
        merchant = make_merchant()
        make_staff(merchant, STAFF_EMAIL)
        customer = make_customer(merchant)
        invoice = make_invoice(customer)
        db.session.commit()
        ids = {"customer_id": customer.id, "number": invoice.number}
        db.session.remove()
    return ids


def link_path(app, customer_id: int) -> str:
    with app.app_context():
        url = make_portal_link(db.session.get(Customer, customer_id)).url
        db.session.remove()
    return path_of(url)


def signed_in_customer(app, proxied, shop, via: str, address: str = "198.51.100.7") -> Browser:
    browser = Browser(proxied, via=via, address=address)
    response = browser.get(link_path(app, shop["customer_id"]))
    assert response.status_code == 303
    return browser


# -- Every form works through https, with CSRF still strict ------------------------------------

VIAS = ["proxy", "https"]


@pytest.mark.parametrize("via", VIAS)
def test_admin_login_and_sign_out_through_https(behind_proxy, shop, via):
    browser = Browser(behind_proxy, via=via, address="198.51.100.7")

    response = browser.submit("/admin/login", "/admin/login", {"email": STAFF_EMAIL, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert browser.get("/admin/invoices").status_code == 200

    response = browser.submit("/admin/invoices", "/admin/logout", {})
    assert response.status_code == 303
    assert browser.get("/admin/invoices").status_code == 302  # back to the login page


@pytest.mark.parametrize("via", VIAS)
def test_customer_comment_and_sign_out_through_https(app, behind_proxy, shop, via):
    browser = signed_in_customer(app, behind_proxy, shop, via)
    invoice_path = f"/invoices/{shop['number']}"

    response = browser.submit(invoice_path, f"{invoice_path}/comments", {"body": "Could I pay in two parts?"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert "Could I pay in two parts?" in browser.get(invoice_path).get_data(as_text=True)

    response = browser.submit(invoice_path, "/sign-out", {})
    assert response.status_code == 200
    assert browser.get(invoice_path).status_code == 401


@pytest.mark.parametrize("via", VIAS)
def test_pay_through_https(app, behind_proxy, shop, fake_mollie, via):
    browser = signed_in_customer(app, behind_proxy, shop, via)
    invoice_path = f"/invoices/{shop['number']}"

    response = browser.submit(invoice_path, f"{invoice_path}/pay", {"provider": "mollie"})

    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].startswith(fake_mollie.url + "/checkout/")


def test_a_form_posted_from_another_site_is_refused_even_with_a_valid_token(app, behind_proxy, shop):
    browser = signed_in_customer(app, behind_proxy, shop, "proxy")
    invoice_path = f"/invoices/{shop['number']}"
    token = browser.get(invoice_path).get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"')[0]

    for origin in ("https://evil.example", "http://billing.example.com", "null"):
        response = browser.post(f"{invoice_path}/comments", {"csrf_token": token, "body": "hi"}, origin=origin)
        assert response.status_code == 400, origin
    # Over https with neither Origin nor Referer there is no proof of where the post came from.
    response = browser.client.post(
        f"{invoice_path}/comments",
        data={"csrf_token": token, "body": "hi"},
        base_url="https://billing.example.com",
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 400
    assert "thread__body" not in browser.get(invoice_path).get_data(as_text=True)


def test_pages_keep_their_address_from_other_sites_and_links_keep_their_token_to_themselves(app, behind_proxy, shop):
    browser = Browser(behind_proxy, address="198.51.100.7")
    response = browser.get(link_path(app, shop["customer_id"]))
    assert response.headers["Referrer-Policy"] == "strict-origin"  # never the path, which holds the token
    page = browser.get(f"/invoices/{shop['number']}")
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert 'name="referrer"' not in page.get_data(as_text=True)  # no meta tag overriding the header


# -- HSTS ----------------------------------------------------------------------------------------


def test_hsts_only_over_https(behind_proxy, without_proxy):
    over_https = Browser(behind_proxy, address="198.51.100.7").get("/healthz")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"

    plain = behind_proxy.test_client().get("/healthz")
    assert "Strict-Transport-Security" not in plain.headers
    # Nobody in front: a client's own X-Forwarded-Proto is just a header.
    spoofed = without_proxy.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers


# -- The real client's address -------------------------------------------------------------------


def fresh_link_requests(proxied, forwarded_for: str) -> list[int]:
    """Ask for a fresh link three times (the limit is 2 a minute per address); return the statuses."""
    client = proxied.test_client()
    headers = {"X-Forwarded-For": forwarded_for, "Origin": "http://localhost"}
    statuses = []
    for _ in range(3):
        page = client.get("/l/not-a-link", headers=headers)
        assert page.status_code == 404
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        statuses.append(client.post("/l/fresh", data={"csrf_token": token}, headers=headers).status_code)
    return statuses


def test_the_fresh_link_limit_keys_on_the_client_behind_the_proxy(behind_proxy):
    assert fresh_link_requests(behind_proxy, "198.51.100.1")[-1] == 429
    # Another customer behind the same proxy is not locked out by the first one.
    assert fresh_link_requests(behind_proxy, "198.51.100.2")[0] != 429
    # A client cannot pick its address: the proxy appends the one it saw, and only that one is trusted.
    assert fresh_link_requests(behind_proxy, "203.0.113.50, 198.51.100.1")[0] == 429


def test_without_proxies_a_forwarded_header_changes_nothing(app, without_proxy, shop):
    assert fresh_link_requests(without_proxy, "198.51.100.1")[-1] == 429
    # Spoofing another address does not escape the limit of the real one (the socket's).
    assert fresh_link_requests(without_proxy, "198.51.100.2")[0] == 429

    # Nor do a spoofed scheme and host: no HSTS, and a post must still come from the real host.
    browser = signed_in_customer(app, without_proxy, shop, "proxy")
    invoice_path = f"/invoices/{shop['number']}"
    assert "Strict-Transport-Security" not in browser.get(invoice_path).headers
    response = browser.submit(invoice_path, f"{invoice_path}/comments", {"body": "From the spoofed host"})
    assert response.status_code == 400
    assert "From the spoofed host" not in browser.get(invoice_path).get_data(as_text=True)


def test_the_per_address_pay_limit_keys_on_the_client_behind_the_proxy(app, behind_proxy, shop, monkeypatch):
    monkeypatch.setitem(behind_proxy.config, "PAY_RATE_LIMIT_PER_ADDRESS", "2/minute")
    invoice_path = f"/invoices/{shop['number']}"
    first = signed_in_customer(app, behind_proxy, shop, "proxy", address="198.51.100.1")
    statuses = [first.submit(invoice_path, f"{invoice_path}/pay", {"provider": "mollie"}).status_code for _ in range(3)]
    assert statuses == [303, 303, 429]

    with app.app_context():
        other = make_customer(db.session.get(Customer, shop["customer_id"]).merchant, "Other Customer")
        other_invoice = make_invoice(other)
        db.session.commit()
        other_shop = {"customer_id": other.id, "number": other_invoice.number}
        db.session.remove()
    second = signed_in_customer(app, behind_proxy, other_shop, "proxy", address="198.51.100.2")
    other_path = f"/invoices/{other_shop['number']}"
    assert second.submit(other_path, f"{other_path}/pay", {"provider": "mollie"}).status_code == 303

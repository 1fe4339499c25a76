"""Input no database column holds (ids past 2**31 − 1, NUL characters) is a clear 4xx with nothing stored.

PostgreSQL is where these used to answer 500 (integer out of range; text cannot hold NUL), so the
suite's PostgreSQL pass is the one that matters; the SQLite pass checks the same answers.
"""

from __future__ import annotations

import re

import pytest
from flask_login import current_user
from sqlalchemy import func, select, text

from portal.extensions import db, limiter
from portal.models import Comment, Customer, Invoice, Product, StaffUser
from portal.services.links import make_portal_link
from tests.admin.conftest import PASSWORD, csrf_token, login, make_staff
from tests.conftest import build_app, dispose
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant

TOO_BIG = [2**31, 2**63, 10**30]
NUL = "Jane\x00Cooper"
INT_ARGUMENT = re.compile(r"<int:(\w+)>")
OTHER_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")


@pytest.fixture
def world(app):
    """A merchant with a signed-in staff member, a signed-in customer with an open invoice, and an API key."""
    with app.app_context():
        limiter.reset()
        merchant = make_merchant("Acme")
        make_staff(merchant, "owner@bad-input.example")
        customer = make_customer(merchant)
        invoice = make_invoice(customer)
        key = make_api_key(merchant)
        db.session.commit()
        link = make_portal_link(customer).url.split("portal.test", 1)[1]
        number, invoice_id = invoice.number, invoice.id
    staff = app.test_client()
    assert login(staff, "owner@bad-input.example").status_code == 303
    customer_client = app.test_client()
    assert customer_client.get(link).status_code == 303
    return {"staff": staff, "customer": customer_client, "key": key, "number": number, "invoice_id": invoice_id}


def stored(app) -> dict:
    with app.app_context():
        counts = {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Invoice, Comment, Product, StaffUser)
        }
        counts["names"] = sorted(db.session.scalars(select(Customer.name)))
        db.session.remove()
        return counts


def send(world, method: str, path: str, **kwargs):
    """Send a request as the area's user: the API key, the signed-in staff member, or the customer."""
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {world['key']}"}
        return world["staff"].open(path, method=method, headers=headers, **kwargs)
    client = world["staff"] if path.startswith("/admin/") else world["customer"]
    if method != "GET" and "json" not in kwargs:
        page = "/admin/invoices" if path.startswith("/admin/") else f"/invoices/{world['number']}"
        data = dict(kwargs.pop("data", {}))
        data.setdefault("csrf_token", csrf_token(client.get(page).get_data(as_text=True)))
        kwargs["data"] = data
    return client.open(path, method=method, **kwargs)


def routes_with_ids(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if INT_ARGUMENT.search(rule.rule):
            found += [(method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_an_id_too_big_for_the_database_in_any_url_is_a_404(app, world):
    before = stored(app)
    routes = routes_with_ids(app)
    assert len(routes) > 40  # the API's, the admin's and the portal's
    for method, rule in routes:
        for big in TOO_BIG:
            path = INT_ARGUMENT.sub(str(big), rule)
            path = OTHER_ARGUMENT.sub(world["number"], path)
            response = send(world, method, path, json={}) if path.startswith("/api/") else send(world, method, path)
            assert response.status_code == 404, (method, path, response.status_code)
    assert stored(app) == before
    # The largest id a database integer holds is still looked up (and found missing).
    assert send(world, "GET", f"/admin/invoices/{2**31 - 1}").status_code == 404
    assert send(world, "GET", f"/admin/invoices/{world['invoice_id']}").status_code == 200


@pytest.mark.parametrize(
    "method, path, fields",
    [
        ("GET", "/admin/invoices?page={big}", None),
        ("GET", "/admin/customers?page={big}", None),
        ("GET", "/admin/invoices/new?customer_id={big}", None),
        ("GET", "/?open_page={big}&paid_page={big}", None),
        ("POST", "/admin/customers/{customer_id}/draft-from-charges", {"charge_id": "{big}"}),
    ],
)
def test_numbers_too_big_in_a_query_or_form_are_ignored_like_other_bad_numbers(app, world, method, path, fields):
    with app.app_context():
        customer_id = db.session.scalar(select(Customer.id))
    for big in TOO_BIG:
        url = path.format(big=big, customer_id=customer_id)
        data = {key: value.format(big=big) for key, value in (fields or {}).items()}
        response = send(world, method, url, data=data) if method == "POST" else send(world, method, url)
        assert response.status_code in (200, 303), (url, response.status_code)


def test_the_api_refuses_ids_too_big_in_a_json_body(app, world):
    before = stored(app)
    for big in TOO_BIG:
        body = {
            "customer_id": big,
            "currency": "EUR",
            "issue_date": "2026-01-01",
            "due_date": "2026-01-31",
            "lines": [{"description": "Work", "quantity": "1", "unit_amount": 100, "tax_rate": "0"}],
        }
        response = send(world, "POST", "/api/v1/invoices", json=body)
        assert response.status_code == 422 and response.json["error"]["field"] == "customer_id"
    assert stored(app) == before


NUL_REQUESTS = [
    # The API: JSON bodies (values, keys, nested), query and path.
    ("POST", "/api/v1/customers", {"json": {"name": NUL, "email": "j@example.com"}}),
    ("POST", "/api/v1/customers", {"json": {"name": "Jane", "email": "j@example.com", "address\x00": {}}}),
    (
        "POST",
        "/api/v1/customers",
        {"json": {"name": "Jane", "email": "j@example.com", "address": {"line1": "Rue\x00 1", "city": "x"}}},
    ),
    ("POST", "/api/v1/customers", {"json": {"name": "Jane\ud800", "email": "j@example.com"}}),
    ("GET", "/api/v1/invoices?number=2026\x00", {}),
    ("GET", "/api/v1/invoices/\x00", {}),
    # The portal: a comment, the overview's search, an invoice number in the path.
    ("POST", "/invoices/{number}/comments", {"data": {"body": "Why\x00?"}}),
    ("GET", "/?number=\x00", {}),
    ("GET", "/invoices/2026\x00", {}),
    ("GET", "/credit-notes/\x00/pdf", {}),
    # The admin: forms and search.
    ("POST", "/admin/customers/new", {"data": {"name": NUL, "email": "nul@example.com", "language": "en"}}),
    ("POST", "/admin/products/new", {"data": {"name": "Nul\x00", "unit_price": "10", "tax_rate": "21"}}),
    (
        "POST",
        "/admin/settings/staff",
        {"data": {"name": "N", "email": "n@example.com", "password": "pass\x00word long enough"}},
    ),
    ("GET", "/admin/invoices?q=\x00", {}),
    ("GET", "/admin/customers?q=%00", {}),
]


@pytest.mark.parametrize("method, path, kwargs", NUL_REQUESTS, ids=[f"{m} {p}" for m, p, _ in NUL_REQUESTS])
def test_a_nul_character_anywhere_is_a_400_with_nothing_stored(app, world, method, path, kwargs):
    before = stored(app)
    response = send(world, method, path.format(number=world["number"]), **kwargs)
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    if path.startswith("/api/"):
        assert response.json["error"]["code"] == "bad_request"
        assert "cannot be stored" in response.json["error"]["message"]
    else:
        assert "cannot be stored" in response.get_data(as_text=True)
    assert stored(app) == before
    # The session is clean afterwards: the same client carries on.
    assert send(world, "GET", "/admin/invoices").status_code == 200
    assert send(world, "GET", f"/invoices/{world['number']}").status_code == 200


def test_the_login_form_refuses_a_nul_character(app, world):
    client = app.test_client()
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    for email, password in (("owner@bad-input.example\x00", PASSWORD), ("owner@bad-input.example", PASSWORD + "\x00")):
        response = client.post("/admin/login", data={"csrf_token": token, "email": email, "password": password})
        assert response.status_code == 400
        assert "cannot be stored" in response.get_data(as_text=True)
    assert client.get("/admin/invoices").status_code == 302


def test_the_customer_error_page_says_what_is_wrong_in_the_customers_language(app, world):
    page = app.test_client().get("/invoices/%00", headers={"Accept-Language": "fr"})
    assert page.status_code == 400
    assert "Cela n’a pas pu être enregistré" in page.get_data(as_text=True)


@pytest.fixture
def probed_pg(pg):
    """A PostgreSQL app with two routes that meet a database error after loading the signed-in staff member."""
    probed = build_app(pg.config["SQLALCHEMY_DATABASE_URI"], PROPAGATE_EXCEPTIONS=False)

    @probed.get("/admin/probe/out-of-range")
    def out_of_range():
        assert current_user.is_authenticated
        db.session.execute(text("SELECT CAST(:value AS integer)"), {"value": str(2**40)})
        return "unreachable"

    @probed.get("/admin/probe/bug")
    def bug():
        assert current_user.is_authenticated
        db.session.execute(text("SELECT no_such_column FROM staff_users"))
        return "unreachable"

    with probed.app_context():
        make_staff(make_merchant("Probe Ltd"), "probe@bad-input.example")
        db.session.commit()
    yield probed
    dispose(probed)


def test_a_value_the_database_refuses_is_rolled_back_and_answered_400(probed_pg):
    """The safety net behind the checks: PostgreSQL's "out of range" is a 400, drawn from a clean transaction."""
    client = probed_pg.test_client()
    assert login(client, "probe@bad-input.example").status_code == 303
    response = client.get("/admin/probe/out-of-range")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "cannot be stored" in page and "Probe Ltd" in page  # the frame read the merchant after the rollback


def test_the_error_page_of_a_failed_statement_is_drawn_after_a_rollback(probed_pg):
    client = probed_pg.test_client()
    assert login(client, "probe@bad-input.example").status_code == 303
    response = client.get("/admin/probe/bug")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and "Probe Ltd" in page
    assert client.get("/admin/invoices").status_code == 200

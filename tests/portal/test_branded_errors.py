"""Links and pages that do not work still lead somewhere, in the merchant's brand and the customer's language."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer
from portal.models.mail import OutboxMessage
from portal.services.customers import revoke_links
from portal.services.links import make_portal_link
from tests.factories import make_customer, make_merchant
from tests.portal.conftest import sign_in

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _path(customer) -> str:
    return make_portal_link(customer).url.split("portal.test", 1)[1]


def _token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token"
    return match.group(1) or match.group(2)


def _queued() -> list[tuple[str, str]]:
    return [(m.kind, m.to_address) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_a_tampered_link_shows_the_brand_this_browser_knows_and_a_fresh_link_form(ctx, client):
    customer = make_customer(make_merchant("Atelier Lumen"), email="jane@example.com")
    path = _path(customer)
    sign_in(client, customer)
    client.post("/sign-out", data={"csrf_token": _token(client.get("/").get_data(as_text=True))})

    response = client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))

    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<title>Atelier Lumen" in page and "/brand.css" in page
    assert 'data-testid="fresh-link-form"' in page
    answer = client.post("/l/fresh", data={"csrf_token": _token(page), "email": "JANE@example.com"})
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    assert _queued() == [("fresh_link", "jane@example.com")]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(ctx, client):
    customer = make_customer(make_merchant("Atelier Lumen"), email="jane@example.com")
    sign_in(client, customer)
    client.post("/sign-out", data={"csrf_token": _token(client.get("/").get_data(as_text=True))})
    page = client.get("/l/not-a-token").get_data(as_text=True)

    answer = client.post("/l/fresh", data={"csrf_token": _token(page), "email": "someone@example.com"})

    assert "Check your email" in answer.get_data(as_text=True)
    assert _queued() == []


def test_a_revoked_link_is_branded_and_sends_a_fresh_one_to_the_address_on_file(ctx, client):
    customer = make_customer(make_merchant("Atelier Lumen"), email="jan@example.be", language="nl")
    old = _path(customer)
    revoke_links(db.session.get(Customer, customer.id))
    db.session.commit()

    response = client.get(old, headers={"Accept-Language": "en"})

    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<title>Atelier Lumen" in page
    assert '<html lang="nl">' in page  # the link's customer reads it in their language
    assert 'name="email"' not in page  # the link named them: no address to type
    client.post("/l/fresh", data={"csrf_token": _token(page)})
    assert _queued() == [("fresh_link", "jan@example.be")]


def test_the_expired_page_speaks_the_language_of_the_links_customer(ctx, client, time_machine, spec_day):
    customer = make_customer(make_merchant(), language="de")
    path = _path(customer)
    db.session.commit()
    time_machine.shift(timedelta(days=91))

    response = client.get(path, headers={"Accept-Language": "fr"})

    assert response.status_code == 410
    assert '<html lang="de">' in response.get_data(as_text=True)


def test_signed_out_and_missing_session_pages_keep_the_brand_and_offer_a_fresh_link(ctx, client):
    customer = make_customer(make_merchant("Atelier Lumen"))
    sign_in(client, customer)

    signed_out = client.post("/sign-out", data={"csrf_token": _token(client.get("/").get_data(as_text=True))})
    missing = client.get("/")

    for response in (signed_out, missing):
        page = response.get_data(as_text=True)
        assert "<title>Atelier Lumen" in page
        assert 'data-testid="fresh-link-form"' in page
    assert missing.status_code == 401

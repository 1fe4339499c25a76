"""Magic links: entry, redirects, tampering, expiry and revocation (SPEC §2)."""

from __future__ import annotations

from datetime import timedelta

from portal.extensions import db
from portal.models import Customer
from portal.services.customers import revoke_links
from portal.services.links import make_portal_link
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import normalised, sign_in


def test_a_link_starts_a_session_and_leaves_the_address_bar_with_303(ctx, client):
    customer = make_customer(make_merchant())
    token_path = make_portal_link(customer).url.split("portal.test", 1)[1]
    db.session.commit()

    response = client.get(token_path)

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert response.headers["Referrer-Policy"] == "strict-origin"  # the origin, never the token
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    token = token_path.rsplit("/", 1)[1]
    assert token not in response.get_data(as_text=True)
    overview = client.get("/")
    assert overview.status_code == 200
    assert token not in overview.get_data(as_text=True)


def test_a_link_naming_an_invoice_opens_that_invoice(ctx, client):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)

    response = sign_in(client, customer, invoice)

    assert response.status_code == 303
    assert response.headers["Location"] == f"/invoices/{invoice.number}"


def test_links_are_built_from_the_public_url_never_from_the_host_header(app, ctx):
    customer = make_customer(make_merchant())
    with app.test_request_context("/", base_url="http://evil.example"):
        url = make_portal_link(customer).url
    assert url.startswith("http://portal.test/l/")


def test_a_tampered_link_gets_the_not_found_page(ctx, client):
    customer = make_customer(make_merchant())
    path = make_portal_link(customer).url.split("portal.test", 1)[1]
    db.session.commit()

    response = client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))

    assert response.status_code == 404
    assert "text/html" in response.content_type
    page = response.get_data(as_text=True)
    assert "This link does not work" in page
    assert 'data-testid="fresh-link-form"' in page and 'name="email"' in page  # nobody named: ask the address
    assert client.get("/").status_code == 401


def test_an_expired_link_offers_a_fresh_one_and_the_answer_reveals_nothing(ctx, client, time_machine, spec_day):
    merchant = make_merchant()
    kept, gone = make_customer(merchant), make_customer(merchant)
    kept_path = make_portal_link(kept).url.split("portal.test", 1)[1]
    gone_path = make_portal_link(gone).url.split("portal.test", 1)[1]
    db.session.delete(gone)
    db.session.commit()
    time_machine.shift(timedelta(days=91))

    answers = []
    for path in (kept_path, gone_path):
        expired = client.get(path)
        assert expired.status_code == 410
        page = expired.get_data(as_text=True)
        assert "This link has expired" in page
        assert path.rsplit("/", 1)[1] not in page
        csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        sent = client.post("/l/fresh", data={"csrf_token": csrf})
        assert sent.status_code == 200
        answers.append(normalised(sent.get_data(as_text=True)))

    assert answers[0] == answers[1]
    assert "a fresh link is on its way" in answers[0]


def test_asking_for_a_fresh_link_needs_the_csrf_token(ctx, client):
    assert client.post("/l/fresh").status_code == 400


def test_asking_for_fresh_links_is_rate_limited(ctx, client, time_machine, spec_day):
    customer = make_customer(make_merchant())
    path = make_portal_link(customer).url.split("portal.test", 1)[1]
    db.session.commit()
    time_machine.shift(timedelta(days=91))
    page = client.get(path).get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]

    codes = [client.post("/l/fresh", data={"csrf_token": csrf}).status_code for _ in range(3)]

    assert codes[:2] == [200, 200]
    assert codes[2] == 429


def test_revoking_links_closes_old_links_and_open_sessions(ctx, client):
    customer = make_customer(make_merchant())
    old_path = make_portal_link(customer).url.split("portal.test", 1)[1]
    sign_in(client, customer)
    assert client.get("/").status_code == 200

    revoke_links(db.session.get(Customer, customer.id))
    db.session.commit()

    assert client.get("/").status_code == 401
    assert client.get(old_path).status_code == 404
    assert sign_in(client, customer).status_code == 303
    assert client.get("/").status_code == 200


def test_pages_without_a_session_ask_for_the_emailed_link(ctx, client):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    db.session.commit()

    for path in ("/", f"/invoices/{invoice.number}", "/credit-notes/CN-2026-0001"):
        response = client.get(path)
        assert response.status_code == 401
        assert "Open the link from your email" in response.get_data(as_text=True)


def test_signing_out_forgets_the_customer(ctx, client):
    customer = make_customer(make_merchant())
    sign_in(client, customer)
    page = client.get("/").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 200
    assert client.get("/").status_code == 401


def test_a_fresh_link_is_queued_only_for_a_customer_who_still_exists(ctx, client, time_machine, spec_day):
    from sqlalchemy import select

    from portal.models.mail import OutboxMessage

    merchant = make_merchant()
    kept, gone = make_customer(merchant, email="kept@example.com"), make_customer(merchant)
    paths = [make_portal_link(c).url.split("portal.test", 1)[1] for c in (kept, gone)]
    db.session.delete(gone)
    db.session.commit()
    time_machine.shift(timedelta(days=91))

    for path in paths:
        page = client.get(path).get_data(as_text=True)
        csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        client.post("/l/fresh", data={"csrf_token": csrf})

    queued = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.kind, m.to_address) for m in queued] == [("fresh_link", "kept@example.com")]

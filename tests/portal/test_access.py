"""A customer never sees another customer's or another merchant's documents, nor drafts."""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal.extensions import db
from portal.services.invoices import finalize_invoice
from tests.factories import credit, make_customer, make_invoice, make_merchant
from tests.portal.conftest import normalised, sign_in


@pytest.fixture
def world(ctx, spec_day):
    """Customer "me" with one invoice and credit note; a neighbour; another merchant's customer."""
    shop = make_merchant("Shop")
    me, neighbour = make_customer(shop, "Me"), make_customer(shop, "Neighbour")
    mine = make_invoice(me)
    theirs = make_invoice(neighbour)
    their_note = credit(theirs, 10000, date(2026, 1, 20))
    elsewhere = make_customer(make_merchant("Elsewhere"), "Stranger")
    for _ in range(3):  # numbers that exist only at the other merchant
        foreign = make_invoice(elsewhere)
    foreign_note = credit(foreign, 10000, date(2026, 1, 20))
    draft = make_invoice(me, finalize=False)
    db.session.commit()
    return {
        "me": me,
        "mine": mine,
        "theirs": theirs,
        "their_note": their_note,
        "foreign": foreign,
        "foreign_note": foreign_note,
        "draft": draft,
    }


def _not_found(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 404, path
    return normalised(response.get_data(as_text=True))


def test_someone_elses_number_answers_exactly_like_a_missing_one(client, world):
    sign_in(client, world["me"])
    missing = _not_found(client, "/invoices/2099-9999")

    assert _not_found(client, f"/invoices/{world['theirs'].number}") == missing
    assert world["foreign"].number not in (world["mine"].number, world["theirs"].number)
    assert _not_found(client, f"/invoices/{world['foreign'].number}") == missing
    missing_note = _not_found(client, "/credit-notes/CN-2099-9999")
    assert _not_found(client, f"/credit-notes/{world['their_note'].number}") == missing_note
    assert world["their_note"].number == world["foreign_note"].number  # same number, different merchant
    assert missing_note == missing


def test_drafts_cannot_be_reached(client, world):
    sign_in(client, world["me"])
    draft = world["draft"]

    for path in (f"/invoices/{draft.id}", "/invoices/None", "/invoices/", f"/invoices/{draft.id}/comments"):
        assert client.get(path).status_code in (404, 405)
    assert str(draft.id) not in re.findall(r'href="/invoices/([^"]+)"', client.get("/").get_data(as_text=True))

    # Once finalized it is the customer's like any other.
    finalize_invoice(draft)
    db.session.commit()
    assert client.get(f"/invoices/{draft.number}").status_code == 200


def test_commenting_on_someone_elses_invoice_is_not_found(client, world):
    sign_in(client, world["me"])
    page = client.get(f"/invoices/{world['mine'].number}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    for invoice in (world["theirs"], world["foreign"]):
        response = client.post(f"/invoices/{invoice.number}/comments", data={"csrf_token": csrf, "body": "hi"})
        assert response.status_code == 404


def test_a_link_naming_someone_elses_invoice_opens_only_the_overview(client, world):
    from portal.services.links import make_portal_link

    # A genuine link cannot name another customer's invoice, but the reader must not trust that.
    url = make_portal_link(world["me"], world["theirs"]).url
    response = client.get(url.split("portal.test", 1)[1])

    assert response.headers["Location"] == "/"

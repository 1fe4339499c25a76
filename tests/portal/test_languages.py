"""Languages: the customer's stored language, switching it, locale formatting of money and dates."""

from __future__ import annotations

import re

from portal.extensions import db
from portal.models import Customer
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import plain, sign_in


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_customers_stored_language_and_locale_formats(ctx, client, spec_day):
    merchant = make_merchant()
    expected = {
        "fr": ("Factures à payer", "1 049,86 €", "30 jours de retard"),
        "nl": ("Openstaande facturen", "€ 1.049,86", "30 dagen te laat"),
        "de": ("Offene Rechnungen", "1.049,86 €", "30 Tage überfällig"),
        "en": ("Open invoices", "€1,049.86", "30 days overdue"),
    }
    for language, (heading, amount, overdue) in expected.items():
        customer = make_customer(merchant, language=language)
        make_invoice(customer)
        sign_in(client, customer)
        page = plain(client.get("/").get_data(as_text=True))
        assert f'<html lang="{language}">' in page
        assert heading in page and amount in page and overdue in page, language


def test_switching_language_stores_it_on_the_customer(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)
    path = f"/invoices/{invoice.number}"
    page = client.get(path).get_data(as_text=True)

    response = client.post("/language", data={"csrf_token": _csrf(page), "language": "fr", "next": path})

    assert response.status_code == 303 and response.headers["Location"] == path
    assert db.session.get(Customer, customer.id).language == "fr"
    french = plain(client.get(path).get_data(as_text=True))
    assert "Voir le calcul" in french and "1 049,86 €" in french and "2 mars 2026" in french


def test_the_language_switch_never_redirects_off_site(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    sign_in(client, customer)
    csrf = _csrf(client.get("/").get_data(as_text=True))

    for target in ("https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/language", data={"csrf_token": csrf, "language": "de", "next": target})
        assert response.headers["Location"] == "/", target


def test_visitors_without_a_session_get_their_browsers_language(ctx, client):
    page = client.get("/", headers={"Accept-Language": "nl-BE,nl;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="nl">' in page and "Open de link uit uw e-mail" in page

    csrf = _csrf(page)
    client.post("/language", data={"csrf_token": csrf, "language": "de", "next": "/"})
    page = client.get("/", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="de">' in page

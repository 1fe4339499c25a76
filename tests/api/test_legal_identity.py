"""The merchant's and customers' legal identities through the API, checked numbers, and what finalize refuses."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer, Merchant
from tests.api.conftest import SPEC_LINE, invoice_body

COMPANY = {
    "legal_name": "Acme Solutions SRL",
    "address": {
        "line1": "Rue Haute 112",
        "line2": "Box 4",
        "postal_code": "1000",
        "city": "Bruxelles",
        "country": "be",
    },
    "vat_number": "BE 0477.472.701",
    "company_number": "0477472701",
    "email": "billing@acme.example",
    "phone": "+32 2 123 45 67",
    "website": "https://acme.example",
    "iban": "BE68 5390 0754 7034",
    "bic": "GKCCBEBB",
}
ADDRESSES = {
    "BE": {"line1": "Rue Haute 1", "postal_code": "1000", "city": "Bruxelles", "country": "BE"},
    "FR": {"line1": "10 rue de Rivoli", "postal_code": "75004", "city": "Paris", "country": "FR"},
    "NL": {"line1": "Damrak 1", "postal_code": "1012 AB", "city": "Amsterdam", "country": "NL"},
    "DE": {"line1": "Torstraße 140", "postal_code": "10119", "city": "Berlin", "country": "DE"},
}
VALID = {
    "BE": ("BE0477472701", "0477.472.701", "BE68539007547034"),
    "FR": ("FR40303265045", "732 829 320", "FR1420041010050500013M02606"),
    "NL": ("NL004495445B01", "34236789", "NL91ABNA0417164300"),
    "DE": ("DE136695976", "Berlin (Charlottenburg) HRB 12345", "DE89370400440532013000"),
}
INVALID = {
    "BE": ("BE0477472702", "0477472702", "BE68539007547035"),
    "FR": ("FR40303265046", "732829321", "FR1420041010050500013M02607"),
    "NL": ("NL004495446B01", "3423678", "NL91ABNA0417164301"),
    "DE": ("DE136695977", "HRB 12345", "DE89370400440532013001"),
}


def test_the_company_is_set_read_back_normalised_and_kept_on_the_merchant(api, merchant_key, app):
    response = api.put("/settings/company", COMPANY)

    assert response.status_code == 200, response.json
    body = response.json
    assert body["legal_name"] == "Acme Solutions SRL" and body["name"] == "Acme"  # the trading name stays
    assert body["address"] == {
        "line1": "Rue Haute 112",
        "line2": "Box 4",
        "postal_code": "1000",
        "city": "Bruxelles",
        "country": "BE",
    }
    assert body["vat_number"] == "BE0477472701" and body["company_number"] == "0477.472.701"
    assert body["iban"] == "BE68539007547034" and body["bic"] == "GKCCBEBB"
    assert api.get("/settings/company").json == body
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_key[0])
        assert merchant.support_email == "billing@acme.example" and merchant.city == "Bruxelles"


@pytest.mark.parametrize("country", ["BE", "FR", "NL", "DE"])
def test_valid_national_numbers_pass_for_company_and_customers(api, country):
    vat, company_number, iban = VALID[country]
    company = dict(
        COMPANY, address=ADDRESSES[country], vat_number=vat, company_number=company_number, iban=iban, bic=None
    )
    assert api.put("/settings/company", company).status_code == 200, api.put("/settings/company", company).json
    customer = api.post(
        "/customers",
        {
            "name": "Buyer",
            "email": "buyer@example.com",
            "company": "Buyer Ltd",
            "address": ADDRESSES[country],
            "vat_number": vat,
            "company_number": company_number,
        },
    )
    assert customer.status_code == 201, customer.json
    assert customer.json["vat_number"] == vat.replace(" ", "")


@pytest.mark.parametrize("country", ["BE", "FR", "NL", "DE"])
@pytest.mark.parametrize(("index", "field"), [(0, "vat_number"), (1, "company_number"), (2, "iban")])
def test_invalid_national_numbers_are_422_naming_the_field_and_change_nothing(
    api, app, merchant_key, country, index, field
):
    company = dict(COMPANY, address=ADDRESSES[country], bic=None)
    company.update(zip(("vat_number", "company_number", "iban"), VALID[country], strict=True))
    company[field] = INVALID[country][index]

    response = api.put("/settings/company", company)

    assert response.status_code == 422
    assert response.json["error"]["field"] == field and response.json["error"]["code"] == "invalid_identifier"
    with app.app_context():
        assert db.session.get(Merchant, merchant_key[0]).legal_name == "Acme"  # nothing half-written
    if field != "iban":
        body = {
            "name": "Buyer",
            "email": "b@example.com",
            "address": ADDRESSES[country],
            field: INVALID[country][index],
        }
        refused = api.post("/customers", body)
        assert refused.status_code == 422 and refused.json["error"]["field"] == field


def test_bad_addresses_and_bics_name_their_field(api):
    partial = dict(COMPANY, address={"line1": "Rue Haute 1", "postal_code": "1000", "city": " ", "country": "BE"})
    assert api.put("/settings/company", partial).json["error"]["field"] == "address.city"
    country = dict(COMPANY, address=dict(ADDRESSES["BE"], country="XX"))
    assert api.put("/settings/company", country).json["error"]["field"] == "address.country"
    assert api.put("/settings/company", dict(COMPANY, bic="GKCCXXBB")).json["error"]["field"] == "bic"
    missing = {key: value for key, value in COMPANY.items() if key != "address"}
    assert api.put("/settings/company", missing).json["error"]["field"] == "address"


def test_customers_are_listed_searched_and_patched(api, app, merchant_key):
    first = api.post("/customers", {"name": "Zoë Peeters", "email": "zoe@example.com", "language": "nl"}).json
    api.post("/customers", {"name": "Adam", "email": "adam@example.com", "company": "Peeters & Zonen BV"})

    listed = api.get("/customers").json
    assert [row["name"] for row in listed["data"]] == ["Adam", "Zoë Peeters"] and listed["has_more"] is False
    assert {row["name"] for row in api.get("/customers?q=peeters").json["data"]} == {"Adam", "Zoë Peeters"}
    assert api.get("/customers?limit=1").json["has_more"] is True

    patched = api.patch(
        f"/customers/{first['id']}",
        {"company": "Peeters BV", "vat_number": "BE0836542153", "address": ADDRESSES["BE"], "phone": "09 223 45 67"},
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["phone"] == "+3292234567"  # E.164, read as Belgian like the address
    assert patched.json["name"] == "Zoë Peeters" and patched.json["language"] == "nl"  # untouched
    assert patched.json["company"] == "Peeters BV" and patched.json["address"]["city"] == "Bruxelles"
    cleared = api.patch(f"/customers/{first['id']}", {"vat_number": None, "address": None})
    assert cleared.json["vat_number"] is None and cleared.json["address"] is None
    assert cleared.json["company"] == "Peeters BV"
    assert api.patch(f"/customers/{first['id']}", {"name": None}).status_code == 422
    assert api.patch(f"/customers/{first['id']}", {"language": "xx"}).status_code == 422
    assert api.patch("/customers/999999", {"name": "X"}).status_code == 404


def test_another_merchants_customer_cannot_be_listed_or_patched(api, other_api, app):
    with app.app_context():
        rival_customer = db.session.scalar(select(Customer).where(Customer.name == "Rival's customer"))
    assert api.patch(f"/customers/{rival_customer.id}", {"name": "Mine now"}).status_code == 404
    assert api.get("/customers").json["data"] == []
    assert [row["name"] for row in other_api.get("/customers").json["data"]] == ["Rival's customer"]


def test_finalize_refuses_a_seller_without_legal_address(api, app, merchant_key, customer_id):
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_key[0])
        merchant.set_address(None)
        db.session.commit()
    draft = api.post("/invoices", invoice_body(customer_id)).json

    refused = api.post(f"/invoices/{draft['id']}/finalize")

    assert refused.status_code == 422 and refused.json["error"]["code"] == "incomplete"
    assert refused.json["error"]["field"] == "seller.address.line1"
    assert api.get(f"/invoices/{draft['id']}").json["number"] is None
    api.put("/settings/company", COMPANY)
    assert api.post(f"/invoices/{draft['id']}/finalize").status_code == 200


def test_reverse_charge_and_intra_community_lines_need_the_customers_vat_number(api, customer_id):
    lines = [dict(SPEC_LINE, tax_category="AE"), dict(SPEC_LINE, description="Goods", tax_category="K")]
    draft = api.post("/invoices", invoice_body(customer_id, lines=lines)).json

    refused = api.post(f"/invoices/{draft['id']}/finalize")

    assert refused.status_code == 422 and refused.json["error"]["field"] == "customer.vat_number"
    assert "AE and K" in refused.json["error"]["message"]
    api.patch(f"/customers/{customer_id}", {"vat_number": "DE136695976"})
    issued = api.post(f"/invoices/{draft['id']}/finalize").json
    assert issued["buyer"]["vat_number"] == "DE136695976"
    assert issued["exemption_reasons"] == {
        "AE": "Reverse charge",
        "K": "Intra-Community supply of goods exempt from VAT (Article 138 of Directive 2006/112/EC)",
    }


def test_lines_agree_with_the_domain_on_categories_and_rates(api, customer_id):
    standard_at_zero = api.post("/invoices", invoice_body(customer_id, lines=[dict(SPEC_LINE, tax_category="S")]))
    assert standard_at_zero.status_code == 422 and standard_at_zero.json["error"]["field"] == "lines.0.tax_rate"
    rated_exempt = api.post(
        "/invoices", invoice_body(customer_id, lines=[dict(SPEC_LINE, tax_rate="21", tax_category="E")])
    )
    assert rated_exempt.status_code == 422 and rated_exempt.json["error"]["field"] == "lines.0.tax_rate"
    unknown = api.post("/invoices", invoice_body(customer_id, lines=[dict(SPEC_LINE, tax_category="X")]))
    assert unknown.status_code == 422 and unknown.json["error"]["field"] == "lines.0.tax_category"
    too_long = api.post("/invoices", invoice_body(customer_id, lines=[dict(SPEC_LINE, description="x" * 501)]))
    assert too_long.status_code == 422 and "at most 500 characters" in too_long.json["error"]["message"]
    standard_reason = api.post("/invoices", invoice_body(customer_id, exemption_reasons={"S": "No"}))
    assert standard_reason.status_code == 422 and standard_reason.json["error"]["field"] == "exemption_reasons.S"


def test_a_draft_shows_the_live_parties_the_issued_invoice_its_own(api, customer_id):
    draft = api.post(
        "/invoices",
        invoice_body(
            customer_id, supply_date="2025-12-20", exemption_reasons={"E": "Exempt, art. 44 Belgian VAT code"}
        ),
    ).json
    assert draft["seller"]["legal_name"] == "Acme" and draft["buyer"]["name"] == "Jane Cooper"
    assert draft["supply_date"] == "2025-12-20" and draft["language"] == "en"
    assert draft["exemption_reasons"] == {}  # its one line is zero rated: nothing to state

    issued = api.post(f"/invoices/{draft['id']}/finalize").json
    api.put("/settings/company", COMPANY)
    api.patch(f"/customers/{customer_id}", {"name": "Renamed", "language": "fr"})

    again = api.get(f"/invoices/{draft['id']}").json
    assert again["seller"] == issued["seller"] and again["seller"]["legal_name"] == "Acme"
    assert again["buyer"]["name"] == "Jane Cooper" and again["language"] == "en"
    assert again["supply_date"] == "2025-12-20"
    no_supply = api.post("/invoices", invoice_body(customer_id)).json
    assert no_supply["supply_date"] == no_supply["issue_date"]

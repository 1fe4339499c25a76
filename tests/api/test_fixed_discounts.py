"""Fixed-amount discounts and the merchant's default tax rate through the JSON API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.extensions import db
from portal.models import Merchant
from tests.api.conftest import invoice_body

DESIGN = {"description": "Design", "quantity": "1", "unit_amount": 10000, "tax_rate": "21"}
PRINT = {"description": "Print", "quantity": "1", "unit_amount": 5000, "tax_rate": "6"}


def test_fixed_discounts_on_lines_and_on_the_invoice(api, customer_id):
    lines = [dict(DESIGN, discount_percent="10", discount_fixed=500), dict(PRINT, discount_fixed=0)]
    response = api.post("/invoices", invoice_body(customer_id, lines=lines, discount_fixed=1000))
    assert response.status_code == 201, response.json
    invoice = response.json
    # Design: 100.00 − 10 % − 5.00 = 85.00. 10.00 spread 85:50 → 6.30 (6.296…) and 3.70 (3.703…).
    assert [(line["discount_fixed"], line["net_amount"]) for line in invoice["lines"]] == [(500, 8500), (0, 5000)]
    assert invoice["discount_fixed"] == 1000 and invoice["discount_amount"] == 1000
    assert invoice["taxes"] == [
        {"tax_category": "S", "rate": "6", "base": 4630, "amount": 278},
        {"tax_category": "S", "rate": "21", "base": 7870, "amount": 1653},
    ]
    assert (invoice["subtotal"], invoice["net_amount"], invoice["tax_amount"], invoice["total"]) == (
        13500,
        12500,
        1931,
        14431,
    )
    # The draft's breakdown (before its due date) ends with what is due: the discounted total.
    shown = api.get(f"/invoices/{invoice['id']}?as_of=2026-01-15").json
    assert shown["amount_due"] == shown["breakdown"][-1]["amount"] == 14431


def test_a_line_fixed_discount_larger_than_the_line_is_refused(api, customer_id):
    lines = [DESIGN, dict(PRINT, discount_percent="50", discount_fixed=2501)]
    refused = api.post("/invoices", invoice_body(customer_id, lines=lines))
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "lines.1.discount_fixed"
    assert "larger than the line" in refused.json["error"]["message"]
    assert api.get("/invoices").json["data"] == []


def test_an_invoice_fixed_discount_larger_than_the_lines_is_refused(api, customer_id):
    refused = api.post("/invoices", invoice_body(customer_id, lines=[DESIGN, PRINT], discount_fixed=15001))
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "discount_fixed"
    assert "larger than its lines" in refused.json["error"]["message"]


@pytest.mark.parametrize("value", [-1, 1.5, "100", None])
def test_a_fixed_discount_is_a_non_negative_integer(api, customer_id, value):
    refused = api.post("/invoices", invoice_body(customer_id, lines=[dict(DESIGN, discount_fixed=value)]))
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "lines.0.discount_fixed"


def test_patch_changes_the_fixed_discount_and_keeps_it_within_the_lines(api, customer_id):
    draft = api.post("/invoices", invoice_body(customer_id, lines=[DESIGN])).json
    changed = api.patch(f"/invoices/{draft['id']}", {"discount_fixed": 2500})
    assert changed.status_code == 200, changed.json
    assert (changed.json["discount_fixed"], changed.json["net_amount"], changed.json["total"]) == (2500, 7500, 9075)
    # New lines keep the fixed discount; lines that no longer carry it are refused, and nothing changes.
    smaller = api.patch(f"/invoices/{draft['id']}", {"lines": [dict(DESIGN, unit_amount=2000)]})
    assert smaller.status_code == 422 and smaller.json["error"]["field"] == "discount_fixed"
    assert api.get(f"/invoices/{draft['id']}").json["total"] == 9075
    assert api.patch(f"/invoices/{draft['id']}", {"discount_fixed": None}).status_code == 422
    cleared = api.patch(f"/invoices/{draft['id']}", {"discount_fixed": 0}).json
    assert (cleared["discount_fixed"], cleared["total"]) == (0, 12100)


def test_the_fixed_discount_is_issued_with_the_invoice(api, customer_id):
    draft = api.post("/invoices", invoice_body(customer_id, lines=[DESIGN, PRINT], discount_fixed=1500)).json
    finalized = api.post(f"/invoices/{draft['id']}/finalize").json
    assert finalized["status"] == "open"
    assert (finalized["discount_fixed"], finalized["total"]) == (1500, draft["total"])
    locked = api.patch(f"/invoices/{draft['id']}", {"discount_fixed": 0})
    assert locked.status_code == 409
    assert api.get(f"/invoices/{draft['id']}").json["discount_fixed"] == 1500


def test_a_credit_note_line_takes_a_fixed_discount(api, customer_id):
    invoice = api.post("/invoices", invoice_body(customer_id, lines=[DESIGN])).json
    api.post(f"/invoices/{invoice['id']}/finalize")
    note = api.post(f"/invoices/{invoice['id']}/credit-notes", {"lines": [dict(DESIGN, discount_fixed=6000)]})
    assert note.status_code == 201, note.json
    assert note.json["lines"][0]["discount_fixed"] == 6000
    assert (note.json["net_amount"], note.json["total"]) == (4000, 4840)
    assert api.get(f"/invoices/{invoice['id']}").json["outstanding"] == 12100 - 4840
    too_much = api.post(f"/invoices/{invoice['id']}/credit-notes", {"lines": [dict(DESIGN, discount_fixed=10001)]})
    assert too_much.status_code == 422 and too_much.json["error"]["field"] == "lines.0.discount_fixed"


def test_the_openapi_document_describes_the_fixed_discounts(api):
    schemas = api.get("/openapi.json").json["components"]["schemas"]
    for name in ("LineIn", "InvoiceIn", "InvoicePatch", "LineOut", "InvoiceOut"):
        assert "discount_fixed" in schemas[name]["properties"], name
    assert schemas["InvoiceIn"]["properties"]["discount_fixed"]["type"] == "integer"
    assert "tax_rate" not in schemas["LineIn"]["required"]


# -- The merchant's default tax rate --------------------------------------------------------------


def _set_default_rate(app, merchant_id: int, rate: Decimal | None) -> None:
    with app.app_context():
        db.session.get(Merchant, merchant_id).default_tax_rate = rate
        db.session.commit()


def test_a_line_without_a_rate_takes_the_merchants_default(app, api, customer_id, merchant_key):
    _set_default_rate(app, merchant_key[0], Decimal("21"))
    line = {"description": "Design", "quantity": "1", "unit_amount": 10000}
    response = api.post("/invoices", invoice_body(customer_id, lines=[line, dict(PRINT)]))
    assert response.status_code == 201, response.json
    # A line naming its rate keeps it.
    assert [(row["tax_rate"], row["tax_category"]) for row in response.json["lines"]] == [("21", "S"), ("6", "S")]
    assert response.json["total"] == 12100 + 5300


def test_without_a_default_a_line_must_name_its_rate(app, api, customer_id, merchant_key):
    line = {"description": "Design", "quantity": "1", "unit_amount": 10000}
    refused = api.post("/invoices", invoice_body(customer_id, lines=[PRINT, line]))
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "lines.1.tax_rate"
    assert "default tax rate" in refused.json["error"]["message"]


def test_the_default_tax_rate_is_set_and_read_through_the_api(api, customer_id):
    assert api.get("/settings/invoice-defaults").json == {"default_tax_rate": None}
    assert api.put("/settings/invoice-defaults", {"default_tax_rate": "5.5"}).json == {"default_tax_rate": "5.5"}
    assert api.get("/settings/invoice-defaults").json == {"default_tax_rate": "5.5"}
    line = {"description": "Books", "quantity": "1", "unit_amount": 2000}
    invoice = api.post("/invoices", invoice_body(customer_id, lines=[line])).json
    assert (invoice["lines"][0]["tax_rate"], invoice["total"]) == ("5.5", 2110)
    for bad in ("5.555", "101", -1):
        refused = api.put("/settings/invoice-defaults", {"default_tax_rate": bad})
        assert refused.status_code == 422, bad
    assert api.put("/settings/invoice-defaults", {}).status_code == 422
    assert api.put("/settings/invoice-defaults", {"default_tax_rate": None}).json == {"default_tax_rate": None}
    assert api.get("/settings/invoice-defaults").json == {"default_tax_rate": None}

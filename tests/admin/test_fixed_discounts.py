"""Fixed-amount discounts in the draft editor and its live totals; the default tax rate setting."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice, Merchant
from tests.admin.test_invoices import EDITOR, draft_form


def _only_invoice(merchant_id: int) -> Invoice | None:
    return db.session.scalar(select(Invoice).where(Invoice.merchant_id == merchant_id))


def fixed_form(customer_id: int, **overrides) -> dict:
    """The editor's two lines (1,000.00 at 21 %, 100 × 1.20 − 50 % at 6 %), with fixed discounts besides."""
    data = draft_form(
        customer_id,
        discount_percent="0",
        discount_fixed="53.00",
        **{"lines-0-discount_fixed": "100.00", "lines-1-discount_fixed": "", "lines-2-discount_fixed": ""},
    )
    data.update(overrides)
    return data


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_a_draft_with_fixed_discounts_on_a_line_and_on_the_invoice(app, staff):
    staff.sign_in_again()
    response = staff.post(EDITOR, fixed_form(staff.customer_id), page=EDITOR)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        invoice = _only_invoice(staff.merchant_id)
        # Lines: 1,000.00 − 100.00 = 900.00 and 60.00. 53.00 spread 60:900 over the rates: 3.31 and 49.69.
        assert [(line.discount_fixed, line.net_amount) for line in invoice.lines] == [(10000, 90000), (0, 6000)]
        assert invoice.discount_fixed == 5300
        assert (invoice.subtotal, invoice.discount_amount, invoice.net_amount) == (96000, 5300, 90700)
        # 6 % on 56.69 = 3.40 (3.4014); 21 % on 850.31 = 178.57 (178.5651).
        assert (invoice.tax_amount, invoice.total) == (340 + 17857, 90700 + 340 + 17857)
        invoice_id = invoice.id
    detail = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "Discount (€53.00)" in detail and "−€53.00" in detail
    assert "€100.00" in detail  # the line's fixed discount, in its column
    # The editor shows them again as they were typed.
    editor = staff.get(f"/admin/invoices/{invoice_id}/edit").get_data(as_text=True)
    assert re.search(r'name="lines-0-discount_fixed"[^>]*value="100.00"', editor)
    assert re.search(r'name="discount_fixed"[^>]*value="53.00"', editor)


def test_live_totals_take_the_fixed_discounts(staff):
    data = staff.post("/admin/invoices/totals", fixed_form(staff.customer_id), page=EDITOR).get_json()
    assert data["ok"] is True, data
    assert data["lines"] == ["€900.00", "€60.00", ""]
    assert (data["subtotal"], data["discount"], data["net"]) == ("€960.00", "€53.00", "€907.00")
    assert [(tax["rate"], tax["base"], tax["amount"]) for tax in data["taxes"]] == [
        ("6", "€56.69", "€3.40"),
        ("21", "€850.31", "€178.57"),
    ]
    assert data["total"] == "€1,088.97"

    too_much = staff.post(
        "/admin/invoices/totals", fixed_form(staff.customer_id, **{"lines-1-discount_fixed": "60.01"}), page=EDITOR
    ).get_json()
    assert too_much == {"ok": False, "error": "Line 2: The line's fixed discount is larger than the line's amount"}


def test_a_line_fixed_discount_larger_than_the_line_is_named_and_nothing_is_saved(app, staff):
    response = staff.post(EDITOR, fixed_form(staff.customer_id, **{"lines-1-discount_fixed": "60.01"}), page=EDITOR)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Line 2: The line&#39;s fixed discount is larger than the line&#39;s amount" in html
    # The refused field itself is marked.
    row = html.split('name="lines-1-discount_fixed"', 1)[1].split("</td>", 1)[0]
    assert "field__error" in row
    with app.app_context():
        assert _only_invoice(staff.merchant_id) is None


def test_an_invoice_fixed_discount_larger_than_the_lines_is_refused(app, staff):
    response = staff.post(EDITOR, fixed_form(staff.customer_id, discount_fixed="960.01"), page=EDITOR)
    assert response.status_code == 422
    assert "The invoice&#39;s fixed discount is larger than its lines&#39; amount" in response.get_data(as_text=True)
    with app.app_context():
        assert _only_invoice(staff.merchant_id) is None


def test_a_fixed_discount_with_more_decimals_than_the_currency_is_refused(app, staff):
    response = staff.post(EDITOR, fixed_form(staff.customer_id, discount_fixed="1.005"), page=EDITOR)
    assert response.status_code == 422
    assert "EUR amounts have at most 2 decimals" in response.get_data(as_text=True)
    negative = staff.post(EDITOR, fixed_form(staff.customer_id, **{"lines-0-discount_fixed": "-1"}), page=EDITOR)
    assert negative.status_code == 422
    with app.app_context():
        assert _only_invoice(staff.merchant_id) is None


# -- The default tax rate -------------------------------------------------------------------------


def _first_line_rate(html: str) -> str:
    match = re.search(r'name="lines-0-tax_rate"[^>]*value="([^"]*)"', html) or re.search(
        r'value="([^"]*)"[^>]*name="lines-0-tax_rate"', html
    )
    assert match, "no tax rate input"
    return match[1]


def test_the_default_tax_rate_is_a_setting_new_lines_take(app, staff):
    page = "/admin/settings/branding"
    assert 'data-default-tax-rate="0"' in staff.get(EDITOR).get_data(as_text=True)

    saved = staff.post("/admin/settings/invoice-defaults", {"default_tax_rate": "21"}, page=page)
    assert saved.status_code == 303
    with app.app_context():
        assert db.session.get(Merchant, staff.merchant_id).default_tax_rate == Decimal("21")
    editor = staff.get(EDITOR).get_data(as_text=True)
    # The first line shows it, and every line the editor adds takes it (admin.js reads the attribute).
    assert _first_line_rate(editor) == "21"
    assert 'data-default-tax-rate="21"' in editor

    refused = staff.post("/admin/settings/invoice-defaults", {"default_tax_rate": "5.555"}, page=page)
    assert refused.status_code == 422
    assert "at most 2 decimals" in refused.get_data(as_text=True)
    assert staff.post("/admin/settings/invoice-defaults", {"default_tax_rate": "101"}, page=page).status_code == 422
    with app.app_context():
        assert db.session.get(Merchant, staff.merchant_id).default_tax_rate == Decimal("21")

    cleared = staff.post("/admin/settings/invoice-defaults", {"default_tax_rate": ""}, page=page)
    assert cleared.status_code == 303
    with app.app_context():
        assert db.session.get(Merchant, staff.merchant_id).default_tax_rate is None
    assert _first_line_rate(staff.get(EDITOR).get_data(as_text=True)) == "0"


def test_products_charges_and_recurring_lines_start_at_the_default_tax_rate_too(app, staff):
    page = "/admin/settings/branding"
    assert staff.post("/admin/settings/invoice-defaults", {"default_tax_rate": "6"}, page=page).status_code == 303

    product_form = staff.get("/admin/products/new").get_data(as_text=True)
    customer_page = staff.get(f"/admin/customers/{staff.customer_id}").get_data(as_text=True)

    assert re.search(r'name="tax_rate"[^>]*value="6"|value="6"[^>]*name="tax_rate"', product_form)
    # The charge form and the recurring line form on the customer's page.
    assert len(re.findall(r'name="tax_rate"[^>]*value="6"|value="6"[^>]*name="tax_rate"', customer_page)) == 2

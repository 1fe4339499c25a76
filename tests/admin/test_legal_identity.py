"""Settings → Company, the customer's identity, VAT categories, new customers from the editor, and line rules."""

from __future__ import annotations

from datetime import date

import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer, Invoice, Merchant, Product
from tests.admin.test_invoices import EDITOR, draft_form

COMPANY_PAGE = "/admin/settings/company"


def company_form(**overrides) -> dict:
    data = {
        "legal_name": "Acme Studio SRL",
        "name": "Acme Studio",
        "address-line1": "Rue Haute 112",
        "address-line2": "",
        "address-postal_code": "1000",
        "address-city": "Bruxelles",
        "address-country": "BE",
        "vat_number": "BE0477472701",
        "company_number": "0477472701",
        "email": "billing@acme.example",
        "phone": "",
        "website": "",
        "iban": "BE68 5390 0754 7034",
        "bic": "GKCCBEBB",
    }
    data.update(overrides)
    return data


def customer_form(**overrides) -> dict:
    data = {
        "name": "Lena Schmidt",
        "email": "lena@kunde.example",
        "language": "de",
        "company": "Schmidt Design GmbH",
        "address-line1": "Torstraße 140",
        "address-postal_code": "10119",
        "address-city": "Berlin",
        "address-country": "DE",
        "vat_number": "DE136695976",
        "company_number": "Berlin HRB 12345",
        "phone": "",
    }
    data.update(overrides)
    return data


def test_staff_set_the_company_and_see_it_again(app, staff):
    page = staff.get(COMPANY_PAGE).get_data(as_text=True)
    assert "Legal name" in page and "IBAN" in page and 'value="Acme Studio"' in page

    response = staff.post(COMPANY_PAGE, company_form(), page=COMPANY_PAGE)

    assert response.status_code == 303
    with app.app_context():
        merchant = db.session.get(Merchant, staff.merchant_id)
        identity = merchant.legal_identity
        assert identity.legal_name == "Acme Studio SRL" and identity.address.city == "Bruxelles"
        assert identity.company_number == "0477.472.701" and identity.iban == "BE68539007547034"
    again = staff.get(COMPANY_PAGE).get_data(as_text=True)
    assert 'value="Acme Studio SRL"' in again and 'value="BE0477472701"' in again
    assert '<option selected value="BE">' in again or 'value="BE" selected' in again


def test_a_wrong_vat_number_or_iban_is_shown_beside_its_field_and_nothing_is_saved(app, staff):
    for field, value, message in (
        ("vat_number", "BE0477472702", "is not a valid BE VAT number"),
        ("iban", "BE68539007547035", "is not a valid IBAN"),
        ("company_number", "0477472702", "is not a valid Belgian enterprise number"),
        ("address-country", "", "The address needs its country"),
    ):
        response = staff.post(COMPANY_PAGE, company_form(**{field: value}), page=COMPANY_PAGE)
        assert response.status_code == 422, field
        assert message in response.get_data(as_text=True), field
    with app.app_context():
        assert db.session.get(Merchant, staff.merchant_id).legal_name == "Acme Studio"


def test_a_customer_gets_company_address_and_checked_numbers(app, staff):
    response = staff.post("/admin/customers/new", customer_form(), page="/admin/customers/new")
    assert response.status_code == 303
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.name == "Lena Schmidt"))
        assert customer.company == "Schmidt Design GmbH" and customer.country == "DE"
        assert customer.company_number == "Berlin (Charlottenburg) HRB 12345"
        customer_id = customer.id

    edit = f"/admin/customers/{customer_id}/edit"
    assert 'value="Torstraße 140"' in staff.get(edit).get_data(as_text=True)
    refused = staff.post(edit, customer_form(vat_number="DE136695977"), page=edit)
    assert refused.status_code == 422 and "is not a valid DE VAT number" in refused.get_data(as_text=True)
    missing = staff.post(edit, customer_form(name=""), page=edit)
    assert missing.status_code == 422 and "Enter the customer&#39;s name." in missing.get_data(as_text=True)


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_a_customer_is_created_from_the_invoice_editor_with_the_draft(app, staff):
    staff.sign_in_again()
    editor = staff.get(EDITOR).get_data(as_text=True)
    assert "+ New customer" in editor and 'name="new_customer-vat_number"' in editor

    new = {f"new_customer-{key}": value for key, value in customer_form().items()}
    response = staff.post(EDITOR, draft_form(0, **new), page=EDITOR)

    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.merchant_id == staff.merchant_id))
        assert invoice.customer.company == "Schmidt Design GmbH" and invoice.customer.vat_number == "DE136695976"
        assert invoice.customer.merchant_id == staff.merchant_id

    # A refused new customer keeps the editor open, marks the field, and saves neither.
    bad = {f"new_customer-{key}": value for key, value in customer_form(vat_number="XX1", email="x@e.example").items()}
    refused = staff.post(EDITOR, draft_form(0, **bad), page=EDITOR)
    assert refused.status_code == 422 and "country prefix" in refused.get_data(as_text=True)
    empty = staff.post(EDITOR, draft_form(0), page=EDITOR)
    assert empty.status_code == 422 and "Enter the customer&#39;s name." in empty.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.email == "x@e.example")) == 0


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_lines_take_a_vat_category_a_supply_date_and_exemption_wording(app, staff):
    staff.sign_in_again()
    form = draft_form(
        staff.customer_id,
        supply_date="2026-02-27",
        reason_E="Exempt under article 44 of the Belgian VAT code",
        **{"lines-1-tax_rate": "0", "lines-1-tax_category": "E"},
    )
    response = staff.post(EDITOR, form, page=EDITOR)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.merchant_id == staff.merchant_id))
        assert [line.tax_category for line in invoice.lines] == ["S", "E"]
        assert invoice.supply_date == date(2026, 2, 27)
        assert invoice.document_exemption_reasons == {"E": "Exempt under article 44 of the Belgian VAT code"}
        invoice_id = invoice.id
    detail = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "Exempt under article 44 of the Belgian VAT code" in detail and "E on €54.00" in detail

    wrong = staff.post(EDITOR, draft_form(staff.customer_id, **{"lines-0-tax_category": "AE"}), page=EDITOR)
    assert wrong.status_code == 422 and "its tax rate must be 0" in wrong.get_data(as_text=True)


def test_the_editor_saves_no_empty_zero_lines_and_never_cuts_a_description(app, staff):
    no_price = staff.post(EDITOR, draft_form(staff.customer_id, **{"lines-1-unit_price": ""}), page=EDITOR)
    assert no_price.status_code == 422 and "Enter a unit price" in no_price.get_data(as_text=True)
    too_long = staff.post(EDITOR, draft_form(staff.customer_id, **{"lines-0-description": "x" * 501}), page=EDITOR)
    page = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and "at most 500 characters" in page
    assert "x" * 501 in page  # shown back whole, to be shortened by staff
    lines_table = staff.get(EDITOR).get_data(as_text=True).split("data-lines", 1)[1].split("</tbody>", 1)[0]
    assert "description" in lines_table and "maxlength" not in lines_table
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_finalize_explains_what_is_missing(app, staff):
    with app.app_context():
        merchant = db.session.get(Merchant, staff.merchant_id)
        merchant.set_address(None)
        db.session.commit()
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = db.session.scalar(select(Invoice.id))
    detail = f"/admin/invoices/{invoice_id}"
    assert "complete it</a> before finalizing" in staff.get(detail).get_data(as_text=True)

    response = staff.post(f"{detail}/finalize", page=detail, follow_redirects=True)

    assert "Complete your company" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "draft"


def test_products_keep_their_category(app, staff):
    page = "/admin/products/new"
    data = {"name": "Export crate", "unit_price": "80", "currency": "EUR", "tax_rate": "0", "tax_category": "G"}
    assert staff.post(page, data, page=page).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Product.tax_category)) == "G"

"""Customers (create, edit, search, links) and the product catalogue."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer, Product
from portal.services.links import read_portal_link


def test_create_edit_and_search_customers(app, staff):
    page = "/admin/customers/new"
    response = staff.post(
        page, {"name": "Camille Martin", "email": "camille@client.example", "language": "fr"}, page=page
    )
    assert response.status_code == 303
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.email == "camille@client.example"))
        assert (customer.language, customer.merchant_id) == ("fr", staff.merchant_id)
        customer_id = customer.id

    edit = f"/admin/customers/{customer_id}/edit"
    assert (
        staff.post(edit, {"name": "Camille M.", "email": "c@client.example", "language": "nl"}, page=edit).status_code
        == 303
    )
    with app.app_context():
        assert db.session.get(Customer, customer_id).language == "nl"

    listing = staff.get("/admin/customers?q=camille").get_data(as_text=True)
    assert "Camille M." in listing and "Jane Cooper" not in listing


def test_customer_form_errors_are_shown(staff):
    page = "/admin/customers/new"
    response = staff.post(page, {"name": "", "email": "not-an-email", "language": "xx"}, page=page)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "field--error" in html


def test_portal_link_and_revoking_links(app, staff):
    detail = f"/admin/customers/{staff.customer_id}"
    response = staff.post(f"/admin/customers/{staff.customer_id}/link", page=detail)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    url = html.split("data-copy-source")[0].rsplit('value="', 1)[1].split('"', 1)[0]
    token = url.rsplit("/l/", 1)[1]
    with app.test_request_context():
        assert read_portal_link(token).customer.id == staff.customer_id

    assert staff.post(f"/admin/customers/{staff.customer_id}/revoke-links", page=detail).status_code == 303
    with app.test_request_context():
        from portal.services.links import LinkInvalid

        try:
            read_portal_link(token)
        except LinkInvalid:
            pass
        else:
            raise AssertionError("a revoked link still opens the portal")


def test_product_catalogue(app, staff):
    page = "/admin/products/new"
    response = staff.post(
        page, {"name": "Consulting hour", "unit_price": "95.50", "currency": "EUR", "tax_rate": "21"}, page=page
    )
    assert response.status_code == 303
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.merchant_id == staff.merchant_id))
        assert (product.unit_amount, product.tax_rate) == (9550, Decimal("21"))
        product_id = product.id
    assert "€95.50" in staff.get("/admin/products").get_data(as_text=True)

    edit = f"/admin/products/{product_id}/edit"
    assert (
        staff.post(
            edit, {"name": "Consulting hour", "unit_price": "100", "currency": "EUR", "tax_rate": "6"}, page=edit
        ).status_code
        == 303
    )
    with app.app_context():
        assert db.session.get(Product, product_id).unit_amount == 10000

    bad = staff.post(edit, {"name": "X", "unit_price": "1", "currency": "ZZZ", "tax_rate": "6"}, page=edit)
    assert bad.status_code == 422
    assert "Unknown currency" in bad.get_data(as_text=True)

    assert staff.post(f"/admin/products/{product_id}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Product, product_id) is None

"""GET /api/v1/invoices/{id}/ubl and /api/v1/credit-notes/{id}/ubl: the Peppol UBL of a finalized document."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import CreditNote, Invoice
from portal.services import einvoices
from tests.api.conftest import invoice_body
from tests.einvoice.conftest import rules  # noqa: F401 (the official rules, loaded once)

COMPANY = {
    "legal_name": "Acme SRL",
    "address": {"line1": "Rue Haute 1", "postal_code": "1000", "city": "Bruxelles", "country": "BE"},
    "email": "billing@acme.example",
    "vat_number": "BE0403170701",
    "iban": "BE68539007547034",
}
BUYER = {
    "name": "Jan Peeters",
    "email": "jan@peeters.example",
    "company": "Peeters BV",
    "vat_number": "BE0417497106",
    "address": {"line1": "Meir 1", "postal_code": "2000", "city": "Antwerpen", "country": "BE"},
}


def issue(api, currency: str = "EUR", customer: dict = BUYER, finalize: bool = True) -> tuple[int, int | None]:
    """Create (and finalize and credit) an invoice through the API; return its id and its credit note's."""
    assert api.put("/settings/company", COMPANY).status_code == 200
    customer_id = api.post("/customers", customer).json["id"]
    body = invoice_body(customer_id, currency=currency)
    body["lines"][0]["tax_rate"] = "21"
    invoice_id = api.post("/invoices", body).json["id"]
    if not finalize:
        return invoice_id, None
    assert api.post(f"/invoices/{invoice_id}/finalize").status_code == 200
    line = {"description": "Refund", "quantity": "1", "unit_amount": 1000, "tax_rate": "21"}
    note = api.post(f"/invoices/{invoice_id}/credit-notes", {"lines": [line]})
    assert note.status_code == 201, note.json
    return invoice_id, note.json["id"]


def test_the_ubl_of_an_invoice_and_its_credit_note(app, api, rules):  # noqa: F811
    invoice_id, note_id = issue(api)

    for path, filename in (
        (f"/invoices/{invoice_id}/ubl", "invoice-2026-0001.xml"),
        (f"/credit-notes/{note_id}/ubl", "credit-note-CN-2026-0001.xml"),
    ):
        response = api.get(path)
        assert response.status_code == 200 and response.mimetype == "application/xml"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
        rules.assert_valid(response.data)
    with app.app_context():
        invoice, note = db.session.get(Invoice, invoice_id), db.session.get(CreditNote, note_id)
        assert api.get(f"/invoices/{invoice_id}/ubl").data == einvoices.ubl(invoice)
        assert api.get(f"/credit-notes/{note_id}/ubl").data == einvoices.ubl(note)


def test_another_merchants_ids_are_not_found(api, other_api):
    invoice_id, note_id = issue(api)

    for path in (f"/invoices/{invoice_id}/ubl", f"/credit-notes/{note_id}/ubl"):
        response = other_api.get(path)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
        assert api.get(path).status_code == 200  # while its own merchant gets it


def test_a_draft_is_409(api):
    invoice_id, _ = issue(api, finalize=False)

    response = api.get(f"/invoices/{invoice_id}/ubl")

    assert response.status_code == 409
    assert response.json["error"] == {
        "code": "conflict",
        "message": "A draft has no e-invoice: finalize it first",
        "field": "status",
    }


@pytest.mark.parametrize(
    ("currency", "customer", "code", "message"),
    [
        ("KWD", BUYER, "einvoice_not_expressible", "EN 16931 amounts have at most two decimals; KWD has 3"),
        (
            "EUR",
            {"name": "Jane Cooper", "email": "jane@example.com"},
            "not_on_peppol",
            "Peppol BIS Billing 3.0 addresses the buyer by a company or VAT number, and it has neither",
        ),
    ],
    ids=["three decimals", "consumer"],
)
def test_a_document_without_ubl_is_422_saying_why(api, currency, customer, code, message):
    invoice_id, note_id = issue(api, currency=currency, customer=customer)

    for path in (f"/invoices/{invoice_id}/ubl", f"/credit-notes/{note_id}/ubl"):
        response = api.get(path)
        assert response.status_code == 422
        assert response.json["error"]["code"] == code and response.json["error"]["message"] == message

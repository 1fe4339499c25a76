"""Admin → Bank: import a statement, confirm a suggestion with one click, match by number, dismiss."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.models.bank import BankTransaction
from tests.bank.camt import Account, Transfer, build
from tests.factories import make_invoice


@pytest.fixture(autouse=True)
def _march(time_machine):
    time_machine.move_to(datetime(2026, 3, 3, 10, tzinfo=UTC), tick=False)


@pytest.fixture
def invoices(app, staff):
    with app.app_context():
        merchant = db.session.get(Merchant, staff.merchant_id)
        merchant.iban = "BE68539007547034"
        customer = db.session.get(Customer, staff.customer_id)
        made = [make_invoice(customer, due_date=date(2026, 3, 31)) for _ in range(3)]
        db.session.commit()
        return [(i.id, i.number, i.payment_reference) for i in made]


def upload(staff, data: bytes, filename: str = "statement.xml"):
    boundary, body = encode_multipart(
        {"csrf_token": staff.token("/admin/bank"), "file": FileStorage(io.BytesIO(data), filename)}
    )
    return staff.client.post("/admin/bank/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _statement(invoices) -> bytes:
    (_, _, reference), _, _ = invoices
    return build(
        Account(
            entries=[
                Transfer("1000.00", account_servicer_reference="B-1", structured_reference=reference),
                # No reference, the amount of the other open invoices: suggested.
                Transfer(
                    "1000.00", account_servicer_reference="B-2", debtor_name="Jane Cooper", unstructured=["March"]
                ),
                Transfer("9.99", account_servicer_reference="B-3", debtor_name="Insurance refund"),
            ]
        )
    )


def test_the_bank_page_is_in_the_navigation(staff):
    page = staff.get("/admin/invoices").get_data(as_text=True)
    assert 'href="/admin/bank"' in page


def test_import_flashes_the_counts_and_lists_what_waits(staff, invoices):
    response = upload(staff, _statement(invoices))
    assert response.status_code == 303
    page = staff.get("/admin/bank").get_data(as_text=True)
    assert "3 credit entries, 1 booked on invoices, 1 with suggestions, 1 unmatched, 0 imported before" in page
    assert "Insurance refund" in page and page.count('data-testid="suggestion"') >= 1
    again = upload(staff, _statement(invoices))
    assert again.status_code == 303
    assert "0 booked on invoices, 0 with suggestions, 0 unmatched, 3 imported before" in staff.get(
        "/admin/bank"
    ).get_data(as_text=True)


def test_a_suggestion_is_confirmed_with_one_click(app, staff, invoices):
    upload(staff, _statement(invoices))
    with app.app_context():
        waiting = db.session.scalar(select(BankTransaction).where(BankTransaction.entry_key == "ref:B-2"))
        suggested_id = waiting.suggestions[0]["invoice_id"]
        number = db.session.get(Invoice, suggested_id).number
        transaction_id = waiting.id

    response = staff.post(f"/admin/bank/{transaction_id}/match", {"invoice_number": number}, page="/admin/bank")

    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Invoice, suggested_id).status == "paid"
        assert db.session.get(BankTransaction, transaction_id).status == "matched"


def test_match_by_number_and_dismiss(app, staff, invoices):
    upload(staff, _statement(invoices))
    _, _, (third_id, third_number, _) = invoices
    with app.app_context():
        refund = db.session.scalar(select(BankTransaction).where(BankTransaction.entry_key == "ref:B-3")).id

    unknown = staff.post(f"/admin/bank/{refund}/match", {"invoice_number": "1999-9999"}, page="/admin/bank")
    assert unknown.status_code == 303
    assert "No invoice numbered" in staff.get("/admin/bank").get_data(as_text=True)

    assert staff.post(f"/admin/bank/{refund}/ignore", page="/admin/bank").status_code == 303
    with app.app_context():
        assert db.session.get(BankTransaction, refund).status == "ignored"
    assert "Insurance refund" in staff.get("/admin/bank?status=ignored").get_data(as_text=True)

    # Ignored by mistake: it can still be matched.
    matched = staff.post(f"/admin/bank/{refund}/match", {"invoice_number": third_number}, page="/admin/bank")
    assert matched.status_code == 303
    with app.app_context():
        assert db.session.get(Invoice, third_id).paid == 999


def test_a_broken_or_missing_file_is_refused_and_nothing_stored(app, staff, invoices):
    broken = upload(staff, b"<Document>")
    assert broken.status_code == 422
    assert "not well-formed XML" in broken.get_data(as_text=True)
    boundary, body = encode_multipart({"csrf_token": staff.token("/admin/bank")})
    missing = staff.client.post(
        "/admin/bank/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert missing.status_code == 422 and "Choose a statement" in missing.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(BankTransaction)) is None


def test_another_merchants_transaction_is_404(app, staff, rival, invoices):
    upload(staff, _statement(invoices))
    with app.app_context():
        transaction_id = db.session.scalar(select(BankTransaction.id).where(BankTransaction.entry_key == "ref:B-3"))
    assert "Insurance refund" not in rival.get("/admin/bank?status=all").get_data(as_text=True)
    assert rival.post(f"/admin/bank/{transaction_id}/ignore", page="/admin/bank").status_code == 404
    assert (
        rival.post(
            f"/admin/bank/{transaction_id}/match", {"invoice_number": "2026-0001"}, page="/admin/bank"
        ).status_code
        == 404
    )

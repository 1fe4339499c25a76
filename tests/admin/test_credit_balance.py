"""Staff see a customer's credit balance, apply it, refund it, refund payments and credit paid invoices to the balance."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.ledger import CreditEntry
from portal.services.ledger import credit_balances
from tests.factories import line, make_invoice


def invoices_for(app, customer_id: int, *totals: int) -> list[tuple[int, str]]:
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        made = [make_invoice(customer, lines=[line(unit_amount=total)], due_date=date(2099, 1, 31)) for total in totals]
        db.session.commit()
        result = [(invoice.id, invoice.number) for invoice in made]
        db.session.remove()
    return result


def balance(app, customer_id: int) -> dict[str, int]:
    with app.app_context():
        value = credit_balances(db.session.get(Customer, customer_id))
        db.session.remove()
    return value


def status(app, invoice_id: int) -> str:
    with app.app_context():
        value = db.session.get(Invoice, invoice_id).status
        db.session.remove()
    return value


def test_overpayment_shows_on_the_customer_page_and_pays_another_invoice(app, staff):
    (first, _), (second, second_number) = invoices_for(app, staff.customer_id, 100000, 25000)
    page = f"/admin/invoices/{first}"
    answer = staff.post(
        f"/admin/invoices/{first}/payments",
        {"amount": "1300.00", "paid_on": "2026-03-01", "method": "bank_transfer", "surplus_to_credit": "y"},
        page=page,
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)

    customer_page = staff.get(f"/admin/customers/{staff.customer_id}").get_data(as_text=True)
    assert 'data-testid="credit-balance-EUR">€300.00' in customer_page
    assert "More than the invoice needed" in customer_page

    applied = staff.post(
        f"/admin/customers/{staff.customer_id}/credit/apply",
        {"invoice_id": str(second), "amount": ""},
        page=f"/admin/customers/{staff.customer_id}",
    )
    assert applied.status_code == 303
    assert status(app, second) == "paid"
    assert balance(app, staff.customer_id) == {"EUR": 5000}
    assert "Applied to an invoice" in staff.get(f"/admin/customers/{staff.customer_id}").get_data(as_text=True)


def test_without_the_tick_an_overpayment_is_refused(app, staff):
    [(invoice_id, _)] = invoices_for(app, staff.customer_id, 100000)
    answer = staff.post(
        f"/admin/invoices/{invoice_id}/payments",
        {"amount": "1300.00", "paid_on": "2026-03-01", "method": "bank_transfer"},
        page=f"/admin/invoices/{invoice_id}",
    )
    assert answer.status_code == 422
    assert balance(app, staff.customer_id) == {}


def test_credit_refunded_by_hand(app, staff):
    [(invoice_id, _)] = invoices_for(app, staff.customer_id, 100000)
    staff.post(
        f"/admin/invoices/{invoice_id}/payments",
        {"amount": "1100.00", "paid_on": "2026-03-01", "method": "cash", "surplus_to_credit": "y"},
        page=f"/admin/invoices/{invoice_id}",
    )
    page = f"/admin/customers/{staff.customer_id}"
    assert "Sent back by hand: bank transfer" in staff.get(page).get_data(as_text=True)

    answer = staff.post(
        f"/admin/customers/{staff.customer_id}/credit/refund",
        {"source": "manual:bank_transfer", "currency": "EUR", "amount": "100.00", "note": "IBAN BE68…"},
        page=page,
    )

    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert balance(app, staff.customer_id) == {}
    too_much = staff.post(
        f"/admin/customers/{staff.customer_id}/credit/refund",
        {"source": "manual:cash", "currency": "EUR", "amount": "1.00"},
        page=page,
    )
    assert too_much.status_code == 422


def test_refunding_a_payment_from_the_invoice_page_reopens_it(app, staff):
    [(invoice_id, _)] = invoices_for(app, staff.customer_id, 100000)
    page = f"/admin/invoices/{invoice_id}"
    staff.post(f"{page}/payments", {"amount": "1000.00", "paid_on": "2026-03-01", "method": "cash"}, page=page)
    assert status(app, invoice_id) == "paid"
    with app.app_context():
        payment_id = db.session.get(Invoice, invoice_id).payments[0].id
        db.session.remove()

    answer = staff.post(f"{page}/payments/{payment_id}/refund", {"amount": "250.00", "note": "Damaged"}, page=page)

    assert answer.status_code == 303
    assert status(app, invoice_id) == "open"
    detail = staff.get(page).get_data(as_text=True)
    assert 'data-testid="reversal"' in detail and "Damaged" in detail
    assert "Outstanding: €250.00" in detail


def test_a_credit_note_on_a_paid_invoice_credits_the_balance(app, staff):
    [(invoice_id, _)] = invoices_for(app, staff.customer_id, 100000)
    page = f"/admin/invoices/{invoice_id}"
    staff.post(f"{page}/payments", {"amount": "1000.00", "paid_on": "2026-03-01", "method": "cash"}, page=page)
    note = {"description": "Returned chair", "amount": "300.00", "tax_rate": "0", "issue_date": "2026-03-02"}

    assert staff.post(f"{page}/credit-notes", note, page=page).status_code == 409  # paid: nothing left to credit
    answer = staff.post(f"{page}/credit-notes", {**note, "remainder_to_credit": "y"}, page=page)

    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert status(app, invoice_id) == "paid"
    assert balance(app, staff.customer_id) == {"EUR": 30000}
    with app.app_context():
        [entry] = db.session.scalars(select(CreditEntry)).all()
        assert (entry.reason, entry.invoice_id) == ("credit_note", invoice_id)
        db.session.remove()


def test_another_merchants_customer_credit_is_not_reachable(app, staff, rival):
    answer = staff.post(
        f"/admin/customers/{rival.customer_id}/credit/refund",
        {"source": "manual:cash", "currency": "EUR", "amount": "1.00"},
        page=f"/admin/customers/{staff.customer_id}",
    )
    assert answer.status_code == 404

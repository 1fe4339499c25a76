"""The admin's home page lists what needs a person, so nothing waits unseen."""

from __future__ import annotations

from datetime import date

import time_machine

from portal.domain.money import Money
from portal.extensions import db
from portal.mail.outbox import queue_mail
from portal.models import Customer
from portal.models.mail import OutboxMessage
from portal.services.bank_import import import_statement
from portal.services.comments import add_customer_comment
from portal.services.ledger import MoneySource, book_money_received
from tests.bank.camt import Account, Transfer, build
from tests.factories import make_invoice


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_the_home_page_lists_what_waits_and_nothing_of_another_merchant(app, staff, rival):
    staff.sign_in_again()
    rival.sign_in_again()
    assert 'data-testid="all-clear"' in staff.get("/admin/").get_data(as_text=True)
    with app.app_context():
        jane = db.session.get(Customer, staff.customer_id)
        invoice = make_invoice(jane, issue_date=date(2026, 3, 1), due_date=date(2026, 3, 31))
        add_customer_comment(invoice, jane, "Can I pay in two parts?")
        import_statement(
            jane.merchant,
            build(Account(entries=[Transfer("77.00", account_servicer_reference="X-1", debtor_name="Nobody Known")])),
        )
        book_money_received(
            jane, None, Money(2500, "EUR"), method="bank_transfer", source=MoneySource("recorded"),
            received_on=date(2026, 3, 4),
        )  # fmt: skip
        failed = queue_mail(merchant_id=jane.merchant_id, kind="invoice", to="jane@customer.example",
                            subject="Invoice 2026-0001", text="…")  # fmt: skip
        failed.status, failed.last_error = "failed", "550 mailbox unavailable"
        db.session.commit()
        number = invoice.number

    page = staff.get("/admin/").get_data(as_text=True)
    assert "all-clear" not in page
    assert "Can I pay in two parts?" in page and number in page
    assert "€77.00 from Nobody Known" in page
    assert "Jane Cooper</a> · €25.00" in page
    assert "550 mailbox unavailable" in page
    # Another merchant's staff see none of it.
    assert 'data-testid="all-clear"' in rival.get("/admin/").get_data(as_text=True)


def test_failed_mail_once_delivered_leaves_the_list(app, staff):
    with app.app_context():
        merchant_id = db.session.get(Customer, staff.customer_id).merchant_id
        message = queue_mail(merchant_id=merchant_id, kind="invoice", to="a@example.com", subject="S", text="T")
        message.status = "failed"
        db.session.commit()
        message_id = message.id
    assert 'data-testid="todo-mail"' in staff.get("/admin/").get_data(as_text=True)
    with app.app_context():
        db.session.get(OutboxMessage, message_id).status = "sent"
        db.session.commit()
    assert 'data-testid="all-clear"' in staff.get("/admin/").get_data(as_text=True)

"""The timeline of an invoice after a full life cycle, for staff and (reduced) for the customer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.extensions import db
from portal.mail.notifications import send_invoice
from portal.models.online_payment import PaymentAttempt
from portal.services.comments import add_customer_comment
from portal.services.disputes import open_dispute, resolve_dispute
from portal.services.invoices import finalize_invoice, void_invoice
from portal.services.portal_pages import note_invoice_viewed
from portal.services.refunds import refund_payment
from portal.services.reminders import send_reminders, set_reminder_settings
from portal.services.timeline import invoice_timeline
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay, run_jobs


def kinds(entries):
    return [entry.kind for entry in entries]


def test_the_timeline_after_a_full_life_cycle(ctx, time_machine):
    time_machine.move_to("2026-01-01 09:00", tick=False)
    merchant = make_merchant("Acme", timezone="UTC")
    set_reminder_settings(merchant, enabled=True, offsets=[1], consumer_preset=False, legal_interest_rate=Decimal(0))
    customer = make_customer(merchant, email="jane@example.com")
    invoice = make_invoice(customer, finalize=False)
    db.session.commit()
    time_machine.move_to("2026-01-01 10:00", tick=False)
    finalize_invoice(invoice)
    time_machine.move_to("2026-01-01 11:00", tick=False)
    send_invoice(invoice)
    run_jobs()  # renders the PDF, queues the mail, delivers it (printed: no SMTP server in tests)
    time_machine.move_to("2026-01-02 08:00", tick=False)
    note_invoice_viewed(invoice)
    time_machine.move_to("2026-01-03 08:00", tick=False)
    add_customer_comment(invoice, customer, "Can I pay in two parts?")
    time_machine.move_to("2026-02-01 08:00", tick=False)
    send_reminders(merchant)
    run_jobs()
    time_machine.move_to("2026-02-02 08:00", tick=False)
    open_dispute(invoice, customer, "The second part was not delivered.")
    time_machine.move_to("2026-02-03 08:00", tick=False)
    credit(invoice, 20000, date(2026, 2, 3))
    resolve_dispute(invoice)
    time_machine.move_to("2026-02-04 08:00", tick=False)
    db.session.add(
        PaymentAttempt(
            merchant_id=merchant.id,
            invoice_id=invoice.id,
            customer_id=customer.id,
            provider="mollie",
            status="expired",
            amount=80000,
            currency="EUR",
            principal_amount=80000,
            as_of=date(2026, 2, 4),
            breakdown=[],
            locale="en_US",
        )
    )
    time_machine.move_to("2026-02-05 08:00", tick=False)
    payment = pay(invoice, 80000, date(2026, 2, 5))
    db.session.commit()
    assert invoice.status == "paid"
    time_machine.move_to("2026-02-06 08:00", tick=False)
    refund_payment(payment, 10000, note="Goodwill")
    db.session.commit()

    staff_view = invoice_timeline(invoice)
    assert kinds(staff_view) == [
        "created",
        "finalized",
        "sent",
        "delivered",
        "viewed",
        "commented",
        "reminded",
        "delivered",
        "commented",
        "disputed",
        "dispute_resolved",
        "credit_note",
        "payment_started",
        "payment",
        "paid",
        "refunded",
        "reopened",
    ]
    sent = staff_view[2]
    assert sent.detail == {"channel": "email", "to": "jane@example.com"}
    assert staff_view[6].detail["offset_days"] == 1
    assert kinds(invoice_timeline(invoice, for_customer=True)) == [
        "finalized",
        "sent",
        "commented",
        "reminded",
        "commented",
        "disputed",
        "dispute_resolved",
        "credit_note",
        "payment_started",
        "payment",
        "paid",
        "refunded",
        "reopened",
    ]


def test_a_void_invoice_ends_its_timeline_and_a_failed_mail_shows_as_bounced(ctx, time_machine):
    from portal.models.mail import OutboxMessage

    time_machine.move_to("2026-01-01 09:00", tick=False)
    invoice = make_invoice(make_customer(make_merchant()))
    send_invoice(invoice)
    run_jobs()
    message = db.session.query(OutboxMessage).filter_by(invoice_id=invoice.id).one()
    message.status, message.last_error = "failed", "550 mailbox unavailable"
    time_machine.move_to("2026-01-02 09:00", tick=False)
    void_invoice(invoice)
    db.session.commit()
    entries = invoice_timeline(invoice)
    assert kinds(entries) == ["created", "finalized", "sent", "bounced", "void"]
    assert entries[3].detail["error"] == "550 mailbox unavailable"

"""The reminder run: each step once per invoice over consecutive simulated days, never for paid or disputed ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs.schedule import run_schedule
from portal.models import Invoice
from portal.models.mail import OutboxMessage
from portal.models.reminder import ReminderSent
from portal.services.disputes import open_dispute, resolve_dispute
from portal.services.invoices import invoice_breakdown, void_invoice
from portal.services.reminders import (
    reminder_steps,
    send_all_reminders,
    set_customer_reminders_paused,
    set_invoice_reminders_paused,
    set_reminder_settings,
    set_step_template,
)
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay, run_jobs

SCHEDULE = [-3, 1, 14, 30]


@pytest.fixture
def shop(ctx, time_machine):
    time_machine.move_to("2026-01-01 09:00", tick=False)
    merchant = make_merchant("Acme", timezone="UTC")
    set_reminder_settings(
        merchant, enabled=True, offsets=SCHEDULE, consumer_preset=False, legal_interest_rate=Decimal("4.5")
    )
    db.session.commit()
    return merchant


def run_days(time_machine, first: date, last: date) -> None:
    day = first
    while day <= last:
        time_machine.move_to(datetime(day.year, day.month, day.day, 6, tzinfo=UTC), tick=False)
        send_all_reminders()
        day += timedelta(days=1)


def sent(invoice: Invoice) -> list[tuple[int, date]]:
    rows = db.session.execute(
        select(ReminderSent.offset_days, ReminderSent.sent_on)
        .where(ReminderSent.invoice_id == invoice.id)
        .order_by(ReminderSent.sent_on)
    )
    return [tuple(row) for row in rows]


def reminder_mails(invoice: Invoice) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.invoice_id == invoice.id, OutboxMessage.kind == "reminder")
            .order_by(OutboxMessage.id)
        )
    )


def test_consecutive_days_send_each_step_once(shop, time_machine):
    invoice = make_invoice(make_customer(shop, email="jane@example.com"))
    db.session.commit()
    run_days(time_machine, date(2026, 1, 20), date(2026, 3, 20))
    run_days(time_machine, date(2026, 3, 20), date(2026, 3, 20))  # a second run on the same day
    assert sent(invoice) == [
        (-3, date(2026, 1, 28)),
        (1, date(2026, 2, 1)),
        (14, date(2026, 2, 14)),
        (30, date(2026, 3, 2)),
    ]
    mails = reminder_mails(invoice)
    assert len(mails) == 4 and {mail.to_address for mail in mails} == {"jane@example.com"}
    assert mails[0].subject == f"Reminder: invoice {invoice.number} is due on Jan 31, 2026"
    assert mails[3].subject == f"Payment reminder: invoice {invoice.number} is 30 days overdue"
    # 30 days late: 1,000.00 + the 40.00 fee + 9.86 interest (SPEC §1).
    assert "The amount due today is €1,049.86 (late charges included: €49.86)." in mails[3].text_body
    assert "/l/" in mails[3].text_body


def test_a_missed_day_catches_up_with_only_the_latest_step(shop, time_machine):
    invoice = make_invoice(make_customer(shop))
    db.session.commit()
    run_days(time_machine, date(2026, 2, 20), date(2026, 2, 20))
    assert sent(invoice) == [(14, date(2026, 2, 20))]
    run_days(time_machine, date(2026, 2, 21), date(2026, 3, 1))
    assert sent(invoice) == [(14, date(2026, 2, 20))]


def test_the_last_step_missed_is_caught_up_within_a_week_only(shop, time_machine):
    late = make_invoice(make_customer(shop))
    long_past = make_invoice(make_customer(shop), due_date=date(2026, 1, 20))
    db.session.commit()
    run_days(time_machine, date(2026, 3, 6), date(2026, 3, 6))  # the +30 step of the 2026-01-31 invoice was 03-02
    assert sent(late) == [(30, date(2026, 3, 6))]
    assert sent(long_past) == []  # its +30 step was on 02-19, more than a week ago


def test_paid_void_disputed_credited_and_paused_invoices_get_none(shop, time_machine):
    customer = make_customer(shop)
    paid = make_invoice(customer)
    pay(paid, 100000, date(2026, 1, 1))
    void = make_invoice(customer)
    void_invoice(void)
    credited = make_invoice(customer)
    credit(credited, 100000, date(2026, 1, 1))
    disputed = make_invoice(customer)
    open_dispute(disputed, customer, "The second line was never delivered.")
    paused = make_invoice(customer)
    set_invoice_reminders_paused(paused, True)
    other = make_customer(shop)
    of_paused_customer = make_invoice(other)
    set_customer_reminders_paused(other, True)
    reminded = make_invoice(customer)
    db.session.commit()
    run_days(time_machine, date(2026, 1, 25), date(2026, 3, 5))
    for invoice in (paid, void, credited, disputed, paused, of_paused_customer):
        assert sent(invoice) == [], invoice.status
    assert len(sent(reminded)) == 4


def test_a_resolved_dispute_lets_the_next_step_go(shop, time_machine):
    customer = make_customer(shop)
    invoice = make_invoice(customer)
    db.session.commit()
    run_days(time_machine, date(2026, 1, 28), date(2026, 2, 5))
    open_dispute(invoice, customer, "Wrong quantity.")
    db.session.commit()
    run_days(time_machine, date(2026, 2, 6), date(2026, 2, 20))
    assert [offset for offset, _day in sent(invoice)] == [-3, 1]
    resolve_dispute(invoice)
    db.session.commit()
    run_days(time_machine, date(2026, 2, 21), date(2026, 2, 21))
    assert sent(invoice)[-1] == (14, date(2026, 2, 21))


def test_a_step_template_in_the_customers_language_is_used(shop, time_machine):
    step = next(step for step in reminder_steps(shop) if step.offset_days == 1)
    set_step_template(step, "fr", subject="Rappel {number}", body="Retard de {days_late} jours.\n\n{link}")
    invoice = make_invoice(make_customer(shop, language="fr"))
    db.session.commit()
    run_days(time_machine, date(2026, 2, 3), date(2026, 2, 3))
    [mail] = reminder_mails(invoice)
    assert mail.subject == f"Rappel {invoice.number}"
    assert "Retard de 3 jours." in mail.text_body


def test_the_workers_schedule_runs_the_reminders_once_per_period(shop, time_machine):
    invoice = make_invoice(make_customer(shop))
    db.session.commit()
    time_machine.move_to("2026-02-01 06:00", tick=False)
    now = datetime(2026, 2, 1, 6, tzinfo=UTC)
    assert "send-reminders" in run_schedule(now)
    assert "send-reminders" not in run_schedule(now + timedelta(minutes=5))
    run_jobs()
    assert sent(invoice) == [(1, date(2026, 2, 1))]


def test_the_command_sends_the_due_steps(shop, time_machine, runner):
    invoice = make_invoice(make_customer(shop))
    db.session.commit()
    time_machine.move_to("2026-02-01 06:00", tick=False)
    result = runner.invoke(args=["portal", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert "1 reminder(s) queued." in result.output
    assert sent(invoice) == [(1, date(2026, 2, 1))]


@pytest.fixture
def consumer_shop(ctx, time_machine):
    time_machine.move_to("2026-01-01 09:00", tick=False)
    merchant = make_merchant("Acme", timezone="UTC", company_number="0403170701")
    set_reminder_settings(
        merchant, enabled=True, offsets=[1, 20], consumer_preset=True, legal_interest_rate=Decimal("2")
    )
    db.session.commit()
    return merchant


def test_b2c_preset_fees_wait_for_the_free_first_reminder_and_14_days(consumer_shop, time_machine):
    consumer = make_customer(consumer_shop)
    consumer.consumer = True
    business = make_customer(consumer_shop, company="Peeters BV")
    invoice = make_invoice(consumer)
    b2b = make_invoice(business)
    db.session.commit()
    assert invoice.late_consumer and not b2b.late_consumer
    assert invoice.late_annual_rate == Decimal("10")  # 12 % capped at the legal 2 % + 8 points

    run_days(time_machine, date(2026, 1, 31), date(2026, 2, 1))
    assert invoice.first_reminder_on == date(2026, 2, 1)
    [first] = reminder_mails(invoice)
    assert "This first reminder is free of charge." in first.text_body
    assert "company number 0403170701" in first.text_body
    assert "by Feb 15, 2026" in first.text_body
    assert "a fixed fee of €40.00" in first.text_body

    assert invoice_breakdown(invoice, date(2026, 2, 15)).amount_due == 100000
    assert invoice_breakdown(b2b, date(2026, 2, 15)).amount_due > 104000
    after = invoice_breakdown(invoice, date(2026, 2, 16))
    assert (after.fee, after.interest, after.amount_due) == (4000, 27, 104027)  # 1 day at 10 %


def test_b2c_the_legally_required_first_reminder_goes_even_when_paused(consumer_shop, time_machine):
    consumer = make_customer(consumer_shop)
    consumer.consumer = True
    invoice = make_invoice(consumer)
    set_customer_reminders_paused(consumer, True)
    db.session.commit()
    run_days(time_machine, date(2026, 2, 1), date(2026, 3, 1))
    assert sent(invoice) == [(1, date(2026, 2, 1))]


def test_b2c_preset_needs_a_step_after_the_due_date(consumer_shop):
    from portal.domain.errors import DomainError

    with pytest.raises(DomainError, match="requires that first reminder"):
        set_reminder_settings(
            consumer_shop, enabled=True, offsets=[-3], consumer_preset=True, legal_interest_rate=Decimal("2")
        )


def test_reminders_off_sends_nothing(shop, time_machine):
    invoice = make_invoice(make_customer(shop))
    shop.reminders_enabled = False
    db.session.commit()
    run_days(time_machine, date(2026, 2, 1), date(2026, 2, 1))
    assert db.session.scalar(select(func.count(ReminderSent.id))) == 0 and sent(invoice) == []

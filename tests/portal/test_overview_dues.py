"""The overview's "Amount due" is kept per customer and day: it must follow every change and every new day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from portal.extensions import db
from portal.models.dues import CustomerDues
from portal.services import invoices as invoice_service
from portal.services.disputes import open_dispute
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import plain, sign_in


def owed(client) -> str:
    """Return the hero's amount due (and its note) as the customer reads it."""
    page = plain(client.get("/").get_data(as_text=True))
    start = page.index('data-testid="total-due"') if 'data-testid="total-due"' in page else page.index("Nothing to pay")
    return page[start : start + 400]


def test_the_amount_due_follows_payments_credit_notes_disputes_and_voids(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    first = make_invoice(customer)  # SPEC vector: 1,049.86 on the SPEC day
    second = make_invoice(customer, issue_date=date(2026, 2, 10), due_date=date(2026, 3, 12))  # 1,000.00, not due
    sign_in(client, customer)
    assert "€2,049.86" in owed(client) and "2 open invoices" in owed(client) and "1 overdue" in owed(client)
    assert db.session.get(CustomerDues, customer.id).amounts is not None  # kept for the next visit

    pay(first, 40000, date(2026, 2, 15))  # the SPEC's partial payment: 647.89 due
    db.session.commit()
    assert "€1,647.89" in owed(client)

    credit(second, 20000, date(2026, 2, 20))
    db.session.commit()
    assert "€1,447.89" in owed(client)

    open_dispute(first, customer, "Not delivered")  # paused from today: today's 0.20 of interest goes
    db.session.commit()
    assert "€1,447.69" in owed(client)

    invoice_service.void_invoice(second)
    db.session.commit()
    assert "€647.69" in owed(client) and "1 open invoice" in owed(client)

    pay(first, 60000, date(2026, 3, 2))
    db.session.commit()
    assert "Nothing to pay" in owed(client)


def test_the_amount_due_grows_with_each_new_day(ctx, client, time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 12, tzinfo=UTC), tick=False)
    customer = make_customer(make_merchant())
    make_invoice(customer)
    sign_in(client, customer)
    assert "€1,049.86" in owed(client)
    assert "€1,049.86" in owed(client)  # read back from what was kept

    time_machine.move_to(datetime(2026, 3, 3, 12, tzinfo=UTC), tick=False)
    # One more day of interest at 12 %: 1,000.00 × 31 days = 10.19.
    assert "€1,050.19" in owed(client)


def test_the_section_counts_follow_new_and_settled_invoices(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    first = make_invoice(customer)
    sign_in(client, customer)

    def count(section: str) -> str:
        page = client.get("/").get_data(as_text=True)
        head = page[page.index(f'id="{section}-title"') :]
        return head[head.index('class="count">') + len('class="count">') :].split("<", 1)[0]

    assert count("open") == "1" and count("paid") == "0"
    second = make_invoice(customer, issue_date=date(2026, 2, 10), due_date=date(2026, 3, 12))
    db.session.commit()
    assert count("open") == "2"
    pay(first, 100000, date(2026, 3, 2))
    db.session.commit()
    assert count("open") == "1" and count("paid") == "1"
    credit(second, 20000, date(2026, 2, 20))
    db.session.commit()
    assert count("notes") == "1"


def test_the_hourly_duty_sums_the_day_before_the_customer_visits(ctx, client, time_machine):
    from portal.jobs.schedule import DUTIES
    from portal.services.portal_pages import refresh_kept_dues

    time_machine.move_to(datetime(2026, 3, 2, 1, tzinfo=UTC), tick=False)
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    settled = make_customer(customer.merchant, "Nothing Open")
    pay(make_invoice(settled), 100000, date(2026, 2, 3))
    db.session.commit()
    assert "refresh-dues" in DUTIES

    assert refresh_kept_dues() == 1  # the customer with an open invoice; the settled one needs no sum
    kept = db.session.get(CustomerDues, customer.id)
    assert (kept.as_of, kept.amounts) == (date(2026, 3, 2), [["EUR", 104986, 1, 1]])
    assert refresh_kept_dues() == 0  # done for today
    sign_in(client, customer)
    assert "€1,049.86" in owed(client)  # what the duty kept is what the customer reads

    pay(invoice, 40000, date(2026, 3, 2))  # a change: the kept sums are stale until summed again
    db.session.commit()
    assert refresh_kept_dues() == 1
    time_machine.move_to(datetime(2026, 3, 3, 1, tzinfo=UTC), tick=False)
    assert refresh_kept_dues() == 1  # a new day: one more day of interest to sum
    assert db.session.get(CustomerDues, customer.id).as_of == date(2026, 3, 3)

"""Book XIX (the Belgian B2C preset) and disputes in the "view calculation": test vectors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.domain.consumer_debts import (
    belgian_holidays,
    fee_cap,
    interest_cap,
    nth_working_day_after,
    waiting_period,
)
from portal.domain.errors import DomainError
from portal.domain.late_fees import LateFeePolicy, Pause, Reduction, compute_breakdown
from portal.domain.reminders import check_schedule, check_template, step_to_send

POLICY = LateFeePolicy(annual_rate=Decimal("12"), fee_percent=Decimal("0"), fee_minimum=4000, grace_days=0)
CONSUMER = LateFeePolicy(
    annual_rate=Decimal("12"), fee_percent=Decimal("0"), fee_minimum=4000, grace_days=0, consumer=True
)
DUE = date(2026, 1, 31)


def breakdown(as_of, policy=POLICY, **kwargs):
    return compute_breakdown(total=100000, due_date=DUE, as_of=as_of, policy=policy, **kwargs)


@pytest.mark.parametrize(
    ("outstanding", "cap"),
    [
        (1, 2000),
        (15000, 2000),  # up to 150.00 EUR: 20.00
        (15001, 3000),  # 30.00 + 10 % of 0.01, rounded
        (30000, 4500),  # 30.00 + 10 % of 150.00
        (50000, 6500),  # 30.00 + 10 % of 350.00
        (50001, 6500),  # 65.00 + 5 % of 0.01, rounded
        (100000, 9000),  # 65.00 + 5 % of 500.00
        (3_950_000, 200000),  # 65.00 + 5 % of 39,000.00 = 2,015.00: capped at 2,000.00
        (10**9, 200000),
    ],
)
def test_the_fixed_fee_is_capped_as_book_xix_caps_it(outstanding, cap):
    assert fee_cap(outstanding) == cap


def test_interest_is_at_most_the_legal_rate_plus_8_points():
    assert interest_cap(Decimal("4.5")) == Decimal("12.5")


def test_an_emailed_first_reminder_starts_the_14_days_the_next_day():
    period = waiting_period(date(2026, 2, 1))
    assert (period.start, period.end, period.charges_from) == (date(2026, 2, 2), date(2026, 2, 15), date(2026, 2, 16))


def test_a_posted_first_reminder_starts_the_14_days_on_the_third_working_day():
    # Friday 2026-04-03: Saturday, Sunday and Easter Monday (04-06) are not working days.
    assert date(2026, 4, 6) in belgian_holidays(2026)
    assert nth_working_day_after(date(2026, 4, 3), 3) == date(2026, 4, 9)
    period = waiting_period(date(2026, 4, 3), "post")
    assert (period.start, period.end) == (date(2026, 4, 9), date(2026, 4, 22))


def test_consumer_nothing_is_charged_before_a_first_reminder():
    result = breakdown(date(2026, 3, 31), CONSUMER)
    assert result.overdue and not result.charged and result.charges_from is None
    assert result.amount_due == 100000
    # A reminder sent before the due date is no first reminder.
    assert not breakdown(date(2026, 3, 31), CONSUMER, first_reminder_on=date(2026, 1, 28)).charged


def test_consumer_charges_start_after_the_waiting_period_and_the_fee_is_capped():
    reminded = {"first_reminder_on": date(2026, 2, 1)}
    last_free = breakdown(date(2026, 2, 15), CONSUMER, **reminded)
    assert not last_free.charged and last_free.amount_due == 100000
    assert last_free.charges_from == date(2026, 2, 16)
    first = breakdown(date(2026, 2, 16), CONSUMER, **reminded)
    assert first.charged and first.fee == 4000  # 40.00 is under the cap of 90.00
    # Interest runs from the end of the waiting period: one day, 1,000.00 × 12 % / 365 = 0.33.
    assert [(s.start, s.days, s.amount) for s in first.segments] == [(date(2026, 2, 16), 1, 33)]
    assert first.amount_due == 104033
    steps = {step["kind"]: step for step in first.steps()}
    assert steps["consumer_rule"] == {
        "kind": "consumer_rule",
        "reminded_on": "2026-02-01",
        "charges_from": "2026-02-16",
        "fee_cap": 9000,
    }
    # On 100.00 outstanding the 40.00 fee is capped at 20.00.
    small = compute_breakdown(
        total=10000, due_date=DUE, as_of=date(2026, 2, 16), policy=CONSUMER, first_reminder_on=date(2026, 2, 1)
    )
    assert small.fee == 2000


def test_a_business_customer_is_charged_from_the_day_after_the_due_date():
    result = breakdown(date(2026, 2, 16), first_reminder_on=None)
    assert result.charged and result.fee == 4000 and result.segments[0].start == date(2026, 2, 1)


def test_disputed_days_bear_no_interest_and_are_shown():
    # The SPEC's vector (30 days late on 2026-03-02), disputed from 02-10 to 02-19: 20 days bear interest.
    result = breakdown(date(2026, 3, 2), pauses=[Pause(date(2026, 2, 10), date(2026, 2, 19))])
    assert [(s.start, s.end, s.days, s.amount) for s in result.segments] == [
        (date(2026, 2, 1), date(2026, 2, 9), 9, 296),
        (date(2026, 2, 20), date(2026, 3, 2), 11, 362),
    ]
    assert result.paused_days == 10 and result.pauses[0].ongoing is False
    assert result.amount_due == 100000 + 4000 + 658


def test_an_open_dispute_stops_interest_from_its_first_day():
    pauses = [Pause(date(2026, 2, 16))]
    on_day = breakdown(date(2026, 2, 16), pauses=pauses)
    later = breakdown(date(2026, 3, 31), pauses=pauses)
    assert later.interest == on_day.interest == breakdown(date(2026, 2, 15)).interest
    assert later.pauses[0].ongoing and later.paused_days == 44


def test_a_dispute_before_the_grace_days_end_holds_the_fee_back():
    policy = LateFeePolicy(annual_rate=Decimal("12"), fee_percent=Decimal("0"), fee_minimum=4000, grace_days=5)
    result = breakdown(date(2026, 2, 20), policy, pauses=[Pause(date(2026, 2, 3))])
    assert not result.charged and result.amount_due == 100000


def test_payments_inside_a_pause_change_the_balance_after_it():
    result = breakdown(
        date(2026, 3, 2),
        pauses=[Pause(date(2026, 2, 10), date(2026, 2, 19))],
        payments=[Reduction(kind="payment", on=date(2026, 2, 15), amount=40000, reference="transfer")],
    )
    assert [(s.days, s.balance) for s in result.segments] == [(9, 100000), (11, 60000)]


def test_the_schedule_sends_only_the_latest_step_that_has_come():
    offsets = [-3, 1, 14, 30]
    assert step_to_send(offsets, due_date=DUE, today=date(2026, 1, 27)) is None
    assert step_to_send(offsets, due_date=DUE, today=date(2026, 1, 28)) == -3
    assert step_to_send(offsets, due_date=DUE, today=date(2026, 1, 29), sent=[-3]) is None
    # Missed days catch up with the latest step only.
    assert step_to_send(offsets, due_date=DUE, today=date(2026, 2, 20), sent=[-3]) == 14
    assert step_to_send(offsets, due_date=DUE, today=date(2026, 2, 21), sent=[-3, 14]) is None
    # A step before the due date whose day passed before finalizing is skipped.
    assert step_to_send(offsets, due_date=DUE, today=date(2026, 1, 30), finalized_on=date(2026, 1, 30)) is None


def test_a_schedule_has_at_most_five_distinct_steps():
    assert check_schedule([30, -3, 1]) == [-3, 1, 30]
    with pytest.raises(DomainError):
        check_schedule([1, 2, 3, 4, 5, 6])
    with pytest.raises(DomainError):
        check_schedule([1, 1])


def test_a_reminder_template_may_use_only_known_placeholders():
    allowed = ("link", "amount_due", "days_late", "late_fee")
    assert check_template(" Hi ", "Pay {amount_due}\n\n{link}", allowed) == ("Hi", "Pay {amount_due}\n\n{link}")
    with pytest.raises(DomainError, match=r"\{fee\}"):
        check_template("Hi", "Pay {fee}\n\n{link}", allowed)
    with pytest.raises(DomainError, match=r"\{link\}"):
        check_template("Hi", "Pay {amount_due}", allowed)

"""How money received or sent back splits between the invoice and the credit balance."""

from __future__ import annotations

from dataclasses import astuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.errors import InvalidAmount
from portal.domain.ledger import AskedFor, share_returned, split_received, split_returned


def test_what_the_invoice_needs_is_booked_and_the_rest_is_credit():
    assert astuple(split_received(120000, 100000)) == (100000, 0, 0, 20000)
    assert astuple(split_received(30000, 100000)) == (30000, 0, 0, 0)
    assert astuple(split_received(5000, 0)) == (0, 0, 0, 5000)


def test_late_charges_are_booked_only_when_all_that_was_asked_arrived_for_that_outstanding():
    asked = AskedFor(principal=100000, fee=4000, interest=986)
    assert astuple(split_received(104986, 100000, asked)) == (100000, 4000, 986, 0)
    assert astuple(split_received(110000, 100000, asked)) == (100000, 4000, 986, 5014)
    # Less than asked: it pays principal.
    assert astuple(split_received(100, 100000, asked)) == (100, 0, 0, 0)
    # Staff booked 300.00 meanwhile: the late charges were computed on another balance.
    assert astuple(split_received(104986, 70000, asked)) == (70000, 0, 0, 34986)


def test_money_returned_comes_off_principal_then_late_charges_then_the_balance():
    assert astuple(split_returned(40000, 100000, 4986)) == (40000, 0, 0)
    assert astuple(split_returned(102000, 100000, 4986)) == (100000, 2000, 0)
    assert astuple(split_returned(110000, 100000, 4986)) == (100000, 4986, 5014)
    assert astuple(split_returned(500, 100000, 0, payment_first=False)) == (0, 0, 500)


@pytest.mark.parametrize("amount", [0, -1])
def test_amounts_must_be_positive(amount):
    with pytest.raises(InvalidAmount):
        split_received(amount, 100)
    with pytest.raises(InvalidAmount):
        split_returned(amount, 100, 0)


@given(
    amount=st.integers(1, 10**12),
    outstanding=st.integers(0, 10**12),
    fee=st.integers(0, 10**6),
    interest=st.integers(0, 10**6),
)
def test_the_parts_always_add_up(amount, outstanding, fee, interest):
    received = split_received(amount, outstanding, AskedFor(outstanding, fee, interest))
    assert received.on_invoice + received.credit == amount
    assert 0 <= received.principal <= outstanding and received.credit >= 0
    returned = split_returned(amount, outstanding, fee + interest)
    assert returned.principal + returned.late + returned.credit == amount
    assert min(astuple(returned)) >= 0


def test_money_sent_back_of_several_parts_comes_off_them_in_order():
    # A checkout's receipts, the invoice due last first: 200.00 and 1,049.86.
    assert share_returned(15000, [20000, 104986]) == [15000, 0]
    assert share_returned(25000, [20000, 104986]) == [20000, 5000]
    assert share_returned(25000, [0, 104986]) == [0, 25000]  # given back already: nothing more from it
    assert share_returned(130000, [20000, 104986]) == [20000, 110000]  # more than arrived: the rest on the last


@given(amount=st.integers(1, 10**12), holding=st.lists(st.integers(-(10**6), 10**12), min_size=1, max_size=6))
def test_shares_of_money_sent_back_add_up_and_never_exceed_a_part_but_the_last(amount, holding):
    shares = share_returned(amount, holding)
    assert sum(shares) == amount and min(shares) >= 0
    assert all(share <= max(0, held) for share, held in zip(shares[:-1], holding[:-1], strict=True))

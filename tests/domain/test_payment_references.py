from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.be import ogm_vcs

from portal.domain.payment_references import (
    ReferenceOverflow,
    ReferenceScheme,
    find_references,
    format_reference,
    invoice_reference,
    make_reference,
    normalize_reference,
    ogm_reference,
    reference_for_number,
    rf_reference,
    scheme_for_country,
)


def test_ogm_of_an_invoice_number():
    # Invoice 2026-0007: base 2026000007, 2026000007 mod 97 = 1.
    assert ogm_reference(2026, 7) == "202600000701"
    assert format_reference("202600000701") == "+++202/6000/00701+++"
    assert ogm_vcs.is_valid("+++202/6000/00701+++")


def test_ogm_check_digits_are_97_when_the_remainder_is_zero():
    sequence = next(s for s in range(1, 200) if int(f"2026{s:06d}") % 97 == 0)
    reference = ogm_reference(2026, sequence)
    assert reference.endswith("97")
    assert ogm_vcs.is_valid(reference)
    assert normalize_reference(format_reference(reference)) == reference


@given(st.integers(1000, 9999), st.integers(1, 999_999))
def test_ogm_follows_the_mod_97_rule(year, sequence):
    reference = ogm_reference(year, sequence)
    base = int(reference[:10])
    assert len(reference) == 12 and reference[:4] == str(year) and int(reference[4:10]) == sequence
    assert int(reference[10:]) == (base % 97 or 97)
    assert ogm_vcs.is_valid(reference)


def test_rf_of_an_invoice_number():
    reference = rf_reference(2026, 7)
    assert reference == "RF742026000007"
    assert iso11649.is_valid(reference)
    assert format_reference(reference) == "RF74 2026 0000 07"
    # The standard's own example reads back compact.
    assert normalize_reference("RF18 5390 0754 7034") == "RF18539007547034"


def test_references_are_unique_and_deterministic():
    for scheme in ReferenceScheme:
        made = {make_reference(scheme, year, sequence) for year in (2025, 2026) for sequence in range(1, 3001)}
        assert len(made) == 6000
        assert make_reference(scheme, 2026, 42) == make_reference(scheme, 2026, 42)


def test_ogm_holds_a_million_invoices_a_year_and_rf_more():
    assert ogm_reference(2026, 999_999).startswith("2026999999")
    with pytest.raises(ReferenceOverflow) as excinfo:
        ogm_reference(2026, 1_000_000)
    assert excinfo.value.field == "number"
    # RF bodies grow instead: 2026 + 1000000 can never equal 2026 + a six-digit sequence.
    assert rf_reference(2026, 1_000_000) == "RF" + rf_reference(2026, 1_000_000)[2:4] + "20261000000"
    assert iso11649.is_valid(rf_reference(2026, 1_000_000))


def test_scheme_by_merchant_country():
    assert scheme_for_country("BE") is ReferenceScheme.OGM
    assert scheme_for_country("be") is ReferenceScheme.OGM
    for country in ("NL", "FR", "DE", "LU", None, ""):
        assert scheme_for_country(country) is ReferenceScheme.RF


@pytest.mark.parametrize(
    "text",
    [
        "+++202/6000/00701+++",
        "***202/6000/00701***",
        "202/6000/00701",
        "202600000701",
        "202 6000 00701",
        "2026 0000 0701",
        "*** 202 / 6000 / 00701 ***",
        "Invoice 2026-0007, communication +++202/6000/00701+++ thanks",
        "202.6000.00701 paid by Jane",
        # A long remittance line split by the bank into 140-character Ustrd chunks, joined with a space.
        "+++202/6000/0 0701+++",
    ],
)
def test_ogm_found_in_free_text(text):
    assert find_references(text) == ["202600000701"]


@pytest.mark.parametrize(
    "text",
    [
        "RF74 2026 0000 07",
        "RF742026000007",
        "rf74 2026 0000 07 merci",
        "Payment RF74-2026-0000-07 for invoice 2026-0007",
        "RF 74 2026 0000 07",
    ],
)
def test_rf_found_in_free_text(text):
    assert find_references(text) == ["RF742026000007"]


def test_free_text_without_reference():
    assert find_references(None) == []
    assert find_references("") == []
    assert find_references("Invoice 2026-0007, thank you") == []
    # Twelve digits inside a longer number (an IBAN, an order id) are not a reference.
    assert find_references("from BE71 0961 2345 6769 order 9202600000701") == []
    assert find_references("order 2026000007011") == []


def test_find_references_reads_a_bounded_amount_of_text():
    # Remittance text comes from outside; a megabyte of digit groups is cut, not scanned.
    text = "1 " * 500_000 + "+++202/6000/00701+++"
    assert find_references(text) == []


def _typos(reference: str):
    for position, character in enumerate(reference):
        if character.isdigit():
            for digit in "0123456789":
                if digit != character:
                    yield reference[:position] + digit + reference[position + 1 :]


@pytest.mark.parametrize("scheme", list(ReferenceScheme))
def test_one_digit_typo_never_validates(scheme):
    known = {make_reference(scheme, 2026, sequence) for sequence in range(1, 2001)}
    for sequence in (7, 97, 1234, 2000):
        reference = make_reference(scheme, 2026, sequence)
        for typo in _typos(reference):
            assert normalize_reference(typo) is None, typo
            found = find_references(f"Payment {format_reference(typo)} thanks")
            assert not set(found) & known, (typo, found)


@given(st.integers(2000, 2099), st.integers(1, 999_999), st.data())
def test_one_digit_typo_never_validates_property(year, sequence, data):
    for scheme in ReferenceScheme:
        reference = make_reference(scheme, year, sequence)
        typo = data.draw(st.sampled_from(list(_typos(reference))))
        assert normalize_reference(typo) is None
        found = find_references(f"Paid {format_reference(typo)}")
        if scheme is ReferenceScheme.OGM:
            assert found == []
        else:
            # Free text does not mark where an RF body ends, so a shorter prefix of the groups may
            # happen to be valid (1 in 97) — but never the length of an invoice's reference.
            assert all(len(candidate) < len(reference) for candidate in found)


def test_normalize_rejects_what_is_not_a_reference():
    for text in ("", "RF", "RF00", "12345", "2026-0007", "RF17 5390 0754 7034", "+++010/8068/17180+++", "x" * 100):
        assert normalize_reference(text) is None
    assert normalize_reference("+++010/8068/17183+++") == "010806817183"


def test_an_iban_is_not_read_as_an_ogm():
    # A Belgian account number carries the OGM's mod-97 check: 096-1234567-69 is "valid".
    assert ogm_vcs.is_valid("096123456769")
    assert find_references("from BE71 0961 2345 6769") == []
    assert find_references("from BE71096123456769") == []
    assert find_references("ref202600000701") == ["202600000701"]


def test_reference_from_an_invoice_number():
    assert reference_for_number(ReferenceScheme.OGM, "2026-0007") == ogm_reference(2026, 7)
    assert reference_for_number(ReferenceScheme.RF, "2026-12345") == rf_reference(2026, 12345)
    for number in ("", "CN-2026-0001", "2026-", "26-0007", "2026-0007x"):
        with pytest.raises(ValueError):
            reference_for_number(ReferenceScheme.RF, number)


def test_reference_of_an_invoice_by_its_sellers_country():
    assert invoice_reference("BE", "2026-0007") == "202600000701"
    assert invoice_reference("be", "2026-0007") == "202600000701"
    for country in ("NL", "FR", None):
        assert invoice_reference(country, "2026-0007") == "RF742026000007"
    # Past a million invoices a year the OGM's ten digits are full: the invoice gets an RF reference.
    assert invoice_reference("BE", "2026-1000000") == rf_reference(2026, 1_000_000)
    assert invoice_reference("BE", "2026-999999") == ogm_reference(2026, 999_999)

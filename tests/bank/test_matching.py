"""Matching a statement built as CAMT.053 to a merchant's invoices: the exact outcome of each entry."""

from __future__ import annotations

from datetime import date

import pytest

from portal.domain.bank_matching import (
    MAX_SUGGESTIONS,
    InvoiceIndex,
    InvoiceToMatch,
    KnownPayer,
    MatchStatus,
    SuggestionReason,
    normalize_name,
    plan_import,
)
from portal.domain.bank_statements import parse_statement
from portal.domain.payment_references import format_reference, ogm_reference, rf_reference
from tests.bank.camt import Account, Transfer, build

JANE, ACME, BOB = 1, 2, 3


def invoice(invoice_id, customer_id, sequence, amount_due, *, outstanding=None, currency="EUR", reference=None):
    return InvoiceToMatch(
        invoice_id=invoice_id,
        customer_id=customer_id,
        number=f"2026-{sequence:04d}",
        reference=reference or ogm_reference(2026, sequence),
        currency=currency,
        amount_due=amount_due,
        outstanding=amount_due if outstanding is None else outstanding,
    )


def ref(sequence):
    return format_reference(ogm_reference(2026, sequence))


def spaced(sequence):
    digits = ogm_reference(2026, sequence)
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def typo(reference):
    # The last digit one higher: the check digits no longer hold.
    return reference[:-4] + str((int(reference[-4]) + 1) % 10) + reference[-3:]


INVOICES = [
    # Overdue: 1,000.00 outstanding, 1,049.86 due today with the fee and interest (SPEC §1).
    invoice(101, JANE, 7, 104986, outstanding=100000),
    invoice(102, JANE, 8, 50000),
    invoice(103, ACME, 9, 30000),
    invoice(104, ACME, 10, 20000),
    invoice(105, BOB, 11, 12345),
    invoice(106, BOB, 12, 0),  # paid already
    invoice(107, ACME, 13, 9900, currency="USD"),
    invoice(108, JANE, 14, 7000, reference=rf_reference(2026, 14)),
]
PAYERS = [KnownPayer(ACME, names=["ACME Industries NV"], ibans=["BE43 0689 9999 9501"])]


def statement_entries(*transfers):
    return parse_statement(build(Account(entries=list(transfers)))).entries


def decide(*transfers, invoices=INVOICES, payers=PAYERS, seen=()):
    return plan_import(statement_entries(*transfers), InvoiceIndex.build(invoices, payers), seen)


STATEMENT = [
    # 1. Structured reference, the exact amount due with late fees.
    Transfer("1049.86", account_servicer_reference="S1", debtor_name="Jane Cooper", structured_reference=ref(7)),
    # 2. Reference in free text, with spaces instead of the +++ and slashes; an overpayment.
    Transfer("600.00", account_servicer_reference="S2", unstructured=[f"Betaling factuur {spaced(8)} dank u"]),
    # 3. An underpayment of ACME's 300.00.
    Transfer("100.00", account_servicer_reference="S3", structured_reference=ref(9)),
    # 4. Wrong check digits, but exactly invoice 104's amount: only suggestions.
    Transfer("200.00", account_servicer_reference="S4", unstructured=[typo(ref(10))]),
    # 5. Wrong check digits, an amount nobody owes, an unknown payer: unmatched.
    Transfer("77.70", account_servicer_reference="S5", debtor_name="Nobody Known", unstructured=[typo(ref(12))]),
    # 6. A debit: bank fees.
    Transfer("12.00", credit=False, account_servicer_reference="S6", unstructured=["Account fees"]),
    # 7. No reference, an unknown payer, an amount nobody owes.
    Transfer("5.00", account_servicer_reference="S7", debtor_name="Mystery Payer BV", debtor_iban="NL91ABNA0417164300"),
]


def test_each_entry_of_a_statement():
    plan = decide(*STATEMENT)
    outcome = {p.entry.account_servicer_reference: p.match for p in plan.planned}
    assert [e.account_servicer_reference for e in plan.ignored] == ["S6"]
    assert plan.duplicates == ()

    assert outcome["S1"].status is MatchStatus.MATCHED
    assert (outcome["S1"].invoice_id, outcome["S1"].reference) == (101, ogm_reference(2026, 7))
    assert outcome["S2"].status is MatchStatus.MATCHED and outcome["S2"].invoice_id == 102
    assert outcome["S3"].status is MatchStatus.MATCHED and outcome["S3"].invoice_id == 103
    assert outcome["S4"].status is MatchStatus.SUGGESTED and outcome["S4"].invoice_id is None
    # Invoice 104 owes 200.00, and so does 103 now that entry 3 paid 100.00 of its 300.00.
    assert [(s.invoice_id, s.reasons) for s in outcome["S4"].suggestions] == [
        (104, (SuggestionReason.AMOUNT,)),
        (103, (SuggestionReason.AMOUNT,)),
    ]
    assert outcome["S5"].status is MatchStatus.UNMATCHED and outcome["S5"].suggestions == ()
    assert outcome["S7"].status is MatchStatus.UNMATCHED
    assert plan.summary == {"entries": 6, "matched": 3, "suggested": 1, "unmatched": 2, "duplicates": 0}


def test_importing_the_same_statement_again_books_nothing_twice():
    first = decide(*STATEMENT)
    seen = {p.entry.key for p in first.planned}
    again = decide(*STATEMENT, seen=seen)
    assert again.planned == ()
    assert again.summary == {"entries": 6, "matched": 0, "suggested": 0, "unmatched": 0, "duplicates": 6}
    # A later statement that repeats some entries and adds one: only the new one is decided.
    later = decide(
        STATEMENT[0], Transfer("123.45", account_servicer_reference="S8", structured_reference=ref(11)), seen=seen
    )
    assert [p.entry.account_servicer_reference for p in later.planned] == ["S8"]
    assert later.planned[0].match.invoice_id == 105
    assert later.summary["duplicates"] == 1


def test_a_later_entry_sees_what_an_earlier_one_paid():
    plan = decide(
        Transfer("100.00", account_servicer_reference="A", structured_reference=ref(9)),
        # 300.00 − 100.00 = 200.00 left on invoice 103, equal to invoice 104's 200.00.
        Transfer("200.00", account_servicer_reference="B", debtor_name="Unknown"),
        Transfer("1049.86", account_servicer_reference="C", structured_reference=ref(7)),
        # Invoice 101 was just paid in full: the same amount again suggests nothing.
        Transfer("1049.86", account_servicer_reference="D"),
    )
    matches = [p.match for p in plan.planned]
    assert {s.invoice_id for s in matches[1].suggestions} == {103, 104}
    assert matches[3].status is MatchStatus.UNMATCHED


def test_reference_of_a_paid_invoice_is_still_that_invoices_money():
    # The booking puts it all on the customer's credit balance (money received is never lost).
    plan = decide(Transfer("50.00", unstructured=[ref(12)]))
    assert plan.planned[0].match.status is MatchStatus.MATCHED
    assert plan.planned[0].match.invoice_id == 106


def test_rf_reference_in_the_structured_field():
    plan = decide(Transfer("70.00", structured_reference=format_reference(rf_reference(2026, 14))))
    assert plan.planned[0].match.invoice_id == 108


def test_a_reference_that_is_not_the_merchants():
    # Valid check digits, but no invoice of this merchant carries it (another merchant's, or a typo-free guess).
    plan = decide(Transfer("1049.86", structured_reference=ref(9999)), invoices=INVOICES[1:])
    assert plan.planned[0].match.status is MatchStatus.UNMATCHED


def test_reference_in_another_currency_is_only_suggested():
    plan = decide(Transfer("99.00", structured_reference=ref(13)))
    match = plan.planned[0].match
    assert match.status is MatchStatus.SUGGESTED
    assert [(s.invoice_id, s.reasons) for s in match.suggestions] == [(107, (SuggestionReason.REFERENCE,))]


def test_two_invoices_referenced_in_one_transfer_are_suggested_both():
    plan = decide(Transfer("1549.86", unstructured=[f"{ref(7)} and {ref(8)}"]))
    match = plan.planned[0].match
    assert match.status is MatchStatus.SUGGESTED
    assert [s.invoice_id for s in match.suggestions] == [101, 102]


def test_payer_iban_seen_before_suggests_that_customers_invoices():
    plan = decide(Transfer("200.00", debtor_iban="BE43068999999501", debtor_name="A. Someone"))
    suggestions = plan.planned[0].match.suggestions
    # The customer's invoice of exactly this amount first, with both reasons; then their other open one.
    assert [(s.invoice_id, set(s.reasons)) for s in suggestions] == [
        (104, {SuggestionReason.PAYER_IBAN, SuggestionReason.AMOUNT}),
        (103, {SuggestionReason.PAYER_IBAN}),
    ]


def test_payer_name_seen_before_whatever_its_spelling():
    assert normalize_name("  Acme   INDUSTRIES n.v. ") == normalize_name("ACME Industries NV") != ""
    assert normalize_name("Société Générale") == normalize_name("SOCIETE GENERALE")
    plan = decide(Transfer("1.00", debtor_name="acme industries n.v."))
    suggestions = plan.planned[0].match.suggestions
    assert [s.invoice_id for s in suggestions] == [103, 104]
    assert all(s.reasons == (SuggestionReason.PAYER_NAME,) for s in suggestions)


def test_invoice_number_in_the_text_is_a_suggestion():
    plan = decide(Transfer("10.00", unstructured=["Factuur 2026-0011"]))
    suggestions = plan.planned[0].match.suggestions
    assert [(s.invoice_id, s.reasons) for s in suggestions] == [(105, (SuggestionReason.INVOICE_NUMBER,))]


def test_the_outstanding_amount_without_late_fees_is_suggested_too():
    plan = decide(Transfer("1000.00"))
    assert [s.invoice_id for s in plan.planned[0].match.suggestions] == [101]


def test_a_matched_payer_is_known_for_the_next_entry():
    plan = decide(
        Transfer("1049.86", debtor_iban="BE68539007547034", structured_reference=ref(7)),
        Transfer("500.00", debtor_iban="BE68 5390 0754 7034"),
    )
    second = plan.planned[1].match
    assert second.status is MatchStatus.SUGGESTED
    assert second.suggestions[0].invoice_id == 102
    assert set(second.suggestions[0].reasons) == {SuggestionReason.PAYER_IBAN, SuggestionReason.AMOUNT}


def test_one_digit_typo_is_never_matched_to_another_invoice():
    invoices = [invoice(1000 + s, 1 + s % 50, s, 10000 + s) for s in range(1, 3001)]
    index = InvoiceIndex.build(invoices)
    for sequence in (1, 7, 97, 1234, 3000):
        written = ref(sequence)
        for position, character in enumerate(written):
            if not character.isdigit():
                continue
            for digit in "0123456789":
                if digit == character:
                    continue
                wrong = written[:position] + digit + written[position + 1 :]
                (entry,) = statement_entries(Transfer("1.00", unstructured=[f"Payment {wrong}"]))
                assert index.match(entry).status is MatchStatus.UNMATCHED, wrong
                (entry,) = statement_entries(Transfer("1.00", structured_reference=wrong))
                assert index.match(entry).status is MatchStatus.UNMATCHED, wrong


@pytest.mark.parametrize("count", [20_000])
def test_suggestions_stay_few_when_many_invoices_share_an_amount(count):
    # Matching looks things up; it never walks every invoice of an amount (nor every invoice).
    invoices = [invoice(i, i % 100, i, 5000) for i in range(1, count + 1)]
    payers = [KnownPayer(7, names=["Seven"])]
    plan = decide(Transfer("50.00"), Transfer("50.00", debtor_name="Seven"), invoices=invoices, payers=payers)
    first, second = (p.match for p in plan.planned)
    assert len(first.suggestions) == MAX_SUGGESTIONS
    assert len(second.suggestions) == MAX_SUGGESTIONS
    assert all(s.invoice_id % 100 == 7 for s in second.suggestions)
    assert all(set(s.reasons) == {SuggestionReason.PAYER_NAME, SuggestionReason.AMOUNT} for s in second.suggestions)


def test_booking_date_is_the_statements():
    plan = decide(Transfer("1049.86", booking_date=date(2026, 3, 5), structured_reference=ref(7)))
    assert plan.planned[0].entry.booking_date == date(2026, 3, 5)

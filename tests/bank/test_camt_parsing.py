"""CAMT.053 statements and CAMT.054 notifications, any version, read into plain entries; hostile XML refused."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

import pytest

from portal.domain.bank_statements import StatementError, parse_statement
from tests.bank.camt import ACCOUNT_IBAN, Account, Batch, Transfer, build

PAYMENT = Transfer(
    "1049.86",
    booking_date=date(2026, 3, 2),
    value_date=date(2026, 3, 1),
    account_servicer_reference="2026030200017",
    end_to_end_id="E2E-JANE-0007",
    debtor_name="Jane Cooper",
    debtor_iban="BE68 5390 0754 7034",
    structured_reference="+++202/6000/00701+++",
    unstructured=["Invoice 2026-0007"],
)


@pytest.mark.parametrize(
    "message, version", [("camt.053", 2), ("camt.053", 4), ("camt.053", 8), ("camt.054", 2), ("camt.054", 8)]
)
def test_every_field_of_a_credit(message, version):
    statement = parse_statement(build(Account(entries=[PAYMENT]), message=message, version=version))
    assert statement.message == f"{message}.001.{version:02d}"
    (entry,) = statement.entries
    assert entry.key == "ref:2026030200017"
    assert entry.statement_id == "STMT-2026-03-02"
    assert entry.account_iban == ACCOUNT_IBAN
    assert entry.booking_date == date(2026, 3, 2)
    assert entry.value_date == date(2026, 3, 1)
    assert (entry.amount, entry.currency) == (104986, "EUR")
    assert entry.credit and entry.booked and not entry.reversal
    assert entry.is_incoming_payment
    assert entry.account_servicer_reference == "2026030200017"
    assert entry.end_to_end_id == "E2E-JANE-0007"
    assert entry.debtor_name == "Jane Cooper"
    assert entry.debtor_iban == "BE68539007547034"
    assert entry.structured_references == ("+++202/6000/00701+++",)
    assert entry.unstructured == "Invoice 2026-0007"


def test_the_same_entries_whatever_the_version():
    account = Account(entries=[PAYMENT, Transfer("12.50", unstructured=["RF74 2026 0000 07"]), Transfer("3.00")])
    read = [[replace(e, message="") for e in parse_statement(build(account, version=v)).entries] for v in (2, 5, 8, 13)]
    assert read[0] == read[1] == read[2] == read[3]


def test_debit_reversal_and_pending_entries_are_not_money_received():
    statement = parse_statement(
        build(
            Account(
                entries=[
                    Transfer("25.00", credit=False, unstructured=["Bank fees"]),
                    Transfer("100.00", reversal=True, unstructured=["Returned direct debit"]),
                    Transfer("40.00", status="PDNG"),
                    Transfer("10.00"),
                ]
            ),
            message="camt.054",
        )
    )
    debit, reversal, pending, credit = statement.entries
    assert not debit.credit and not debit.is_incoming_payment
    assert reversal.reversal and not reversal.is_incoming_payment
    assert not pending.booked and not pending.is_incoming_payment
    assert statement.incoming_payments == (credit,)


@pytest.mark.parametrize("version", [2, 8])
def test_a_batch_entry_becomes_one_entry_per_transaction(version):
    batch = Batch(
        [
            Transfer("100.00", debtor_name="Ann", unstructured=["+++202/6000/00701+++"]),
            Transfer("250.00", debtor_name="Bob", account_servicer_reference="TX-BOB"),
            Transfer("7.25", debtor_name="Cem"),
        ],
        account_servicer_reference="BATCH-1",
    )
    entries = parse_statement(build(Account(entries=[batch]), version=version)).entries
    assert [(e.amount, e.debtor_name) for e in entries] == [(10000, "Ann"), (25000, "Bob"), (725, "Cem")]
    assert [e.key for e in entries] == ["ref:BATCH-1/1", "ref:TX-BOB", "ref:BATCH-1/3"]
    assert [e.account_servicer_reference for e in entries] == ["BATCH-1", "TX-BOB", "BATCH-1"]
    assert entries[0].unstructured == "+++202/6000/00701+++"
    assert all(e.is_incoming_payment for e in entries)


def test_a_batch_without_amounts_per_transaction_stays_whole():
    batch = Batch(
        [Transfer("100.00", unstructured=["first"]), Transfer("250.00", unstructured=["second"])],
        account_servicer_reference="BATCH-2",
        amounts=False,
    )
    (entry,) = parse_statement(build(Account(entries=[batch]))).entries
    assert entry.amount == 35000
    assert entry.unstructured == "first second"
    assert entry.key == "ref:BATCH-2"


def test_without_a_bank_reference_the_key_is_a_stable_hash():
    account = Account(entries=[Transfer("10.00", debtor_name="Ann"), Transfer("10.00", debtor_name="Ann")])
    first = parse_statement(build(account)).entries
    again = parse_statement(build(account, version=2)).entries
    # Two identical transfers on one statement are two payments: both kept, each with its own key.
    assert first[0].key.startswith("sha256:") and first[1].key == first[0].key + "#2"
    assert [e.key for e in first] == [e.key for e in again]
    other = parse_statement(build(Account(entries=[Transfer("10.01", debtor_name="Ann")]))).entries
    assert other[0].key != first[0].key


def test_repeated_bank_references_stay_distinct():
    account = Account(entries=[Transfer("10.00", account_servicer_reference="SAME")] * 2)
    assert [e.key for e in parse_statement(build(account)).entries] == ["ref:SAME", "ref:SAME#2"]


def test_several_statements_in_one_document():
    document = build([Account(entries=[PAYMENT]), Account(iban="NL91ABNA0417164300", entries=[Transfer("1.00")])])
    entries = parse_statement(document).entries
    assert [e.account_iban for e in entries] == [ACCOUNT_IBAN, "NL91ABNA0417164300"]


def test_amounts_in_the_currencys_minor_unit():
    entries = parse_statement(
        build(Account(entries=[Transfer("1500", currency="JPY"), Transfer("1.250", currency="KWD")]))
    ).entries
    assert [(e.amount, e.currency) for e in entries] == [(1500, "JPY"), (1250, "KWD")]


@pytest.mark.parametrize(
    "transfer, message",
    [
        (Transfer("10.005"), "more decimals than the currency"),
        (Transfer("-10.00"), "is not an amount"),
        (Transfer("1e3"), "is not an amount"),
        (Transfer("10.00", currency="XYZ"), "unknown currency"),
    ],
)
def test_bad_amounts(transfer, message):
    with pytest.raises(StatementError) as excinfo:
        parse_statement(build(Account(entries=[transfer])))
    assert message in excinfo.value.message
    assert "entry 1" in excinfo.value.message


def test_bad_dates_and_indicators():
    document = build(Account(entries=[PAYMENT])).replace(b"<Dt>2026-03-02</Dt>", b"<Dt>2026-02-30</Dt>", 1)
    with pytest.raises(StatementError, match="is not a date"):
        parse_statement(document)
    document = build(Account(entries=[PAYMENT])).replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>CRED", 1)
    with pytest.raises(StatementError, match="neither CRDT nor DBIT"):
        parse_statement(document)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"not xml at all",
        b"<Document><Stmt/></Document>",
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><Other/></Document>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>',
    ],
)
def test_what_is_not_a_statement(data):
    with pytest.raises(StatementError) as excinfo:
        parse_statement(data)
    assert excinfo.value.code == "invalid_statement" and excinfo.value.field == "file"


def test_size_limit():
    document = build(Account(entries=[PAYMENT] * 20))
    with pytest.raises(StatementError, match="larger than"):
        parse_statement(document, max_bytes=len(document) - 1)
    assert len(parse_statement(document, max_bytes=len(document)).entries) == 20


def _with_doctype(doctype: bytes, reference: bytes) -> bytes:
    document = build(Account(entries=[replace(PAYMENT, unstructured=["PLACEHOLDER"])]))
    head, body = document.split(b"\n", 1)
    return head + b"\n" + doctype + b"\n" + body.replace(b"PLACEHOLDER", reference)


def test_external_entities_are_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    document = _with_doctype(f'<!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(), b"&x;")
    with pytest.raises(StatementError, match="DTD") as excinfo:
        parse_statement(document)
    assert "TOP-SECRET" not in excinfo.value.message


def test_network_dtds_are_refused():
    document = _with_doctype(b'<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">', b"x")
    with pytest.raises(StatementError, match="DTD"):
        parse_statement(document)


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return _with_doctype(f"<!DOCTYPE Document [{''.join(entities)}]>".encode(), b"&lol9;")


def test_billion_laughs_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(StatementError, match="DTD"):
        parse_statement(_billion_laughs())
    assert time.perf_counter() - start < 1


def _utf16(document: bytes) -> bytes:
    encoded = document.decode("utf-8").replace("encoding='UTF-8'", "encoding='UTF-16'").encode("utf-16")
    assert b"<!DOCTYPE" not in encoded
    return encoded


def test_a_dtd_hidden_by_another_encoding_is_refused_too(tmp_path):
    # In UTF-16 the bytes b"<!DOCTYPE" never appear; the parsed document's DTD is checked as well.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    document = _with_doctype(f'<!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(), b"&x;")
    with pytest.raises(StatementError, match="DTD") as excinfo:
        parse_statement(_utf16(document))
    assert "TOP-SECRET" not in excinfo.value.message
    start = time.perf_counter()
    # libxml2 stops the expansion itself (entities are never resolved into the tree).
    with pytest.raises(StatementError, match="DTD|amplification"):
        parse_statement(_utf16(_billion_laughs()))
    assert time.perf_counter() - start < 1

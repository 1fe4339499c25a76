"""flask portal import-statement FILE: the same import as the admin and the API, counts printed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.extensions import db
from tests.bank.camt import Account, Transfer, build
from tests.factories import make_customer, make_invoice, make_merchant


@pytest.fixture(autouse=True)
def _march(time_machine):
    time_machine.move_to(datetime(2026, 3, 3, 10, tzinfo=UTC), tick=False)


def test_import_statement_prints_the_counts_and_books_once(app, runner, tmp_path):
    with app.app_context():
        merchant = make_merchant("Atelier", iban="BE68539007547034")
        invoice = make_invoice(make_customer(merchant), due_date=date(2026, 3, 31))
        slug, reference = merchant.slug, invoice.payment_reference
        db.session.commit()
    path = tmp_path / "statement.xml"
    path.write_bytes(
        build(
            Account(
                entries=[
                    Transfer("1000.00", account_servicer_reference="C-1", structured_reference=reference),
                    Transfer("3.00", account_servicer_reference="C-2"),
                    Transfer("8.00", credit=False, account_servicer_reference="C-3"),
                ]
            )
        )
    )

    first = runner.invoke(args=["portal", "import-statement", str(path), "--merchant", slug])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        "entries=2 matched=1 suggested=0 unmatched=1 duplicates=0",
        "1 debit, reversed or pending entries skipped",
    ]
    # One merchant: --merchant may be left out.
    again = runner.invoke(args=["portal", "import-statement", str(path)])
    assert again.output.splitlines()[0] == "entries=2 matched=0 suggested=0 unmatched=0 duplicates=2"


def test_an_unreadable_file_or_unknown_merchant_fails_clearly(app, runner, tmp_path):
    with app.app_context():
        slug = make_merchant("Atelier").slug
        db.session.commit()
    path = tmp_path / "broken.xml"
    path.write_bytes(b"<Document>")
    broken = runner.invoke(args=["portal", "import-statement", str(path), "--merchant", slug])
    assert broken.exit_code != 0 and "not well-formed" in broken.output
    unknown = runner.invoke(args=["portal", "import-statement", str(path), "--merchant", "nope"])
    assert unknown.exit_code != 0 and "No merchant" in unknown.output

"""The statement of account: every movement over a period with a running balance, page and PDF."""

from __future__ import annotations

from datetime import date

import pytest
from pypdf import PdfReader

from portal.extensions import db
from portal.services.statements import build_statement
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import plain, sign_in


def _history(customer):
    first = make_invoice(customer, issue_date=date(2025, 12, 1), due_date=date(2025, 12, 31))
    pay(first, 100000, date(2025, 12, 20))
    second = make_invoice(customer)  # 1,000.00 due 2026-01-31
    credit(second, 20000, date(2026, 1, 20))
    pay(second, 30000, date(2026, 2, 15))
    return first, second


def test_the_statement_lists_the_period_with_a_running_balance_and_the_open_items(ctx, client, spec_day):
    merchant = make_merchant(iban="BE68539007547034")
    customer = make_customer(merchant)
    _, second = _history(customer)
    sign_in(client, customer)

    page = plain(client.get("/statement?from=2026-01-01&to=2026-03-01").get_data(as_text=True))

    # Opening: the December invoice was paid in full; then 1,000.00 − 200.00 − 300.00.
    assert "Opening balance" in page and "Closing balance" in page
    assert page.count('data-testid="statement-line"') == 3
    assert "Credit note CN-" in page or "Credit note" in page
    assert "€500.00" in page
    # The open item: 500.00 outstanding, late charges apart (fee 40.00 and interest), due today.
    assert 'data-testid="open-item"' in page
    assert "€40.00" not in page or "Late payment charges" in page
    assert second.number in page
    assert 'data-testid="bank-transfer"' in page and 'data-testid="transfer-reference"' in page
    # One checkout for every open invoice (the portal's pay-several endpoint).
    assert 'data-testid="pay-open-balance"' in page and 'action="/pay"' in page


def test_the_figures_agree_with_the_outstanding_amounts(ctx, spec_day):
    merchant = make_merchant()
    customer = make_customer(merchant)
    _, second = _history(customer)
    statement = build_statement(customer, date(2026, 1, 1), date(2026, 3, 2))
    [account] = statement.accounts
    assert account.opening == 0
    assert [line.amount for line in account.lines] == [100000, -20000, -30000]
    assert account.closing == 50000 == account.outstanding
    [item] = account.open_items
    assert item.invoice.id == second.id and item.outstanding == 50000
    assert item.amount_due == item.outstanding + item.late_charges and item.late_charges > 0


@pytest.mark.parametrize("query", ["from=2026-13-01", "from=yesterday", "from=2026-03-01&to=2026-02-01", "to=2026-2-1"])
def test_bad_dates_answer_400_with_a_message(ctx, client, spec_day, query):
    customer = make_customer(make_merchant())
    sign_in(client, customer)
    for path in ("/statement", "/statement.pdf"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == 400
        assert "YYYY-MM-DD" in answer.get_data(as_text=True)


def test_the_statement_needs_a_signed_in_customer(ctx, client):
    assert client.get("/statement").status_code == 401
    assert client.get("/statement.pdf").status_code == 401


@pytest.mark.parametrize(
    ("language", "title", "opening"),
    [
        ("en", "Statement of account", "Opening balance"),
        ("fr", "Relevé de compte", "Solde d’ouverture"),
        ("nl", "Rekeninguittreksel", "Beginsaldo"),
        ("de", "Kontoauszug", "Anfangssaldo"),
    ],
)
def test_the_statement_pdf_in_each_language(ctx, client, spec_day, language, title, opening):
    customer = make_customer(make_merchant(iban="BE68539007547034"), language=language)
    _history(customer)
    db.session.commit()
    sign_in(client, customer)

    answer = client.get("/statement.pdf?from=2026-01-01&to=2026-03-02")

    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert "statement-2026-01-01-2026-03-02.pdf" in answer.headers["Content-Disposition"]
    import io

    text = plain("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages))
    assert title.lower() in text.lower()
    assert opening in text

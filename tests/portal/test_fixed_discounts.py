"""The invoice page shows fixed discounts beside percentages, in the customer's language."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from tests.factories import line, make_customer, make_invoice, make_merchant
from tests.portal.conftest import plain, sign_in


@pytest.mark.parametrize(
    ("language", "line_discount", "invoice_discount", "discount_total"),
    [
        ("en", "10% and €15.00", "Discount (5% and €20.00)", "−€45.50"),
        ("fr", "10 % et 15,00 €", "Remise (5 % et 20,00 €)", "−45,50 €"),
    ],
)
def test_the_page_shows_fixed_discounts(
    ctx, client, spec_day, language, line_discount, invoice_discount, discount_total
):
    customer = make_customer(make_merchant(), language=language)
    invoice = make_invoice(
        customer,
        lines=[
            replace(line("Design", "2", 12500, "21", discount_percent="10"), discount_fixed=1500),
            line("Print", "250", 120, "6"),
        ],
        discount_percent=Decimal("5"),
        discount_fixed=2000,
    )
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))

    assert line_discount in page
    assert invoice_discount in page
    assert discount_total in page  # 10.50 + 15.00 (the percentage per rate) + 20.00


def test_a_fixed_discount_alone_is_labelled_plainly(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(
        customer, lines=[replace(line("Design", "1", 10000, "21"), discount_fixed=2500)], discount_fixed=500
    )
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))

    assert ">€25.00<" in page  # the line's discount column
    assert "<dt>Discount</dt><dd>−€5.00</dd>" in page
    assert "Discount (0%)" not in page

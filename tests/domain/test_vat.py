"""VAT categories (EN 16931): which rates each allows, the breakdown per (category, rate), the legal wording."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.domain.errors import IncompleteDocument, InvalidAmount
from portal.domain.invoices import Line, TaxAmount, check_finalizable, compute_totals
from portal.domain.vat import (
    DEFAULT_EXEMPTION_REASONS,
    TaxCategory,
    check_exemption_reasons,
    default_exemption_reason,
    exemption_reasons,
)

S, Z, E, AE, K, G, O = (TaxCategory(code) for code in ("S", "Z", "E", "AE", "K", "G", "O"))  # noqa: E741


def line(unit_amount=1000, tax_rate="21", category=None, quantity="1", discount="0") -> Line:
    return Line(
        description="Work",
        quantity=Decimal(quantity),
        unit_amount=unit_amount,
        tax_rate=Decimal(tax_rate),
        discount_percent=Decimal(discount),
        tax_category=category,
    )


def test_a_line_is_standard_rated_unless_told_and_zero_rated_at_0_percent():
    assert line(tax_rate="21").tax_category is S
    assert line(tax_rate="0").tax_category is Z
    assert line(tax_rate="0", category="AE").tax_category is AE


@pytest.mark.parametrize("category", ["Z", "E", "AE", "K", "G", "O"])
def test_only_standard_rated_lines_carry_a_rate(category):
    assert line(tax_rate="0", category=category).tax_category.value == category
    with pytest.raises(InvalidAmount) as refused:
        line(tax_rate="21", category=category)
    assert refused.value.field == "tax_rate" and "must be 0" in refused.value.message


def test_a_standard_rated_line_needs_a_rate_and_unknown_codes_are_refused():
    with pytest.raises(InvalidAmount) as refused:
        line(tax_rate="0", category="S")
    assert refused.value.field == "tax_rate"
    with pytest.raises(InvalidAmount) as unknown:
        line(tax_rate="0", category="X")
    assert unknown.value.field == "tax_category" and "S, Z, E, AE, K, G, O" in unknown.value.message


def test_mixed_categories_and_rates_give_one_row_per_category_and_rate_each_rounded_once():
    lines = [
        line(1005, "21"),
        line(2000, "21.00"),  # the same group as 21
        line(1005, "6"),
        line(333, "0", "E"),
        line(334, "0", "E"),  # the same group as the other exempt line
        line(5000, "0", "AE"),
        line(700, "0"),  # Z
        line(100, "0", "O"),
    ]
    totals = compute_totals(lines, Decimal("10"))

    assert totals.taxes == (
        TaxAmount(category=Z, rate=Decimal(0), base=630, amount=0),
        TaxAmount(category=E, rate=Decimal(0), base=600, amount=0),  # 667 − round(66.7)
        TaxAmount(category=AE, rate=Decimal(0), base=4500, amount=0),
        TaxAmount(category=O, rate=Decimal(0), base=90, amount=0),
        TaxAmount(category=S, rate=Decimal(6), base=904, amount=54),  # 1005 − 101; round(54.24)
        TaxAmount(category=S, rate=Decimal(21), base=2704, amount=568),  # 3005 − 301; round(567.84)
    )
    assert totals.tax == 622 and totals.net == sum(tax.base for tax in totals.taxes) == 9428
    assert totals.total == 10050


def test_each_exempt_category_has_legal_wording_in_every_language():
    for category, wording in DEFAULT_EXEMPTION_REASONS.items():
        assert set(wording) == {"en", "fr", "nl", "de"}, category
    assert [default_exemption_reason(AE, language) for language in ("en", "fr", "nl", "de")] == [
        "Reverse charge",
        "Autoliquidation",
        "Btw verlegd",
        "Steuerschuldnerschaft des Leistungsempfängers",
    ]
    assert "Article 138" in default_exemption_reason(K, "en") and "article 146" in default_exemption_reason(G, "fr")
    assert default_exemption_reason(E, "es") == "Exempt from VAT"  # a language without wording: English


def test_the_document_states_wording_for_its_exempt_categories_only_overridable_per_invoice():
    assert exemption_reasons({S, Z}, "fr") == {}
    assert exemption_reasons({S, AE, E}, "nl", {"E": "Vrijgesteld, art. 44 § 2 Btw-Wetboek"}) == {
        "E": "Vrijgesteld, art. 44 § 2 Btw-Wetboek",
        "AE": "Btw verlegd",
    }


def test_overrides_name_exempt_categories_only():
    assert check_exemption_reasons({"AE": "  Autoliquidation (art. 51 § 2, 5° CTVA) ", "K": ""}) == {
        "AE": "Autoliquidation (art. 51 § 2, 5° CTVA)"
    }
    with pytest.raises(InvalidAmount) as standard:
        check_exemption_reasons({"S": "No"})
    assert standard.value.field == "exemption_reasons.S"
    with pytest.raises(InvalidAmount) as long:
        check_exemption_reasons({"E": "x" * 301})
    assert long.value.field == "exemption_reasons.E" and "at most 300 characters" in long.value.message


def test_finalize_needs_the_seller_a_line_with_an_amount_and_the_buyers_vat_for_reverse_charge():
    lines = [line(1000, "0", "AE")]
    with pytest.raises(IncompleteDocument) as seller:
        check_finalizable(lines, 1000, ["address.city"], "BE0477472701")
    assert seller.value.field == "seller.address.city"
    with pytest.raises(IncompleteDocument) as empty:
        check_finalizable([line(0, "21")], 0, [], None)
    assert empty.value.field == "lines"
    with pytest.raises(IncompleteDocument) as buyer:
        check_finalizable(lines + [line(100, "0", "K")], 1100, [], None)
    assert buyer.value.field == "customer.vat_number" and "AE and K" in buyer.value.message
    check_finalizable(lines, 1000, [], "BE0477472701")
    check_finalizable([line(1000, "0", "E")], 1000, [], None)  # exempt: no VAT number needed

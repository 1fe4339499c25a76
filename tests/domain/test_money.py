from __future__ import annotations

from decimal import Decimal

import pytest

from portal.domain.errors import InvalidAmount, UnknownCurrency
from portal.domain.money import Money, currency_exponent, round_half_up


@pytest.mark.parametrize(("currency", "exponent"), [("EUR", 2), ("JPY", 0), ("KWD", 3)])
def test_currency_exponent(currency, exponent):
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["ABC", "eur", "EURO", "EU", "", None, " EUR"])
def test_unknown_currency_is_rejected(currency):
    with pytest.raises(UnknownCurrency) as excinfo:
        currency_exponent(currency)
    assert excinfo.value.field == "currency"
    assert excinfo.value.code == "unknown_currency"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5", 1),
        ("1.5", 2),
        ("2.5", 3),
        ("2.4999", 2),
        ("2.49", 2),
        ("-0.5", -1),
        ("-2.5", -3),
        ("-2.4", -2),
        ("0", 0),
        ("123456789012345678901234567890.5", 123456789012345678901234567891),
    ],
)
def test_round_half_up(value, expected):
    assert round_half_up(Decimal(value)) == expected


def test_round_half_up_refuses_float_and_nan():
    with pytest.raises(TypeError):
        round_half_up(2.5)
    with pytest.raises(ValueError):
        round_half_up(Decimal("NaN"))


def test_money_arithmetic():
    a = Money(1050, "EUR")
    b = Money(25, "EUR")
    assert a + b == Money(1075, "EUR")
    assert a - b == Money(1025, "EUR")
    assert -a == Money(-1050, "EUR")
    assert b < a and b <= a and a > b and a >= b and a >= a
    assert Money.zero("JPY") == Money(0, "JPY")


def test_money_refuses_mixed_currencies():
    eur, usd = Money(100, "EUR"), Money(100, "USD")
    with pytest.raises(ValueError):
        eur + usd
    with pytest.raises(ValueError):
        eur - usd
    with pytest.raises(ValueError):
        _ = eur < usd
    assert eur != usd


@pytest.mark.parametrize("minor", [1.5, Decimal("1"), "1", True, None])
def test_money_requires_int_minor(minor):
    with pytest.raises(TypeError):
        Money(minor, "EUR")


def test_money_validates_currency():
    with pytest.raises(UnknownCurrency):
        Money(1, "eur")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (104986, "EUR", "1049.86"),
        (5, "EUR", "0.05"),
        (0, "EUR", "0.00"),
        (-150, "EUR", "-1.50"),
        (1500, "JPY", "1500"),
        (1234, "KWD", "1.234"),
    ],
)
def test_to_decimal(minor, currency, text):
    money = Money(minor, currency)
    assert money.to_decimal() == Decimal(text)
    assert str(money.to_decimal()) == text
    assert money.format_plain() == f"{text} {currency}"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("1049.86", "EUR", 104986),
        ("0.005", "EUR", 1),
        ("0.0049", "EUR", 0),
        ("-0.005", "EUR", -1),
        ("1500.5", "JPY", 1501),
        ("1.2345", "KWD", 1235),
        ("10", "EUR", 1000),
    ],
)
def test_from_decimal_rounds_half_up(amount, currency, minor):
    assert Money.from_decimal(Decimal(amount), currency) == Money(minor, currency)


def test_from_decimal_refuses_float_and_infinity():
    with pytest.raises(TypeError):
        Money.from_decimal(10.5, "EUR")
    with pytest.raises(InvalidAmount):
        Money.from_decimal(Decimal("Infinity"), "EUR")


def test_exponent_property():
    assert Money(1, "KWD").exponent == 3

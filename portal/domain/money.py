"""Money as integer minor units of an ISO 4217 currency, and half-up rounding."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from babel.numbers import get_currency_precision, list_currencies

from portal.domain.errors import InvalidAmount, UnknownCurrency

# Enough digits that no product of bounded amounts, rates and day counts is
# ever rounded before the one explicit half-up step.
EXACT_PRECISION = 60


@functools.lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_exponent(currency: str) -> int:
    """Return how many minor-unit decimals the currency has."""
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
        and currency.isupper()
        and currency in _known_currencies()
    ):
        raise UnknownCurrency(f"Unknown currency {currency!r}", "currency")
    return get_currency_precision(currency)


def round_half_up(value: Decimal) -> int:
    """Round to an integer, halves away from zero."""
    if not isinstance(value, Decimal):
        raise TypeError(f"Expected a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"Cannot round {value}")
    with localcontext(prec=max(EXACT_PRECISION, value.adjusted() + 2)):
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_decimal(value: Decimal, field: str, *, maximum: Decimal, places: int, positive: bool = False) -> None:
    """Reject a rate or quantity that is not a finite Decimal within 0..maximum."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{field} must be a Decimal, not {type(value).__name__}")
    label = field.replace("_", " ")
    if not value.is_finite():
        raise InvalidAmount(f"The {label} must be a number", field)
    if value < 0 or (positive and value == 0):
        bound = "greater than 0" if positive else "at least 0"
        raise InvalidAmount(f"The {label} must be {bound}", field)
    if value > maximum:
        raise InvalidAmount(f"The {label} must be at most {maximum}", field)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise InvalidAmount(f"The {label} allows at most {places} decimals", field)


def check_int(value: int, field: str, *, maximum: int) -> None:
    """Reject a count or minor-unit amount that is not an int within 0..maximum."""
    # bool is an int subclass, and True is never a meaningful amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int, not {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise InvalidAmount(f"The {field.replace('_', ' ')} must be between 0 and {maximum}", field)


@dataclass(frozen=True, order=False)
class Money:
    """An amount in integer minor units of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money.minor must be an int, not {type(self.minor).__name__}")
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return nothing in the given currency."""
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str) -> Money:
        """Convert a major-unit Decimal, rounding half-up to the minor unit."""
        # int is exact too; float is refused so it can never touch money.
        if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
            raise TypeError(f"Expected a Decimal, not {type(amount).__name__}")
        amount = Decimal(amount)
        if not amount.is_finite():
            raise InvalidAmount(f"Not an amount: {amount}", "amount")
        # Shift the exponent rather than multiply, so nothing rounds early.
        sign, digits, exponent = amount.as_tuple()
        minor = Decimal((sign, digits, exponent + currency_exponent(currency)))
        return cls(round_half_up(minor), currency)

    @property
    def exponent(self) -> int:
        """Return the number of minor-unit decimals of the currency."""
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """Return the amount in major units, with the currency's decimals."""
        # Built from the digits so that no context precision can round it.
        sign, digits, exponent = Decimal(self.minor).as_tuple()
        return Decimal((sign, digits, exponent - self.exponent))

    def format_plain(self) -> str:
        """Format as '1049.86 EUR', for logs and error messages."""
        return f"{self.to_decimal():f} {self.currency}"

    def _check_same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"Cannot combine {self.format_plain()} and {other.format_plain()}")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.minor < other.minor

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.minor <= other.minor

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.minor > other.minor

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.minor >= other.minor

"""Payment methods (card, Bancontact, iDEAL, …): which provider offers which, under which code, in which currency.

Staff choose among these per invoice; the checkout is created with exactly the chosen ones that
the provider offers and the merchant has activated (Mollie's `method` list, Stripe's
`payment_method_types`). Bank transfer is not among them: it is the portal's own way to pay (the
IBAN, reference and EPC QR code on the page and the PDF), switched per invoice beside them.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Our names, in the order the admin lists them, with the label staff read.
METHOD_LABELS: dict[str, str] = {
    "card": "Card",
    "bancontact": "Bancontact",
    "ideal": "iDEAL",
    "sepa_debit": "SEPA Direct Debit",
    "paypal": "PayPal",
    "crypto": "Cryptocurrency (stablecoins)",
}
METHODS = tuple(METHOD_LABELS)

#: The provider's code for each method it can take in a one-off checkout. Mollie takes SEPA Direct
#: Debit only for recurring payments on a mandate, and no cryptocurrency.
PROVIDER_CODES: dict[str, dict[str, str]] = {
    "mollie": {"card": "creditcard", "bancontact": "bancontact", "ideal": "ideal", "paypal": "paypal"},
    "stripe": {
        "card": "card",
        "bancontact": "bancontact",
        "ideal": "ideal",
        "sepa_debit": "sepa_debit",
        "paypal": "paypal",
        "crypto": "crypto",
    },
}

#: Methods limited to some currencies (the others take any currency the provider does).
CURRENCIES: dict[str, frozenset[str]] = {
    "bancontact": frozenset({"EUR"}),
    "ideal": frozenset({"EUR"}),
    "sepa_debit": frozenset({"EUR"}),
    "crypto": frozenset({"USD"}),
}


def unknown_methods(names: Iterable[str]) -> list[str]:
    return [name for name in names if name not in METHOD_LABELS]


def supported(provider: str, currency: str) -> list[str]:
    """Return the methods the provider can take in this currency, in our order."""
    codes = PROVIDER_CODES.get(provider, {})
    return [name for name in METHODS if name in codes and currency in CURRENCIES.get(name, {currency})]


def provider_codes(provider: str, methods: Iterable[str]) -> list[str]:
    """Translate our method names into the provider's codes."""
    codes = PROVIDER_CODES[provider]
    return [codes[name] for name in methods]


def ordered(names: Iterable[str]) -> list[str]:
    """Return the names once each, in our order."""
    wanted = set(names)
    return [name for name in METHODS if name in wanted]

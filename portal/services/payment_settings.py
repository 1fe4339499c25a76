"""A merchant's payment provider settings: which providers, with which (encrypted) keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Merchant
from portal.models.online_payment import ProviderAccount
from portal.payments import methods as payment_methods
from portal.payments.encryption import encrypt_secret, key_hint, rotate_secret
from portal.payments.registry import PROVIDERS, default_credentials

# What each provider's keys look like, so a typo is refused here rather than at the customer's checkout.
_KEY_PATTERNS = {
    "mollie": re.compile(r"(live|test)_\w+"),
    "stripe": re.compile(r"(sk|rk)_(live|test)_\w+"),
}
_WEBHOOK_SECRET = re.compile(r"whsec_\w+")
#: Stands for "leave as it is" where None means "clear".
UNSET = object()


@dataclass(frozen=True)
class ProviderSetting:
    """What staff may see of one provider's settings: never the key itself."""

    enabled: bool
    source: str
    api_key_hint: str | None
    webhook_secret_set: bool
    #: The payment methods staff said the account has on; None: not said (the checkout shows what is on).
    methods: list[str] | None = None


def provider_settings(merchant: Merchant) -> dict[str, ProviderSetting]:
    """Return each provider's settings for the merchant, with keys masked."""
    accounts = {
        row.provider: row
        for row in db.session.scalars(select(ProviderAccount).where(ProviderAccount.merchant_id == merchant.id))
    }
    result = {}
    for name in PROVIDERS:
        account = accounts.get(name)
        if account is not None:
            result[name] = ProviderSetting(
                enabled=account.enabled,
                source="merchant",
                api_key_hint=account.key_hint,
                webhook_secret_set=account.webhook_secret_encrypted is not None,
                methods=None if account.methods is None else list(account.methods),
            )
            continue
        default = default_credentials(name)
        result[name] = ProviderSetting(
            enabled=default is not None,
            source="environment" if default is not None else "none",
            api_key_hint=key_hint(default.api_key) if default is not None else None,
            webhook_secret_set=bool(default and default.webhook_secret),
        )
    return result


def set_provider_account(
    merchant: Merchant,
    provider: str,
    *,
    enabled: bool,
    api_key: str | None = None,
    webhook_secret: str | None = None,
    methods: list[str] | None | object = UNSET,
) -> ProviderAccount:
    """Store or change the merchant's credentials for one provider (encrypted).

    methods: the payment methods activated in the provider account (None: not said; left out: unchanged).
    """
    if provider not in PROVIDERS:
        raise DomainError(f"Unknown provider {provider!r}", "provider")
    if api_key is not None and not _KEY_PATTERNS[provider].fullmatch(api_key.strip()):
        raise DomainError(f"This does not look like a {PROVIDERS[provider].label} API key", f"{provider}.api_key")
    if webhook_secret is not None:
        if provider != "stripe":
            raise DomainError("Only Stripe uses a webhook secret", f"{provider}.webhook_secret")
        if not _WEBHOOK_SECRET.fullmatch(webhook_secret.strip()):
            raise DomainError("A Stripe webhook secret starts with whsec_", f"{provider}.webhook_secret")
    account = db.session.scalar(
        select(ProviderAccount).where(ProviderAccount.merchant_id == merchant.id, ProviderAccount.provider == provider)
    )
    if account is None:
        if api_key is None:
            raise DomainError("Send the API key to enable this provider", f"{provider}.api_key")
        account = ProviderAccount(merchant_id=merchant.id, provider=provider)
        db.session.add(account)
    if api_key is not None:
        account.api_key_encrypted = encrypt_secret(api_key.strip())
        account.key_hint = key_hint(api_key.strip())
    if webhook_secret is not None:
        account.webhook_secret_encrypted = encrypt_secret(webhook_secret.strip())
    if provider == "stripe" and enabled and account.webhook_secret_encrypted is None:
        # Without it no Stripe webhook can be verified, and no payment would ever be confirmed.
        raise DomainError("Stripe needs the webhook signing secret too", "stripe.webhook_secret")
    if methods is not UNSET:
        account.methods = _activated(provider, methods)
    account.enabled = enabled
    db.session.flush()
    return account


def _activated(provider: str, methods) -> list[str] | None:
    if methods is None:
        return None
    unknown = payment_methods.unknown_methods(methods)
    if unknown:
        raise DomainError(f"Unknown payment method {unknown[0]!r}", f"{provider}.methods")
    takes = payment_methods.PROVIDER_CODES[provider]
    refused = [name for name in methods if name not in takes]
    if refused:
        label = PROVIDERS[provider].label
        raise DomainError(
            f"{label} does not take {payment_methods.METHOD_LABELS[refused[0]]} in a one-off checkout",
            f"{provider}.methods",
        )
    return payment_methods.ordered(methods)


@dataclass(frozen=True)
class KeyRotation:
    """What `rotate_encryption_key` did: stored secrets re-encrypted, and those already under the first key."""

    reencrypted: int
    unchanged: int


def rotate_encryption_key() -> KeyRotation:
    """Re-encrypt every stored secret with the first ENCRYPTION_KEY (idempotent: current ones stay).

    The providers' keys and webhook secrets, the signing secrets of the merchants' own webhook endpoints,
    and the merchants' Twilio auth tokens.
    """
    from portal.models.api import WebhookEndpoint
    from portal.models.sms import SmsAccount

    reencrypted = unchanged = 0
    stored = [
        *((account, ("api_key_encrypted", "webhook_secret_encrypted")) for account in _all(ProviderAccount)),
        *((endpoint, ("secret_encrypted",)) for endpoint in _all(WebhookEndpoint)),
        *((account, ("auth_token_encrypted",)) for account in _all(SmsAccount, SmsAccount.merchant_id)),
    ]
    for row, columns in stored:
        for column in columns:
            token = getattr(row, column)
            if token is None:
                continue
            rotation = rotate_secret(token)
            if rotation.changed:
                setattr(row, column, rotation.token)
                reencrypted += 1
            else:
                unchanged += 1
    db.session.flush()
    return KeyRotation(reencrypted, unchanged)


def _all(model, order=None) -> list:
    return list(db.session.scalars(select(model).order_by(order if order is not None else model.id)))

"""Which providers exist, which a merchant enabled, and the adapter for each."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models.online_payment import ProviderAccount
from portal.payments.base import Credentials, PaymentProvider
from portal.payments.encryption import decrypt_secret
from portal.payments.mollie import MollieProvider
from portal.payments.stripe import StripeProvider

PROVIDERS: dict[str, type[PaymentProvider]] = {
    MollieProvider.name: MollieProvider,
    StripeProvider.name: StripeProvider,
}


def provider_accounts(merchant_id: int) -> dict[str, ProviderAccount]:
    """Return the merchant's stored provider accounts by provider name, in one query."""
    rows = db.session.scalars(select(ProviderAccount).where(ProviderAccount.merchant_id == merchant_id))
    return {row.provider: row for row in rows}


def default_credentials(name: str) -> Credentials | None:
    """Return the environment's credentials for a single-merchant deployment, if set."""
    config = current_app.config
    if name == "mollie" and config.get("MOLLIE_API_KEY"):
        return Credentials(api_key=config["MOLLIE_API_KEY"])
    if name == "stripe" and config.get("STRIPE_SECRET_KEY"):
        return Credentials(api_key=config["STRIPE_SECRET_KEY"], webhook_secret=config.get("STRIPE_WEBHOOK_SECRET"))
    return None


def merchant_credentials(merchant_id: int, name: str, *, include_disabled: bool = False) -> Credentials | None:
    """Return the merchant's credentials for a provider; stored settings win over the environment.

    Payments already created still need their provider after it was disabled: include_disabled.
    """
    account = provider_accounts(merchant_id).get(name)
    if account is not None:
        if not (account.enabled or include_disabled):
            return None
        secret = account.webhook_secret_encrypted
        return Credentials(
            api_key=decrypt_secret(account.api_key_encrypted),
            webhook_secret=decrypt_secret(secret) if secret else None,
        )
    return default_credentials(name)


def enabled_providers(merchant_id: int) -> list[str]:
    """Return the providers the merchant's customers may pay with, in a stable order."""
    return enabled_among(provider_accounts(merchant_id))


def enabled_among(accounts: dict[str, ProviderAccount]) -> list[str]:
    """Return the providers enabled given the merchant's stored accounts (the environment's defaults otherwise)."""
    enabled = []
    for name in PROVIDERS:
        account = accounts.get(name)
        if account.enabled if account is not None else default_credentials(name) is not None:
            enabled.append(name)
    return enabled


def build_provider(name: str, credentials: Credentials) -> PaymentProvider:
    """Return the adapter for a provider, pointed at the configured API base."""
    config = current_app.config
    timeout = float(config["PROVIDER_TIMEOUT_SECONDS"])
    if name == "mollie":
        return MollieProvider(credentials, api_base=config["MOLLIE_API_ENDPOINT"], timeout=(min(5, timeout), timeout))
    if name == "stripe":
        return StripeProvider(
            credentials,
            api_base=config["STRIPE_API_BASE"],
            max_network_retries=int(config["STRIPE_MAX_NETWORK_RETRIES"]),
            timeout=timeout,
        )
    raise KeyError(name)


def provider_for(merchant_id: int, name: str, *, include_disabled: bool = False) -> PaymentProvider | None:
    """Return the merchant's adapter for a provider, or None when it is not enabled."""
    if name not in PROVIDERS:
        return None
    credentials = merchant_credentials(merchant_id, name, include_disabled=include_disabled)
    return None if credentials is None else build_provider(name, credentials)

"""Merchants, their staff accounts, API keys and late-fee policy."""

from __future__ import annotations

import hashlib
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from portal.domain.errors import DomainError
from portal.domain.late_fees import LateFeePolicy
from portal.domain.money import currency_exponent
from portal.extensions import db
from portal.models import ApiKey, Merchant, StaffUser
from portal.models.base import utcnow
from portal.services.errors import Conflict

API_KEY_PREFIX = "ipk_"


def create_merchant(*, name: str, slug: str, timezone: str = "Europe/Brussels", currency: str = "EUR") -> Merchant:
    """Create a merchant with no late-fee policy."""
    name = name.strip()
    if not name:
        raise DomainError("A merchant needs a name", "name")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"Unknown time zone {timezone!r}", "timezone") from None
    currency_exponent(currency)
    if db.session.scalar(select(Merchant.id).where(Merchant.slug == slug)) is not None:
        raise Conflict(f"A merchant with slug {slug!r} exists already", "slug")
    merchant = Merchant(name=name, slug=slug, timezone=timezone, default_currency=currency)
    db.session.add(merchant)
    db.session.flush()
    return merchant


def set_late_fee_policy(merchant: Merchant, policy: LateFeePolicy) -> None:
    """Replace the policy that future finalizes copy; issued invoices keep theirs."""
    merchant.late_annual_rate = policy.annual_rate
    merchant.late_fee_percent = policy.fee_percent
    merchant.late_fee_minimum = policy.fee_minimum
    merchant.late_grace_days = policy.grace_days
    db.session.flush()


def set_send_when_finalized(merchant: Merchant, enabled: bool) -> None:
    """Choose whether finalizing an invoice mails it to the customer at once ("invoice ready for payment")."""
    merchant.send_when_finalized = bool(enabled)
    db.session.flush()


def create_staff_user(merchant: Merchant, *, email: str, name: str, password: str) -> StaffUser:
    """Create a staff login for the merchant."""
    email = email.strip().lower()
    if len(password) < 10:
        raise DomainError("A password needs at least 10 characters", "password")
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise Conflict(f"A staff account for {email} exists already", "email")
    user = StaffUser(
        merchant=merchant, email=email, name=name.strip() or email, password_hash=generate_password_hash(password)
    )
    db.session.add(user)
    db.session.flush()
    return user


def hash_api_key(token: str) -> str:
    """Return the stored form of an API key."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_key(merchant: Merchant, name: str = "default") -> tuple[ApiKey, str]:
    """Create an API key and return it with the secret, which is never stored."""
    token = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(merchant=merchant, name=name, prefix=token[:12], key_hash=hash_api_key(token))
    db.session.add(key)
    db.session.flush()
    return key, token


def merchant_for_api_key(token: str) -> Merchant | None:
    """Return the merchant an active API key belongs to, and note its use."""
    if not token.startswith(API_KEY_PREFIX) or len(token) > 200:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(token), ApiKey.revoked_at.is_(None)))
    if key is None:
        return None
    key.last_used_at = utcnow()
    return key.merchant

"""Merchants, their legal identity, staff accounts, API keys and late-fee policy."""

from __future__ import annotations

import hashlib
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from portal.domain.errors import DomainError
from portal.domain.identifiers import check_bic, check_iban, check_party_numbers, optional_text
from portal.domain.late_fees import LateFeePolicy
from portal.domain.money import currency_exponent
from portal.domain.parties import Address, Seller
from portal.domain.passwords import password_problem
from portal.extensions import db
from portal.models import ApiKey, Merchant, StaffUser
from portal.models.base import utcnow
from portal.models.merchant import STAFF_ROLES
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


def set_company(
    merchant: Merchant,
    *,
    legal_name: str,
    address: Address | None,
    email: str,
    name: str | None = None,
    vat_number: str | None = None,
    company_number: str | None = None,
    phone: str | None = None,
    website: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
) -> Seller:
    """Replace the merchant's legal identity; documents issued before keep the one they were issued with.

    VAT and company numbers are checked by their national rules, the IBAN and BIC by theirs; a wrong
    one is refused naming its field. The trading name shown in the portal changes only when given.
    """
    legal_name = optional_text(legal_name, "legal_name", 200)
    if legal_name is None:
        raise DomainError("The legal name is required", "legal_name")
    if address is None:
        raise DomainError("The address is required: invoices must show it", "address.line1")
    email = optional_text(email, "email", 254)
    if email is None:
        raise DomainError("The email address is required", "email")
    vat, company = check_party_numbers(vat_number, company_number, address.country)
    merchant.name = optional_text(name, "name", 200) or merchant.name or legal_name
    merchant.legal_name = legal_name
    merchant.set_address(address)
    merchant.support_email = email
    merchant.vat_number = vat
    merchant.company_number = company
    merchant.phone = optional_text(phone, "phone", 40)
    merchant.website = optional_text(website, "website", 200)
    merchant.iban = check_iban(iban) if (iban or "").strip() else None
    merchant.bic = check_bic(bic) if (bic or "").strip() else None
    db.session.flush()
    return merchant.legal_identity


def set_send_when_finalized(merchant: Merchant, enabled: bool) -> None:
    """Choose whether finalizing an invoice mails it to the customer at once ("invoice ready for payment")."""
    merchant.send_when_finalized = bool(enabled)
    db.session.flush()


def set_attach_ubl_to_mail(merchant: Merchant, enabled: bool) -> None:
    """Choose whether the invoice mail carries the UBL e-invoice beside its PDF."""
    merchant.attach_ubl_to_mail = bool(enabled)
    db.session.flush()


def create_staff_user(merchant: Merchant, *, email: str, name: str, password: str, role: str = "owner") -> StaffUser:
    """Create a staff login for the merchant, an owner unless another role is named."""
    email = email.strip().lower()
    if role not in STAFF_ROLES:
        raise DomainError(f"Unknown role {role!r}: choose one of {', '.join(STAFF_ROLES)}", "role")
    problem = password_problem(password)
    if problem:
        raise DomainError(problem, "password")
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise Conflict(f"A staff account for {email} exists already", "email")
    user = StaffUser(
        merchant=merchant,
        email=email,
        name=name.strip() or email,
        role=role,
        password_hash=generate_password_hash(password),
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


def api_key_for_token(token: str) -> ApiKey | None:
    """Return the active API key a token is, and note its use."""
    if not token.startswith(API_KEY_PREFIX) or len(token) > 200:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(token), ApiKey.revoked_at.is_(None)))
    if key is None:
        return None
    key.last_used_at = utcnow()
    return key


def merchant_for_api_key(token: str) -> Merchant | None:
    """Return the merchant an active API key belongs to, and note its use."""
    key = api_key_for_token(token)
    return None if key is None else key.merchant

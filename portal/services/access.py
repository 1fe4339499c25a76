"""Who may act for a merchant: staff logins and API keys."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.domain.errors import DomainError
from portal.domain.passwords import password_problem
from portal.extensions import db
from portal.input_checks import parse_db_id
from portal.models import ApiKey, Merchant, StaffUser
from portal.models.base import utcnow
from portal.models.merchant import STAFF_ROLES
from portal.services.errors import Conflict, NotFound

# Checked when no account matches, so a wrong address costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def authenticate_staff(email: str, password: str) -> StaffUser | None:
    """Return the active staff account the email and password belong to, else None."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def load_staff_user(session_id: str) -> StaffUser | None:
    """Return the active staff account a session names ("id:version", Flask-Login's user loader).

    A session signed before the account's last sign-out, password change or deactivation names an
    older version and is refused, however valid its signature.
    """
    user_id, _, version = (session_id or "").partition(":")
    user_id = parse_db_id(user_id)
    if user_id is None:
        return None
    user = db.session.get(StaffUser, user_id)
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def end_sessions(user: StaffUser) -> None:
    """Make every session the account holds invalid (sign-out everywhere, new password, deactivation)."""
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()


def list_staff(merchant: Merchant) -> list[StaffUser]:
    """Return the merchant's staff accounts by email."""
    return list(
        db.session.scalars(select(StaffUser).where(StaffUser.merchant_id == merchant.id).order_by(StaffUser.email))
    )


def get_staff_user(merchant: Merchant, user_id: int) -> StaffUser:
    """Return the merchant's staff account, or NotFound for anyone else's."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.id == user_id, StaffUser.merchant_id == merchant.id))
    if user is None:
        raise NotFound("No such staff account")
    return user


def _other_active_owners(user: StaffUser) -> int:
    """Count the merchant's active owners besides this account, holding the merchant's row.

    The lock makes two owners demoting each other at once take turns, so one of them is refused
    instead of both succeeding and leaving nobody who can manage the staff; the account is read
    again after it, as the turn before may have changed it.
    """
    db.session.execute(select(Merchant.id).where(Merchant.id == user.merchant_id).with_for_update())
    db.session.refresh(user)
    return db.session.scalar(
        select(func.count(StaffUser.id)).where(
            StaffUser.merchant_id == user.merchant_id,
            StaffUser.role == "owner",
            StaffUser.active.is_(True),
            StaffUser.id != user.id,
        )
    )


def _keep_an_owner(user: StaffUser, message: str) -> None:
    others = _other_active_owners(user)
    if user.role == "owner" and user.active and others == 0:
        raise Conflict(message, "role")


def set_staff_active(user: StaffUser, active: bool, *, acting: StaffUser) -> None:
    """Enable or disable a staff login; nobody locks themselves out, and an owner always remains."""
    if user.id == acting.id and not active:
        raise Conflict("You cannot disable your own account", "active")
    if not active:
        _keep_an_owner(user, f"{user.email} is the last active owner: make someone else an owner first")
    if user.active and not active:
        end_sessions(user)
    user.active = active
    db.session.flush()


def set_staff_role(user: StaffUser, role: str) -> None:
    """Give a staff member another role; the last active owner stays an owner."""
    if role not in STAFF_ROLES:
        raise DomainError(f"Unknown role {role!r}: choose one of {', '.join(STAFF_ROLES)}", "role")
    if role == user.role:
        return
    if role != "owner":
        _keep_an_owner(user, f"{user.email} is the last active owner: make someone else an owner first")
    user.role = role
    db.session.flush()


def change_password(user: StaffUser, *, current: str, new: str) -> None:
    """Replace a staff member's password after checking the current one."""
    if not check_password_hash(user.password_hash, current or ""):
        raise DomainError("The current password is wrong", "current_password")
    set_password(user, new)


def set_password(user: StaffUser, new: str) -> None:
    """Give a staff account a new password (after change_password's check, or an operator's reset)."""
    problem = password_problem(new)
    if problem:
        raise DomainError(problem, "new_password")
    user.password_hash = generate_password_hash(new)
    end_sessions(user)  # whoever held the old password holds no session either


def list_api_keys(merchant: Merchant) -> list[ApiKey]:
    """Return the merchant's API keys, newest first."""
    return list(
        db.session.scalars(
            select(ApiKey).where(ApiKey.merchant_id == merchant.id).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def revoke_api_key(merchant: Merchant, key_id: int) -> ApiKey:
    """Revoke one of the merchant's API keys; requests with it are refused from now on."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.merchant_id == merchant.id))
    if key is None:
        raise NotFound("No such API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    db.session.flush()
    return key

"""Encryption of the provider keys merchants store (Fernet, keys derived with HKDF, rotated with MultiFernet)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# A fixed info string keeps this key apart from anything else derived from the same secret.
_INFO = b"invoice-portal provider credentials v1"


def _fernet_of(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def _secrets() -> list[str]:
    # ENCRYPTION_KEY is a list (create_app splits PORTAL_ENCRYPTION_KEY); development falls back to SECRET_KEY.
    return list(current_app.config.get("ENCRYPTION_KEY") or [current_app.config["SECRET_KEY"]])


def _fernet() -> MultiFernet:
    """Encrypt with the first secret, decrypt with any of them."""
    return MultiFernet([_fernet_of(secret) for secret in _secrets()])


def encrypt_secret(value: str) -> bytes:
    """Encrypt a provider secret for storage (with the first ENCRYPTION_KEY)."""
    return _fernet().encrypt(value.encode("utf-8"))


def decrypt_secret(token: bytes) -> str:
    """Decrypt a stored provider secret with whichever ENCRYPTION_KEY encrypted it."""
    try:
        return _fernet().decrypt(bytes(token)).decode("utf-8")
    except InvalidToken as exc:
        raise RuntimeError(
            "A stored provider key cannot be decrypted: is the key it was encrypted with still in PORTAL_ENCRYPTION_KEY?"
        ) from exc


@dataclass(frozen=True)
class Rotation:
    """What rotate_secret did to one stored value."""

    token: bytes
    changed: bool


def rotate_secret(token: bytes) -> Rotation:
    """Re-encrypt a stored value with the first key; one already encrypted with it is left as it is."""
    current = _fernet_of(_secrets()[0])
    try:
        current.decrypt(bytes(token))
        return Rotation(bytes(token), changed=False)
    except InvalidToken:
        pass
    try:
        return Rotation(_fernet().rotate(bytes(token)), changed=True)
    except InvalidToken as exc:
        raise RuntimeError(
            "A stored provider key cannot be decrypted with any key in PORTAL_ENCRYPTION_KEY: add the key it was "
            "encrypted with (after the new one) and run the rotation again"
        ) from exc


_KNOWN_PREFIX = re.compile(r"(?:(?:sk|rk|live|test)_)+")


def key_hint(value: str) -> str:
    """Return the part of a key that may be shown: its kind (sk_test_, live_…) and last four characters."""
    match = _KNOWN_PREFIX.match(value)
    prefix = match.group(0) if match else ""
    return f"{prefix}…{value[-4:]}" if len(value) - len(prefix) > 8 else f"{prefix}…"

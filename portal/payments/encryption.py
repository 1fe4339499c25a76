"""Encryption of the provider keys merchants store (Fernet, key derived with HKDF)."""

from __future__ import annotations

import base64
import re

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# A fixed info string keeps this key apart from anything else derived from the same secret.
_INFO = b"invoice-portal provider credentials v1"


def _fernet() -> Fernet:
    secret = current_app.config.get("ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(value: str) -> bytes:
    """Encrypt a provider secret for storage."""
    return _fernet().encrypt(value.encode("utf-8"))


def decrypt_secret(token: bytes) -> str:
    """Decrypt a stored provider secret; a changed ENCRYPTION_KEY makes it unreadable."""
    try:
        return _fernet().decrypt(bytes(token)).decode("utf-8")
    except InvalidToken as exc:
        raise RuntimeError("A stored provider key cannot be decrypted: was ENCRYPTION_KEY changed?") from exc


_KNOWN_PREFIX = re.compile(r"(?:(?:sk|rk|live|test)_)+")


def key_hint(value: str) -> str:
    """Return the part of a key that may be shown: its kind (sk_test_, live_…) and last four characters."""
    match = _KNOWN_PREFIX.match(value)
    prefix = match.group(0) if match else ""
    return f"{prefix}…{value[-4:]}" if len(value) - len(prefix) > 8 else f"{prefix}…"

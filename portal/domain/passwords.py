"""What a staff password must be: long enough, not one character repeated, not one of the most common passwords."""

from __future__ import annotations

from functools import cache
from importlib import resources

MIN_LENGTH = 10
#: Shipped inside the package (package data), so the installed wheel has it.
COMMON_PASSWORDS_FILE = "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """Return the bundled list of common passwords, in lower case."""
    text = resources.files(__package__).joinpath(COMMON_PASSWORDS_FILE).read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str | None) -> str | None:
    """Return why a new password is refused, or None when it will do."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters"
    if len(set(password)) == 1:
        return "A password cannot be one character repeated"
    if password.strip().lower() in common_passwords():
        return "This password is one of the most common ones, which are tried first: choose another"
    return None

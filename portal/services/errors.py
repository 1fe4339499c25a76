"""Errors a use case raises besides the domain's own."""

from __future__ import annotations

from portal.domain.errors import DomainError


class NotFound(DomainError):
    """The object does not exist, or belongs to someone else (the two look the same)."""

    code = "not_found"


class Conflict(DomainError):
    """The object is in a state that does not allow the change."""

    code = "conflict"


class TooLarge(DomainError):
    """The input is larger than allowed (an upload over its size limit)."""

    code = "too_large"

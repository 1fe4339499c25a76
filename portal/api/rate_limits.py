"""The API's rate limits, in Flask-Limiter's storage (Redis when several workers run, so they share the counts).

- Every API key has its own limit (PORTAL_API_RATE_LIMIT, default 600 a minute), counted after the key
  is known, so a wrong key never spends a real key's budget. Each answer says where the key stands
  with `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the window
  resets, as the IETF draft has it) and `RateLimit-Policy`; over the limit, 429 `rate_limited`
  with `Retry-After`.
- Failed authentication is limited per client address (PORTAL_API_AUTH_FAILURE_RATE_LIMIT, default
  60 a minute): past it, every request from that address is 429 until the window ends, before any
  key is looked at, so guessing keys gets nowhere.

When the storage is unreachable, requests pass (and it is logged): an outage of Redis must not stop
integrations, and Flask-Limiter falls back to counting in memory meanwhile.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Response, current_app, g
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from portal.extensions import limiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Standing:
    """Where one counter stands after this request."""

    item: RateLimitItem
    remaining: int
    reset_at: float
    allowed: bool

    @property
    def reset_in(self) -> int:
        return max(0, math.ceil(self.reset_at - time.time()))


class RateLimited(Exception):
    """Over a limit: answered 429 with Retry-After."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message, self.retry_after = message, max(1, retry_after)


def _items(setting: str) -> list[RateLimitItem]:
    return parse_many(str(current_app.config[setting]))


def _scope(name: str) -> str:
    # Flask-Limiter applies RATELIMIT_KEY_PREFIX to its own limits only: ours carry it themselves.
    return f"{current_app.config.get('RATELIMIT_KEY_PREFIX') or ''}api-{name}"


def _storage_trouble(exc: Exception) -> None:
    log.warning("API rate limits not applied: the limits' storage failed (%s: %s)", type(exc).__name__, exc)


def check_key(api_key_id: int) -> None:
    """Count a request of this API key; raise RateLimited past its limit, and keep the standing for the headers."""
    standings = []
    try:
        for item in _items("API_RATE_LIMIT"):
            allowed = limiter.limiter.hit(item, _scope("key"), str(api_key_id))
            stats = limiter.limiter.get_window_stats(item, _scope("key"), str(api_key_id))
            standings.append(Standing(item, stats.remaining, stats.reset_time, allowed))
    except Exception as exc:  # noqa: BLE001 - any storage failure: let the request through
        _storage_trouble(exc)
        return
    if not standings:
        return
    refused = [s for s in standings if not s.allowed]
    # The headers describe the counter closest to refusing (the one refusing, if any).
    g.rate_limit_standing = refused[0] if refused else min(standings, key=lambda s: (s.remaining, -s.reset_at))
    if refused:
        raise RateLimited(
            "Too many requests for this API key: slow down and retry after the time in Retry-After",
            max(s.reset_in for s in refused),
        )


def refuse_if_failing_address() -> None:
    """Raise RateLimited when this address has failed authentication too often lately."""
    address = get_remote_address() or "unknown"
    try:
        for item in _items("API_AUTH_FAILURE_RATE_LIMIT"):
            if not limiter.limiter.test(item, _scope("auth-failures"), address):
                stats = limiter.limiter.get_window_stats(item, _scope("auth-failures"), address)
                raise RateLimited(
                    "Too many failed authentications from this address: retry after the time in Retry-After",
                    math.ceil(stats.reset_time - time.time()),
                )
    except RateLimited:
        raise
    except Exception as exc:  # noqa: BLE001
        _storage_trouble(exc)


def note_failed_authentication() -> None:
    """Count a failed authentication against the client's address."""
    address = get_remote_address() or "unknown"
    try:
        for item in _items("API_AUTH_FAILURE_RATE_LIMIT"):
            limiter.limiter.hit(item, _scope("auth-failures"), address)
    except Exception as exc:  # noqa: BLE001
        _storage_trouble(exc)


def add_headers(response: Response) -> Response:
    """Tell the client where its key stands (RateLimit-* headers), when this request was counted."""
    standing: Standing | None = g.pop("rate_limit_standing", None)
    if standing is not None:
        response.headers["RateLimit-Limit"] = str(standing.item.amount)
        response.headers["RateLimit-Remaining"] = str(max(standing.remaining, 0))
        response.headers["RateLimit-Reset"] = str(standing.reset_in)
        response.headers["RateLimit-Policy"] = f"{standing.item.amount};w={standing.item.get_expiry()}"
    return response

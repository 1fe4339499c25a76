"""Idempotency-Key on every write of /api/v1, with Stripe's semantics.

The first request with a key inserts and commits a row (the lock) before its operation runs; the
operation's answer is stored in that row in the same transaction as its effect. So:
- a retry with the same key and the same request gets the stored answer, with `Idempotent-Replayed: true`,
  and changes nothing;
- the same key with another method, path or body is 422 `idempotency_key_reused`;
- a request arriving while the first one still runs finds the lock: 409 `idempotency_key_in_use`;
- a request refused before its operation started (401, a malformed or invalid body) stores nothing,
  and an unexpected failure (500, 503) releases the key: its effect was rolled back, so trying again is safe.

A lock still held after LOCK_TIMEOUT belongs to a request that died: its effect never committed (the
answer commits with the effect), so the next request takes the key over.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask import Response, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models.api import IdempotencyKey
from portal.models.base import utcnow

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: How long a key and its answer are kept.
RETENTION = timedelta(hours=24)
#: Longer than any request may run (statement timeout 20 s, gunicorn's worker timeout 30 s).
LOCK_TIMEOUT = timedelta(minutes=2)
MAX_KEY_LENGTH = 255

#: The OpenAPI description of the header, shown on every write operation.
HEADER_DESCRIPTION = (
    "Any unique string (a UUID) up to 255 characters. The first answer to a request with this key is kept "
    "24 hours: a retry with the same key and the same request gets it again, with `Idempotent-Replayed: true`, "
    "and changes nothing. The same key with another request is 422 `idempotency_key_reused`; while the first "
    "request runs, another with its key is 409 `idempotency_key_in_use`. Keys are per API key."
)


class IdempotencyError(Exception):
    """The key cannot be used for this request: answered as an API error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Claim:
    """This request holds the key: its answer is stored in the row when it finishes."""

    row_id: int


def _canonical_body(raw: bytes) -> bytes:
    """Return the body in one spelling, so key order and spacing do not make two requests differ."""
    try:
        parsed = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        return raw
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), default=lambda d: f"decimal:{d}").encode()


def _multipart_body() -> bytes:
    """Return a multipart body's fields and files in one spelling: its boundary is random on every attempt."""
    files = []
    for name, upload in request.files.items(multi=True):
        upload.stream.seek(0)
        content = hashlib.sha256(upload.stream.read()).hexdigest()
        upload.stream.seek(0)  # the operation reads the file after us
        files.append([name, upload.filename or "", content])
    fields = sorted([name, value] for name, value in request.form.items(multi=True))
    return json.dumps({"fields": fields, "files": sorted(files)}).encode()


def fingerprint() -> str:
    """Return the SHA-256 of the request's method, path, query and body."""
    digest = hashlib.sha256()
    body = _multipart_body() if request.mimetype == "multipart/form-data" else _canonical_body(request.get_data())
    for part in (request.method.encode(), request.full_path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def requested_key() -> str | None:
    """Return the request's Idempotency-Key, None when it is not a write or has none; refuse a malformed one."""
    if request.method not in WRITE_METHODS:
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyError(
            400, "invalid_idempotency_key", f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters"
        )
    return key


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.response_body or "", row.response_status)
    if row.response_body:
        response.mimetype = "application/json"
    response.headers[REPLAYED] = "true"
    return response


def claim() -> Claim | Response | None:
    """Take the request's key before its operation runs: a Claim, the stored answer to replay, or None (no key).

    Commits: the lock row must be visible to a concurrent request before this one acts.
    """
    key = requested_key()
    if key is None:
        return None
    print_ = fingerprint()
    now = utcnow()
    row = IdempotencyKey(
        merchant_id=g.merchant.id,
        api_key_id=g.api_key_id,
        key=key,
        fingerprint=print_,
        method=request.method,
        path=request.path[:500],
        locked_at=now,
        created_at=now,
    )
    db.session.add(row)
    try:
        db.session.commit()
        return Claim(row.id)
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.api_key_id == g.api_key_id, IdempotencyKey.key == key)
    )
    if existing is None:
        # Purged between our insert and this read: the key is free again.
        return claim()
    if existing.created_at < now - RETENTION:
        return _take_over(existing, print_, now, expired=True) or claim()
    if existing.fingerprint != print_:
        raise IdempotencyError(
            422,
            "idempotency_key_reused",
            f"This {HEADER} was used for another request ({existing.method} {existing.path} with another body): "
            "use a new key for a new request",
        )
    if existing.response_status is not None:
        return _replay(existing)
    if existing.locked_at < now - LOCK_TIMEOUT:
        taken = _take_over(existing, print_, now, expired=False)
        if taken is not None:
            return taken
    raise IdempotencyError(
        409, "idempotency_key_in_use", f"A request with this {HEADER} is still running: retry in a moment"
    )


def _take_over(row: IdempotencyKey, print_: str, now, *, expired: bool) -> Claim | None:
    """Take a key whose lock was left behind (or that expired) with a compare-and-set; None when another won."""
    if expired:
        condition = IdempotencyKey.created_at < now - RETENTION
    else:
        condition = (IdempotencyKey.locked_at == row.locked_at) & IdempotencyKey.response_status.is_(None)
    values = {"locked_at": now, "fingerprint": print_}
    if expired:
        values.update(
            created_at=now,
            method=request.method,
            path=request.path[:500],
            response_status=None,
            response_body=None,
            completed_at=None,
        )
    taken = db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row.id, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if taken == 1:
        log.info("idempotency key %s taken over (%s)", row.id, "expired" if expired else "lock left behind")
        return Claim(row.id)
    return None


def store(claimed: Claim | None, response: Response) -> None:
    """Keep the answer in the claimed row, in the caller's transaction (with the operation's effect)."""
    if claimed is None:
        return
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claimed.row_id)
        .values(
            response_status=response.status_code,
            response_body=response.get_data(as_text=True),
            completed_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def store_refusal(claimed: Claim | None, response: Response) -> None:
    """Keep an answer refusing the operation (its effect rolled back), in a transaction of its own."""
    if claimed is None:
        return
    store(claimed, response)
    db.session.commit()


def release(claimed: Claim | None) -> None:
    """Free the key after an unexpected failure, so the client may try again with it; never raise."""
    if claimed is None:
        return
    try:
        db.session.rollback()
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claimed.row_id))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database may be down; the lock then times out
        log.warning("could not release idempotency key %s", claimed.row_id, exc_info=True)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            pass


def purge_expired(now=None) -> int:
    """Delete keys older than 24 hours; return how many."""
    cutoff = (now or utcnow()) - RETENTION
    return db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff).execution_options(synchronize_session=False)
    ).rowcount

"""The integrators' API's own records: idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow


class IdempotencyKey(Base):
    """A write request's Idempotency-Key and, once it finished, its response (replayed for 24 hours).

    The row is inserted and committed before the operation runs, so a concurrent request with the
    same key finds it; the response is stored in the same transaction as the operation's effect.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key"),
        # The purge walks the expired rows.
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Keys are scoped per API key, as Stripe's are.
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    #: The client's Idempotency-Key header.
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the method, the path and the body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: The request it was first used for, e.g. POST /api/v1/invoices (shown when it is reused).
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    #: The stored answer's status; None while the first request is still running.
    response_status: Mapped[int | None] = mapped_column(Integer)
    #: The stored answer's JSON body ("" for 204).
    response_body: Mapped[str | None] = mapped_column(Text)
    #: When the running request took the key; a lock left behind by a request that died is taken over later.
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Kept 24 hours from here.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Background jobs (the generalised outbox) and the periods the workers' schedule has fired."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """A unit of background work, written in the transaction of the change that causes it."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The workers' claim: due jobs by priority and time; expired leases by status and lease.
        Index("ix_jobs_due", "status", "priority", "run_at", "id"),
        Index("ix_jobs_lease", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose work it is; None for the deployment's own duties (the schedule's), which no merchant sees.
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: The job type's registered name, e.g. "mail.deliver", "invoice.send"; it picks the handler.
    kind: Mapped[str] = mapped_column(String(64))
    #: Workers started with --queues take only these: "mail" or "default".
    queue: Mapped[str] = mapped_column(String(32), default="default")
    #: Lower runs first among due jobs (0 first): a mail ready to go (0) passes the renders still waiting (10).
    priority: Mapped[int] = mapped_column(Integer, default=10)
    #: The handler's arguments: ids and small values only, never documents.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: queued → running → done; back to queued with a later run_at after a failure; failed for good (dead letter).
    status: Mapped[str] = mapped_column(String(8), default="queued")
    #: Times a worker took it (the last one included).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Attempts allowed before it becomes a dead letter.
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    #: Not before this time; pushed back exponentially after each failure.
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A worker holds the job until then; past it the worker is presumed dead and the job is due again.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Random token of the worker holding the lease; only that worker may record the outcome.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    #: Which worker holds or last held it (host:pid), for the Jobs page.
    worker: Mapped[str | None] = mapped_column(String(100))
    #: Why the last attempt failed.
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Times staff pressed "retry" on it.
    retried: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the last attempt started.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it was done or given up.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScheduledRun(Base):
    """One row per duty and period: the unique key makes each period fire once across all workers."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("duty", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The duty's name, e.g. "bill-monthly".
    duty: Mapped[str] = mapped_column(String(64))
    #: The period it fired for, e.g. "2026-03-02T09:00:00" for an hourly duty.
    period: Mapped[str] = mapped_column(String(32))
    #: The job it enqueued.
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

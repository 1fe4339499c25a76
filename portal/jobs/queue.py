"""The job queue in the database: enqueue in the caller's transaction, claim with a lease, record the outcome.

PostgreSQL is the queue in production: a claim selects the next due row FOR UPDATE SKIP LOCKED, so
any number of workers on any number of machines take different jobs without waiting on each other.
SQLite has no row locks; there the claim is a compare-and-set on the row, and only one worker wins it.
A worker that dies leaves its lease behind; once the lease has passed the job is due again.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.job import Job
from portal.services.errors import Conflict

DEFAULT_QUEUE = "default"
#: The worker's identity on the Jobs page.
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"[:100]


class PermanentError(Exception):
    """Raised by a handler when trying again cannot help: the job becomes a dead letter at once."""


@dataclass(frozen=True)
class JobType:
    """What a kind of job is: its handler and how it is retried."""

    name: str
    #: Called with the payload and the claimed job inside an app context; it flushes, the worker commits.
    handler: Callable[[dict[str, Any], Job], None]
    queue: str = DEFAULT_QUEUE
    #: Lower runs first among due jobs (0 first).
    priority: int = 10
    max_attempts: int = 8
    #: Longer than the job ever runs: a worker still holding it after this is presumed dead.
    lease: timedelta = timedelta(minutes=10)
    first_retry: timedelta = timedelta(seconds=30)
    longest_retry: timedelta = timedelta(hours=2)
    #: Called (in the transaction that records it) after a failed attempt: (payload, job, error, final).
    on_failure: Callable[[dict[str, Any], Job, str, bool], None] | None = None

    def retry_delay(self, attempts: int) -> timedelta:
        """Return the wait after the given number of failed attempts: 30 s, 1 min, 2 min, … up to 2 h."""
        return min(self.first_retry * 2 ** max(attempts - 1, 0), self.longest_retry)


#: Every job type by name, filled by portal.jobs.tasks.
JOB_TYPES: dict[str, JobType] = {}


def job_type(name: str, **options) -> Callable:
    """Register the decorated function as the handler of jobs of this kind."""

    def register(handler: Callable[[dict[str, Any], Job], None]):
        JOB_TYPES[name] = JobType(name=name, handler=handler, **options)
        return handler

    return register


def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    merchant_id: int | None = None,
    queue: str | None = None,
    run_at: datetime | None = None,
) -> Job:
    """Add a job inside the caller's transaction (flushed, not committed): it exists only if the change does."""
    known = JOB_TYPES.get(kind)
    job = Job(
        kind=kind,
        queue=queue or (known.queue if known else DEFAULT_QUEUE),
        priority=known.priority if known else 10,
        payload=payload or {},
        merchant_id=merchant_id,
        status="queued",
        attempts=0,
        max_attempts=known.max_attempts if known else 8,
        run_at=run_at or utcnow(),
        retried=0,
    )
    db.session.add(job)
    db.session.flush()
    return job


def _claimable(now: datetime):
    return or_(
        and_(Job.status == "queued", Job.run_at <= now),
        # A worker that died mid-job left its lease behind: the job is due again.
        and_(Job.status == "running", Job.lease_until < now),
    )


@dataclass(frozen=True)
class Claim:
    job_id: int
    token: str
    kind: str


def give_up_on_lost_jobs(now: datetime) -> int:
    """Turn jobs whose worker died on every attempt into dead letters instead of retrying them forever."""
    count = db.session.execute(
        update(Job)
        .where(Job.status == "running", Job.lease_until < now, Job.attempts >= Job.max_attempts)
        .values(
            status="failed",
            claim_token=None,
            lease_until=None,
            finished_at=now,
            last_error="The worker was lost while running it (killed or out of time) on every attempt",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return count


def claim_next(queues: Sequence[str] | None = None, now: datetime | None = None) -> Claim | None:
    """Take the next due job for this worker, in a transaction of its own (committed before it runs)."""
    now = now or utcnow()
    # Two simple queries rather than one with OR, so each walks its index even with 100,000 jobs queued.
    lost = (
        select(Job.id, Job.kind)
        .where(Job.status == "running", Job.lease_until < now, Job.attempts < Job.max_attempts)
        .order_by(Job.lease_until)
    )
    due = (
        select(Job.id, Job.kind)
        .where(Job.status == "queued", Job.run_at <= now)
        .order_by(Job.priority, Job.run_at, Job.id)  # the order of ix_jobs_due: no sort, whatever the backlog
    )
    if queues:
        lost = lost.where(Job.queue.in_(list(queues)))
        due = due.where(Job.queue.in_(list(queues)))
    locking = db.session.get_bind().dialect.name == "postgresql"
    for _ in range(10):
        row = None
        for query in (lost, due):
            query = query.limit(1)
            if locking:
                # Concurrent workers skip the rows another one is claiming instead of queueing behind it.
                query = query.with_for_update(skip_locked=True)
            row = db.session.execute(query).first()
            if row is not None:
                break
        if row is None:
            db.session.commit()
            return None
        job_id, kind = row
        known = JOB_TYPES.get(kind)
        lease = known.lease if known else timedelta(minutes=10)
        token = secrets.token_hex(16)
        # Compare-and-set: on SQLite two workers may pick the same id, and only one wins here.
        claimed = db.session.execute(
            update(Job)
            .where(Job.id == job_id, _claimable(now))
            .values(
                status="running",
                claim_token=token,
                lease_until=now + lease,
                attempts=Job.attempts + 1,
                started_at=now,
                worker=WORKER_NAME,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed == 1:
            return Claim(job_id, token, kind)
    return None


def _finish(claim: Claim, **values) -> bool:
    # Only the worker still holding the claim may record the outcome; one whose lease ran out has lost it.
    return (
        db.session.execute(
            update(Job)
            .where(Job.id == claim.job_id, Job.claim_token == claim.token)
            .values(claim_token=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


@dataclass
class RunReport:
    done: int = 0
    retrying: int = 0
    failed: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return self.done + self.retrying + self.failed


def run_claimed(claim: Claim, report: RunReport) -> None:
    """Run one claimed job; commit its effects together with "done", or roll them back and record the failure."""
    job = db.session.get(Job, claim.job_id)
    known = JOB_TYPES.get(claim.kind)
    report.kinds[claim.kind] = report.kinds.get(claim.kind, 0) + 1
    if known is None:
        _finish(claim, status="failed", finished_at=utcnow(), last_error=f"Unknown job type {claim.kind!r}")
        db.session.commit()
        report.failed += 1
        return
    payload = dict(job.payload or {})
    try:
        known.handler(payload, job)
        db.session.flush()
    except Exception as exc:  # noqa: BLE001 - any failure of a job means "try again later"
        db.session.rollback()
        error = f"{type(exc).__name__}: {exc}"[:2000]
        job = db.session.get(Job, claim.job_id)
        final = isinstance(exc, PermanentError) or job.attempts >= job.max_attempts
        values: dict[str, Any] = {"last_error": error}
        if final:
            values.update(status="failed", finished_at=utcnow())
        else:
            values.update(status="queued", run_at=utcnow() + known.retry_delay(job.attempts))
        if _finish(claim, **values) and known.on_failure is not None:
            known.on_failure(payload, job, error, final)
        db.session.commit()
        if final:
            report.failed += 1
        else:
            report.retrying += 1
        return
    if _finish(claim, status="done", finished_at=utcnow(), last_error=None):
        db.session.commit()
        report.done += 1
    else:
        db.session.rollback()  # the lease ran out and another worker owns the job now


def run_due(queues: Sequence[str] | None = None, *, limit: int = 100) -> RunReport:
    """Claim and run due jobs one by one until none is due or `limit` have run."""
    from portal.mail.transport import close_connections  # the mail jobs kept their relay connection for the batch

    report = RunReport()
    give_up_on_lost_jobs(utcnow())
    try:
        for _ in range(limit):
            claim = claim_next(queues)
            if claim is None:
                break
            run_claimed(claim, report)
    finally:
        close_connections()
    return report


def retry_job(job: Job) -> None:
    """Put a failed (or waiting) job back in the queue now, with its attempts counted afresh (staff's "retry")."""
    if job.status not in ("failed", "queued"):
        raise Conflict(f"A {job.status} job cannot be retried", "status")
    job.status = "queued"
    job.run_at = utcnow()
    job.attempts = 0
    job.finished_at = None
    job.retried = (job.retried or 0) + 1
    db.session.flush()


def oldest_queued_age(now: datetime | None = None) -> float | None:
    """Return how many seconds the oldest due job has waited, or None when nothing is due."""
    now = now or utcnow()
    oldest = db.session.scalar(select(func.min(Job.run_at)).where(Job.status == "queued", Job.run_at <= now))
    if oldest is None:
        return None
    if oldest.tzinfo is None:  # SQLite may hand MIN() back without the column's zone
        oldest = oldest.replace(tzinfo=UTC)
    return max((now - oldest).total_seconds(), 0.0)

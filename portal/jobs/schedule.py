"""The workers' own schedule: each duty fires once per period across every worker, with no cron line.

A duty's run for a period is a row with a unique (duty, period) key, inserted in the same
transaction as the job it enqueues: of any number of workers that see the period begin, on any
number of machines, PostgreSQL or SQLite, exactly one commits; the others hit the key and move on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.jobs.queue import enqueue, job_type
from portal.models.job import Job, ScheduledRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Duty:
    name: str
    #: The kind of the job each period enqueues.
    kind: str
    every: timedelta

    def period(self, now: datetime) -> str:
        """Return the period `now` falls in, named by its start in UTC (periods align on the epoch)."""
        step = int(self.every.total_seconds())
        start = int(now.timestamp()) // step * step
        return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S")


#: Every scheduled duty, filled by @duty.
DUTIES: dict[str, Duty] = {}


def duty(name: str, *, every: timedelta, **job_options) -> Callable:
    """Register the decorated handler as a job type and run it once every period: a new duty is one line."""

    def register(handler: Callable[[dict[str, Any], Job], None]):
        kind = f"duty.{name}"
        job_type(kind, **job_options)(handler)
        DUTIES[name] = Duty(name=name, kind=kind, every=every)
        return handler

    return register


def run_schedule(now: datetime, duties: dict[str, Duty] | None = None) -> list[str]:
    """Enqueue each duty whose current period has not fired yet; return the names this call fired."""
    fired = []
    for item in (duties if duties is not None else DUTIES).values():
        period = item.period(now)
        exists = db.session.scalar(
            select(ScheduledRun.id).where(ScheduledRun.duty == item.name, ScheduledRun.period == period)
        )
        if exists is not None:
            db.session.commit()
            continue
        try:
            run = ScheduledRun(duty=item.name, period=period, created_at=now)
            db.session.add(run)
            db.session.flush()  # the unique key decides here, before any job exists
            run.job_id = enqueue(item.kind, {"period": period}).id
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another worker fired this period first
            continue
        log.info("schedule: %s fired for %s", item.name, period)
        fired.append(item.name)
    return fired

"""The scheduled duties: each is a job type that the workers' schedule enqueues once per period.

Registering a new one is one decorator: @duty("name", every=timedelta(...)) on its handler.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete

from portal.extensions import db
from portal.jobs.schedule import duty
from portal.models.base import utcnow
from portal.models.job import Job, ScheduledRun


@duty("bill-monthly", every=timedelta(hours=1), lease=timedelta(hours=2), max_attempts=3)
def bill_monthly_duty(payload: dict[str, Any], job: Job) -> None:
    """Draft, finalize and enqueue the sending of each monthly invoice that is due (idempotent per month)."""
    from portal.services.billing import bill_monthly

    bill_monthly()


@duty("monthly-statements", every=timedelta(hours=1), lease=timedelta(hours=2), max_attempts=3)
def monthly_statements_duty(payload: dict[str, Any], job: Job) -> None:
    """Mail last month's statement of account to each customer who asked for it (once per customer and month)."""
    from portal.services.statements import send_monthly_statements

    send_monthly_statements()


@duty("reconcile", every=timedelta(minutes=10), lease=timedelta(hours=1), max_attempts=3)
def reconcile_duty(payload: dict[str, Any], job: Job) -> None:
    """Ask the providers about payments whose webhook never came, and about refunds of recent ones."""
    from portal.services.online_payments import reconcile

    config = current_app.config
    reconcile(
        timedelta(minutes=int(config["RECONCILE_AFTER_MINUTES"])),
        refunds_within=timedelta(days=int(config["RECONCILE_REFUNDS_DAYS"])),
    )


@duty("clean-up-jobs", every=timedelta(days=1))
def clean_up_jobs(payload: dict[str, Any], job: Job) -> None:
    """Forget finished jobs and schedule periods older than JOB_RETENTION_DAYS; dead letters stay until retried."""
    cutoff = utcnow() - timedelta(days=int(current_app.config["JOB_RETENTION_DAYS"]))
    db.session.execute(delete(ScheduledRun).where(ScheduledRun.created_at < cutoff))
    db.session.execute(delete(Job).where(Job.status == "done", Job.finished_at < cutoff))


@duty("purge-idempotency-keys", every=timedelta(hours=1))
def purge_idempotency_keys(payload: dict[str, Any], job: Job) -> None:
    """Forget the API's idempotency keys and their answers after 24 hours."""
    from portal.api.idempotency import purge_expired

    purge_expired()


@duty("purge-events", every=timedelta(days=1))
def purge_events(payload: dict[str, Any], job: Job) -> None:
    """Forget events (and their webhook deliveries) after 30 days."""
    from portal.api.events import purge_expired

    purge_expired()


@duty("announce-overdue-invoices", every=timedelta(hours=1))
def announce_overdue_invoices(payload: dict[str, Any], job: Job) -> None:
    """Record invoice.overdue for each invoice that fell due (hourly, so each merchant's midnight is met soon)."""
    from sqlalchemy import select

    from portal.api.events import record_overdue_invoices
    from portal.models import Merchant

    for merchant in db.session.scalars(select(Merchant).order_by(Merchant.id)):
        record_overdue_invoices(merchant)


@duty("send-reminders", every=timedelta(hours=1), lease=timedelta(hours=1), max_attempts=3)
def send_reminders_duty(payload: dict[str, Any], job: Job) -> None:
    """Send the reminder steps due today (hourly: each merchant's midnight is met soon; each step goes once)."""
    from portal.services.reminders import send_all_reminders

    send_all_reminders()


@duty("autopay", every=timedelta(hours=1), lease=timedelta(hours=1), max_attempts=3)
def autopay_duty(payload: dict[str, Any], job: Job) -> None:
    """Charge the saved method of each customer with autopay on for the invoices due today (each invoice once)."""
    from portal.services.saved_methods import run_autopay

    run_autopay()


@duty("refresh-dues", every=timedelta(hours=1), lease=timedelta(hours=1), max_attempts=3)
def refresh_dues_duty(payload: dict[str, Any], job: Job) -> None:
    """Sum each customer's amounts due for the day before they open the overview (portal.models.dues)."""
    from portal.services.portal_pages import refresh_kept_dues

    refresh_kept_dues()

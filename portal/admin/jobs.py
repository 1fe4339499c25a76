"""Admin page for the background jobs: what is queued, running, done or failed, and "retry"."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from portal.admin.views import bp, failure, load, merchant
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models.job import JOB_STATUSES
from portal.services import jobs


@bp.get("/jobs")
def job_list():
    status = request.args.get("status")
    status = status if status in JOB_STATUSES else None
    return render_template(
        "admin/jobs.html",
        rows=jobs.list_jobs(merchant(), status=status),
        counts=jobs.status_counts(merchant()),
        status=status,
    )


@bp.post("/jobs/<int:job_id>/retry")
def job_retry(job_id: int):
    job = load(jobs.get_job, job_id)
    try:
        jobs.retry(job)
        db.session.commit()
    except DomainError as exc:
        failure(exc)
    else:
        flash(f"Job #{job.id} is queued again.", "success")
    return redirect(url_for("admin.job_list", status=request.args.get("status")), code=303)

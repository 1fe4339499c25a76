"""The job system as users meet it: a send returns at once, failures retry then wait for staff, the schedule, /readyz."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs.queue import enqueue
from portal.jobs.schedule import DUTIES, Duty, run_schedule
from portal.jobs.worker import stop_embedded_worker
from portal.mail.notifications import send_invoice
from portal.models.document import RenderedDocument
from portal.models.job import Job, ScheduledRun
from portal.models.mail import OutboxMessage
from tests.admin.conftest import csrf_token, login, make_staff
from tests.conftest import build_app
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant, run_jobs
from tests.jobs.conftest import wait_for


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_an_api_send_answers_before_the_pdf_is_rendered_and_the_mail_still_goes_out(
    app, client, runner, smtp_server, deliver_to
):
    deliver_to(smtp_server)
    with app.app_context():
        merchant = make_merchant("Acme")
        key = make_api_key(merchant)
        invoice = make_invoice(make_customer(merchant, email="jane@example.com"))
        db.session.commit()
        invoice_id = invoice.id

    started = time.perf_counter()
    response = client.post(f"/api/v1/invoices/{invoice_id}/send", json={}, headers={"Authorization": f"Bearer {key}"})
    answered_in = time.perf_counter() - started

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["recipients"] == ["jane@example.com"]
    with app.app_context():
        # Nothing was rendered or composed in the request: the worker does it.
        assert count(RenderedDocument) == 0 and count(OutboxMessage) == 0
        [job] = db.session.scalars(select(Job)).all()
        assert (job.id, job.kind, job.status) == (body["job_ids"][0], "invoice.send", "queued")
    assert smtp_server.messages == []

    result = runner.invoke(args=["portal", "worker", "--once"])

    assert result.exit_code == 0, result.output
    [message] = smtp_server.messages
    assert message["To"] == "jane@example.com" and message["Subject"] == "Invoice 2026-0001 from Acme"
    [pdf] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert pdf.get_content().startswith(b"%PDF")
    with app.app_context():
        assert count(RenderedDocument) == 1  # rendered once, in the worker, and cached for downloads
        assert set(db.session.scalars(select(Job.status))) == {"done"}
    started = time.perf_counter()
    with app.app_context():
        send_invoice(db.session.get(type(invoice), invoice_id))  # a resend reuses the cached PDF
        db.session.commit()
    assert time.perf_counter() - started < max(answered_in * 20, 1.0)


def test_the_send_job_exists_only_if_the_request_commits(ctx):
    invoice = make_invoice(make_customer(make_merchant()))
    db.session.commit()
    send_invoice(invoice)
    db.session.rollback()
    assert count(Job) == 0


def test_a_failing_job_retries_with_backoff_then_waits_in_the_jobs_page_for_staff(
    app, smtp_down, deliver_to, time_machine
):
    time_machine.move_to("2026-03-02 09:00", tick=False)
    deliver_to(smtp_down)
    with app.app_context():
        merchant = make_merchant("Acme")
        make_staff(merchant, "ann@acme.example")
        invoice = make_invoice(make_customer(merchant, email="jane@example.com"))
        send_invoice(invoice)
        db.session.commit()
        run_jobs()  # rendered; the delivery fails
        [delivery] = db.session.scalars(select(Job).where(Job.kind == "mail.deliver")).all()
        assert (delivery.status, delivery.attempts) == ("queued", 1)
        waits = [delivery.run_at - datetime.now(UTC)]
        while delivery.status == "queued":
            time_machine.move_to(delivery.run_at)
            run_jobs()
            db.session.refresh(delivery)
            if delivery.status == "queued":
                waits.append(delivery.run_at - datetime.now(UTC))
        assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
        assert (delivery.status, delivery.attempts) == ("failed", 8)
        job_id = delivery.id

    staff = app.test_client()
    assert login(staff, "ann@acme.example").status_code == 303
    page = staff.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert f'id="job-{job_id}"' in page and "Deliver a mail" in page and "to jane@example.com" in page
    assert "Connection refused" in page or "Errno" in page
    assert "Retry" in page

    smtp_down.start()
    response = staff.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.status, job.attempts, job.retried) == ("queued", 0, 1)
        run_jobs()
        db.session.refresh(job)
        assert job.status == "done"
        assert db.session.scalar(select(OutboxMessage.status)) == "sent"
    assert len(smtp_down.messages) == 1
    done = staff.get("/admin/jobs?status=done").get_data(as_text=True)
    assert f'id="job-{job_id}"' in done


def test_staff_see_and_retry_only_their_merchants_jobs(app):
    with app.app_context():
        mine, theirs = make_merchant("Mine"), make_merchant("Theirs")
        make_staff(mine, "me@mine.example")
        other = enqueue("invoice.send", {"invoice_id": 999, "to": "x@example.com"}, merchant_id=theirs.id)
        other.status = "failed"
        db.session.commit()
        other_id = other.id
    staff = app.test_client()
    assert login(staff, "me@mine.example").status_code == 303
    page = staff.get("/admin/jobs").get_data(as_text=True)
    assert f'id="job-{other_id}"' not in page and "No  jobs." in page
    response = staff.post(f"/admin/jobs/{other_id}/retry", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404


def test_a_job_of_an_unknown_type_or_a_vanished_invoice_becomes_a_dead_letter(ctx):
    merchant = make_merchant()
    enqueue("no.such.kind", {}, merchant_id=merchant.id)
    enqueue("invoice.send", {"invoice_id": 12345, "to": "x@example.com"}, merchant_id=merchant.id)
    report = run_jobs()
    assert report.failed == 2
    errors = sorted(db.session.scalars(select(Job.last_error)))
    assert errors == ["PermanentError: The invoice no longer exists", "Unknown job type 'no.such.kind'"]


def test_each_duty_fires_once_per_period_even_when_workers_race(app):
    duties = {"tick": Duty("tick", "duty.clean-up-jobs", every=timedelta(hours=1))}
    at = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    start = threading.Barrier(3)
    fired, errors = [], []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                fired.extend(run_schedule(at, duties))
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [] and fired == ["tick"]
    with app.app_context():
        assert run_schedule(at + timedelta(minutes=44), duties) == []  # same hour
        assert run_schedule(at + timedelta(minutes=45), duties) == ["tick"]  # 10:00, a new period
        assert count(ScheduledRun) == 2 and count(Job, Job.kind == "duty.clean-up-jobs") == 2


def test_the_built_in_duties_need_no_cron_line(ctx, runner):
    assert {"bill-monthly", "reconcile", "clean-up-jobs"} <= set(DUTIES)
    assert run_schedule(datetime.now(UTC)) == list(DUTIES)
    assert run_jobs().failed == 0
    assert set(db.session.scalars(select(Job.status))) == {"done"}


def test_the_clean_up_duty_forgets_old_finished_jobs_but_keeps_dead_letters(ctx, time_machine):
    time_machine.move_to("2026-01-01 09:00", tick=False)
    merchant = make_merchant()
    done = enqueue("mail.deliver", {"message_id": 1}, merchant_id=merchant.id).id
    dead = enqueue("no.such.kind", {}, merchant_id=merchant.id).id
    run_jobs()
    time_machine.move_to("2026-02-01 09:00", tick=False)
    run_schedule(datetime.now(UTC), {"clean-up-jobs": DUTIES["clean-up-jobs"]})
    run_jobs()
    remaining = set(db.session.scalars(select(Job.id)))
    assert done not in remaining and dead in remaining


def test_readyz_reports_the_age_of_the_oldest_queued_job(app, client, time_machine):
    time_machine.move_to("2026-03-02 09:00:00", tick=False)
    empty = client.get("/readyz")
    assert empty.status_code == 200
    assert empty.get_json()["checks"] == {"database": "ok"}
    assert empty.get_json()["jobs"] == {"oldest_queued_age_seconds": None}
    with app.app_context():
        enqueue("no.such.kind", {})
        db.session.commit()
    time_machine.move_to("2026-03-02 09:01:30", tick=False)
    assert client.get("/readyz").get_json()["jobs"] == {"oldest_queued_age_seconds": 90.0}


def test_readyz_answers_503_when_the_database_is_unreachable(tmp_path):
    broken = build_app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["checks"]["database"].startswith("unavailable")
    with broken.app_context():
        db.engine.dispose()


def test_the_embedded_worker_runs_jobs_inside_the_web_process(database_url, app, smtp_server):
    embedded = build_app(database_url, EMBEDDED_WORKER=True, SMTP_URL=smtp_server.url, WORKER_POLL_SECONDS=0.1)
    with embedded.app_context():
        merchant = make_merchant("Acme")
        key = make_api_key(merchant)
        invoice = make_invoice(make_customer(merchant, email="jane@example.com"))
        db.session.commit()
        invoice_id = invoice.id
    try:
        client = embedded.test_client()
        response = client.post(
            f"/api/v1/invoices/{invoice_id}/send", json={}, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 202
        wait_for(lambda: smtp_server.messages, what="the mail")
        assert smtp_server.messages[0]["Subject"] == "Invoice 2026-0001 from Acme"
    finally:
        stop_embedded_worker(embedded)
        with embedded.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("config", [{}, {"TESTING": True}])
def test_the_embedded_worker_is_off_with_postgresql_and_in_tests(config):
    from portal import create_app

    quiet = create_app(
        {"SECRET_KEY": "x", "ENCRYPTION_KEY": "y", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", **config}
    )
    assert quiet.before_request_funcs.get(None, []) == [] or all(
        f.__name__ != "_start_worker" for f in quiet.before_request_funcs.get(None, [])
    )

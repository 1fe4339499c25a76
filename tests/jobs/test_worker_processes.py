"""`flask portal worker` processes on PostgreSQL: shared safely, killed, stopped, cut off from the database."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from sqlalchemy import select, text

from portal.extensions import db
from portal.jobs.queue import enqueue
from portal.mail.outbox import queue_mail
from portal.models.job import Job, ScheduledRun
from tests.factories import make_merchant
from tests.fakes.tcp_proxy import TcpProxy
from tests.jobs.conftest import job_statuses, wait_for

pytestmark = pytest.mark.postgres

MAILS = 40


def sleep_jobs(app, log_path, n: int = 1, seconds: float = 0) -> list[int]:
    with app.app_context():
        ids = [enqueue("test.sleep", {"seconds": seconds, "log": str(log_path)}).id for _ in range(n)]
        db.session.commit()
        db.session.remove()
    return ids


def runs(log_path) -> list[tuple[int, int, int]]:
    """(job id, worker pid, attempt) of every run the jobs logged."""
    if not log_path.exists():
        return []
    return [tuple(int(part) for part in line.split()) for line in log_path.read_text().splitlines()]


def test_two_workers_share_the_queue_and_never_run_one_job_twice(pg, workers, smtp_server, tmp_path):
    with pg.app_context():
        merchant = make_merchant()
        db.session.commit()
        merchant_id = merchant.id
        db.session.remove()
    first = workers.start(SMTP_URL=smtp_server.url)
    second = workers.start(SMTP_URL=smtp_server.url)
    log = tmp_path / "runs.log"
    # Mail deliveries and other jobs, all queued at once while both workers are polling.
    with pg.app_context():
        for n in range(MAILS):
            queue_mail(merchant_id=merchant_id, kind="test", to=f"c{n}@example.com", subject=f"Message {n}", text="Hi")
        for _ in range(MAILS):
            enqueue("test.sleep", {"seconds": 0, "log": str(log)})
        db.session.commit()
        db.session.remove()

    wait_for(
        lambda: all(
            status == "done" for _, status, _ in job_statuses(pg, "test.sleep") + job_statuses(pg, "mail.deliver")
        ),
        timeout=120,
        what="every job to be done",
    )

    assert first.poll() is None and second.poll() is None
    assert all(attempts == 1 for _, _, attempts in job_statuses(pg, "test.sleep") + job_statuses(pg, "mail.deliver"))
    ids = Counter(job_id for job_id, _, _ in runs(log))
    assert len(ids) == MAILS and set(ids.values()) == {1}
    subjects = Counter(message["Subject"] for message in smtp_server.messages)
    assert len(subjects) == MAILS and set(subjects.values()) == {1}
    # Both processes took part.
    assert {pid for _, pid, _ in runs(log)} == {first.pid, second.pid}


def test_a_job_whose_worker_was_killed_is_retried_after_its_lease(pg, workers, tmp_path):
    log = tmp_path / "runs.log"
    [job_id] = sleep_jobs(pg, log, seconds=60)
    doomed = workers.start(lease=3)
    wait_for(lambda: job_statuses(pg, "test.sleep") == [(job_id, "running", 1)], what="the job to start")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    killed_at = time.monotonic()
    heir = workers.start(lease=3)

    wait_for(lambda: job_statuses(pg, "test.sleep") == [(job_id, "done", 2)], what="the job to be retried")
    assert time.monotonic() - killed_at >= 1.5  # not before the lease ran out
    assert runs(log) == [(job_id, heir.pid, 2)]


def test_a_scheduled_duty_fires_once_per_period_with_three_workers(pg, workers):
    team = [workers.start() for _ in range(3)]
    # A worker still importing when the signal comes would die of it: wait until each handles SIGTERM.
    for process in team:
        wait_for(lambda p=process: "worker: started" in workers.output(p), timeout=90, what="the worker to start")
    # Each worker looks at the schedule every 0.2 s: three ticks race for every period.
    wait_for(lambda: len(job_statuses(pg, "duty.test-tick")) >= 4, timeout=90, what="four ticks")
    for process in team:
        process.send_signal(signal.SIGTERM)
    for process in team:
        assert process.wait(timeout=20) == 0

    with pg.app_context():
        fired = Counter(db.session.scalars(select(ScheduledRun.duty)))
        ticks = db.session.scalars(select(ScheduledRun.period).where(ScheduledRun.duty == "test-tick")).all()
        jobs = Counter(db.session.scalars(select(Job.kind)))
        db.session.remove()
    # The real duties fired once for their (long) period, the test tick once per second.
    assert fired["bill-monthly"] == fired["reconcile"] == fired["clean-up-jobs"] == 1
    assert jobs["duty.bill-monthly"] == jobs["duty.reconcile"] == jobs["duty.clean-up-jobs"] == 1
    assert len(ticks) == len(set(ticks)) == jobs["duty.test-tick"] >= 4


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_finishes_the_current_job_then_stops(pg, workers, tmp_path, signum):
    log = tmp_path / "runs.log"
    [current] = sleep_jobs(pg, log, seconds=2)
    process = workers.start()
    wait_for(lambda: job_statuses(pg, "test.sleep")[0][1] == "running", what="the job to start")
    [waiting] = sleep_jobs(pg, log)

    process.send_signal(signum)

    assert process.wait(timeout=20) == 0
    assert job_statuses(pg, "test.sleep") == [(current, "done", 1), (waiting, "queued", 0)]
    assert [job_id for job_id, _, _ in runs(log)] == [current]
    assert "finishing the current job, then stopping" in workers.output(process)


def test_a_database_blip_does_not_kill_the_worker(pg, workers, tmp_path):
    url = make_url_of(pg)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    log = tmp_path / "runs.log"
    process = workers.start(
        database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )
    [before] = sleep_jobs(pg, log)
    wait_for(lambda: job_statuses(pg, "test.sleep") == [(before, "done", 1)], what="the first job")

    proxy.stop()  # every connection of the worker dies, and new ones are refused
    time.sleep(3)
    assert process.poll() is None, workers.output(process)
    proxy.start()  # the database is back, on the same address
    [after] = sleep_jobs(pg, log)

    wait_for(lambda: job_statuses(pg, "test.sleep")[-1] == (after, "done", 1), timeout=45, what="a job after the blip")
    assert process.poll() is None
    assert "database unavailable" in workers.output(process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    proxy.stop()


def test_terminated_database_connections_do_not_kill_the_worker(pg, workers, tmp_path):
    """An administrator (or a failover) ends every session: the worker reconnects and carries on."""
    log = tmp_path / "runs.log"
    process = workers.start()
    [before] = sleep_jobs(pg, log)
    wait_for(lambda: job_statuses(pg, "test.sleep") == [(before, "done", 1)], what="the first job")

    with pg.app_context():
        with db.engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        db.session.remove()
    assert ended >= 1  # at least the worker's own connection
    [after] = sleep_jobs(pg, log)

    wait_for(lambda: job_statuses(pg, "test.sleep")[-1] == (after, "done", 1), timeout=45, what="a job after")
    assert process.poll() is None, workers.output(process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def make_url_of(app):
    from sqlalchemy.engine import make_url

    return make_url(app.config["SQLALCHEMY_DATABASE_URI"])

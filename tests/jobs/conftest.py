"""Worker processes on PostgreSQL, started as `flask portal worker` and stopped at the end of each test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal.extensions import db
from portal.models.job import Job
from tests.mail.conftest import deliver_to, smtp_down, smtp_server  # noqa: F401 - the real SMTP server fixtures

ROOT = Path(__file__).resolve().parents[2]
FAST = {"WORKER_POLL_SECONDS": 0.1, "SCHEDULE_TICK_SECONDS": 0.2}


class Workers:
    """Starts `flask portal worker` processes against a database and stops every one at the end."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self, *args: str, database_url: str | None = None, lease: float = 600, **config) -> subprocess.Popen:
        settings = {"DATABASE_URL": database_url or self.database_url, "config": {**FAST, **config}}
        env = {**os.environ, "WORKER_SETTINGS": json.dumps(settings), "TEST_JOB_LEASE": str(lease)}
        log = open(self.tmp_path / f"worker-{len(self.processes)}.log", "w")  # noqa: SIM115 - closed in stop_all
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.worker_process", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log = log
        self.processes.append(process)
        return process

    def output(self, process: subprocess.Popen) -> str:
        process.log.flush()
        return Path(process.log.name).read_text()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log.close()


@pytest.fixture
def workers(pg, pg_pool_closed_at_exit, tmp_path) -> Iterator[Workers]:
    team = Workers(pg.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    yield team
    team.stop_all()


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "the condition") -> object:
    """Poll until condition() is truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_statuses(app, kind: str | None = None) -> list[tuple[int, str, int]]:
    """Return (id, status, attempts) of every job (of a kind), read afresh."""
    with app.app_context():
        query = db.select(Job.id, Job.status, Job.attempts).order_by(Job.id)
        if kind:
            query = query.where(Job.kind == kind)
        rows = [tuple(row) for row in db.session.execute(query)]
        db.session.remove()
        return rows

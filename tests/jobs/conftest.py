"""Worker processes on PostgreSQL, and a TCP proxy between them and the database that a test can cut."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

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


class TcpProxy:
    """Forwards a loopback port to the database; stop() drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            for end in self.sockets:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            self.sockets.clear()

    def url(self, database_url: str) -> str:
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

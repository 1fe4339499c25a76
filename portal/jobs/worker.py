"""The worker loop: run due jobs of any type, fire the schedule, ride out database blips, stop when asked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from flask import Flask
from sqlalchemy.exc import DBAPIError, PendingRollbackError

from portal.extensions import db
from portal.jobs.queue import RunReport, claim_next, give_up_on_lost_jobs, run_claimed
from portal.jobs.schedule import run_schedule
from portal.mail.transport import close_connections
from portal.models.base import utcnow

log = logging.getLogger(__name__)

#: Errors that mean "the database is unreachable or restarting": wait and try again, never exit.
DATABASE_TROUBLE = (DBAPIError, PendingRollbackError)
LONGEST_BLIP_WAIT = 30.0
#: With --once, failures in a row (about 30 s of waiting) after which the worker gives up.
ONCE_GIVES_UP_AFTER = 5


class Worker:
    """One loop taking jobs one at a time; a process runs one or more (--concurrency) in threads."""

    def __init__(
        self,
        app: Flask,
        *,
        queues: Sequence[str] | None = None,
        once: bool = False,
        schedule: bool = True,
        stop: threading.Event | None = None,
        name: str = "worker",
    ) -> None:
        self.app = app
        self.queues = list(queues) if queues else None
        self.once = once
        self.schedule = schedule and not once
        self.stop = stop or threading.Event()
        self.name = name
        self.report = RunReport()
        self.poll = float(app.config["WORKER_POLL_SECONDS"])
        self.tick = float(app.config["SCHEDULE_TICK_SECONDS"])
        self.busy = False

    def run(self) -> RunReport:
        """Run until stopped (or, with once, until nothing is due); the job in hand is always finished first."""
        next_tick = 0.0
        next_sweep = 0.0
        failures = 0
        with self.app.app_context():
            while not self.stop.is_set():
                try:
                    now = time.monotonic()
                    if self.schedule and now >= next_tick:
                        run_schedule(utcnow())
                        next_tick = now + self.tick
                    if now >= next_sweep:
                        give_up_on_lost_jobs(utcnow())
                        next_sweep = now + self.poll * 10
                    claim = claim_next(self.queues)
                    if claim is not None:
                        self.busy = True
                        started, cpu = time.perf_counter(), time.thread_time()
                        run_claimed(claim, self.report)
                        log.info(
                            "job %s (%s) finished in %.3f s, CPU %.3f s",
                            claim.job_id,
                            claim.kind,
                            time.perf_counter() - started,
                            time.thread_time() - cpu,
                        )
                    failures = 0
                    self.busy = False
                    if claim is None:
                        close_connections()  # nothing to send for now: don't hold the relay's connection
                        if self.once:
                            break
                        self.stop.wait(self.poll)
                except DATABASE_TROUBLE as exc:
                    self.busy = False
                    failures += 1
                    if self.once and failures > ONCE_GIVES_UP_AFTER:
                        raise  # a script asked for one pass: report the outage instead of waiting forever
                    wait = min(2.0 ** (failures - 1), LONGEST_BLIP_WAIT)
                    log.warning(
                        "%s: database unavailable (%s); retrying in %.0f s",
                        self.name,
                        str(exc).splitlines()[0][:200],
                        wait,
                    )
                    self._forget_connection()
                    self.stop.wait(wait)
            close_connections()
            db.session.remove()
        return self.report

    def _forget_connection(self) -> None:
        try:
            db.session.rollback()
        except DATABASE_TROUBLE:
            pass
        db.session.remove()


def run_workers(
    app: Flask,
    *,
    queues: Sequence[str] | None = None,
    concurrency: int = 1,
    once: bool = False,
    stop: threading.Event | None = None,
    schedule: bool = True,
) -> RunReport:
    """Run `concurrency` worker loops in threads of this process until `stop` is set (or, with once, drained)."""
    stop = stop or threading.Event()
    workers = [
        Worker(app, queues=queues, once=once, stop=stop, schedule=schedule and n == 0, name=f"worker-{n}")
        for n in range(concurrency)
    ]
    if concurrency == 1:
        workers[0].run()
    else:
        threads = [threading.Thread(target=w.run, name=w.name, daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)  # wake up now and then so signal handlers run
    total = RunReport()
    for worker in workers:
        total.done += worker.report.done
        total.retrying += worker.report.retrying
        total.failed += worker.report.failed
        for kind, count in worker.report.kinds.items():
            total.kinds[kind] = total.kinds.get(kind, 0) + count
    return total


_embedded_lock = threading.Lock()
_embedded: dict[int, tuple[threading.Thread, threading.Event]] = {}


def start_embedded_worker(app: Flask) -> threading.Thread:
    """Start one worker thread inside the web process (the embedded default: no extra process to run)."""
    with _embedded_lock:
        running = _embedded.get(id(app))
        if running is not None and running[0].is_alive():
            return running[0]
        stop = threading.Event()
        worker = Worker(app, stop=stop, name="embedded-worker")
        thread = threading.Thread(target=worker.run, name="embedded-worker", daemon=True)
        thread.start()
        _embedded[id(app)] = (thread, stop)
        log.info("started the embedded job worker thread")
        return thread


def stop_embedded_worker(app: Flask, timeout: float = 30) -> None:
    """Ask the app's embedded worker to finish its job and stop, and wait for it."""
    with _embedded_lock:
        running = _embedded.pop(id(app), None)
    if running is not None:
        running[1].set()
        running[0].join(timeout)

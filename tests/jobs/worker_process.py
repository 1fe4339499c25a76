"""Run `flask portal worker …` in a process of its own, with two job types only tests need (run as python -m).

test.sleep sleeps on its first attempt (so a test can signal or kill the worker mid-job) and logs
each run to a file; the test-tick duty fires every second.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta

from flask.cli import ScriptInfo

from portal.jobs.queue import job_type
from portal.jobs.schedule import duty
from tests.conftest import build_app


@job_type("test.sleep", lease=timedelta(seconds=float(os.environ.get("TEST_JOB_LEASE", "600"))), max_attempts=3)
def sleep_then_log(payload, job):
    if job.attempts == 1:
        time.sleep(float(payload.get("seconds", 0)))
    with open(payload["log"], "a") as log:
        log.write(f"{job.id} {os.getpid()} {job.attempts}\n")


@duty("test-tick", every=timedelta(seconds=1))
def tick(payload, job):
    pass


def main() -> None:
    settings = json.loads(os.environ["WORKER_SETTINGS"])
    app = build_app(settings["DATABASE_URL"], **settings["config"])
    app.cli.main(args=["portal", "worker", *sys.argv[1:]], obj=ScriptInfo(create_app=lambda: app), prog_name="flask")


if __name__ == "__main__":
    main()

"""Health checks, and what the portal answers while PostgreSQL or Redis is down: 503 with Retry-After."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy.engine import make_url

from portal.extensions import db
from portal.services.links import make_portal_link
from portal.services.merchants import create_api_key
from tests.admin.conftest import PASSWORD, make_staff
from tests.conftest import build_app, dispose, redis_url
from tests.factories import make_customer, make_invoice, make_merchant
from tests.fakes.tcp_proxy import TcpProxy
from tests.operations.conftest import CSRF, path_of

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_and_readyz_when_all_is_well(client):
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok"},
        "jobs": {"oldest_queued_age_seconds": None},
    }


# -- PostgreSQL behind a proxy the test cuts -------------------------------------------------------


@pytest.fixture(scope="module")
def database_proxy(postgres_app) -> Iterator[TcpProxy]:
    url = make_url(postgres_app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def fragile_app(postgres_app, database_proxy) -> Iterator[Flask]:
    """An app whose PostgreSQL connections pass through the proxy."""
    url = make_url(postgres_app.config["SQLALCHEMY_DATABASE_URI"]).set(host="127.0.0.1", port=database_proxy.port)
    fragile = build_app(url.render_as_string(hide_password=False), DATABASE_CONNECT_TIMEOUT=2)
    yield fragile
    dispose(fragile)


@pytest.fixture
def outage(pg, database_proxy) -> Iterator[TcpProxy]:
    """Yield the proxy (stop() is the outage); the database is back whatever the test did."""
    yield database_proxy
    database_proxy.stop()
    database_proxy.start()


def wait_for(condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def test_readyz_answers_503_while_the_database_is_unreachable_and_200_after(fragile_app, outage):
    client = fragile_app.test_client()
    assert client.get("/readyz").status_code == 200

    outage.stop()
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.get_json() == {"status": "unavailable", "checks": {"database": "unavailable"}}
    assert int(down.headers["Retry-After"]) > 0
    assert client.get("/healthz").status_code == 200  # the process itself is alive

    outage.start()
    wait_for(lambda: client.get("/readyz").status_code == 200)


def test_pages_api_and_admin_answer_503_with_retry_after_during_an_outage(pg, fragile_app, outage):
    with pg.app_context():
        merchant = make_merchant()
        make_staff(merchant, "owner@outage.example")
        customer = make_customer(merchant)
        invoice = make_invoice(customer)
        _, api_key = create_api_key(merchant)
        db.session.commit()
        link = path_of(make_portal_link(customer).url)
        number, customer_id = invoice.number, customer.id
        db.session.remove()
    customer_client, staff_client = fragile_app.test_client(), fragile_app.test_client()
    assert customer_client.get(link).status_code == 303
    login = staff_client.get("/admin/login").get_data(as_text=True)
    signed_in = staff_client.post(
        "/admin/login",
        data={"csrf_token": CSRF.search(login).group(1), "email": "owner@outage.example", "password": PASSWORD},
    )
    assert signed_in.status_code == 303

    outage.stop()
    page = customer_client.get(f"/invoices/{number}", headers={"Accept-Language": "fr"})
    assert page.status_code == 503
    assert int(page.headers["Retry-After"]) > 0
    assert page.mimetype == "text/html"
    assert "Momentanément indisponible" in page.get_data(as_text=True)  # in the visitor's language

    api = customer_client.get(f"/api/v1/customers/{customer_id}", headers={"Authorization": f"Bearer {api_key}"})
    assert api.status_code == 503 and int(api.headers["Retry-After"]) > 0
    assert api.get_json()["error"]["code"] == "unavailable"

    admin = staff_client.get("/admin/invoices")
    assert admin.status_code == 503 and "Temporarily unavailable" in admin.get_data(as_text=True)

    outage.start()
    wait_for(lambda: customer_client.get(f"/invoices/{number}").status_code == 200)
    assert staff_client.get("/admin/invoices").status_code == 200


# -- Lock and statement timeouts on PostgreSQL ----------------------------------------------------


def test_a_request_waiting_on_a_locked_table_gets_a_clear_503(pg, database_url):
    with pg.app_context():
        customer = make_customer(make_merchant())
        invoice = make_invoice(customer)
        db.session.commit()
        link = path_of(make_portal_link(customer).url)
        number = invoice.number
        db.session.remove()
    impatient = build_app(pg.config["SQLALCHEMY_DATABASE_URI"], DATABASE_LOCK_TIMEOUT_MS=500)
    answers = []
    try:
        client = impatient.test_client()
        assert client.get(link).status_code == 303
        with pg.app_context(), db.engine.connect() as locker:
            # A migration or a stuck transaction holding the table: every reader would wait.
            locker.exec_driver_sql("LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            reader = threading.Thread(target=lambda: answers.append(client.get(f"/invoices/{number}")))
            reader.start()
            reader.join(timeout=10)
            waited = time.monotonic() - started
            locker.rollback()  # let a reader that is still waiting go on
        reader.join(timeout=30)
        assert waited < 5, "the request waited on the lock instead of giving up"
        (response,) = answers
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert "Temporarily unavailable" in response.get_data(as_text=True)
        assert client.get(f"/invoices/{number}").status_code == 200
    finally:
        dispose(impatient)


def test_statement_and_lock_timeouts_are_set_on_every_postgresql_connection(pg):
    tuned = build_app(
        pg.config["SQLALCHEMY_DATABASE_URI"], DATABASE_STATEMENT_TIMEOUT_MS=7000, DATABASE_LOCK_TIMEOUT_MS=1500
    )
    try:
        with tuned.app_context():
            assert db.session.execute(db.text("SHOW statement_timeout")).scalar() == "7s"
            assert db.session.execute(db.text("SHOW lock_timeout")).scalar() == "1500ms"
            db.session.remove()
    finally:
        dispose(tuned)
    with pg.app_context():  # the defaults
        assert db.session.execute(db.text("SHOW statement_timeout")).scalar() == "20s"
        assert db.session.execute(db.text("SHOW lock_timeout")).scalar() == "5s"
        db.session.remove()


# -- Redis (the rate limits' storage) behind a proxy the test cuts --------------------------------


class ServedApp:
    """The app in a process of its own (Flask-Limiter's storage is per process), its log in a file."""

    def __init__(self, database_url: str, config: dict, log_path: Path) -> None:
        env = {**os.environ, "SERVE_APP_SETTINGS": json.dumps({"DATABASE_URL": database_url, "config": config})}
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.payments.serve_app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        assert line.isdigit(), f"the app did not start: {line!r} {log_path.read_text()}"
        self.url = f"http://127.0.0.1:{line}"

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self._log.close()


def ask_for_fresh_links(session: requests.Session, base_url: str, times: int) -> list[int]:
    statuses = []
    for _ in range(times):
        page = session.get(base_url + "/l/not-a-link")
        token = CSRF.search(page.text).group(1)
        answer = session.post(base_url + "/l/fresh", data={"csrf_token": token}, headers={"Origin": base_url})
        statuses.append(answer.status_code)
    return statuses


def test_while_redis_is_down_limits_count_in_memory_and_readyz_says_so(app, database_url, tmp_path):
    url = make_url(redis_url())
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 6379).start()
    config = {
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{proxy.port}/{url.database or 0}",
        "RATELIMIT_KEY_PREFIX": f"outage-{os.getpid()}-{time.monotonic_ns()}",
    }
    served = ServedApp(database_url, config, tmp_path / "app.log")
    browser = requests.Session()
    browser.trust_env = False
    try:
        ready = browser.get(served.url + "/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}

        proxy.stop()
        down = browser.get(served.url + "/readyz")
        assert down.status_code == 503 and down.json()["checks"] == {"database": "ok", "redis": "unavailable"}
        assert int(down.headers["Retry-After"]) > 0
        # The fresh-link form (2 a minute per address) still answers, and is still limited, in memory.
        assert ask_for_fresh_links(browser, served.url, 3) == [200, 200, 429]
        assert "falling back to in-memory storage" in served.log()

        proxy.start()
        wait_for(lambda: browser.get(served.url + "/readyz").status_code == 200)
    finally:
        browser.close()
        served.stop()
        proxy.stop()
    assert "Traceback" not in served.log()


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_unreachable_from_the_start_requests_answer_and_limits_count_in_memory(app, database_url, tmp_path):
    config = {"RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{closed_port()}/0"}
    served = ServedApp(database_url, config, tmp_path / "app.log")
    browser = requests.Session()
    browser.trust_env = False
    try:
        assert browser.get(served.url + "/healthz").status_code == 200
        ready = browser.get(served.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "unavailable"
        # Pages answer, and the fresh-link form (2 a minute per address) is still limited, in this process.
        assert browser.get(served.url + "/l/not-a-link").status_code == 404
        assert ask_for_fresh_links(browser, served.url, 3) == [200, 200, 429]
        assert "falling back to in-memory storage" in served.log()
    finally:
        browser.close()
        served.stop()
    assert "Traceback" not in served.log()

"""Logs: one line per request without tokens, webhook and mail outcomes, JSON lines on request."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from flask import Flask

from portal.extensions import db
from portal.logs import install_handlers
from portal.mail.outbox import deliver_due, queue_mail
from portal.mail.transport import ConsoleTransport
from portal.services.links import make_portal_link
from tests.conftest import build_app, dispose
from tests.factories import make_customer, make_invoice, make_merchant
from tests.operations.conftest import path_of


def request_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if " portal.request " in line]


def test_one_line_per_request_and_a_magic_link_token_is_never_logged(app, client, capsys):
    with app.app_context():
        customer = make_customer(make_merchant())
        invoice = make_invoice(customer)
        db.session.commit()
        link = path_of(make_portal_link(customer, invoice).url)
        number = invoice.number
        db.session.remove()
    token = link.rsplit("/", 1)[1]
    capsys.readouterr()

    client.get(link)
    client.get(f"/invoices/{number}?status=open&q=secret-search")
    client.get(link[:-3] + "abc")  # a tampered link: 404, still a token-shaped secret
    client.get(link + "/trailing")  # no route at all
    response = client.post("/l/fresh", data={})

    err = capsys.readouterr().err
    assert token not in err and token[:20] not in err
    lines = request_lines(err)
    assert len(lines) == 5, lines
    assert "GET /l/<token> 303 " in lines[0]
    assert f"GET /invoices/{number} 200 " in lines[1] and "secret-search" not in lines[1]
    assert "GET /l/<token> 404 " in lines[2]
    assert "GET /l/<token>/trailing 404 " in lines[3]
    assert "POST /l/fresh 400 " in lines[4]
    # Each line ends with its duration and the request id the response carries.
    assert lines[4].endswith(f"ms id={response.headers['X-Request-ID']}")


def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(client, capsys):
    capsys.readouterr()
    kept = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.1"})
    replaced = client.get("/healthz", headers={"X-Request-ID": 'abc" status=200 path=/forged'})
    too_long = client.get("/healthz", headers={"X-Request-ID": "a" * 65})

    assert kept.headers["X-Request-ID"] == "edge-7f3a.1"
    for response in (replaced, too_long):
        assert len(response.headers["X-Request-ID"]) == 32 and "a" * 33 not in response.headers["X-Request-ID"]
    lines = request_lines(capsys.readouterr().err)
    assert lines[0].endswith("id=edge-7f3a.1") and "forged" not in lines[1]


@pytest.fixture
def json_app(app, database_url) -> Iterator[Flask]:
    json_logging = build_app(database_url, LOG_FORMAT="json")
    yield json_logging
    dispose(json_logging)
    install_handlers("text", "INFO")  # logging is per process: back to the suite's text lines


def test_json_lines_carry_the_request_fields(json_app, capsys):
    capsys.readouterr()
    response = json_app.test_client().get("/invoices/2026-0001", headers={"X-Forwarded-For": "203.0.113.1"})

    (line,) = [line for line in capsys.readouterr().err.splitlines() if '"portal.request"' in line]
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "portal.request"
    assert entry["method"] == "GET" and entry["path"] == "/invoices/2026-0001" and entry["status"] == 401
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert isinstance(entry["duration_ms"], float) and entry["remote_addr"] == "127.0.0.1"
    assert entry["time"].endswith("+00:00")


def test_bad_log_settings_are_refused(database_url):
    with pytest.raises(RuntimeError, match="PORTAL_LOG_FORMAT"):
        build_app(database_url, LOG_FORMAT="xml")
    with pytest.raises(RuntimeError, match="PORTAL_LOG_LEVEL"):
        build_app(database_url, LOG_LEVEL="CHATTY")


def test_webhook_outcomes_are_logged(client, capsys):
    capsys.readouterr()
    client.post("/webhooks/mollie", data={"id": "tr_unknown123"})
    client.post("/webhooks/stripe", data=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})

    err = capsys.readouterr().err
    assert "INFO portal.webhooks Mollie webhook ignored: no attempt for payment tr_unknown123" in err
    assert "WARNING portal.webhooks Stripe webhook rejected" in err


def test_mail_outcomes_are_logged(app, capsys):
    with app.app_context():
        merchant = make_merchant()
        db.session.commit()
        message_id = queue_mail(merchant_id=merchant.id, kind="test", to="a@example.com", subject="Hi", text="Hi").id
        db.session.commit()
        capsys.readouterr()
        report = deliver_due(ConsoleTransport(io.StringIO()))
        db.session.remove()

    assert report.sent == 1
    assert f"INFO portal.mail.outbox mail {message_id} (test) sent via console" in capsys.readouterr().err

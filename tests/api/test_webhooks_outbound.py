"""Events and outbound webhooks: recorded with the change, posted signed to a real receiver, retried, never inward."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal.api.webhook_delivery import UnsafeDestination, check_url
from portal.extensions import db
from portal.jobs.queue import enqueue, run_due
from portal.models import Customer
from portal.models.api import Event, WebhookDelivery
from portal.services.links import make_portal_link
from tests.api.conftest import SPEC_LINE, invoice_body

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def readme_verify():
    """The README's verification snippet, run as written."""
    text = (ROOT / "README.md").read_text()
    [snippet] = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on loopback standing in for a merchant's system."""

    url: str
    requests: list[Received] = field(default_factory=list)
    #: Statuses to answer, in order; 200 once they run out.
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            answer = b'{"received": true}' if status < 300 else b"oops"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/portal"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)


def deliver(runner) -> str:
    result = runner.invoke(args=["portal", "deliver-webhooks", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def deliveries(app) -> list[WebhookDelivery]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def event_types(api) -> list[str]:
    listed = api.get("/events?limit=100")
    assert listed.status_code == 200, listed.json
    return [event["type"] for event in reversed(listed.json["data"])]


def _endpoint(api, url: str, events=("*",)) -> dict:
    created = api.post("/webhook-endpoints", {"url": url, "events": list(events), "description": "ERP"})
    assert created.status_code == 201, created.json
    return created.json


def _finalized(api, customer_id: int) -> dict:
    draft = api.post("/invoices", invoice_body(customer_id)).json
    answer = api.post(f"/invoices/{draft['id']}/finalize")
    assert answer.status_code == 200, answer.json
    return answer.json


def test_an_event_is_posted_with_a_valid_signature(
    app, api, customer_id, runner, receiver, allow_private, time_machine
):
    time_machine.move_to(T0, tick=False)
    endpoint = _endpoint(api, receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in api.get(f"/webhook-endpoints/{endpoint['id']}").json
    invoice = _finalized(api, customer_id)

    deliver(runner)

    [request] = receiver.requests
    assert request.path == "/hooks/portal"
    assert request.headers["content-type"] == "application/json"
    assert readme_verify()(endpoint["secret"], request.body, request.headers["portal-signature"], tolerance=10**10)
    assert not readme_verify()("whsec_other", request.body, request.headers["portal-signature"], tolerance=10**10)
    assert request.headers["portal-signature"].startswith(f"t={int(T0.timestamp())},v1=")
    sent = json.loads(request.body)
    assert list(sent) == ["id", "type", "created", "data"]
    assert sent["type"] == "invoice.finalized" and sent["created"] == int(T0.timestamp())
    # The data is the invoice as the API shows it, and the same JSON as the event log's.
    assert sent["data"] == invoice
    assert api.get(f"/events/{sent['id']}").json == sent
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 200)
    assert delivery.response_body == '{"received": true}'
    # Delivered once: running again posts nothing.
    deliver(runner)
    assert len(receiver.requests) == 1


def test_a_500_is_retried_with_backoff_until_a_200(
    app, api, customer_id, runner, receiver, allow_private, time_machine
):
    time_machine.move_to(T0, tick=False)
    endpoint = _endpoint(api, receiver.url, events=["invoice.finalized"])
    receiver.statuses = [500, 503]
    _finalized(api, customer_id)

    deliver(runner)
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at == T0 + timedelta(minutes=1)
    deliver(runner)  # not due yet
    assert len(receiver.requests) == 1

    time_machine.move_to(T0 + timedelta(minutes=1, seconds=1), tick=False)
    deliver(runner)
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 2, 503)
    assert delivery.next_attempt_at == T0 + timedelta(minutes=1, seconds=1) + timedelta(minutes=2)

    time_machine.move_to(T0 + timedelta(minutes=4), tick=False)
    deliver(runner)
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 3, 200)
    assert len(receiver.requests) == 3
    # The same event each time, freshly signed.
    assert len({r.body for r in receiver.requests}) == 1
    verify = readme_verify()
    assert all(verify(endpoint["secret"], r.body, r.headers["portal-signature"], 10**10) for r in receiver.requests)


def test_a_delivery_is_given_up_after_three_days(app, api, customer_id, runner, receiver, allow_private, time_machine):
    time_machine.move_to(T0, tick=False)
    _endpoint(api, receiver.url)
    receiver.statuses = [500] * 100
    _finalized(api, customer_id)
    now = T0
    while True:
        deliver(runner)
        [delivery] = deliveries(app)
        if delivery.status != "pending":
            break
        now = delivery.next_attempt_at
        time_machine.move_to(now, tick=False)
    assert delivery.status == "failed"
    assert T0 + timedelta(days=2, hours=18) <= delivery.last_attempt_at <= T0 + timedelta(days=3)
    assert 15 <= delivery.attempts <= 25 and len(receiver.requests) == delivery.attempts


def test_never_posted_to_loopback_without_the_allow_flag(app, api, customer_id, runner, receiver, monkeypatch):
    for url in (receiver.url, receiver.url.replace("http:", "https:"), "https://localhost/hook"):
        refused = api.post("/webhook-endpoints", {"url": url, "events": ["*"]})
        assert refused.status_code == 422, (url, refused.json)
        assert refused.json["error"]["code"] == "unsafe_url"
    # Saved while allowed (development), then the deployment forbids it: nothing reaches the receiver.
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
    _endpoint(api, receiver.url)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", False)
    _finalized(api, customer_id)

    deliver(runner)

    assert receiver.requests == []
    [delivery] = deliveries(app)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "loopback, private" in delivery.last_error or "https://" in delivery.last_error


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[64:ff9b::7f00:1]/hook",
        "https://127.1/hook",
        "https://2130706433/hook",
        "http://93.184.216.34/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pass@93.184.216.34/hook",
    ],
)
def test_inward_or_plain_destinations_are_refused(app, url):
    with app.app_context(), pytest.raises(UnsafeDestination):
        check_url(url)


def test_a_public_address_is_accepted_and_pinned(app):
    with app.app_context():
        destination = check_url("https://93.184.216.34:8443/hook?x=1")
    assert destination.addresses == ("93.184.216.34",)
    assert (destination.host, destination.port, destination.target) == ("93.184.216.34", 8443, "/hook?x=1")


def test_endpoints_receive_only_the_types_they_chose_and_nothing_when_disabled(
    app, api, customer_id, runner, receiver, allow_private
):
    paid_only = _endpoint(api, receiver.url + "/paid", events=["invoice.paid"])
    everything = _endpoint(api, receiver.url + "/all")
    invoice = _finalized(api, customer_id)
    deliver(runner)
    assert [r.path for r in receiver.requests] == ["/hooks/portal/all"]

    assert api.patch(f"/webhook-endpoints/{everything['id']}", {"enabled": False}).json["enabled"] is False
    api.post(f"/invoices/{invoice['id']}/payments", {"amount": 100000, "paid_on": "2026-01-15", "method": "cash"})
    deliver(runner)
    assert [json.loads(r.body)["type"] for r in receiver.requests[1:]] == ["invoice.paid"]
    assert receiver.requests[1].path == "/hooks/portal/paid"
    assert api.get(f"/webhook-endpoints/{paid_only['id']}").json["events"] == ["invoice.paid"]
    assert api.delete(f"/webhook-endpoints/{paid_only['id']}").status_code == 204
    assert api.get(f"/webhook-endpoints/{paid_only['id']}").status_code == 404
    assert [e["id"] for e in api.get("/webhook-endpoints").json["data"]] == [everything["id"]]


def test_endpoint_input_is_checked(api, allow_private):
    bad_event = api.post("/webhook-endpoints", {"url": "https://93.184.216.34/h", "events": ["invoice.eaten"]})
    assert bad_event.status_code == 422
    empty = api.post("/webhook-endpoints", {"url": "https://93.184.216.34/h", "events": []})
    assert empty.status_code == 422
    created = _endpoint(api, "https://93.184.216.34/h", events=["invoice.paid", "*"])
    assert created["events"] == ["*"]
    assert api.patch(f"/webhook-endpoints/{created['id']}", {"events": None}).status_code == 422
    assert api.patch(f"/webhook-endpoints/{created['id']}", {"description": None}).json["description"] is None


def test_the_event_log_is_complete_after_a_payment_and_comments(app, api, client, customer_id):
    invoice = _finalized(api, customer_id)
    api.post(f"/invoices/{invoice['id']}/send", {"test": False})
    api.post(f"/invoices/{invoice['id']}/send", {"test": True})  # a test copy is no news for integrators
    api.post(f"/invoices/{invoice['id']}/payments", {"amount": 40000, "paid_on": "2026-01-15", "method": "cash"})
    # The customer opens the invoice (twice: one view) and asks a question.
    with app.app_context():
        link = make_portal_link(db.session.get(Customer, customer_id))
        db.session.remove()
    assert client.get(urlsplit(link.url).path).status_code == 303
    page = client.get(f"/invoices/{invoice['number']}")
    assert client.get(f"/invoices/{invoice['number']}").status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    posted = client.post(f"/invoices/{invoice['number']}/comments", data={"csrf_token": token, "body": "Why 21 %?"})
    assert posted.status_code == 303
    api.post(
        f"/invoices/{invoice['id']}/credit-notes",
        {"lines": [dict(SPEC_LINE, unit_amount=10000)], "issue_date": "2026-01-20"},
    )
    last = api.post(f"/invoices/{invoice['id']}/payments", {"amount": 50000, "paid_on": "2026-01-21", "method": "cash"})
    refunded = api.post(f"/payments/{last.json['id']}/refund", {"amount": 5000, "note": "Goodwill"})
    assert refunded.status_code == 201, refunded.json

    assert event_types(api)[-2:] == ["invoice.reopened", "payment.refunded"]
    refund = api.get("/events?type=payment.refunded").json["data"][0]["data"]
    assert (refund["amount"], refund["payment_id"], refund["invoice_status"]) == (5000, last.json["id"], "open")
    reopened = api.get("/events?type=invoice.reopened").json["data"][0]["data"]
    assert (reopened["status"], reopened["outstanding"]) == ("open", 5000)
    assert event_types(api)[:-2] == [
        "invoice.finalized",
        "invoice.sent",
        "payment.succeeded",
        "invoice.viewed",
        "comment.created",
        "credit_note.created",
        "payment.succeeded",
        "invoice.paid",
    ]
    events = api.get("/events").json["data"][2:]
    paid = events[0]
    assert paid["data"]["status"] == "paid" and paid["data"]["outstanding"] == 0
    comment = next(e for e in events if e["type"] == "comment.created")["data"]
    assert (comment["author"], comment["body"], comment["invoice_id"]) == ("customer", "Why 21 %?", invoice["id"])
    payment = events[1]["data"]
    assert (payment["amount"], payment["invoice_id"], payment["method"]) == (50000, invoice["id"], "cash")
    # Filters and cursors.
    only = api.get("/events?type=payment.succeeded").json["data"]
    assert [e["data"]["amount"] for e in only] == [50000, 40000]
    # The data is the object as the API shows it: the reopened invoice now.
    reopened_event = api.get("/events?type=invoice.reopened").json["data"][0]["data"]
    assert reopened_event == {**api.get(f"/invoices/{invoice['id']}").json, "as_of": reopened_event["as_of"]}
    events = api.get("/events").json["data"]
    first = api.get("/events?limit=3").json
    assert first["has_more"] is True and len(first["data"]) == 3
    second = api.get(f"/events?limit=3&starting_after={first['data'][-1]['id']}").json
    assert [e["id"] for e in second["data"]] == [e["id"] for e in events[3:6]]
    back = api.get(f"/events?limit=3&ending_before={second['data'][0]['id']}").json
    assert back["data"] == first["data"] and back["has_more"] is False


def test_events_belong_to_their_merchant(app, api, other_api, customer_id):
    invoice = _finalized(api, customer_id)
    [event] = api.get("/events").json["data"]
    assert event["data"]["id"] == invoice["id"]
    assert other_api.get("/events").json["data"] == []
    assert other_api.get(f"/events/{event['id']}").status_code == 404
    assert (
        other_api.get(f"/events?starting_after={event['id']}").status_code == 404
    )  # an unknown cursor, like an unknown object


def test_overdue_is_announced_once_and_events_are_purged_after_30_days(app, api, customer_id, time_machine):
    time_machine.move_to(datetime(2026, 1, 20, 12, tzinfo=UTC), tick=False)
    invoice = _finalized(api, customer_id)  # due 2026-01-31

    def run_duty(name: str) -> None:
        with app.app_context():
            enqueue(f"duty.{name}")
            db.session.commit()
            assert run_due().done == 1
            db.session.remove()

    run_duty("announce-overdue-invoices")
    assert "invoice.overdue" not in event_types(api)
    time_machine.move_to(datetime(2026, 2, 1, 1, tzinfo=UTC), tick=False)
    run_duty("announce-overdue-invoices")
    run_duty("announce-overdue-invoices")
    assert event_types(api) == ["invoice.finalized", "invoice.overdue"]
    overdue = api.get("/events?type=invoice.overdue").json["data"][0]["data"]
    assert overdue["id"] == invoice["id"] and overdue["overdue"] is True and overdue["days_late"] == 1

    time_machine.move_to(datetime(2026, 2, 20, 12, 1, tzinfo=UTC), tick=False)
    run_duty("purge-events")
    assert event_types(api) == ["invoice.overdue"]
    time_machine.move_to(datetime(2026, 3, 4, tzinfo=UTC), tick=False)
    run_duty("purge-events")
    run_duty("announce-overdue-invoices")  # past the kept window: not announced again
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_endpoint_secrets_rotate_with_the_encryption_key(app, database_url, receiver, allow_private):
    from tests.conftest import build_app, dispose
    from tests.factories import make_api_key, make_merchant

    during = build_app(database_url, ENCRYPTION_KEY="new-encryption-key, old-encryption-key")
    after = build_app(database_url, ENCRYPTION_KEY="new-encryption-key", WEBHOOKS_ALLOW_PRIVATE=True)
    before = build_app(database_url, ENCRYPTION_KEY="old-encryption-key", WEBHOOKS_ALLOW_PRIVATE=True)
    try:
        with before.app_context():
            key = make_api_key(make_merchant("Acme"))
            db.session.commit()
        created = before.test_client().post(
            "/api/v1/webhook-endpoints",
            json={"url": receiver.url, "events": ["*"]},
            headers={"Authorization": f"Bearer {key}"},
        )
        secret = created.json["secret"]
        rotated = during.test_cli_runner().invoke(args=["portal", "rotate-encryption-key"])
        assert rotated.exit_code == 0 and "Re-encrypted 1 stored" in rotated.output, rotated.output
        with after.app_context():
            from portal.models.api import WebhookEndpoint
            from portal.payments.encryption import decrypt_secret

            assert decrypt_secret(db.session.scalars(select(WebhookEndpoint)).one().secret_encrypted) == secret
            db.session.remove()
    finally:
        for each in (before, during, after):
            dispose(each)


def test_an_overpayment_changes_the_credit_balance(api, customer_id):
    invoice = _finalized(api, customer_id)
    body = {"amount": 120000, "paid_on": "2026-01-15", "method": "bank_transfer", "surplus_to_credit": True}
    assert api.post(f"/invoices/{invoice['id']}/payments", body).status_code == 201
    assert event_types(api) == ["invoice.finalized", "payment.succeeded", "invoice.paid", "customer.credit_changed"]
    [changed] = api.get("/events?type=customer.credit_changed").json["data"]
    assert (changed["data"]["id"], changed["data"]["credit_balance"]) == (customer_id, 20000)


def test_a_transfer_nothing_booked_is_announced(api):
    from tests.bank.camt import Account, Transfer, build

    statement = build(Account(entries=[Transfer("5.00", account_servicer_reference="EV-1", debtor_name="Nobody")]))
    imported = api.client.post(
        "/api/v1/bank-statements",
        data=statement,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert imported.status_code == 201, imported.json
    [event] = api.get("/events?type=bank_transaction.unmatched").json["data"]
    assert (event["data"]["status"], event["data"]["amount"]) == ("unmatched", 500)
    listed = api.get("/bank-transactions?status=unmatched&limit=1").json
    assert [row["id"] for row in listed["data"]] == [event["data"]["id"]] and listed["has_more"] is False

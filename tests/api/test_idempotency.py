"""Idempotency-Key on every write: a retry replays the first answer and changes nothing (Stripe's semantics)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.extensions import db
from portal.jobs.queue import enqueue, run_due
from portal.models import CreditNote, Invoice, Payment
from portal.models.api import IdempotencyKey
from portal.models.base import utcnow
from tests.api.conftest import SPEC_LINE, invoice_body
from tests.factories import make_api_key, make_customer, make_merchant


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_create_invoice_twice_with_one_key_creates_one(app, api, customer_id):
    headers = _key()
    first = api.post("/invoices", invoice_body(customer_id), headers=headers)
    second = api.post("/invoices", invoice_body(customer_id), headers=headers)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json == first.json
    assert _count(app, Invoice) == 1


def test_the_same_body_spelled_otherwise_is_the_same_request(app, api, customer_id):
    headers = _key()
    first = api.post("/invoices", invoice_body(customer_id), headers=headers)
    reordered = dict(reversed(list(invoice_body(customer_id).items())))
    second = api.post("/invoices", reordered, headers=headers)
    assert second.status_code == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert second.json["id"] == first.json["id"]


def test_finalize_replayed_keeps_its_number_and_answer(app, api, customer_id):
    draft = api.post("/invoices", invoice_body(customer_id)).json
    headers = _key()
    first = api.post(f"/invoices/{draft['id']}/finalize", headers=headers)
    second = api.post(f"/invoices/{draft['id']}/finalize", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json["number"] == first.json["number"]
    # Without the key the invoice is already open: finalizing again is refused.
    assert api.post(f"/invoices/{draft['id']}/finalize").status_code == 409


def test_record_payment_retried_records_it_once(app, api, open_invoice):
    headers = _key()
    body = {"amount": 40000, "paid_on": "2026-01-15", "method": "bank_transfer"}
    answers = [api.post(f"/invoices/{open_invoice['id']}/payments", body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json == answers[1].json == answers[2].json
    assert _count(app, Payment) == 1
    assert api.get(f"/invoices/{open_invoice['id']}").json["paid"] == 40000


def test_credit_note_retried_issues_one(app, api, open_invoice):
    headers = _key()
    body = {"lines": [dict(SPEC_LINE, unit_amount=20000)], "issue_date": "2026-01-20"}
    first = api.post(f"/invoices/{open_invoice['id']}/credit-notes", body, headers=headers)
    second = api.post(f"/invoices/{open_invoice['id']}/credit-notes", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json["number"] == first.json["number"]
    assert _count(app, CreditNote) == 1


def test_same_key_with_another_body_is_refused(app, api, customer_id):
    headers = _key()
    assert api.post("/invoices", invoice_body(customer_id), headers=headers).status_code == 201
    other = api.post("/invoices", invoice_body(customer_id, notes="changed"), headers=headers)
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert other.json["error"]["field"] == "Idempotency-Key"
    # Another path with the same key is another request too.
    elsewhere = api.post("/customers", {"name": "Bob", "email": "bob@example.com"}, headers=headers)
    assert elsewhere.status_code == 422 and elsewhere.json["error"]["code"] == "idempotency_key_reused"
    assert _count(app, Invoice) == 1


def test_keys_belong_to_one_api_key(app, api, customer_id, other_api):
    headers = _key()
    assert api.post("/customers", {"name": "Ann", "email": "ann@example.com"}, headers=headers).status_code == 201
    theirs = other_api.post("/customers", {"name": "Ann", "email": "ann@example.com"}, headers=headers)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers


def test_a_refusal_by_the_rules_is_replayed_too(app, api, open_invoice):
    headers = _key()
    too_much = {"amount": 200000, "paid_on": "2026-01-15", "method": "cash"}
    first = api.post(f"/invoices/{open_invoice['id']}/payments", too_much, headers=headers)
    assert first.status_code == 422
    second = api.post(f"/invoices/{open_invoice['id']}/payments", too_much, headers=headers)
    assert second.status_code == 422 and second.headers["Idempotent-Replayed"] == "true"
    assert second.json == first.json


def test_invalid_input_does_not_use_up_the_key(app, api, customer_id):
    headers = _key()
    bad = api.post("/invoices", invoice_body(customer_id, currency="euro"), headers=headers)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid"
    good = api.post("/invoices", invoice_body(customer_id), headers=headers)
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers
    unauthorized = api.post("/invoices", invoice_body(customer_id), key="wrong", headers=headers)
    assert unauthorized.status_code == 401


def test_a_delete_replayed_answers_204_again(app, api, customer_id):
    draft = api.post("/invoices", invoice_body(customer_id)).json
    headers = _key()
    first = api.delete(f"/invoices/{draft['id']}", headers=headers)
    second = api.delete(f"/invoices/{draft['id']}", headers=headers)
    assert first.status_code == second.status_code == 204
    assert second.data == b"" and second.headers["Idempotent-Replayed"] == "true"


def test_reads_ignore_the_header(app, api, customer_id):
    headers = _key()
    api.post("/customers", {"name": "Ann", "email": "ann@example.com"}, headers=headers)
    listed = api.get("/customers", headers=headers)
    assert listed.status_code == 200 and "Idempotent-Replayed" not in listed.headers


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there"])
def test_a_malformed_key_is_refused(app, api, customer_id, key):
    response = api.post("/customers", {"name": "Ann", "email": "ann@example.com"}, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_idempotency_key"


def test_a_key_in_use_is_409_and_one_left_behind_is_taken_over(app, api, merchant_key, time_machine):
    """A lock row with no answer is a request still running (409), or after two minutes one that died."""
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=UTC), tick=False)
    headers = _key()
    body = {"name": "Ann", "email": "ann@example.com"}
    assert api.post("/customers", body, headers=headers).status_code == 201
    with app.app_context():
        # What a request that is still running (or died) leaves: the lock without an answer.
        row = db.session.scalar(select(IdempotencyKey))
        row.response_status = row.response_body = row.completed_at = None
        db.session.commit()
    running = api.post("/customers", body, headers=headers)
    assert running.status_code == 409
    assert running.json["error"]["code"] == "idempotency_key_in_use"
    assert running.headers["Retry-After"] == "1"
    time_machine.move_to(datetime(2026, 3, 2, 10, 3, tzinfo=UTC), tick=False)
    taken = api.post("/customers", body, headers=headers)
    assert taken.status_code == 201 and "Idempotent-Replayed" not in taken.headers
    assert api.post("/customers", body, headers=headers).headers["Idempotent-Replayed"] == "true"


def test_keys_expire_after_24_hours_and_are_purged(app, api, customer_id, time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=UTC), tick=False)
    headers = _key()
    body = {"name": "Ann", "email": "ann@example.com"}
    first = api.post("/customers", body, headers=headers)
    time_machine.move_to(datetime(2026, 3, 3, 9, 59, tzinfo=UTC), tick=False)
    assert api.post("/customers", body, headers=headers).json["id"] == first.json["id"]
    time_machine.move_to(datetime(2026, 3, 3, 10, 1, tzinfo=UTC), tick=False)
    later = api.post("/customers", body, headers=headers)
    assert later.status_code == 201 and later.json["id"] != first.json["id"]
    api.post("/customers", body, headers=_key())
    time_machine.move_to(datetime(2026, 3, 4, 10, 2, tzinfo=UTC), tick=False)
    with app.app_context():
        enqueue("duty.purge-idempotency-keys")
        db.session.commit()
        assert run_due().done == 1
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


# --- PostgreSQL: ten requests at once with one key, one effect -----------------------------------


@pytest.fixture
def served_pg(pg):
    """The PostgreSQL app served by a real threaded HTTP server on loopback."""
    server = make_server("127.0.0.1", 0, pg, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield pg, f"http://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()
    thread.join(10)


def _at_once(count: int, send) -> list[requests.Response]:
    barrier = threading.Barrier(count)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def one() -> None:
        with requests.Session() as session:
            barrier.wait()
            answer = send(session)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


@pytest.mark.postgres
def test_ten_concurrent_requests_with_one_key_have_one_effect(served_pg):
    app, base = served_pg
    with app.app_context():
        merchant = make_merchant("Acme")
        customer = make_customer(merchant)
        key = make_api_key(merchant)
        db.session.commit()
        customer_id = customer.id
    auth = {"Authorization": f"Bearer {key}"}

    create_key = str(uuid.uuid4())
    created = _at_once(
        10,
        lambda s: s.post(
            f"{base}/invoices", json=invoice_body(customer_id), headers={**auth, "Idempotency-Key": create_key}
        ),
    )
    assert sorted({a.status_code for a in created}) in ([201], [201, 409]), [a.text for a in created]
    assert len({a.json()["id"] for a in created if a.status_code == 201}) == 1
    assert all(a.json()["error"]["code"] == "idempotency_key_in_use" for a in created if a.status_code == 409)
    assert _count(app, Invoice) == 1
    invoice_id = next(a.json()["id"] for a in created if a.status_code == 201)

    finalized = requests.post(f"{base}/invoices/{invoice_id}/finalize", headers=auth, timeout=30)
    assert finalized.status_code == 200, finalized.text
    pay_key = str(uuid.uuid4())
    body = {"amount": 10000, "paid_on": "2026-01-15", "method": "bank_transfer"}
    paid = _at_once(
        10,
        lambda s: s.post(
            f"{base}/invoices/{invoice_id}/payments", json=body, headers={**auth, "Idempotency-Key": pay_key}
        ),
    )
    assert {a.status_code for a in paid} <= {201, 409}, [a.text for a in paid]
    assert len({a.json()["id"] for a in paid if a.status_code == 201}) == 1
    assert _count(app, Payment) == 1
    # Once the first has finished, every retry gets its answer.
    again = requests.post(
        f"{base}/invoices/{invoice_id}/payments", json=body, headers={**auth, "Idempotency-Key": pay_key}, timeout=30
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        assert db.session.scalar(select(IdempotencyKey.completed_at).where(IdempotencyKey.key == pay_key)) <= utcnow()
        assert timedelta(0) <= utcnow() - db.session.scalar(select(func.max(IdempotencyKey.created_at)))

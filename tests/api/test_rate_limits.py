"""API rate limits: per key with RateLimit-* headers, 429 with Retry-After, failed authentication per address."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from portal.extensions import db
from tests.conftest import redis_url
from tests.factories import make_api_key, make_merchant
from tests.payments.test_concurrency import Instance

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def test_every_answer_says_where_the_key_stands(api, frozen):
    first = api.get("/customers")
    assert first.headers["RateLimit-Limit"] == "600"
    assert first.headers["RateLimit-Remaining"] == "599"
    assert 0 < int(first.headers["RateLimit-Reset"]) <= 60
    assert first.headers["RateLimit-Policy"] == "600;w=60"
    assert api.get("/customers").headers["RateLimit-Remaining"] == "598"


def test_a_key_over_its_limit_gets_429_until_the_window_passes(app, api, other_api, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3/minute")
    assert [api.get("/customers").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/customers")
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    # Writes too, and a refused write leaves its idempotency key unused.
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert api.post("/customers", {"name": "Ann", "email": "a@example.com"}, headers=key).status_code == 429
    # Each key counts alone.
    assert other_api.get("/customers").status_code == 200
    frozen.move_to(T0 + timedelta(seconds=61), tick=False)
    again = api.post("/customers", {"name": "Ann", "email": "a@example.com"}, headers=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers


def test_several_limits_at_once(app, api, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100/second;4/hour")
    statuses = [api.get("/customers").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_failed_authentication_is_limited_per_address(app, api, client, frozen):
    # The default: 60 failures a minute from one address.
    wrong = {"Authorization": "Bearer ipk_guess"}
    statuses = [client.get("/api/v1/customers", headers=wrong).status_code for _ in range(61)]
    assert statuses == [401] * 60 + [429]
    # Past it, the address is refused before any key is looked at: even a right one.
    blocked = api.get("/customers")
    assert blocked.status_code == 429 and blocked.json["error"]["code"] == "rate_limited"
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    # Another address is not affected.
    elsewhere = client.get(
        "/api/v1/customers", headers={"Authorization": f"Bearer {api.key}"}, environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert elsewhere.status_code == 200
    frozen.move_to(T0 + timedelta(seconds=61), tick=False)
    assert api.get("/customers").status_code == 200


def test_missing_keys_count_as_failures(app, client, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "API_AUTH_FAILURE_RATE_LIMIT", "2/minute")
    statuses = [client.get("/api/v1/invoices").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert client.get("/api/v1/openapi.json").status_code == 200  # the document needs no key


def test_instances_sharing_redis_share_each_keys_limit(app, database_url):
    with app.app_context():
        key = make_api_key(make_merchant("Acme"))
        db.session.commit()
    config = {
        "RATELIMIT_STORAGE_URI": redis_url(),
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "API_RATE_LIMIT": "3/minute",
    }
    instances = [Instance(database_url, config) for _ in range(2)]
    try:
        session = requests.Session()
        session.trust_env = False
        statuses = [
            session.get(f"{instance.url}/api/v1/customers", headers={"Authorization": f"Bearer {key}"})
            for instance in (*instances, *instances, instances[0])
        ]
        session.close()
    finally:
        for instance in instances:
            instance.stop()
    assert [s.status_code for s in statuses] == [200, 200, 200, 429, 429]

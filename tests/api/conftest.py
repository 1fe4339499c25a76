"""Fixtures for the JSON API: a merchant with a key, and a client that sends it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.extensions import db, limiter
from tests.factories import make_api_key, make_customer, make_merchant


@dataclass
class Api:
    client: object
    key: str

    def _headers(self, key: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key if key is None else key}", **(extra or {})}

    def get(self, path: str, key: str | None = None, headers: dict[str, str] | None = None, **kwargs):
        return self.client.get("/api/v1" + path, headers=self._headers(key, headers), **kwargs)

    def delete(self, path: str, key: str | None = None, headers: dict[str, str] | None = None):
        return self.client.delete("/api/v1" + path, headers=self._headers(key, headers))

    def post(self, path: str, json: object = None, key: str | None = None, headers: dict[str, str] | None = None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(key, headers), **kw)

    def put(self, path: str, json: object = None, key: str | None = None, headers: dict[str, str] | None = None):
        return self.client.put("/api/v1" + path, json=json, headers=self._headers(key, headers))

    def patch(self, path: str, json: object = None, key: str | None = None, headers: dict[str, str] | None = None):
        return self.client.patch("/api/v1" + path, json=json, headers=self._headers(key, headers))


@pytest.fixture
def merchant_key(app):
    """Return (merchant id, API key) for a fresh merchant with the SPEC's late-fee policy."""
    with app.app_context():
        merchant = make_merchant("Acme")
        key = make_api_key(merchant)
        db.session.commit()
        return merchant.id, key


@pytest.fixture
def api(client, merchant_key) -> Api:
    return Api(client, merchant_key[1])


@pytest.fixture
def other_api(app, client) -> Api:
    """An API client of a second merchant, with one customer of its own."""
    with app.app_context():
        merchant = make_merchant("Rival")
        make_customer(merchant, name="Rival's customer")
        key = make_api_key(merchant)
        db.session.commit()
    return Api(client, key)


@pytest.fixture
def customer_id(api) -> int:
    response = api.post("/customers", {"name": "Jane Cooper", "email": "jane@example.com", "language": "en"})
    assert response.status_code == 201, response.json
    return response.json["id"]


SPEC_LINE = {"description": "Consulting", "quantity": "1", "unit_amount": 100000, "tax_rate": "0"}


def invoice_body(customer_id: int, **overrides) -> dict:
    body = {
        "customer_id": customer_id,
        "currency": "EUR",
        "issue_date": "2026-01-01",
        "due_date": "2026-01-31",
        "lines": [dict(SPEC_LINE)],
    }
    body.update(overrides)
    return body


@pytest.fixture
def open_invoice(api, customer_id) -> dict:
    """The SPEC's invoice: 1,000.00 EUR due 2026-01-31, finalized."""
    created = api.post("/invoices", invoice_body(customer_id))
    assert created.status_code == 201, created.json
    finalized = api.post(f"/invoices/{created.json['id']}/finalize")
    assert finalized.status_code == 200, finalized.json
    return finalized.json


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """Each test starts with unspent API limits (the session's app keeps its counts in memory)."""
    with app.app_context():
        limiter.reset()

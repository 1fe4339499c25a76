"""Schemathesis against the live OpenAPI document: no 5xx, and every answer as the document says.

A bounded number of generated requests per operation (PORTAL_TEST_SCHEMATHESIS_EXAMPLES, default 8),
sent through the app with a valid key, on the test database (SQLite, or PostgreSQL with
PORTAL_TEST_DATABASE_URL, as CI runs it).
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.extensions import db
from tests.factories import make_api_key, make_customer, make_merchant

EXAMPLES = int(os.environ.get("PORTAL_TEST_SCHEMATHESIS_EXAMPLES", "8"))
#: Refusals no schema can foresee, each named by its operation and error code, for a reason stated here.
UNSTATEABLE = {
    # The URL's host must resolve (DNS, when saved) to a public address.
    ("POST", "/webhook-endpoints", "unsafe_url"),
    ("POST", "/webhook-endpoints", "unresolvable_url"),
    ("PATCH", "/webhook-endpoints/{endpoint_id}", "unsafe_url"),
    ("PATCH", "/webhook-endpoints/{endpoint_id}", "unresolvable_url"),
    # The body must be a CAMT.052/053/054 document, which a string schema cannot describe.
    ("POST", "/bank-statements", "invalid_statement"),
    # Enabling a provider needs an API key unless one is stored already.
    ("PUT", "/settings/payment-providers", "invalid"),
}


def _unstateable(case, response) -> bool:
    """Tell whether a refusal of a schema-valid request is one the document can only state in words."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    if (case.method.upper(), case.path, error["code"]) in UNSTATEABLE:
        return True
    # Check digits (VAT, IBAN, company numbers) and special-use mail domains (example.invalid, *.test).
    if response.status_code == 422 and error["code"] == "invalid_identifier" and error["field"] != "address.country":
        return True
    # Whether a phone number exists in its country's numbering plan (phonenumbers' metadata).
    if response.status_code == 422 and error["field"] in ("phone", "contact.phone") and error["code"] == "invalid":
        return True
    # A line may leave out its tax rate only when the merchant set a default one (Settings → Invoice defaults).
    if response.status_code == 422 and "set a default tax rate" in error["message"]:
        return True
    return response.status_code == 422 and "special-use or reserved name" in error["message"]


@schemathesis.check
def valid_requests_are_accepted(ctx, response, case):
    """Schemathesis' positive_data_acceptance, less the refusals listed in UNSTATEABLE."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _unstateable(case, response):
            return None
        raise


CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    # Valid-by-schema requests are accepted: 2xx, or 404 (an id this merchant has not) or 409 (a state
    # that refuses the change) – never 400 or 422, so the document states the real limits.
    valid_requests_are_accepted,
]


@pytest.fixture
def key(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000/minute")
    with app.app_context():
        merchant = make_merchant("Acme")
        make_customer(merchant)
        token = make_api_key(merchant)
        db.session.commit()
    return token


def _one_cursor(case) -> bool:
    """Leave out what no OpenAPI parameter schema can state: a list takes one cursor, or offset without one."""
    query = case.query or {}
    cursors = [name for name in ("starting_after", "ending_before") if query.get(name) is not None]
    return len(cursors) < 2 and not (cursors and query.get("offset"))


def test_the_api_keeps_its_document(app, key):
    api_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:

        @given(case=operation.as_strategy().filter(_one_cursor))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case):
            if case.headers and "Idempotency-Key" in case.headers:
                # A key names one request: generated keys repeat across operations, which is a reuse (422) by design.
                case.headers["Idempotency-Key"] = uuid.uuid4().hex
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)

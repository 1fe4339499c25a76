"""Schemathesis against the live OpenAPI document: no 5xx, and every answer as the document says.

A bounded number of generated requests per operation (PORTAL_TEST_SCHEMATHESIS_EXAMPLES, default 8),
sent through the app with a valid key, on the test database (SQLite, or PostgreSQL with
PORTAL_TEST_DATABASE_URL, as CI runs it).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.extensions import db
from tests.factories import make_api_key, make_customer, make_merchant

EXAMPLES = int(os.environ.get("PORTAL_TEST_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    # Valid-by-schema requests are accepted: 2xx, or 404 (an id this merchant has not) or 409 (a state
    # that refuses the change) – never 400 or 422, so the document states the real limits.
    positive_data_acceptance,
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


def test_the_api_keeps_its_document(app, key):
    api_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)

"""The OpenAPI document describes exactly what the API does: a test walks every operation."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jsonschema
import pytest
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.api.conftest import SPEC_LINE
from tests.bank.camt import Account, Transfer, build


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_document_lists_exactly_the_routes(app, document):
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method != "parameters"
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            served |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


def _validator(document, schema):
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:doc", resource)
    rebased = _rebase(schema)
    return jsonschema.Draft202012Validator(rebased, registry=registry)


def _rebase(node):
    if isinstance(node, dict):
        return {k: ("urn:doc" + v if k == "$ref" and v.startswith("#/") else _rebase(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def _check(document, path, method, response):
    responses = document["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, (method, path, response.status_code, response.json)
    spec = responses[str(response.status_code)]
    if "content" in spec:
        [content_type] = spec["content"]
        assert response.mimetype == content_type, (method, path, response.mimetype)
        schema = spec["content"][content_type]["schema"]
        _validator(document, schema).validate(response.json if content_type == "application/json" else response.text)
    else:
        assert response.data == b""


PDF = b"%PDF-1.4\n%%EOF\n"


def _file_post(api):
    def post(path, data, key=None):
        body = (
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="terms.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n--b0undary--\r\n"
        )
        content_type = "multipart/form-data; boundary=b0undary"
        return api.client.post("/api/v1" + path, data=body, content_type=content_type, headers=api._headers(key))

    return post


XML_STATEMENT = build(Account(entries=[Transfer("5.00", account_servicer_reference="WALK-1", debtor_name="Nobody")]))


def _xml_post(api):
    def post(path, data, key=None):
        return api.client.post("/api/v1" + path, data=data, content_type="application/xml", headers=api._headers(key))

    return post


def test_walk_every_operation(app, api, document, time_machine, monkeypatch):
    """Call each documented operation, success and error, and validate the answers against the document."""
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=UTC), tick=False)
    # The walk calls every operation with a wrong key too: more failures than one address may make a minute.
    monkeypatch.setitem(app.config, "API_AUTH_FAILURE_RATE_LIMIT", "1000/minute")
    state: dict[str, int] = {}
    line = dict(SPEC_LINE)
    draft_body = {
        "customer_id": 0,
        "currency": "EUR",
        "issue_date": "2026-01-01",
        "due_date": "2026-01-31",
        "lines": [line],
    }
    # operationId → (method, path template, body, expected status); run in this order.
    plan = [
        ("create_customer", "post", "/customers", lambda: {"name": "Jane", "email": "j@example.com"}, 201),
        ("get_customer", "get", "/customers/{customer_id}", None, 200),
        ("list_customers", "get", "/customers", None, 200),
        (
            "update_customer",
            "patch",
            "/customers/{customer_id}",
            lambda: {
                "company": "Cooper BV",
                "vat_number": "BE0477472701",
                "address": {"line1": "Veldstraat 1", "postal_code": "9000", "city": "Gent", "country": "BE"},
            },
            200,
        ),
        ("archive_customer", "post", "/customers/{customer_id}/archive", None, 200),
        ("unarchive_customer", "post", "/customers/{customer_id}/unarchive", None, 200),
        (
            "create_product",
            "post",
            "/products",
            lambda: {"name": "Hosting", "unit_amount": 2500, "currency": "EUR", "tax_rate": "21"},
            201,
        ),
        ("list_products", "get", "/products", None, 200),
        ("get_product", "get", "/products/{product_id}", None, 200),
        ("update_product", "patch", "/products/{product_id}", lambda: {"unit_amount": 3000}, 200),
        ("delete_product", "delete", "/products/{product_id}", None, 204),
        ("get_company", "get", "/settings/company", None, 200),
        (
            "put_company",
            "put",
            "/settings/company",
            lambda: {
                "legal_name": "Acme SRL",
                "address": {"line1": "Rue Haute 1", "postal_code": "1000", "city": "Bruxelles", "country": "BE"},
                "email": "billing@acme.example",
                "vat_number": "BE0403170701",
                "iban": "BE68539007547034",
            },
            200,
        ),
        ("create_invoice", "post", "/invoices", lambda: {**draft_body, "customer_id": state["customer_id"]}, 201),
        ("update_invoice", "patch", "/invoices/{invoice_id}", lambda: {"notes": "Thanks"}, 200),
        ("create_attachment", "post", "/invoices/{invoice_id}/attachments", lambda: PDF, 201),
        ("list_attachments", "get", "/invoices/{invoice_id}/attachments", None, 200),
        ("get_attachment", "get", "/invoices/{invoice_id}/attachments/{attachment_id}", None, 200),
        ("get_attachment_content", "get", "/invoices/{invoice_id}/attachments/{attachment_id}/content", None, 200),
        ("delete_attachment", "delete", "/invoices/{invoice_id}/attachments/{attachment_id}", None, 204),
        ("finalize_invoice", "post", "/invoices/{invoice_id}/finalize", None, 200),
        ("get_invoice", "get", "/invoices/{invoice_id}", None, 200),
        ("list_invoices", "get", "/invoices", None, 200),
        ("send_invoice", "post", "/invoices/{invoice_id}/send", lambda: {"test": False}, 202),
        ("set_invoice_reminders", "post", "/invoices/{invoice_id}/reminders", lambda: {"paused": True}, 200),
        ("resolve_dispute", "post", "/invoices/{invoice_id}/resolve-dispute", lambda: {}, 409),  # not disputed
        # The customer saved no card or mandate: nothing to charge.
        ("charge_saved_method", "post", "/invoices/{invoice_id}/charge-saved-method", lambda: {}, 409),
        ("list_invoice_sends", "get", "/invoices/{invoice_id}/sends", None, 200),
        (
            "record_payment",
            "post",
            "/invoices/{invoice_id}/payments",
            lambda: {"amount": 100, "paid_on": "2026-02-01", "method": "cash"},
            201,
        ),
        ("refund_payment", "post", "/payments/{payment_id}/refund", lambda: {"amount": 50, "note": "Goodwill"}, 201),
        ("get_customer_credit", "get", "/customers/{customer_id}/credit", None, 200),
        # The customer holds no credit: nothing to apply.
        (
            "apply_customer_credit",
            "post",
            "/customers/{customer_id}/credit/apply",
            lambda: {"invoice_id": state["invoice_id"]},
            422,
        ),
        (
            "create_credit_note",
            "post",
            "/invoices/{invoice_id}/credit-notes",
            lambda: {"lines": [dict(line, unit_amount=100)]},
            201,
        ),
        ("get_credit_note", "get", "/credit-notes/{credit_note_id}", None, 200),
        (
            "create_charge",
            "post",
            "/charges",
            lambda: {
                "customer_id": state["customer_id"],
                "description": "Support hours",
                "charged_on": "2026-02-01",
                "quantity": "2.5",
                "unit_amount": 8000,
                "tax_rate": "21",
            },
            201,
        ),
        ("list_charges", "get", "/charges", None, 200),
        ("get_charge", "get", "/charges/{charge_id}", None, 200),
        ("update_charge", "patch", "/charges/{charge_id}", lambda: {"quantity": "3"}, 200),
        (
            "draft_from_charges",
            "post",
            "/customers/{customer_id}/draft-from-charges",
            lambda: {"charge_ids": [state["charge_id"]]},
            201,
        ),
        ("delete_charge", "delete", "/charges/{charge_id}", None, 409),  # it is on the draft now
        (
            "create_recurring_line",
            "post",
            "/customers/{customer_id}/recurring-lines",
            lambda: {"description": "Hosting", "quantity": "1", "unit_amount": 2500, "tax_rate": "21"},
            201,
        ),
        ("list_recurring_lines", "get", "/customers/{customer_id}/recurring-lines", None, 200),
        ("get_recurring_line", "get", "/recurring-lines/{line_id}", None, 200),
        ("update_recurring_line", "patch", "/recurring-lines/{line_id}", lambda: {"quantity": "2"}, 200),
        ("delete_recurring_line", "delete", "/recurring-lines/{line_id}", None, 204),
        ("get_billing_cycle", "get", "/customers/{customer_id}/billing-cycle", None, 200),
        ("put_billing_cycle", "put", "/customers/{customer_id}/billing-cycle", lambda: {"day_of_month": 5}, 200),
        ("list_comments", "get", "/invoices/{invoice_id}/comments", None, 200),
        ("reply_to_comments", "post", "/invoices/{invoice_id}/comments", lambda: {"body": "Paid in full?"}, 201),
        ("get_payment_methods", "get", "/invoices/{invoice_id}/payment-methods", None, 200),
        ("put_payment_methods", "put", "/invoices/{invoice_id}/payment-methods", lambda: {"providers": []}, 200),
        ("get_invoice_ubl", "get", "/invoices/{invoice_id}/ubl", None, 200),
        ("get_credit_note_ubl", "get", "/credit-notes/{credit_note_id}/ubl", None, 200),
        ("create_portal_link", "post", "/customers/{customer_id}/portal-links", lambda: {}, 201),
        ("revoke_links", "post", "/customers/{customer_id}/revoke-links", None, 204),
        (
            "create_statement",
            "post",
            "/customers/{customer_id}/statements",
            lambda: {"from": "2026-01-01", "to": "2026-03-02", "send": True},
            200,
        ),
        ("list_contacts", "get", "/customers/{customer_id}/contacts", None, 200),
        (
            "create_contact",
            "post",
            "/customers/{customer_id}/contacts",
            lambda: {"name": "Jan", "email": "jan@example.com", "language": "nl", "role": "viewer"},
            201,
        ),
        ("update_contact", "patch", "/contacts/{contact_id}", lambda: {"notify_statements": False}, 200),
        ("delete_contact", "delete", "/contacts/{contact_id}", None, 204),
        (
            "put_late_fee_policy",
            "put",
            "/settings/late-fee-policy",
            lambda: {"annual_rate": "12", "fee_percent": "0", "fee_minimum": 4000, "grace_days": 0},
            200,
        ),
        ("put_invoice_defaults", "put", "/settings/invoice-defaults", lambda: {"default_tax_rate": "21"}, 200),
        ("get_invoice_defaults", "get", "/settings/invoice-defaults", None, 200),
        (
            "put_payment_providers",
            "put",
            "/settings/payment-providers",
            lambda: {"mollie": {"enabled": True, "api_key": "test_" + "a" * 30}},
            200,
        ),
        ("list_events", "get", "/events", None, 200),
        ("get_event", "get", "/events/{event_id}", None, 200),
        (
            "create_webhook_endpoint",
            "post",
            "/webhook-endpoints",
            lambda: {"url": "https://93.184.216.34/hooks", "events": ["invoice.paid"], "description": "ERP"},
            201,
        ),
        ("list_webhook_endpoints", "get", "/webhook-endpoints", None, 200),
        ("get_webhook_endpoint", "get", "/webhook-endpoints/{endpoint_id}", None, 200),
        ("update_webhook_endpoint", "patch", "/webhook-endpoints/{endpoint_id}", lambda: {"enabled": False}, 200),
        ("delete_webhook_endpoint", "delete", "/webhook-endpoints/{endpoint_id}", None, 204),
        ("import_bank_statement", "post", "/bank-statements", lambda: XML_STATEMENT, 201),
        ("list_bank_transactions", "get", "/bank-transactions", None, 200),
        # With the job threshold at 0 (set below), any statement is imported by a job: 202, then polled.
        ("import_bank_statement", "post", "/bank-statements", lambda: XML_STATEMENT, 202),
        ("get_bank_statement_import", "get", "/bank-statements/{import_id}", None, 200),
        ("ignore_bank_transaction", "post", "/bank-transactions/{transaction_id}/ignore", None, 200),
        (
            "match_bank_transaction",
            "post",
            "/bank-transactions/{transaction_id}/match",
            lambda: {"invoice_id": state["invoice_id"]},
            200,
        ),
        ("void_invoice", "post", "/invoices/{invoice_id}/void", None, 409),  # it has a payment
        ("delete_invoice", "delete", "/invoices/{invoice_id}", None, 409),  # it is finalized
    ]
    walked = set()
    for operation_id, method, template, body, expected in plan:
        path = template.format(**state)
        call = (
            _xml_post(api)
            if operation_id == "import_bank_statement"
            else _file_post(api)
            if operation_id == "create_attachment"
            else getattr(api, method)
        )
        response = call(path, body()) if body else call(path)
        assert response.status_code == expected, (operation_id, response.json)
        assert document["paths"][template][method]["operationId"] == operation_id
        _check(document, template, method, response)
        walked.add((method, template))
        if operation_id == "create_customer":
            state["customer_id"] = response.json["id"]
        elif operation_id == "create_invoice":
            state["invoice_id"] = response.json["id"]
        elif operation_id == "create_credit_note":
            state["credit_note_id"] = response.json["id"]
        elif operation_id == "list_bank_transactions":
            state["transaction_id"] = response.json["data"][0]["id"]
            monkeypatch.setitem(app.config, "BANK_IMPORT_JOB_ENTRIES", 0)
        elif operation_id == "import_bank_statement" and response.status_code == 202:
            state["import_id"] = response.json["id"]
        elif operation_id == "record_payment":
            state["payment_id"] = response.json["id"]
        elif operation_id == "create_product":
            state["product_id"] = response.json["id"]
        elif operation_id == "create_charge":
            state["charge_id"] = response.json["id"]
        elif operation_id == "create_attachment":
            state["attachment_id"] = response.json["id"]
        elif operation_id == "create_recurring_line":
            state["line_id"] = response.json["id"]
        elif operation_id == "list_events":
            state["event_id"] = response.json["data"][0]["id"]
        elif operation_id == "create_contact":
            state["contact_id"] = response.json["id"]
        elif operation_id == "create_webhook_endpoint":
            state["endpoint_id"] = response.json["id"]
        # Every operation's documented errors have the documented shape too.
        if "404" in document["paths"][template][method]["responses"] and "{" in template:
            missing = (
                call(re.sub(r"\{\w+\}", "999999", template), body())
                if body
                else call(re.sub(r"\{\w+\}", "999999", template))
            )
            assert missing.status_code == 404
            _check(document, template, method, missing)
        unauthorized = call(path, body(), key="wrong") if body else call(path, key="wrong")
        _check(document, template, method, unauthorized)
    operations = {(m, p) for p, item in document["paths"].items() for m in item}
    assert operations - walked == set(), "operations the walk does not cover yet"

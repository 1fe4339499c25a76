"""A fake of Mollie's Payments API (v2) that mollie-api-python talks to over HTTP on loopback.

With customers, first payments that leave a mandate once paid, recurring payments on a mandate
(paid, or failed for a mandate marked to fail) and revoking mandates.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakes.server import Answer, FakeProvider, Recorded, html_page

_AMOUNT = re.compile(r"\d+(\.\d+)?")
_DECIMALS = {"JPY": 0, "KWD": 3}
_DOCS = "https://docs.mollie.com/overview/handling-errors"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class FakeMollie(FakeProvider):
    """Mollie's /v2/payments, with idempotency keys, HAL links, errors and a checkout page."""

    content_type = "application/hal+json"

    def __init__(self) -> None:
        super().__init__()
        self.payments: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[str, Answer]] = {}
        #: Refunds created through the API, per payment id.
        self.refunds: dict[str, list[dict[str, Any]]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        #: Mandates per customer id, by mandate id.
        self.mandates: dict[str, dict[str, dict[str, Any]]] = {}
        #: Mandate ids whose recurring payments fail.
        self.failing: set[str] = set()
        #: What the mandate a paid first payment leaves looks like ("creditcard" or "directdebit").
        self.first_method = "creditcard"
        self._ids = itertools.count(1)

    # -- test controls ----------------------------------------------------------------------

    def set_status(self, payment_id: str, status: str) -> dict:
        """Change a payment's status as Mollie would when the customer pays, fails or waits."""
        with self.lock:
            payment = self.payments[payment_id]
            payment["status"] = status
            stamp = {"paid": "paidAt", "failed": "failedAt", "canceled": "canceledAt", "expired": "expiredAt"}
            if status in stamp:
                payment[stamp[status]] = _now()
            payment["isCancelable"] = status == "open"
            if status == "paid" and payment.get("sequenceType") == "first" and payment.get("customerId"):
                payment["mandateId"] = self._new_mandate(payment["customerId"])
            if status == "paid" and "amountRefunded" not in payment:
                # As Mollie answers for a paid payment: nothing refunded yet, all of it refundable.
                zero = (
                    "0"
                    if _DECIMALS.get(payment["amount"]["currency"], 2) == 0
                    else "0." + "0" * _DECIMALS.get(payment["amount"]["currency"], 2)
                )
                payment["amountRefunded"] = {"value": zero, "currency": payment["amount"]["currency"]}
                payment["amountRemaining"] = dict(payment["amount"])
            return payment

    def _new_mandate(self, customer_id: str) -> str:
        mandate_id = f"mdt_fake{next(self._ids):06d}"
        if self.first_method == "creditcard":
            details = {
                "cardHolder": "A. Customer",
                "cardNumber": "6787",
                "cardLabel": "Mastercard",
                "cardFingerprint": "fake",
                "cardExpiryDate": "2031-05-31",
            }
        else:
            details = {
                "consumerName": "A. Customer",
                "consumerAccount": "NL55INGB0000000000",
                "consumerBic": "INGBNL2A",
            }
        self.mandates.setdefault(customer_id, {})[mandate_id] = {
            "resource": "mandate",
            "id": mandate_id,
            "mode": "test",
            "status": "valid",
            "method": self.first_method,
            "details": details,
            "mandateReference": None,
            "signatureDate": datetime.now(UTC).strftime("%Y-%m-%d"),
            "createdAt": _now(),
            "_links": {
                "self": {
                    "href": f"{self.url}/v2/customers/{customer_id}/mandates/{mandate_id}",
                    "type": "application/hal+json",
                },
                "customer": {"href": f"{self.url}/v2/customers/{customer_id}", "type": "application/hal+json"},
            },
        }
        return mandate_id

    def fail_mandate(self, mandate_id: str) -> None:
        """Make every later recurring payment on this mandate fail."""
        with self.lock:
            self.failing.add(mandate_id)

    def valid_mandates(self, customer_id: str) -> list[dict]:
        with self.lock:
            return [m for m in self.mandates.get(customer_id, {}).values() if m["status"] == "valid"]

    def _add(self, payment: dict, field: str, value: str) -> None:
        currency = payment["amount"]["currency"]
        decimals = _DECIMALS.get(currency, 2)
        before = Decimal(payment.get(field, {}).get("value", "0"))
        total = (before + Decimal(value)).quantize(Decimal(1).scaleb(-decimals))
        payment[field] = {"value": f"{total:f}", "currency": currency}
        taken = Decimal(payment.get("amountRefunded", {}).get("value", "0")) + Decimal(
            payment.get("amountChargedBack", {}).get("value", "0")
        )
        remaining = (Decimal(payment["amount"]["value"]) - taken).quantize(Decimal(1).scaleb(-decimals))
        payment["amountRemaining"] = {"value": f"{remaining:f}", "currency": currency}

    def refund(self, payment_id: str, value: str) -> dict:
        """Refund part of a paid payment, as the merchant would from Mollie's dashboard."""
        with self.lock:
            payment = self.payments[payment_id]
            self._add(payment, "amountRefunded", value)
            return payment

    def chargeback(self, payment_id: str, value: str) -> dict:
        """Record a chargeback: the payer's bank took the money back (the status stays paid)."""
        with self.lock:
            payment = self.payments[payment_id]
            self._add(payment, "amountChargedBack", value)
            return payment

    def send_webhook(self, payment_id: str, *, to: str | None = None) -> int:
        """POST id=… to the payment's webhookUrl, as Mollie does after every status change."""
        url = to or self.payments[payment_id]["webhookUrl"]
        return self.post(
            url, urlencode({"id": payment_id}).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def created(self) -> list[dict]:
        return list(self.payments.values())

    # -- protocol ---------------------------------------------------------------------------

    def decode(self, headers, body: bytes) -> Any:
        if not body:
            return None
        if headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(body.decode()))
        return json.loads(body)

    def error_body(self, status: int, message: str, field: str | None = None) -> dict:
        titles = {
            400: "Bad Request",
            401: "Unauthorized Request",
            404: "Not Found",
            409: "Conflict",
            422: "Unprocessable Entity",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        body = {
            "status": status,
            "title": titles.get(status, "Error"),
            "detail": message,
            "_links": {"documentation": {"href": _DOCS, "type": "text/html"}},
        }
        if field:
            body["field"] = field
        return body

    def _error(self, status: int, message: str, field: str | None = None) -> Answer:
        return Answer(status, self.error_body(status, message, field), content_type="application/hal+json")

    def route(self, request: Recorded) -> Answer:
        path = request.path
        if path.startswith("/checkout/"):
            return self._checkout(request)
        if not path.startswith("/v2/"):
            return self._error(404, "Not found")
        auth = request.headers.get("authorization", "")
        if not re.fullmatch(r"Bearer (live|test)_\w{4,}", auth):
            return self._error(401, "Missing authentication, or failed to authenticate")
        if request.method == "POST" and path == "/v2/payments":
            return self._create(request)
        if request.method == "POST" and path == "/v2/customers":
            return self._idempotent(request, lambda: self._new_customer(request.data or {}))
        match = re.fullmatch(r"/v2/customers/([^/]+)", path)
        if match and request.method == "GET":
            customer = self.customers.get(match.group(1))
            if customer is None:
                return self._error(404, f"No customer exists with token {match.group(1)}.")
            return Answer(200, customer, content_type="application/hal+json")
        match = re.fullmatch(r"/v2/customers/([^/]+)/mandates/([^/]+)", path)
        if match:
            mandate = self.mandates.get(match.group(1), {}).get(match.group(2))
            if mandate is None:
                return self._error(404, f"No mandate exists with token {match.group(2)}.")
            if request.method == "DELETE":
                with self.lock:
                    mandate["status"] = "invalid"
                return Answer(204, raw=b"", content_type="application/hal+json")
            return Answer(200, mandate, content_type="application/hal+json")
        match = re.fullmatch(r"/v2/payments/([^/]+)/refunds", path)
        if match:
            payment = self.payments.get(match.group(1))
            if payment is None:
                return self._error(404, f"No payment exists with token {match.group(1)}.")
            if request.method == "POST":
                return self._idempotent(request, lambda: self._new_refund(payment, request.data))
            return Answer(200, {"count": 0, "_embedded": {"refunds": self.refunds.get(payment["id"], [])}})
        match = re.fullmatch(r"/v2/payments/([^/]+)", path)
        if match:
            payment = self.payments.get(match.group(1))
            if payment is None:
                return self._error(404, f"No payment exists with token {match.group(1)}.")
            if request.method == "GET":
                return Answer(200, payment, content_type="application/hal+json")
            if request.method == "DELETE":
                with self.lock:
                    if payment["status"] != "open":
                        return self._error(422, "The payment cannot be canceled")
                    self.set_status(payment["id"], "canceled")
                return Answer(200, payment, content_type="application/hal+json")
        return self._error(404, "The resource does not exist")

    def _create(self, request: Recorded) -> Answer:
        data = request.data
        if not isinstance(data, dict):
            return self._error(400, "The request body is not valid JSON")
        return self._idempotent(request, lambda: self._new_payment(data))

    def _new_refund(self, payment: dict, data: Any) -> Answer:
        if not isinstance(data, dict) or not isinstance(data.get("amount"), dict):
            return self._error(422, "The amount is required", "amount")
        with self.lock:
            if payment["status"] != "paid":
                return self._error(422, "The payment cannot be refunded: it is not paid")
            value = data["amount"].get("value", "")
            if data["amount"].get("currency") != payment["amount"]["currency"] or not _AMOUNT.fullmatch(value):
                return self._error(422, "The amount is invalid", "amount")
            remaining = Decimal(payment.get("amountRemaining", payment["amount"])["value"])
            if Decimal(value) > remaining:
                return self._error(422, "The amount is higher than the amount that can be refunded", "amount")
            self._add(payment, "amountRefunded", value)
            refund = {
                "resource": "refund",
                "id": f"re_fake{next(self._ids):06d}",
                "amount": {"value": value, "currency": payment["amount"]["currency"]},
                "status": "pending",
                "description": data.get("description", ""),
                "paymentId": payment["id"],
                "createdAt": _now(),
                "_links": {
                    "self": {"href": f"{self.url}/v2/payments/{payment['id']}/refunds", "type": "application/hal+json"}
                },
            }
            self.refunds.setdefault(payment["id"], []).append(refund)
        return Answer(201, refund, content_type="application/hal+json")

    def _idempotent(self, request: Recorded, create) -> Answer:
        key = request.headers.get("idempotency-key")
        if key:
            with self.lock:
                seen = self.idempotent.get(key)
            if seen is not None:
                body, answer = seen
                if body != request.body.decode():
                    return self._error(422, "The idempotency key was used with a different request body")
                return Answer(answer.status, answer.body, {"Idempotent-Replayed": "true"}, answer.content_type)
        answer = create()
        if key and answer.status < 500:
            with self.lock:
                self.idempotent[key] = (request.body.decode(), answer)
        return answer

    def _new_customer(self, data: dict) -> Answer:
        with self.lock:
            customer_id = f"cst_fake{next(self._ids):06d}"
            customer = {
                "resource": "customer",
                "id": customer_id,
                "mode": "test",
                "name": data.get("name"),
                "email": data.get("email"),
                "locale": None,
                "metadata": data.get("metadata"),
                "createdAt": _now(),
                "_links": {"self": {"href": f"{self.url}/v2/customers/{customer_id}", "type": "application/hal+json"}},
            }
            self.customers[customer_id] = customer
        return Answer(201, customer, content_type="application/hal+json")

    def _new_payment(self, data: dict) -> Answer:
        amount = data.get("amount")
        if not isinstance(amount, dict) or "currency" not in amount or "value" not in amount:
            return self._error(422, "The amount is required", "amount")
        value, currency = amount["value"], amount["currency"]
        decimals = _DECIMALS.get(currency, 2)
        if not isinstance(value, str) or not _AMOUNT.fullmatch(value) or len(value.partition(".")[2]) != decimals:
            return self._error(422, f"The amount contains an invalid value for {currency}", "amount.value")
        sequence = data.get("sequenceType", "oneoff")
        customer_id = data.get("customerId")
        if customer_id is not None and customer_id not in self.customers:
            return self._error(422, "The customer does not exist", "customerId")
        if sequence == "first" and not customer_id:
            return self._error(422, "A first payment needs a customerId", "customerId")
        mandate = None
        if sequence == "recurring":
            mandate = self.mandates.get(customer_id or "", {}).get(data.get("mandateId") or "")
            if mandate is None or mandate["status"] != "valid":
                return self._error(422, "The customer has no valid mandate for this payment", "mandateId")
        for required in ("description",) if sequence == "recurring" else ("description", "redirectUrl"):
            if not data.get(required):
                return self._error(422, f"The {required} is required", required)
        with self.lock:
            payment_id = f"tr_fake{next(self._ids):06d}"
            payment = {
                "resource": "payment",
                "id": payment_id,
                "mode": "test",
                "createdAt": _now(),
                "amount": {"value": value, "currency": currency},
                "description": data["description"],
                "method": None,
                "metadata": data.get("metadata"),
                "status": "open",
                "isCancelable": True,
                "expiresAt": (datetime.now(UTC) + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "profileId": "pfl_fake",
                "sequenceType": sequence,
                "customerId": customer_id,
                "mandateId": mandate["id"] if mandate else None,
                "redirectUrl": data.get("redirectUrl"),
                "cancelUrl": data.get("cancelUrl"),
                "webhookUrl": data.get("webhookUrl"),
                "locale": data.get("locale"),
                "_links": {
                    "self": {"href": f"{self.url}/v2/payments/{payment_id}", "type": "application/hal+json"},
                    "checkout": {"href": f"{self.url}/checkout/{payment_id}", "type": "text/html"},
                    "dashboard": {"href": f"{self.url}/dashboard/{payment_id}", "type": "text/html"},
                    "documentation": {"href": "https://docs.mollie.com/reference/create-payment", "type": "text/html"},
                },
            }
            self.payments[payment_id] = payment
            if mandate is not None:
                # A recurring payment on a card mandate is decided at once: no checkout, nobody present.
                del payment["_links"]["checkout"]
                self.set_status(payment_id, "failed" if mandate["id"] in self.failing else "paid")
                payment["method"] = mandate["method"]
        return Answer(201, payment, content_type="application/hal+json")

    def _checkout(self, request: Recorded) -> Answer:
        match = re.fullmatch(r"/checkout/([^/]+)(/(pay|pending|fail|cancel))?", request.path)
        payment = self.payments.get(match.group(1)) if match else None
        if payment is None:
            return Answer(404, raw=html_page("Not found", "<p>No such payment</p>"), content_type="text/html")
        action = match.group(3)
        if request.method == "GET" and action is None:
            amount = f"{payment['amount']['currency']} {payment['amount']['value']}"
            body = (
                f"<h1>Fake Mollie checkout</h1><p data-testid='amount'>{html.escape(amount)}</p>"
                f"<p>{html.escape(payment['description'])}</p>"
                + "".join(
                    f"<form method='post' action='/checkout/{payment['id']}/{name}'>"
                    f"<button type='submit'>{label}</button></form>"
                    for name, label in (
                        ("pay", "Pay"),
                        ("pending", "Pay by bank transfer"),
                        ("fail", "Fail"),
                        ("cancel", "Cancel"),
                    )
                )
            )
            return Answer(200, raw=html_page("Mollie checkout", body), content_type="text/html")
        if request.method == "POST" and action:
            status = {"pay": "paid", "pending": "pending", "fail": "failed", "cancel": "canceled"}[action]
            if payment["status"] in ("open", "pending"):
                self.set_status(payment["id"], status)
                if payment.get("webhookUrl"):
                    self.send_webhook(payment["id"])
            target = payment["redirectUrl"]
            return Answer(303, raw=b"", headers={"Location": target}, content_type="text/plain")
        return Answer(405, raw=b"", content_type="text/plain")

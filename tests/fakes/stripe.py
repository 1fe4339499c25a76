"""A fake of Stripe's Checkout Sessions API that stripe-python's StripeClient talks to on loopback.

With customers, PaymentMethods saved at checkout (setup_future_usage=off_session), off-session
PaymentIntents (succeeded, or a 402 card_declined for a card marked to decline) and detaching.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.server import Answer, FakeProvider, Recorded, html_page

_TOKEN = re.compile(r"[^\[\]]+")


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Rebuild Stripe's nested form encoding (a[b][0][c]=v) into dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        tokens = _TOKEN.findall(key)
        node = root
        for index, token in enumerate(tokens):
            last = index == len(tokens) - 1
            if token == "" and last:
                break
            if last:
                node[token] = value
            else:
                node = node.setdefault(token, {})

    def listify(node):
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return listify(root)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Return a Stripe-Signature header for the payload: t=…,v1=HMAC-SHA256(secret, "t.payload")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class FakeStripe(FakeProvider):
    """Stripe's /v1/checkout/sessions with idempotency keys, errors, signed events and a checkout page."""

    def __init__(self, webhook_secret: str = "whsec_fakesecret") -> None:
        super().__init__()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        #: PaymentMethod ids whose off-session charges are declined (card_declined).
        self.declining: set[str] = set()
        #: What the next card saved at checkout looks like.
        self.next_card: dict[str, Any] = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}
        self.idempotent: dict[str, tuple[dict, Answer]] = {}
        self.webhook_secret = webhook_secret
        #: Where the fake's checkout page sends events (the app's /webhooks/stripe).
        self.webhook_url: str | None = None
        self._ids = itertools.count(1)

    # -- test controls ----------------------------------------------------------------------

    def complete(self, session_id: str, *, paid: bool = True) -> dict:
        """Finish the checkout: paid by card, or complete-but-unpaid (a bank transfer under way)."""
        with self.lock:
            session = self.sessions[session_id]
            session["status"] = "complete"
            session["payment_status"] = "paid" if paid else "unpaid"
            intent = self.intents[session["payment_intent"]]
            intent["status"] = "succeeded" if paid else "processing"
            intent["payment_method"] = self._new_card(
                session.get("customer") if intent.get("setup_future_usage") == "off_session" else None
            )
            if paid:
                self._charge(session)
            return session

    def _new_card(self, customer: str | None) -> str:
        """The card the customer paid with; attached to the customer when the checkout saved it."""
        method_id = f"pm_fake{next(self._ids):06d}"
        self.payment_methods[method_id] = {
            "id": method_id,
            "object": "payment_method",
            "type": "card",
            "card": dict(self.next_card),
            "customer": customer,
        }
        return method_id

    def decline_card(self, method_id: str) -> None:
        """Make every later off-session charge of this card fail with card_declined."""
        with self.lock:
            self.declining.add(method_id)

    def saved_cards(self, customer_id: str) -> list[dict]:
        with self.lock:
            return [method for method in self.payment_methods.values() if method["customer"] == customer_id]

    def off_session_intents(self) -> list[dict]:
        """The PaymentIntents created off-session (each a charge of a saved card, declined or not)."""
        with self.lock:
            return [intent for intent in self.intents.values() if intent.get("off_session")]

    def intent_event(self, intent_id: str, event_type: str = "payment_intent.succeeded") -> str:
        """Build a payment_intent.* event about an intent as it stands now."""
        with self.lock:
            return self._event(dict(self.intents[intent_id]), event_type, None)

    def settle_async(self, session_id: str, *, succeeded: bool) -> dict:
        """End an asynchronous payment: the transfer arrived, or it failed."""
        with self.lock:
            session = self.sessions[session_id]
            session["payment_status"] = "paid" if succeeded else "unpaid"
            self.intents[session["payment_intent"]]["status"] = "succeeded" if succeeded else "requires_payment_method"
            if succeeded:
                self._charge(session)
            return session

    def _charge(self, session: dict) -> dict:
        """The charge of a succeeded PaymentIntent (what refunds and disputes are about)."""
        return self._charge_intent(self.intents[session["payment_intent"]])

    def _charge_intent(self, intent: dict) -> dict:
        if intent.get("latest_charge"):
            return self.charges[intent["latest_charge"]]
        charge_id = f"ch_fake{next(self._ids):06d}"
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "refunded": False,
            "disputed": False,
            "status": "succeeded",
        }
        self.charges[charge_id] = charge
        intent["latest_charge"] = charge_id
        return charge

    def charge_of(self, session_id: str) -> dict:
        with self.lock:
            return self.charges[self.intents[self.sessions[session_id]["payment_intent"]]["latest_charge"]]

    def refund(self, session_id: str, amount: int) -> dict:
        """Refund part of the session's charge, as the merchant would from Stripe's dashboard."""
        with self.lock:
            charge = self.charge_of(session_id)
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            return charge

    def charge_event(self, session_id: str, event_type: str = "charge.refunded", *, event_id: str | None = None) -> str:
        """Build an event about the session's charge as it stands now (charge.refunded)."""
        with self.lock:
            return self._event(dict(self.charge_of(session_id)), event_type, event_id)

    def dispute_event(self, session_id: str, amount: int, *, dispute_id: str | None = None) -> str:
        """Build a charge.dispute.created event: the payer's bank takes `amount` back."""
        with self.lock:
            charge = self.charge_of(session_id)
            charge["disputed"] = True
            dispute = {
                "id": dispute_id or f"dp_fake{next(self._ids):06d}",
                "object": "dispute",
                "amount": amount,
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": "needs_response",
            }
            return self._event(dispute, "charge.dispute.created", None)

    def _event(self, thing: dict, event_type: str, event_id: str | None) -> str:
        return json.dumps(
            {
                "id": event_id or f"evt_fake{next(self._ids):06d}",
                "object": "event",
                "api_version": "2025-01-27.acacia",
                "created": int(time.time()),
                "data": {"object": thing},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": event_type,
            }
        )

    def expire(self, session_id: str) -> dict:
        with self.lock:
            session = self.sessions[session_id]
            session["status"] = "expired"
            session["url"] = None
            return session

    def event(self, session_id: str, event_type: str, *, event_id: str | None = None, **overrides) -> str:
        """Build an event about the session as it stands now, as a JSON string."""
        with self.lock:
            session = {**self.sessions[session_id], **overrides}
            return json.dumps(
                {
                    "id": event_id or f"evt_fake{next(self._ids):06d}",
                    "object": "event",
                    "api_version": "2025-01-27.acacia",
                    "created": int(time.time()),
                    "data": {"object": session},
                    "livemode": False,
                    "pending_webhooks": 1,
                    "request": {"id": None, "idempotency_key": None},
                    "type": event_type,
                }
            )

    def send_event(
        self,
        payload: str,
        *,
        to: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> int:
        """POST the event with a real Stripe-Signature header; return the app's status."""
        header = signature or sign(payload, secret or self.webhook_secret, timestamp)
        return self.post(
            to or self.webhook_url,
            payload.encode(),
            {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header},
        )

    # -- protocol ---------------------------------------------------------------------------

    def decode(self, headers, body: bytes) -> Any:
        return decode_form(parse_qsl(body.decode(), keep_blank_values=True)) if body else {}

    def error_body(self, status: int, message: str, **extra) -> dict:
        kind = {401: "invalid_request_error", 402: "card_error", 429: "invalid_request_error"}.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"error": {"message": message, "type": kind, **extra}}

    def _error(self, status: int, message: str, **extra) -> Answer:
        return Answer(status, self.error_body(status, message, **extra), {"Request-Id": "req_fake"})

    def route(self, request: Recorded) -> Answer:
        path = request.path
        if path.startswith("/checkout/"):
            return self._checkout(request)
        auth = request.headers.get("authorization", "")
        if not re.fullmatch(r"Bearer (sk|rk)_(test|live)_\w{4,}", auth):
            return self._error(401, f"Invalid API Key provided: {auth[7:15]}***")
        if request.method == "POST" and path == "/v1/checkout/sessions":
            return self._create(request)
        if request.method == "POST" and path == "/v1/refunds":
            return self._idempotent(request, lambda: self._new_refund(request.data))
        if request.method == "POST" and path == "/v1/customers":
            return self._idempotent(request, lambda: self._new_customer(request.data))
        match = re.fullmatch(r"/v1/customers/([^/]+)", path)
        if match and request.method == "GET":
            customer = self.customers.get(match.group(1))
            if customer is None:
                return self._error(404, f"No such customer: '{match.group(1)}'", code="resource_missing")
            return Answer(200, customer)
        if request.method == "POST" and path == "/v1/payment_intents":
            return self._idempotent(request, lambda: self._new_intent(request.data))
        match = re.fullmatch(r"/v1/payment_intents/([^/]+)", path)
        if match and request.method == "GET":
            return self._get_intent(match.group(1), request)
        match = re.fullmatch(r"/v1/payment_methods/([^/]+)/detach", path)
        if match and request.method == "POST":
            return self._detach(match.group(1))
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
        if match:
            session = self.sessions.get(match.group(1))
            if session is None:
                return self._error(
                    404, f"No such checkout.session: '{match.group(1)}'", code="resource_missing", param="session"
                )
            if match.group(2) and request.method == "POST":
                if session["status"] != "open":
                    return self._error(400, 'Only Checkout Sessions with a status in ["open"] can be expired.')
                return Answer(200, self.expire(session["id"]))
            if request.method == "GET":
                expand = decode_form(list(request.query.items())).get("expand") or []
                if isinstance(expand, dict):
                    expand = list(expand.values())
                body = dict(session)
                if "payment_intent" in expand:
                    intent = dict(self.intents[session["payment_intent"]])
                    if "payment_intent.latest_charge" in expand and intent.get("latest_charge"):
                        intent["latest_charge"] = dict(self.charges[intent["latest_charge"]])
                    if "payment_intent.payment_method" in expand and intent.get("payment_method"):
                        intent["payment_method"] = dict(self.payment_methods[intent["payment_method"]])
                    body["payment_intent"] = intent
                return Answer(200, body)
        return self._error(404, f"Unrecognized request URL ({request.method}: {path}).")

    def _new_customer(self, params: dict) -> Answer:
        with self.lock:
            customer_id = f"cus_fake{next(self._ids):06d}"
            customer = {
                "id": customer_id,
                "object": "customer",
                "name": params.get("name"),
                "email": params.get("email"),
                "metadata": params.get("metadata") or {},
            }
            self.customers[customer_id] = customer
        return Answer(200, customer)

    def _new_intent(self, params: dict) -> Answer:
        """An off-session PaymentIntent, confirmed at once: succeeded, or declined with a 402."""
        if params.get("off_session") != "true" or params.get("confirm") != "true":
            return self._error(400, "The fake takes only confirmed off-session intents", param="off_session")
        with self.lock:
            method = self.payment_methods.get(params.get("payment_method") or "")
            if method is None:
                return self._error(404, "No such PaymentMethod", code="resource_missing", param="payment_method")
            if method["customer"] is None or method["customer"] != params.get("customer"):
                return self._error(
                    400,
                    "The provided PaymentMethod was previously used without being attached to a Customer "
                    "or was detached from a Customer, and may not be used again.",
                    param="payment_method",
                )
            try:
                amount = int(params["amount"])
            except (KeyError, ValueError):
                return self._error(400, "Invalid integer: amount", param="amount")
            intent_id = f"pi_fake{next(self._ids):06d}"
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "currency": params.get("currency"),
                "customer": params.get("customer"),
                "payment_method": method["id"],
                "description": params.get("description"),
                "metadata": params.get("metadata") or {},
                "created": int(time.time()),
                "status": "succeeded",
                "off_session": True,
            }
            self.intents[intent_id] = intent
            if method["id"] in self.declining:
                intent["status"] = "requires_payment_method"
                return self._error(
                    402,
                    "Your card was declined.",
                    code="card_declined",
                    decline_code="generic_decline",
                    payment_intent=dict(intent),
                )
            self._charge_intent(intent)
            return Answer(200, dict(intent), {"Request-Id": "req_fake"})

    def _get_intent(self, intent_id: str, request: Recorded) -> Answer:
        intent = self.intents.get(intent_id)
        if intent is None:
            return self._error(404, f"No such payment_intent: '{intent_id}'", code="resource_missing")
        expand = decode_form(list(request.query.items())).get("expand") or []
        if isinstance(expand, dict):
            expand = list(expand.values())
        body = dict(intent)
        if "latest_charge" in expand and body.get("latest_charge"):
            body["latest_charge"] = dict(self.charges[body["latest_charge"]])
        if "payment_method" in expand and body.get("payment_method"):
            body["payment_method"] = dict(self.payment_methods[body["payment_method"]])
        return Answer(200, body)

    def _detach(self, method_id: str) -> Answer:
        with self.lock:
            method = self.payment_methods.get(method_id)
            if method is None:
                return self._error(404, f"No such PaymentMethod: '{method_id}'", code="resource_missing")
            if method["customer"] is None:
                return self._error(400, "The payment method you provided is not attached to a customer")
            method["customer"] = None
            return Answer(200, dict(method))

    def _create(self, request: Recorded) -> Answer:
        return self._idempotent(request, lambda: self._new_session(request.data))

    def _new_refund(self, params: dict) -> Answer:
        intent = self.intents.get(params.get("payment_intent") or "")
        if intent is None:
            return self._error(404, "No such payment_intent", code="resource_missing", param="payment_intent")
        with self.lock:
            charge = self.charges.get(intent.get("latest_charge") or "")
            if charge is None:
                return self._error(400, "This PaymentIntent does not have a successful charge to refund.")
            try:
                amount = int(params.get("amount", charge["amount"] - charge["amount_refunded"]))
            except ValueError:
                return self._error(400, "Invalid integer: amount", param="amount")
            if amount <= 0 or amount > charge["amount"] - charge["amount_refunded"]:
                return self._error(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({charge['amount'] - charge['amount_refunded']})",
                    param="amount",
                    code="amount_too_large",
                )
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            refund = {
                "id": f"re_fake{next(self._ids):06d}",
                "object": "refund",
                "amount": amount,
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": intent["id"],
                "metadata": params.get("metadata") or {},
                "status": "succeeded",
            }
            self.refunds[refund["id"]] = refund
        return Answer(200, refund, {"Request-Id": "req_fake"})

    def _idempotent(self, request: Recorded, create) -> Answer:
        params = request.data
        key = request.headers.get("idempotency-key")
        if key:
            with self.lock:
                seen = self.idempotent.get(key)
            if seen is not None:
                first, answer = seen
                if first != params:
                    return self._error(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                        type="idempotency_error",
                    )
                return Answer(answer.status, answer.body, {"Idempotent-Replayed": "true"})
        answer = create()
        if key and answer.status < 500:
            with self.lock:
                self.idempotent[key] = (params, answer)
        return answer

    def _new_session(self, params: dict) -> Answer:
        if params.get("mode") != "payment":
            return self._error(400, "Missing required param: mode.", param="mode", code="parameter_missing")
        for required in ("success_url",):
            if not params.get(required):
                return self._error(
                    400, f"Missing required param: {required}.", param=required, code="parameter_missing"
                )
        items = params.get("line_items")
        if not isinstance(items, list) or len(items) != 1:
            return self._error(400, "line_items must hold one item here", param="line_items")
        price = items[0].get("price_data", {})
        try:
            unit_amount = int(price["unit_amount"])
            quantity = int(items[0].get("quantity", "1"))
        except (KeyError, ValueError):
            return self._error(
                400,
                "Invalid integer: unit_amount",
                param="line_items[0][price_data][unit_amount]",
                code="parameter_invalid_integer",
            )
        with self.lock:
            number = next(self._ids)
            session_id = f"cs_test_fake{number:06d}"
            intent_id = f"pi_fake{number:06d}"
            intent_data = params.get("payment_intent_data") or {}
            self.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "status": "requires_payment_method",
                "amount": unit_amount * quantity,
                "currency": price.get("currency"),
                "customer": params.get("customer"),
                "setup_future_usage": intent_data.get("setup_future_usage"),
            }
            session = {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": unit_amount * quantity,
                "amount_total": unit_amount * quantity,
                "cancel_url": params.get("cancel_url"),
                "client_reference_id": params.get("client_reference_id"),
                "created": int(time.time()),
                "currency": price.get("currency"),
                "customer": params.get("customer"),
                "expires_at": int(time.time()) + 86400,
                "livemode": False,
                "locale": params.get("locale"),
                "metadata": params.get("metadata") or {},
                "mode": "payment",
                "payment_intent": intent_id,
                "payment_status": "unpaid",
                "status": "open",
                "success_url": params["success_url"],
                "url": f"{self.url}/checkout/{session_id}",
            }
            self.sessions[session_id] = session
        return Answer(200, session, {"Request-Id": f"req_fake{number}"})

    def _checkout(self, request: Recorded) -> Answer:
        match = re.fullmatch(r"/checkout/([^/]+)(/(pay|pending))?", request.path)
        session = self.sessions.get(match.group(1)) if match else None
        if session is None:
            return Answer(404, raw=html_page("Not found", "<p>No such session</p>"), content_type="text/html")
        action = match.group(3)
        if request.method == "GET" and action is None:
            amount = f"{session['currency'].upper()} {session['amount_total']}"
            body = (
                f"<h1>Fake Stripe checkout</h1><p data-testid='amount'>{html.escape(amount)}</p>"
                f"<form method='post' action='/checkout/{session['id']}/pay'><button type='submit'>Pay</button></form>"
                f"<form method='post' action='/checkout/{session['id']}/pending'>"
                "<button type='submit'>Pay by bank transfer</button></form>"
                f"<p><a href='{html.escape(session['cancel_url'] or '')}'>Back</a></p>"
            )
            return Answer(200, raw=html_page("Stripe checkout", body), content_type="text/html")
        if request.method == "POST" and action and session["status"] == "open":
            self.complete(session["id"], paid=action == "pay")
            if self.webhook_url:
                self.send_event(self.event(session["id"], "checkout.session.completed"))
            success = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
            return Answer(303, raw=b"", headers={"Location": success}, content_type="text/plain")
        return Answer(303, raw=b"", headers={"Location": session["success_url"]}, content_type="text/plain")

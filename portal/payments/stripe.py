"""Stripe Checkout Sessions through stripe-python's StripeClient."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import stripe as stripe_sdk

from portal.domain.errors import DomainError
from portal.domain.money import Money
from portal.payments.base import (
    EXPIRED,
    FAILED,
    OPEN,
    PAID,
    PENDING,
    CheckoutRequest,
    OffSessionCharge,
    PaymentProvider,
    ProviderPayment,
    ProviderRefund,
    ProviderRefused,
    ProviderUnavailable,
    ReportedReversal,
    SavedMethodDetails,
    UnknownPayment,
    WebhookNotice,
)
from portal.payments.methods import provider_codes

# Stripe Checkout takes these language codes as they are.
_LOCALES = {"en", "fr", "nl", "de"}
#: Events that say something about a Checkout Session's payment.
SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)
#: Events about a PaymentIntent created off-session (a saved card charged); checkout's own intents are not ours.
INTENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.processing")
#: A PaymentIntent's status in the portal's words. Off-session nobody can answer 3-D Secure: requires_action fails.
_INTENT_STATUSES = {
    "succeeded": PAID,
    "processing": PENDING,
    "requires_capture": PENDING,
    "requires_payment_method": FAILED,
    "requires_action": FAILED,
    "requires_confirmation": FAILED,
    "canceled": FAILED,
}
#: Stripe's PaymentMethod types in our words.
_SAVED_KINDS = {"card": "card", "sepa_debit": "sepa_debit", "paypal": "paypal"}
#: Events that say money went back: a charge (partly) refunded, a dispute opened (the funds are withdrawn then).
REVERSAL_EVENTS = ("charge.refunded", "charge.dispute.created")


class InvalidSignature(Exception):
    """The Stripe-Signature header does not match the body, or is too old, or from the future."""


class MalformedEvent(Exception):
    """A correctly signed event that is not shaped as Stripe's events are (no session, wrong types)."""


def _signed_at(header: str) -> int | None:
    """Return the header's t= timestamp, read as stripe-python reads it."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _session_of(event) -> tuple[str, dict]:
    """Return the event's type and Checkout Session, checking the shape of what the portal reads."""
    data = event.get("data")
    session = data.get("object") if isinstance(data, dict) else None
    if not isinstance(session, dict):
        raise MalformedEvent("The event has no data.object")
    expected = {
        "id": (str,),
        "status": (str, type(None)),
        "payment_status": (str, type(None)),
        "url": (str, type(None)),
        "metadata": (dict, type(None)),
        "amount_total": (int,),
        "currency": (str,),
    }
    for name, types in expected.items():
        value = session.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            raise MalformedEvent(f"data.object.{name} is missing or of the wrong type")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise MalformedEvent("The event has no readable id")
    return event["type"], session


def _session_status(session, intent_status: str | None = None) -> str:
    if session.get("status") == "expired":
        return EXPIRED
    if session.get("status") == "open":
        return OPEN
    if session.get("payment_status") == "paid":
        return PAID
    # Complete but unpaid: an asynchronous method (bank transfer, SEPA debit) is still running,
    # unless its payment intent already says it failed.
    if intent_status in ("requires_payment_method", "canceled"):
        return FAILED
    return PENDING


def _money(session, field: str = "amount_total") -> Money:
    try:
        return Money(int(session[field]), str(session["currency"]).upper())
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderUnavailable(f"Stripe sent an object without a readable {field}") from exc


def _id_of(value) -> str | None:
    """Return the id of a reference Stripe sends either as an id or as the expanded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


class StripeProvider(PaymentProvider):
    """One Checkout Session in payment mode per attempt."""

    name = "stripe"
    label = "Stripe"
    saves_methods = True

    def _client(self) -> stripe_sdk.StripeClient:
        base = {"api": self.api_base} if self.api_base else None
        return stripe_sdk.StripeClient(
            self.credentials.api_key,
            base_addresses=base,
            max_network_retries=self.options.get("max_network_retries", 2),
            http_client=stripe_sdk.new_default_http_client(timeout=self.options.get("timeout", 80)),
        )

    def _call(self, action):
        try:
            return action(self._client())
        except stripe_sdk.APIConnectionError as exc:
            raise ProviderUnavailable(f"Stripe could not be reached: {exc.user_message or exc}") from exc
        except (stripe_sdk.RateLimitError, stripe_sdk.APIError) as exc:
            raise ProviderUnavailable(f"Stripe answered {exc.http_status}: {exc.user_message or exc}") from exc
        except stripe_sdk.StripeError as exc:
            if exc.http_status == 404 or exc.code == "resource_missing":
                raise UnknownPayment(str(exc.user_message or exc)) from exc
            if exc.http_status is not None and 400 <= exc.http_status < 500:
                raise ProviderRefused(f"Stripe refused ({exc.http_status}): {exc.user_message or exc}") from exc
            raise ProviderUnavailable(f"Stripe answered {exc.http_status}: {exc.user_message or exc}") from exc

    def _payment(
        self, session, intent_status: str | None = None, paid_at: datetime | None = None, refunded: Money | None = None
    ) -> ProviderPayment:
        return ProviderPayment(
            provider_payment_id=session["id"],
            status=_session_status(session, intent_status),
            amount=_money(session),
            checkout_url=session.get("url"),
            paid_at=paid_at,
            metadata={key: str(value) for key, value in (session.get("metadata") or {}).items()},
            refunded=refunded,
            intent_id=_id_of(session.get("payment_intent")),
        )

    def create_payment(self, request: CheckoutRequest) -> ProviderPayment:
        """Create a Checkout Session with one line for the amount due."""
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.amount.currency.lower(),
                        "unit_amount": request.amount.minor,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "client_reference_id": request.metadata.get("attempt_id", request.idempotency_key),
            "metadata": request.metadata,
            "payment_intent_data": {"metadata": request.metadata},
            "success_url": request.return_url,
            "cancel_url": request.cancel_url,
            "locale": request.locale if request.locale in _LOCALES else "auto",
        }
        if request.methods is not None:
            params["payment_method_types"] = provider_codes("stripe", request.methods)
        if request.provider_customer_id:
            params["customer"] = request.provider_customer_id
            if request.save_method:
                params["payment_intent_data"]["setup_future_usage"] = "off_session"
        session = self._call(
            lambda client: client.v1.checkout.sessions.create(
                params, options={"idempotency_key": request.idempotency_key}
            )
        )
        return self._payment(session.to_dict())

    def fetch_payment(self, provider_payment_id: str) -> ProviderPayment:
        """Retrieve the session with its payment intent, which tells a failed transfer from a running one."""
        if provider_payment_id.startswith("pi_"):
            intent = self._call(
                lambda client: client.v1.payment_intents.retrieve(
                    provider_payment_id, params={"expand": ["latest_charge"]}
                )
            ).to_dict()
            return self._intent_payment(intent)
        if not provider_payment_id.startswith("cs_"):
            raise UnknownPayment(f"Not a Checkout Session id: {provider_payment_id!r}")
        session = self._call(
            lambda client: client.v1.checkout.sessions.retrieve(
                provider_payment_id, params={"expand": ["payment_intent", "payment_intent.latest_charge"]}
            )
        ).to_dict()
        intent = session.get("payment_intent")
        intent_status = intent.get("status") if isinstance(intent, dict) else None
        charge = intent.get("latest_charge") if isinstance(intent, dict) else None
        refunded = _money(charge, "amount_refunded") if isinstance(charge, dict) else None
        return self._payment(session, intent_status, refunded=refunded)

    def cancel_payment(self, provider_payment_id: str) -> bool:
        """Expire the session; Stripe refuses once it is complete."""
        try:
            session = self._call(lambda client: client.v1.checkout.sessions.expire(provider_payment_id)).to_dict()
        except ProviderRefused:
            return False
        return session.get("status") == "expired"

    def refund_payment(
        self,
        provider_payment_id: str,
        amount: Money,
        *,
        idempotency_key: str,
        description: str,
        intent_id: str | None = None,
    ) -> ProviderRefund:
        """Refund (part of) the session's PaymentIntent."""
        if intent_id is None:
            intent_id = self.fetch_payment(provider_payment_id).intent_id
        if intent_id is None:
            raise ProviderRefused(f"Checkout Session {provider_payment_id} has no payment to refund")
        params = {
            "payment_intent": intent_id,
            "amount": amount.minor,
            "metadata": {"reason": description[:400], "session": provider_payment_id},
        }
        refund = self._call(
            lambda client: client.v1.refunds.create(params, options={"idempotency_key": idempotency_key})
        ).to_dict()
        return ProviderRefund(
            refund_id=refund["id"], amount=_money(refund, "amount"), status=str(refund.get("status") or "")
        )

    # --- saved cards and mandates ----------------------------------------------------------------

    def _intent_payment(self, intent: dict) -> ProviderPayment:
        """Read a PaymentIntent created off-session as a payment of its own."""
        status = _INTENT_STATUSES.get(str(intent.get("status")))
        if status is None:
            raise ProviderUnavailable(f"Stripe reported an unknown intent status {intent.get('status')!r}")
        charge = intent.get("latest_charge")
        created = intent.get("created")
        paid_at = datetime.fromtimestamp(created, UTC) if isinstance(created, int) and status == PAID else None
        return ProviderPayment(
            provider_payment_id=intent["id"],
            status=status,
            amount=_money(intent, "amount"),
            paid_at=paid_at,
            metadata={key: str(value) for key, value in (intent.get("metadata") or {}).items()},
            refunded=_money(charge, "amount_refunded") if isinstance(charge, dict) else None,
            intent_id=intent["id"],
        )

    def ensure_customer(self, existing_id: str | None, *, name: str, email: str, metadata: dict[str, str]) -> str:
        """Reuse the Stripe customer while Stripe still has it; create one otherwise."""
        if existing_id:
            try:
                found = self._call(lambda client: client.v1.customers.retrieve(existing_id)).to_dict()
                if not found.get("deleted"):
                    return existing_id
            except UnknownPayment:
                pass
        params = {"name": name[:256], "email": email, "metadata": metadata}
        return self._call(lambda client: client.v1.customers.create(params)).to_dict()["id"]

    def saved_method_of(self, payment: ProviderPayment) -> SavedMethodDetails | None:
        """Read the PaymentMethod the paid session's (or intent's) PaymentIntent used, with its customer."""
        pid = payment.provider_payment_id
        if pid.startswith("cs_"):
            session = self._call(
                lambda client: client.v1.checkout.sessions.retrieve(
                    pid, params={"expand": ["payment_intent", "payment_intent.payment_method"]}
                )
            ).to_dict()
            intent = session.get("payment_intent")
            customer = _id_of(session.get("customer"))
        else:
            intent = self._call(
                lambda client: client.v1.payment_intents.retrieve(pid, params={"expand": ["payment_method"]})
            ).to_dict()
            customer = None
        if not isinstance(intent, dict):
            return None
        customer = customer or _id_of(intent.get("customer"))
        method = intent.get("payment_method")
        if not customer or not isinstance(method, dict) or not isinstance(method.get("id"), str):
            return None
        kind = str(method.get("type") or "")
        details = method.get(kind) if isinstance(method.get(kind), dict) else {}
        return SavedMethodDetails(
            provider_customer_id=customer,
            provider_method_id=method["id"],
            kind=_SAVED_KINDS.get(kind, "other"),
            brand=(details.get("brand") or details.get("bank_code") or None),
            last4=details.get("last4"),
            expiry_month=details.get("exp_month"),
            expiry_year=details.get("exp_year"),
        )

    def charge_saved_method(self, charge: OffSessionCharge) -> ProviderPayment:
        """Create and confirm a PaymentIntent off-session; a decline is a failed payment, not an error."""
        params = {
            "amount": charge.amount.minor,
            "currency": charge.amount.currency.lower(),
            "customer": charge.provider_customer_id,
            "payment_method": charge.provider_method_id,
            "off_session": True,
            "confirm": True,
            "description": charge.description,
            "metadata": charge.metadata,
        }

        def create(client):
            try:
                return client.v1.payment_intents.create(params, options={"idempotency_key": charge.idempotency_key})
            except stripe_sdk.CardError as exc:
                # Declined (or 3-D Secure needed, which nobody can answer off-session): Stripe names the intent.
                failed = getattr(exc.error, "payment_intent", None) if exc.error else None
                failed = failed.to_dict() if failed is not None else {}
                if isinstance(failed.get("id"), str):
                    return failed
                raise

        intent = self._call(create)
        intent = intent if isinstance(intent, dict) else intent.to_dict()
        if intent.get("status") in (None, "requires_confirmation"):
            intent["status"] = "requires_payment_method"
        return self._intent_payment(intent)

    def remove_saved_method(self, provider_customer_id: str, provider_method_id: str) -> None:
        """Detach the PaymentMethod from its customer: Stripe never charges it again."""
        try:
            self._call(lambda client: client.v1.payment_methods.detach(provider_method_id))
        except UnknownPayment:
            return
        except ProviderRefused as exc:
            if "not attached" in str(exc):
                return
            raise

    @staticmethod
    def event_references(payload: bytes) -> tuple[str | None, str | None, str | None]:
        """Return the object id, client reference and PaymentIntent an unverified event names.

        Only for choosing the secret that verifies it: nothing else is read before verification.
        """
        try:
            thing = json.loads(payload)["data"]["object"]
            object_id, reference = thing.get("id"), thing.get("client_reference_id")
            intent = _id_of(thing.get("payment_intent"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, None, None
        return (
            object_id if isinstance(object_id, str) else None,
            reference if isinstance(reference, str) else None,
            intent,
        )

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookNotice | None:
        """Verify the signature on the raw body and read the event; None for events of no interest."""
        secret = self.credentials.webhook_secret
        if not secret:
            raise InvalidSignature("No webhook secret is configured")
        if not signature:
            raise InvalidSignature("No Stripe-Signature header")
        tolerance = stripe_sdk.Webhook.DEFAULT_TOLERANCE
        try:
            # verify_header checks the timestamp only when given a tolerance: without one, replays pass.
            stripe_sdk.WebhookSignature.verify_header(payload, signature, secret, tolerance=tolerance)
            event = json.loads(payload)
        except (stripe_sdk.SignatureVerificationError, ValueError, RecursionError) as exc:
            raise InvalidSignature(str(exc)) from exc
        # The SDK refuses only old timestamps; one far ahead would let a leaked signature be replayed for as long.
        signed_at = _signed_at(signature)
        if signed_at is None or signed_at > time.time() + tolerance:
            raise InvalidSignature("Timestamp outside the tolerance zone (in the future)")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise MalformedEvent("The event is not a JSON object with a type")
        if event["type"] in REVERSAL_EVENTS:
            return self._reversal_notice(event)
        if event["type"] in INTENT_EVENTS:
            return self._intent_notice(event)
        if event["type"] not in SESSION_EVENTS:
            return None
        event_type, session = _session_of(event)
        created = event.get("created")
        at = datetime.fromtimestamp(created, UTC) if isinstance(created, int) and 0 < created < 2**33 else None
        try:
            payment = self._payment(session)
            if event_type == "checkout.session.async_payment_succeeded":
                payment = self._payment({**session, "status": "complete", "payment_status": "paid"}, paid_at=at)
            elif event_type == "checkout.session.async_payment_failed":
                payment = self._payment(session, intent_status="requires_payment_method")
            elif payment.status == PAID:
                payment = self._payment(session, paid_at=at)
        except (ProviderUnavailable, DomainError, ValueError) as exc:  # an amount or currency no payment has
            raise MalformedEvent(str(exc)) from exc
        return WebhookNotice(
            event_id=event["id"], event_type=event_type, provider_payment_id=session["id"], payment=payment
        )

    def _intent_notice(self, event) -> WebhookNotice:
        """Read a payment_intent.* event: the status of a saved card charged off-session."""
        data = event.get("data")
        intent = data.get("object") if isinstance(data, dict) else None
        if (
            not isinstance(intent, dict)
            or not isinstance(event.get("id"), str)
            or not isinstance(intent.get("id"), str)
        ):
            raise MalformedEvent("The event has no data.object with an id")
        try:
            payment = self._intent_payment(intent)
        except (ProviderUnavailable, DomainError, ValueError, TypeError) as exc:
            raise MalformedEvent(str(exc)) from exc
        return WebhookNotice(
            event_id=event["id"], event_type=event["type"], provider_payment_id=intent["id"], payment=payment
        )

    def _reversal_notice(self, event) -> WebhookNotice:
        """Read a charge.refunded (the running total refunded) or charge.dispute.created (one chargeback)."""
        data = event.get("data")
        thing = data.get("object") if isinstance(data, dict) else None
        if not isinstance(thing, dict) or not isinstance(event.get("id"), str) or not isinstance(thing.get("id"), str):
            raise MalformedEvent("The event has no data.object with an id")
        try:
            return self._read_reversal(event, thing)
        except (ProviderUnavailable, DomainError, ValueError) as exc:  # an amount or currency no charge has
            raise MalformedEvent(str(exc)) from exc

    def _read_reversal(self, event, thing) -> WebhookNotice:
        if event["type"] == "charge.refunded":
            reversal = ReportedReversal(
                kind="refunded", intent_id=_id_of(thing.get("payment_intent")), amount=_money(thing, "amount_refunded")
            )
        else:
            reversal = ReportedReversal(
                kind="charged_back",
                intent_id=_id_of(thing.get("payment_intent")),
                amount=_money(thing, "amount"),
                reference=_id_of(thing),
            )
        return WebhookNotice(
            event_id=event.get("id"),
            event_type=event["type"],
            provider_payment_id=None,
            payment=None,
            reversal=reversal,
        )

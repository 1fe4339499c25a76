"""Mollie's Payments API through mollie-api-python."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from mollie.api.client import Client
from mollie.api.error import Error, RequestError, RequestSetupError, ResponseError
from mollie.api.objects.customer import Customer as MollieCustomer

from portal.domain.money import Money
from portal.payments.base import (
    CANCELED,
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
    SavedMethodDetails,
    UnknownPayment,
)
from portal.payments.methods import provider_codes

# Mollie speaks in locales, the portal in languages.
_LOCALES = {"en": "en_US", "fr": "fr_FR", "nl": "nl_NL", "de": "de_DE"}
# An authorized payment is not money received yet; it waits like a bank transfer.
_STATUSES = {
    "open": OPEN,
    "pending": PENDING,
    "authorized": PENDING,
    "paid": PAID,
    "failed": FAILED,
    "canceled": CANCELED,
    "expired": EXPIRED,
}


def mollie_amount(amount: Money) -> dict[str, str]:
    """Return Mollie's amount object: a string with exactly the currency's decimals."""
    return {"currency": amount.currency, "value": f"{amount.to_decimal():f}"}


def money_from_mollie(amount: dict) -> Money:
    """Read Mollie's amount object back, refusing anything not exact in minor units."""
    try:
        value = Decimal(amount["value"])
        money = Money.from_decimal(value, amount["currency"])
    except (KeyError, TypeError, InvalidOperation, ValueError) as exc:
        raise ProviderUnavailable(f"Mollie sent an unreadable amount: {amount!r}") from exc
    if money.to_decimal() != value:
        raise ProviderUnavailable(f"Mollie sent an amount finer than the currency allows: {amount!r}")
    return money


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class MollieProvider(PaymentProvider):
    """Payments created and read through Mollie's Payments API."""

    name = "mollie"
    label = "Mollie"
    saves_methods = True

    def _client(self) -> Client:
        client = Client(api_endpoint=self.api_base or "", timeout=self.options.get("timeout", (5, 20)))
        try:
            client.set_api_key(self.credentials.api_key)
        except RequestSetupError as exc:
            raise ProviderRefused(str(exc)) from exc
        return client

    def _call(self, action):
        try:
            return action(self._client())
        except ResponseError as exc:
            status = exc.status or 0
            if status == 404:
                raise UnknownPayment(str(exc)) from exc
            if 400 <= status < 500 and status != 429:
                raise ProviderRefused(f"Mollie refused ({status}): {exc}") from exc
            raise ProviderUnavailable(f"Mollie answered {status}: {exc}") from exc
        except RequestSetupError as exc:
            raise ProviderRefused(str(exc)) from exc
        except (RequestError, Error) as exc:
            raise ProviderUnavailable(f"Mollie could not be reached: {exc}") from exc

    def _payment(self, data) -> ProviderPayment:
        status = _STATUSES.get(data.status)
        if status is None:
            raise ProviderUnavailable(f"Mollie reported an unknown status {data.status!r}")
        return ProviderPayment(
            provider_payment_id=data.id,
            status=status,
            amount=money_from_mollie(data.amount),
            checkout_url=data.checkout_url,
            paid_at=_parse_time(data.paid_at),
            metadata=dict(data.metadata or {}),
            refunded=money_from_mollie(data.amount_refunded) if data.amount_refunded else None,
            charged_back=money_from_mollie(data.amount_chargedback) if data.amount_chargedback else None,
        )

    def create_payment(self, request: CheckoutRequest) -> ProviderPayment:
        """Create the payment; Mollie replays the first answer for a repeated idempotency key."""
        data = {
            "amount": mollie_amount(request.amount),
            "description": request.description,
            "redirectUrl": request.return_url,
            "cancelUrl": request.cancel_url,
            "webhookUrl": request.webhook_url,
            "locale": _LOCALES.get(request.locale, "en_US"),
            "metadata": request.metadata,
        }
        if request.methods is not None:
            data["method"] = provider_codes("mollie", request.methods)
        if request.provider_customer_id:
            data["customerId"] = request.provider_customer_id
            if request.save_method:
                # A first payment: once paid, Mollie keeps a mandate for recurring payments.
                data["sequenceType"] = "first"
        return self._payment(
            self._call(lambda client: client.payments.create(data, idempotency_key=request.idempotency_key))
        )

    def fetch_payment(self, provider_payment_id: str) -> ProviderPayment:
        """Ask Mollie for the payment; the webhook body never says more than its id."""
        if not provider_payment_id.startswith("tr_"):
            raise UnknownPayment(f"Not a Mollie payment id: {provider_payment_id!r}")
        return self._payment(self._call(lambda client: client.payments.get(provider_payment_id)))

    def cancel_payment(self, provider_payment_id: str) -> bool:
        """Cancel the payment; Mollie refuses once the customer has started paying."""
        try:
            payment = self._payment(self._call(lambda client: client.payments.delete(provider_payment_id)))
        except UnknownPayment:
            return False
        except ProviderRefused:
            return False
        return payment.status == CANCELED

    def refund_payment(
        self,
        provider_payment_id: str,
        amount: Money,
        *,
        idempotency_key: str,
        description: str,
        intent_id: str | None = None,
    ) -> ProviderRefund:
        """Create a refund on the payment through Mollie's Refunds API."""
        data = {"amount": mollie_amount(amount), "description": description[:140]}

        def create(client):
            payment = client.payments.get(provider_payment_id)
            return payment.refunds.create(data, idempotency_key=idempotency_key)

        refund = self._call(create)
        return ProviderRefund(refund_id=refund.id, amount=money_from_mollie(refund.amount), status=refund.status)

    # --- customers and mandates ---------------------------------------------------------------------

    def ensure_customer(self, existing_id: str | None, *, name: str, email: str, metadata: dict[str, str]) -> str:
        """Reuse the Mollie customer while Mollie still has it; create one otherwise."""
        if existing_id:
            try:
                return self._call(lambda client: client.customers.get(existing_id)).id
            except UnknownPayment:
                pass
        data = {"name": name[:255], "email": email, "metadata": metadata}
        return self._call(lambda client: client.customers.create(data)).id

    def saved_method_of(self, payment: ProviderPayment) -> SavedMethodDetails | None:
        """Read the mandate a paid first payment created."""

        def read(client):
            found = client.payments.get(payment.provider_payment_id)
            if not found.customer_id or not found.mandate_id:
                return None, None
            customer = MollieCustomer({"id": found.customer_id}, client)
            return found.customer_id, customer.mandates.get(found.mandate_id)

        customer_id, mandate = self._call(read)
        if mandate is None or mandate.status == "invalid":
            return None
        details = mandate.details or {}
        if mandate.method == "creditcard":
            expiry = str(details.get("cardExpiryDate") or "")
            year, _sep, rest = expiry.partition("-")
            month = rest.partition("-")[0]
            return SavedMethodDetails(
                provider_customer_id=customer_id,
                provider_method_id=mandate.id,
                kind="card",
                brand=details.get("cardLabel"),
                last4=str(details.get("cardNumber") or "")[-4:] or None,
                expiry_month=int(month) if month.isdigit() else None,
                expiry_year=int(year) if year.isdigit() else None,
            )
        account = str(details.get("consumerAccount") or "")
        return SavedMethodDetails(
            provider_customer_id=customer_id,
            provider_method_id=mandate.id,
            kind="sepa_debit"
            if mandate.method == "directdebit"
            else ("paypal" if mandate.method == "paypal" else "other"),
            brand=details.get("consumerBic"),
            last4=account[-4:] or None,
        )

    def charge_saved_method(self, charge: OffSessionCharge) -> ProviderPayment:
        """Create a recurring payment on the mandate; Mollie answers it paid, pending or failed."""
        data = {
            "amount": mollie_amount(charge.amount),
            "description": charge.description,
            "webhookUrl": charge.webhook_url,
            "sequenceType": "recurring",
            "customerId": charge.provider_customer_id,
            "mandateId": charge.provider_method_id,
            "metadata": charge.metadata,
        }
        return self._payment(
            self._call(lambda client: client.payments.create(data, idempotency_key=charge.idempotency_key))
        )

    def remove_saved_method(self, provider_customer_id: str, provider_method_id: str) -> None:
        """Revoke the mandate: Mollie takes no recurring payment on it again."""

        def revoke(client):
            return MollieCustomer({"id": provider_customer_id}, client).mandates.delete(provider_method_id)

        try:
            self._call(revoke)
        except UnknownPayment:
            return

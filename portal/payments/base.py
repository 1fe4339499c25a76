"""The provider interface: what the portal asks of Mollie, Stripe or any other provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.domain.money import Money

#: Statuses a provider may report, in the portal's own words.
OPEN, PENDING, PAID, FAILED, CANCELED, EXPIRED = "open", "pending", "paid", "failed", "canceled", "expired"
REPORTED_STATUSES = (OPEN, PENDING, PAID, FAILED, CANCELED, EXPIRED)


class ProviderError(Exception):
    """The provider could not be asked, or answered with an error."""


class ProviderUnavailable(ProviderError):
    """No usable answer (network error, timeout, 5xx): the request may or may not have taken effect."""


class ProviderRefused(ProviderError):
    """The provider answered that it will not do this (4xx): nothing was created."""


class UnknownPayment(ProviderRefused):
    """The provider has no payment with that id."""


@dataclass(frozen=True)
class Credentials:
    """What an adapter needs to talk to the provider for one merchant."""

    api_key: str
    webhook_secret: str | None = None


@dataclass(frozen=True)
class CheckoutRequest:
    """A payment to create: the amount due, where to send the customer and the webhook."""

    idempotency_key: str
    amount: Money
    description: str
    return_url: str
    cancel_url: str
    webhook_url: str
    locale: str
    metadata: dict[str, str] = field(default_factory=dict)
    #: The payment methods to offer (portal.payments.methods names); None: the provider's checkout decides.
    methods: list[str] | None = None
    #: The provider's customer to attach the payment to; with save_method, what the customer pays with is
    #: kept for later charges (Stripe: setup_future_usage=off_session; Mollie: a first payment, a mandate).
    provider_customer_id: str | None = None
    save_method: bool = False


@dataclass(frozen=True)
class OffSessionCharge:
    """A charge of a saved card or mandate, without the customer at the checkout."""

    idempotency_key: str
    amount: Money
    description: str
    webhook_url: str
    provider_customer_id: str
    provider_method_id: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedMethodDetails:
    """What the provider says about a card or mandate a paid payment left behind for later charges."""

    provider_customer_id: str
    provider_method_id: str
    kind: str  # card, sepa_debit, paypal or other
    brand: str | None = None
    last4: str | None = None
    expiry_month: int | None = None
    expiry_year: int | None = None


@dataclass(frozen=True)
class ProviderPayment:
    """What the provider says about one payment."""

    provider_payment_id: str
    status: str
    amount: Money
    checkout_url: str | None = None
    paid_at: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    #: Refunded so far, in total (None when the answer does not say).
    refunded: Money | None = None
    #: Taken back by the payer's bank so far, in total (None when the answer does not say).
    charged_back: Money | None = None
    #: The provider's object refunds and disputes name when it is not the payment itself (Stripe's PaymentIntent).
    intent_id: str | None = None

    def __post_init__(self) -> None:
        if self.status not in REPORTED_STATUSES:
            raise ValueError(f"Unknown provider status {self.status!r}")


@dataclass(frozen=True)
class ProviderRefund:
    """A refund the provider accepted."""

    refund_id: str
    amount: Money
    status: str


@dataclass(frozen=True)
class ReportedReversal:
    """Money a provider reports going back: refunds as a running total, or one chargeback (dispute)."""

    kind: str  # "refunded" or "charged_back"
    intent_id: str | None
    #: refunded: everything refunded so far; charged_back: this dispute's amount.
    amount: Money
    #: The dispute's id, so each one is booked once (None for a refund total).
    reference: str | None = None


@dataclass(frozen=True)
class WebhookNotice:
    """A verified webhook: which payment it is about and, when the event says so, its status or money going back."""

    event_id: str | None
    event_type: str
    provider_payment_id: str | None
    payment: ProviderPayment | None
    reversal: ReportedReversal | None = None


class PaymentProvider:
    """One payment provider; an adapter is built per merchant's credentials."""

    #: Registry key and value of Payment.method.
    name: str = ""
    #: Shown to the customer on the pay button.
    label: str = ""
    #: Whether a card or mandate can be saved at checkout and charged later.
    saves_methods: bool = False

    def __init__(self, credentials: Credentials, *, api_base: str | None = None, **options) -> None:
        self.credentials = credentials
        self.api_base = api_base
        self.options = options

    def create_payment(self, request: CheckoutRequest) -> ProviderPayment:
        """Create the payment; the same idempotency key returns the same payment."""
        raise NotImplementedError

    def fetch_payment(self, provider_payment_id: str) -> ProviderPayment:
        """Ask the provider for the payment's current status."""
        raise NotImplementedError

    def cancel_payment(self, provider_payment_id: str) -> bool:
        """Stop the payment from being paid; return False when it can no longer be stopped."""
        raise NotImplementedError

    def refund_payment(
        self,
        provider_payment_id: str,
        amount: Money,
        *,
        idempotency_key: str,
        description: str,
        intent_id: str | None = None,
    ) -> ProviderRefund:
        """Send (part of) a paid payment back to the payer; the same idempotency key refunds once."""
        raise NotImplementedError

    def ensure_customer(self, existing_id: str | None, *, name: str, email: str, metadata: dict[str, str]) -> str:
        """Return the provider's customer for ours: the existing one if the provider still knows it, else a new one."""
        raise NotImplementedError

    def saved_method_of(self, payment: ProviderPayment) -> SavedMethodDetails | None:
        """Return the card or mandate a paid payment saved for later charges, or None."""
        return None

    def charge_saved_method(self, charge: OffSessionCharge) -> ProviderPayment:
        """Charge a saved card or mandate off-session; the same idempotency key charges once.

        A declined charge answers a failed payment (or raises ProviderRefused when nothing was created).
        """
        raise NotImplementedError

    def remove_saved_method(self, provider_customer_id: str, provider_method_id: str) -> None:
        """Make a saved card or mandate unusable at the provider (already gone counts as done)."""
        raise NotImplementedError

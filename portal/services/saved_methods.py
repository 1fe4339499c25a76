"""Saved cards and mandates: kept at checkout, charged off-session by staff, the API or autopay, removed by the customer.

A charge of a saved method is a PaymentAttempt like a press of Pay (committed before the provider
hears of it, its id the idempotency key), so its money is booked by the same webhook and ledger
path, and the invoice's "one live charge" index keeps two racing charges to one. Only the
customer's own presses count towards the pay lock.
"""

from __future__ import annotations

import logging
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.domain.invoices import InvoiceStatus
from portal.domain.money import Money
from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.models.base import utcnow
from portal.models.online_payment import LIVE_STATUSES, PaymentAttempt
from portal.models.saved_method import ProviderCustomer, SavedPaymentMethod
from portal.payments.base import OffSessionCharge, ProviderError, ProviderPayment, ProviderRefused, ProviderUnavailable
from portal.payments.registry import provider_for
from portal.services.errors import Conflict, NotFound
from portal.services.invoices import invoice_breakdown
from portal.services.links import public_url

log = logging.getLogger(__name__)


class NoSavedMethod(Conflict):
    """The customer has no saved card or mandate that can be charged."""

    code = "no_saved_method"


class NothingDue(Conflict):
    """The invoice is not open or nothing is due on it."""

    code = "nothing_due"


class ChargeInProgress(Conflict):
    """Another payment of the invoice is running (a checkout being paid, or another charge)."""

    code = "payment_in_progress"


# --- the provider's customer --------------------------------------------------------------------


def known_provider_customer(customer_id: int, provider: str) -> str | None:
    """Return the provider's id of our customer, if one was made."""
    return db.session.scalar(
        select(ProviderCustomer.provider_customer_id).where(
            ProviderCustomer.customer_id == customer_id, ProviderCustomer.provider == provider
        )
    )


def ensure_provider_customer(customer: Customer, provider_name: str) -> str | None:
    """Create or reuse our customer at the merchant's provider account; None when it cannot save methods now."""
    adapter = provider_for(customer.merchant_id, provider_name)
    if adapter is None or not adapter.saves_methods:
        return None
    row = db.session.scalar(
        select(ProviderCustomer).where(
            ProviderCustomer.customer_id == customer.id, ProviderCustomer.provider == provider_name
        )
    )
    try:
        found = adapter.ensure_customer(
            row.provider_customer_id if row else None,
            name=customer.name,
            email=customer.email,
            metadata={"customer_id": str(customer.id), "merchant_id": str(customer.merchant_id)},
        )
    except ProviderError as exc:
        log.warning("Customer %s could not be created at %s: %s", customer.id, provider_name, exc)
        return None
    if row is None:
        db.session.add(
            ProviderCustomer(
                merchant_id=customer.merchant_id,
                customer_id=customer.id,
                provider=provider_name,
                provider_customer_id=found,
            )
        )
    else:
        row.provider_customer_id = found
    try:
        db.session.commit()
    except IntegrityError:
        # Another checkout of the same customer stored one a moment ago: use that one.
        db.session.rollback()
        return known_provider_customer(customer.id, provider_name)
    return found


# --- keeping what a paid checkout saved ---------------------------------------------------------


def keep_saved_method(attempt: PaymentAttempt, answer: ProviderPayment) -> SavedPaymentMethod | None:
    """Store the card or mandate a paid checkout saved (once; the webhook's transaction commits it)."""
    adapter = provider_for(attempt.merchant_id, attempt.provider, include_disabled=True)
    if adapter is None:
        return None
    try:
        details = adapter.saved_method_of(answer)
    except ProviderError as exc:
        # The money is booked all the same; the customer can save the method at a later payment.
        log.warning("Attempt %s: the saved method could not be read: %s", attempt.id, exc)
        return None
    if details is None:
        return None
    existing = db.session.scalar(
        select(SavedPaymentMethod).where(
            SavedPaymentMethod.provider == attempt.provider,
            SavedPaymentMethod.provider_method_id == details.provider_method_id,
        )
    )
    if existing is not None:
        return existing
    method = SavedPaymentMethod(
        merchant_id=attempt.merchant_id,
        customer_id=attempt.customer_id,
        provider=attempt.provider,
        provider_customer_id=details.provider_customer_id,
        provider_method_id=details.provider_method_id,
        kind=details.kind,
        brand=(details.brand or None) and str(details.brand)[:64],
        last4=(details.last4 or None) and str(details.last4)[-4:],
        expiry_month=details.expiry_month,
        expiry_year=details.expiry_year,
        attempt_id=attempt.id,
    )
    db.session.add(method)
    db.session.flush()
    return method


# --- reading and removing -----------------------------------------------------------------------


def saved_methods(customer: Customer) -> list[SavedPaymentMethod]:
    """Return the customer's saved methods that may still be charged, newest first."""
    return list(
        db.session.scalars(
            select(SavedPaymentMethod)
            .where(
                SavedPaymentMethod.customer_id == customer.id,
                SavedPaymentMethod.merchant_id == customer.merchant_id,
                SavedPaymentMethod.removed_at.is_(None),
            )
            .order_by(SavedPaymentMethod.created_at.desc(), SavedPaymentMethod.id.desc())
        )
    )


def customer_saved_method(customer: Customer, method_id: int) -> SavedPaymentMethod:
    """Return one of the customer's active saved methods; anyone else's is NotFound."""
    method = db.session.scalar(
        select(SavedPaymentMethod).where(
            SavedPaymentMethod.id == method_id,
            SavedPaymentMethod.customer_id == customer.id,
            SavedPaymentMethod.merchant_id == customer.merchant_id,
            SavedPaymentMethod.removed_at.is_(None),
        )
    )
    if method is None:
        raise NotFound("No such saved payment method", "saved_method_id")
    return method


def remove_saved_method(method: SavedPaymentMethod) -> None:
    """Detach the card (Stripe) or revoke the mandate (Mollie), then forget it here; autopay on it stops.

    The provider is asked first: a method still usable there is never shown as removed. Flushes.
    """
    adapter = provider_for(method.merchant_id, method.provider, include_disabled=True)
    if adapter is not None:
        adapter.remove_saved_method(method.provider_customer_id, method.provider_method_id)
    method.removed_at = utcnow()
    method.autopay = False
    db.session.flush()


def set_autopay(customer: Customer, method: SavedPaymentMethod | None) -> None:
    """Charge the customer's invoices to this method on their due date from today on, or (None) stop. Flushes."""
    db.session.execute(
        update(SavedPaymentMethod)
        .where(SavedPaymentMethod.customer_id == customer.id, SavedPaymentMethod.autopay.is_(True))
        .values(autopay=False)
    )
    db.session.flush()
    if method is not None:
        method.autopay = True
        method.autopay_since = customer.merchant.today()
    db.session.flush()


def autopay_method(customer: Customer) -> SavedPaymentMethod | None:
    """Return the method autopay charges, if autopay is on."""
    return db.session.scalar(
        select(SavedPaymentMethod).where(
            SavedPaymentMethod.customer_id == customer.id,
            SavedPaymentMethod.autopay.is_(True),
            SavedPaymentMethod.removed_at.is_(None),
        )
    )


# --- charging -----------------------------------------------------------------------------------


def _default_method(customer: Customer) -> SavedPaymentMethod | None:
    return autopay_method(customer) or next(iter(saved_methods(customer)), None)


def charge_saved_method(
    invoice: Invoice, *, initiated_by: str, method: SavedPaymentMethod | None = None
) -> PaymentAttempt:
    """Charge the invoice's amount due to a saved card or mandate of its customer, off-session.

    The attempt is committed before the provider is called; the answer is applied through the same
    path as a webhook's. Returns the attempt (paid, pending, failed or refused; still "creating" when
    the provider could not be reached, for reconcile to settle with the same idempotency key).
    """
    from portal.services.online_payments import PaymentInProgress, _supersede, live_attempts_covering

    customer = invoice.customer
    method = method or _default_method(customer)
    if method is None or method.removed_at is not None or method.customer_id != customer.id:
        raise NoSavedMethod("The customer has no saved card or direct-debit mandate to charge", "saved_method_id")
    if provider_for(invoice.merchant_id, method.provider) is None:
        raise NoSavedMethod(f"{method.provider.capitalize()} is not enabled for this merchant", "saved_method_id")
    _amount_due_or_refuse(invoice)
    for live in live_attempts_covering([invoice.id]):
        # A checkout the customer has not paid yet makes way; anything further along is left to finish.
        if live.saved_method_id is not None or live.status != "open":
            raise ChargeInProgress("A payment of this invoice is already under way")
        try:
            _supersede(live)
        except PaymentInProgress as exc:
            raise ChargeInProgress("A payment of this invoice is already under way") from exc
    # The invoice row is locked while the charge is recorded: a booking that settles it meanwhile is
    # waited for, and seen; another charge recorded first is caught by the one-live-charge index.
    db.session.execute(
        select(Invoice).where(Invoice.id == invoice.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    breakdown = _amount_due_or_refuse(invoice)
    attempt = PaymentAttempt(
        merchant_id=invoice.merchant_id,
        invoice_id=invoice.id,
        customer_id=customer.id,
        provider=method.provider,
        status="creating",
        amount=breakdown.amount_due,
        currency=invoice.currency,
        principal_amount=breakdown.outstanding,
        fee_amount=breakdown.fee,
        interest_amount=breakdown.interest,
        as_of=breakdown.as_of,
        breakdown=breakdown.steps(),
        locale=customer.language,
        methods=None,
        initiated_by=initiated_by,
        saved_method_id=method.id,
    )
    db.session.add(attempt)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ChargeInProgress("A payment of this invoice is already under way") from exc
    return charge_at_provider(attempt, first_try=True)


def _amount_due_or_refuse(invoice: Invoice):
    if invoice.status != InvoiceStatus.OPEN.value:
        raise NothingDue("Only an open invoice can be charged", "status")
    breakdown = invoice_breakdown(invoice, invoice.merchant.today())
    if breakdown is None or breakdown.amount_due <= 0:
        raise NothingDue("Nothing is due on this invoice", "status")
    return breakdown


def _charge_request(attempt: PaymentAttempt) -> OffSessionCharge:
    method = attempt.saved_method
    with force_locale(attempt.locale):
        description = _("Invoice %(number)s", number=attempt.invoice.number)
    return OffSessionCharge(
        idempotency_key=attempt.idempotency_key,
        amount=Money(attempt.amount, attempt.currency),
        description=description,
        webhook_url=public_url("webhooks.mollie"),
        provider_customer_id=method.provider_customer_id,
        provider_method_id=method.provider_method_id,
        metadata={
            "attempt_id": str(attempt.id),
            "invoice_number": attempt.invoice.number,
            "merchant_id": str(attempt.merchant_id),
        },
    )


def charge_at_provider(attempt: PaymentAttempt, *, first_try: bool = False) -> PaymentAttempt:
    """Charge the attempt's saved method (repeatable: same idempotency key) and apply the answer; commits.

    first_try: the charge was just asked for, so an unreachable provider is told to the customer
    (reconcile's later tries with the same key tell nobody again).
    """
    from portal.services.online_payments import _finish, apply_provider_payment

    adapter = provider_for(attempt.merchant_id, attempt.provider, include_disabled=True)
    try:
        if adapter is None:
            raise ProviderRefused(f"{attempt.provider} has no credentials for this merchant")
        answer = adapter.charge_saved_method(_charge_request(attempt))
    except ProviderRefused as exc:
        log.warning("Provider refused the charge of attempt %s: %s", attempt.id, exc)
        _finish(attempt, "refused")
        db.session.commit()
        return attempt
    except ProviderUnavailable as exc:
        # It may have been charged: the attempt stays "creating" and reconcile asks again with the same key.
        log.warning("Provider unavailable for the charge of attempt %s: %s", attempt.id, exc)
        db.session.rollback()
        attempt = db.session.get(PaymentAttempt, attempt.id)
        if first_try:
            notify_charge_failed(attempt)
            db.session.commit()
        return attempt
    attempt.provider_payment_id = answer.provider_payment_id
    attempt.provider_intent_id = attempt.provider_intent_id or answer.intent_id
    if attempt.status == "creating":
        attempt.status = "open"
    db.session.flush()
    if answer.status != "open":
        apply_provider_payment(attempt.id, answer)
    db.session.commit()
    return attempt


def notify_charge_failed(attempt: PaymentAttempt) -> None:
    """Mail the customer that the charge of their saved method failed, with a link to pay (in the transaction)."""
    from portal.mail.notifications import notify_saved_method_charge_failed

    notify_saved_method_charge_failed(attempt)


# --- autopay ------------------------------------------------------------------------------------


def autopay_due(merchant: Merchant, today: date) -> list[int]:
    """Return the ids of the merchant's open invoices autopay should charge today, not charged by it yet."""
    already = select(PaymentAttempt.invoice_id).where(PaymentAttempt.initiated_by == "autopay")
    return list(
        db.session.scalars(
            select(Invoice.id)
            .join(
                SavedPaymentMethod,
                (SavedPaymentMethod.customer_id == Invoice.customer_id)
                & SavedPaymentMethod.autopay.is_(True)
                & SavedPaymentMethod.removed_at.is_(None),
            )
            .where(
                Invoice.merchant_id == merchant.id,
                Invoice.status == InvoiceStatus.OPEN.value,
                Invoice.due_date <= today,
                Invoice.due_date >= SavedPaymentMethod.autopay_since,
                Invoice.id.not_in(already),
            )
            .order_by(Invoice.due_date, Invoice.id)
        )
    )


def run_autopay() -> list[tuple[int, str]]:
    """Charge each invoice whose customer turned autopay on, on its due date: once per invoice, ever.

    Two workers racing on one invoice both try to record its autopay attempt; a unique index lets
    one of them commit, the other moves on. Returns (invoice id, outcome) for each invoice tried.
    """
    results = []
    merchants = list(db.session.scalars(select(Merchant).order_by(Merchant.id)))
    for merchant in merchants:
        for invoice_id in autopay_due(merchant, merchant.today()):
            invoice = db.session.get(Invoice, invoice_id)
            if invoice.open_dispute is not None:
                # The customer contests it: nothing is charged until staff resolve the dispute.
                continue
            method = autopay_method(invoice.customer)
            try:
                attempt = charge_saved_method(invoice, initiated_by="autopay", method=method)
                outcome = attempt.status
            except (NoSavedMethod, NothingDue, ChargeInProgress) as exc:
                db.session.rollback()
                outcome = exc.code
            results.append((invoice_id, outcome))
            log.info("autopay: invoice %s: %s", invoice_id, outcome)
    db.session.commit()
    return results


def live_charge(invoice: Invoice) -> PaymentAttempt | None:
    """Return a charge of a saved method still running on the invoice, if any."""
    return db.session.scalar(
        select(PaymentAttempt).where(
            PaymentAttempt.invoice_id == invoice.id,
            PaymentAttempt.saved_method_id.is_not(None),
            PaymentAttempt.status.in_(LIVE_STATUSES),
        )
    )

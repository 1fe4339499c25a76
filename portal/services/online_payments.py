"""Paying an invoice online: attempts, provider answers, the pay lock and reconciliation.

Unlike other services, start_payment and reconcile commit: an attempt must be durable
before the provider hears of it, so a crash can never leave a charge we do not know about.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.api.events import record_event
from portal.domain.errors import DomainError
from portal.domain.invoices import InvoiceStatus
from portal.domain.ledger import AskedFor
from portal.domain.money import Money
from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.base import utcnow
from portal.models.billing import InvoicePaymentChoice
from portal.models.ledger import Receipt
from portal.models.online_payment import (
    FAILED_STATUSES,
    LIVE_STATUSES,
    PayLock,
    PaymentAllocation,
    PaymentAttempt,
    WebhookEvent,
)
from portal.payments.base import (
    OPEN,
    PAID,
    PENDING,
    CheckoutRequest,
    PaymentProvider,
    ProviderError,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
    ReportedReversal,
)
from portal.payments.registry import PROVIDERS, enabled_among, enabled_providers, provider_accounts, provider_for
from portal.services.checkouts import cancel_checkout
from portal.services.invoices import invoice_breakdown
from portal.services.ledger import (
    Booking,
    MoneySource,
    book_money_received,
    book_money_returned,
    book_returned_across,
    sync_reported_reversals,
    sync_reported_reversals_across,
)
from portal.services.links import public_url
from portal.services.payment_choices import (
    checkout_methods,
    common_methods,
    narrow_methods,
    offered_among,
    offered_providers,
    provider_methods,
)

log = logging.getLogger(__name__)


class PayLocked(DomainError):
    """Too many failed payments in a row: the pay button is locked until `until`."""

    code = "pay_locked"

    def __init__(self, until: datetime) -> None:
        super().__init__("Too many failed payments in a row", "status")
        self.until = until


class NothingToPay(DomainError):
    """The invoice is not open or has no amount due."""

    code = "nothing_to_pay"


class ProviderNotEnabled(DomainError):
    """The merchant does not offer this provider."""

    code = "provider_not_enabled"


class PaymentInProgress(DomainError):
    """A payment that can no longer be replaced is running for this invoice."""

    code = "payment_in_progress"


class NoCommonMethod(ProviderNotEnabled):
    """Several invoices share no way of paying online: each is paid on its own."""

    code = "no_common_method"


class MixedCurrencies(DomainError):
    """Invoices of several currencies cannot share one checkout."""

    code = "mixed_currencies"


class PaymentNotStarted(DomainError):
    """The provider refused the payment or could not be reached."""

    code = "payment_not_started"

    def __init__(self, message: str, *, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class PayState:
    """What the pay actions on an invoice page show."""

    providers: tuple[tuple[str, str], ...]
    locked_until: datetime | None
    pending: bool
    can_pay: bool
    #: Whether an offered provider can save the card or mandate for later charges (the checkbox next to Pay).
    saves_methods: bool = False


# --- the pay lock -------------------------------------------------------------------------------


def _insert_ignoring_conflict(model, values: dict, conflict: list[str]) -> bool:
    """Insert a row unless one with the same key exists; return whether it was inserted."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING rather than rowcount: drivers disagree on rowcount here, never on an empty result.
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(model.id)
    return db.session.execute(statement).first() is not None


def _locked_row(customer_id: int, merchant_id: int) -> PayLock:
    """Return the customer's lock row, created if missing, locked for this transaction."""
    _insert_ignoring_conflict(
        PayLock,
        {"merchant_id": merchant_id, "customer_id": customer_id, "consecutive_failures": 0, "updated_at": utcnow()},
        ["customer_id"],
    )
    return db.session.execute(
        select(PayLock)
        .where(PayLock.customer_id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _register_failure(customer_id: int, merchant_id: int) -> None:
    row = _locked_row(customer_id, merchant_id)
    row.consecutive_failures += 1
    if row.consecutive_failures >= int(current_app.config["PAY_LOCK_FAILURES"]):
        row.locked_until = utcnow() + timedelta(minutes=int(current_app.config["PAY_LOCK_MINUTES"]))
        # After the hour the customer gets a fresh series of tries.
        row.consecutive_failures = 0


def _register_success(customer_id: int, merchant_id: int) -> None:
    row = _locked_row(customer_id, merchant_id)
    row.consecutive_failures = 0
    row.locked_until = None


def locked_until(customer: Customer) -> datetime | None:
    """Return when the customer's pay button opens again, or None when it is open."""
    until = db.session.scalar(select(PayLock.locked_until).where(PayLock.customer_id == customer.id))
    return until if until is not None and until > utcnow() else None


# --- reading state ------------------------------------------------------------------------------


def live_attempt(invoice: Invoice) -> PaymentAttempt | None:
    """Return the invoice's attempt that may still take money, if any."""
    return db.session.scalar(
        select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice.id, PaymentAttempt.status.in_(LIVE_STATUSES))
    )


def live_attempts_covering(invoice_ids: list[int]) -> list[PaymentAttempt]:
    """Return the attempts that may still take money for any of these invoices, alone or with others."""
    if not invoice_ids:
        return []
    shared = select(PaymentAllocation.attempt_id).where(PaymentAllocation.invoice_id.in_(invoice_ids))
    return list(
        db.session.scalars(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.status.in_(LIVE_STATUSES),
                PaymentAttempt.invoice_id.in_(invoice_ids) | PaymentAttempt.id.in_(shared),
            )
            .order_by(PaymentAttempt.id)
        )
    )


def payable_now(
    customer: Customer,
    listed: list[tuple[Invoice, int]],
    *,
    enabled: list[str] | None = None,
    lock_checked: bool = False,
    accounts: dict | None = None,
) -> set[int]:
    """Return the ids of the listed (invoice, amount due) the customer can press Pay on now.

    What pay_state says per invoice, for a whole page of the overview in a fixed number of queries
    (fewer when the caller knows the enabled providers, checked the pay lock already, and read the
    merchant's provider accounts).
    """
    if not lock_checked and locked_until(customer) is not None:
        return set()
    if enabled is None:
        enabled = enabled_providers(customer.merchant_id)
    ids = [invoice.id for invoice, due in listed if invoice.status == InvoiceStatus.OPEN.value and due > 0]
    if not enabled or not ids:
        return set()
    choices = {
        choice.invoice_id: choice
        for choice in db.session.scalars(select(InvoicePaymentChoice).where(InvoicePaymentChoice.invoice_id.in_(ids)))
    }
    pending = set(
        db.session.scalars(
            select(PaymentAttempt.invoice_id).where(
                PaymentAttempt.invoice_id.in_(ids), PaymentAttempt.status == PENDING
            )
        )
    )
    # What each provider takes per currency, asked once for the page rather than once per invoice.
    possible: dict[tuple[str, str], list[str] | None] = {}

    def takes_a_chosen_method(invoice: Invoice, name: str, chosen: list[str] | None) -> bool:
        key = (name, invoice.currency)
        if key not in possible:
            possible[key] = provider_methods(customer.merchant_id, name, invoice.currency, accounts=accounts)
        return narrow_methods(chosen, possible[key], name, invoice.currency) != []

    payable = set()
    for invoice, _due in listed:
        if invoice.id not in ids or invoice.id in pending:
            continue
        choice = choices.get(invoice.id)
        chosen = None if choice is None or choice.methods is None else list(choice.methods)
        # As offered_providers says on the invoice page: a provider taking none of its methods is no way to pay.
        offered = [
            name
            for name in enabled
            if (choice is None or name in choice.providers) and takes_a_chosen_method(invoice, name, chosen)
        ]
        if offered:
            payable.add(invoice.id)
    return payable


def pay_state(customer: Customer, invoice: Invoice, amount_due: int) -> PayState:
    """Return which pay actions the invoice page offers the customer.

    Two queries: the merchant's provider accounts, then (only when one is enabled) the invoice's
    payment choice, the customer's pay lock and the invoice's live attempt in one statement.
    """
    accounts = provider_accounts(invoice.merchant_id)
    if not enabled_among(accounts):
        return PayState(providers=(), locked_until=None, pending=False, can_pay=False)
    live_status = (
        select(PaymentAttempt.status)
        .where(PaymentAttempt.invoice_id == invoice.id, PaymentAttempt.status.in_(LIVE_STATUSES))
        .order_by(PaymentAttempt.id)
        .limit(1)
    )
    chosen, methods, until, live = db.session.execute(
        select(
            select(InvoicePaymentChoice.providers)
            .where(InvoicePaymentChoice.invoice_id == invoice.id)
            .scalar_subquery(),
            select(InvoicePaymentChoice.methods).where(InvoicePaymentChoice.invoice_id == invoice.id).scalar_subquery(),
            select(PayLock.locked_until).where(PayLock.customer_id == customer.id).scalar_subquery(),
            live_status.scalar_subquery(),
        )
    ).one()
    offered = offered_among(invoice, accounts, chosen, methods)
    providers = tuple((name, PROVIDERS[name].label) for name in offered)
    until = until if until is not None and until > utcnow() else None
    pending = invoice.status == InvoiceStatus.OPEN.value and live == PENDING
    can_pay = (
        invoice.status == InvoiceStatus.OPEN.value
        and amount_due > 0
        and bool(providers)
        and until is None
        and not pending
    )
    saves = any(PROVIDERS[name].saves_methods for name, _label in providers)
    return PayState(providers=providers, locked_until=until, pending=pending, can_pay=can_pay, saves_methods=saves)


def customer_attempt(customer: Customer, attempt_id: int) -> PaymentAttempt | None:
    """Return the customer's own attempt, or None for anyone else's."""
    return db.session.scalar(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.id == attempt_id,
            PaymentAttempt.customer_id == customer.id,
            PaymentAttempt.merchant_id == customer.merchant_id,
        )
        .options(selectinload(PaymentAttempt.invoice))
    )


# --- starting a payment -------------------------------------------------------------------------


def _adapter(attempt: PaymentAttempt) -> PaymentProvider:
    # An attempt already made keeps talking to its provider even if the merchant disabled it since.
    provider = provider_for(attempt.merchant_id, attempt.provider, include_disabled=attempt.status != "creating")
    if provider is None:
        raise ProviderNotEnabled(f"{attempt.provider} is not enabled for this merchant", "provider")
    return provider


def _checkout_request(attempt: PaymentAttempt) -> CheckoutRequest:
    invoice = attempt.invoice
    numbers = [part.invoice.number for part in attempt.allocations] or [invoice.number]
    # In the attempt's own locale, so a retry from `flask portal reconcile` sends the very same request.
    with force_locale(attempt.locale):
        if len(numbers) == 1:
            description = _("Invoice %(number)s", number=invoice.number)
        else:
            description = _("Invoices %(numbers)s", numbers=", ".join(numbers))
    if len(description) > 250:  # the providers cap descriptions; the allocations keep the full list
        description = description[:249] + "…"
    several = len(numbers) > 1
    return CheckoutRequest(
        idempotency_key=attempt.idempotency_key,
        amount=Money(attempt.amount, attempt.currency),
        description=description,
        return_url=public_url("customer.payment_return", attempt_id=attempt.id),
        cancel_url=public_url("customer.overview")
        if several
        else public_url("customer.invoice", number=invoice.number),
        webhook_url=public_url("webhooks.mollie"),
        locale=attempt.locale,
        metadata={
            "attempt_id": str(attempt.id),
            "invoice_number": ",".join(numbers)[:255],
            "merchant_id": str(attempt.merchant_id),
        },
        methods=attempt.methods,
        provider_customer_id=_provider_customer_id(attempt) if attempt.save_method else None,
        save_method=attempt.save_method,
    )


def _provider_customer_id(attempt: PaymentAttempt) -> str | None:
    from portal.services.saved_methods import known_provider_customer

    return known_provider_customer(attempt.customer_id, attempt.provider)


def _create_at_provider(attempt: PaymentAttempt, *, pressed: bool = False) -> PaymentAttempt:
    """Create the attempt's payment at the provider (repeatable: same idempotency key) and store the answer.

    pressed: the customer is waiting on this call, so an unreachable provider is a failed try of
    theirs and counts towards the pay lock (reconcile's retries do not). An attempt on a saved card
    or mandate is charged off-session instead (portal.services.saved_methods).
    """
    if attempt.saved_method_id is not None:
        from portal.services.saved_methods import charge_at_provider

        return charge_at_provider(attempt)
    try:
        answer = _adapter(attempt).create_payment(_checkout_request(attempt))
    except ProviderRefused as exc:
        log.warning("Provider refused attempt %s: %s", attempt.id, exc)
        _finish(attempt, "refused")
        db.session.commit()
        raise PaymentNotStarted(str(exc), refused=True) from exc
    except ProviderUnavailable as exc:
        # The provider may have created it: the attempt stays "creating" and the same key finds it again.
        log.warning("Provider unavailable for attempt %s: %s", attempt.id, exc)
        customer_id, merchant_id = attempt.customer_id, attempt.merchant_id
        db.session.rollback()
        if pressed and attempt.initiated_by == "customer":
            _register_failure(customer_id, merchant_id)
            db.session.commit()
        raise PaymentNotStarted(str(exc), refused=False) from exc
    attempt.provider_payment_id = answer.provider_payment_id
    attempt.provider_intent_id = attempt.provider_intent_id or answer.intent_id
    attempt.checkout_url = answer.checkout_url
    if attempt.status == "creating":
        attempt.status = "open"
    db.session.flush()
    if answer.status != OPEN:
        apply_provider_payment(attempt.id, answer)
    db.session.commit()
    return attempt


def _finish(attempt: PaymentAttempt, status: str) -> None:
    attempt.status = status
    attempt.finished_at = utcnow()
    if status in FAILED_STATUSES:
        # Only the customer's own presses lock their pay button; a charge by staff or autopay never does.
        if attempt.initiated_by == "customer":
            _register_failure(attempt.customer_id, attempt.merchant_id)
        record_event(attempt.invoice.merchant, "payment.failed", attempt)
        if attempt.saved_method_id is not None:
            from portal.services.saved_methods import notify_charge_failed

            notify_charge_failed(attempt)


def _supersede(attempt: PaymentAttempt) -> None:
    """Take a live attempt out of play before another one is created, or refuse."""
    if attempt.status == "creating":
        try:
            _create_at_provider(attempt)
        except PaymentNotStarted as exc:
            if exc.refused:
                return  # nothing was created, and the attempt is final now
            raise PaymentInProgress("A payment for this invoice is still being prepared") from exc
    if attempt.status == PENDING or attempt.is_final:
        if attempt.is_final:
            return
        raise PaymentInProgress("A payment for this invoice is being processed")
    try:
        canceled = _adapter(attempt).cancel_payment(attempt.provider_payment_id)
    except ProviderError as exc:
        raise PaymentInProgress("A payment for this invoice is still open") from exc
    if not canceled:
        raise PaymentInProgress("A payment for this invoice is being processed")
    attempt.status = "superseded"
    attempt.finished_at = utcnow()
    db.session.commit()


def _still_open_at_provider(attempt: PaymentAttempt) -> bool | None:
    """Ask the provider whether an open attempt's checkout still works; apply the answer if not.

    None when it cannot be told (not open here, or the provider is unreachable): keep what we know.
    """
    if attempt.status != "open" or attempt.provider_payment_id is None:
        return None
    try:
        answer = _adapter(attempt).fetch_payment(attempt.provider_payment_id)
    except (ProviderError, ProviderNotEnabled):
        return None
    if answer.status == OPEN:
        return True
    # Its webhook has not come (yet): what the provider says now is as good, and it is applied once.
    apply_provider_payment(attempt.id, answer)
    db.session.commit()
    return False


def start_payment(
    customer: Customer, invoice: Invoice, provider_name: str, *, save_method: bool = False
) -> PaymentAttempt:
    """Create (or reuse) the payment of the invoice's amount due and return its attempt.

    A live attempt for the same amount and provider is reused; one for another amount is
    canceled at its provider first, so there are never two live charges for one invoice.
    save_method: the customer asked to keep the card or mandate for later charges (when the
    provider can; a provider customer is created or reused for it first).
    """
    until = locked_until(customer)
    if until is not None:
        raise PayLocked(until)
    if provider_name not in offered_providers(invoice):
        raise ProviderNotEnabled("This way of paying is not offered", "provider")
    if invoice.status != InvoiceStatus.OPEN.value:
        raise NothingToPay("Only an open invoice can be paid")
    merchant = invoice.merchant
    breakdown = invoice_breakdown(invoice, merchant.today())
    if breakdown is None or breakdown.amount_due <= 0:
        raise NothingToPay("Nothing is due on this invoice")

    for shared in live_attempts_covering([invoice.id]):
        # A checkout of several invoices that includes this one: never two live charges for it.
        if shared.covers_several and _still_open_at_provider(shared) is not False:
            _supersede(shared)
    live = live_attempt(invoice)
    if live is not None and _still_open_at_provider(live) is False:
        live = live_attempt(invoice)
    save_method = save_method and _prepare_saving(customer, provider_name)
    if live is not None:
        same = (
            live.amount == breakdown.amount_due
            and live.currency == invoice.currency
            and not live.covers_several
            and live.save_method == save_method
            and live.saved_method_id is None
        )
        if same and live.provider == provider_name and live.status == "open" and live.checkout_url:
            return live
        if same and live.provider == provider_name and live.status == "creating":
            return _create_at_provider(live, pressed=True)
        _supersede(live)
    db.session.refresh(invoice)
    if invoice.status != InvoiceStatus.OPEN.value:
        raise NothingToPay("This invoice was paid meanwhile")

    attempt = PaymentAttempt(
        merchant_id=invoice.merchant_id,
        invoice_id=invoice.id,
        customer_id=customer.id,
        provider=provider_name,
        status="creating",
        amount=breakdown.amount_due,
        currency=invoice.currency,
        principal_amount=breakdown.outstanding,
        fee_amount=breakdown.fee,
        interest_amount=breakdown.interest,
        as_of=breakdown.as_of,
        breakdown=breakdown.steps(),
        locale=customer.language,
        methods=checkout_methods(invoice, provider_name),
        save_method=save_method,
    )
    db.session.add(attempt)
    try:
        db.session.commit()
    except IntegrityError as exc:
        # Another press created the invoice's live attempt a moment ago.
        db.session.rollback()
        raise PaymentInProgress("A payment for this invoice is already being prepared") from exc
    return _create_at_provider(attempt, pressed=True)


def _prepare_saving(customer: Customer, provider_name: str) -> bool:
    """Make sure the provider knows the customer before a checkout that saves the method; False if it cannot."""
    from portal.services.saved_methods import ensure_provider_customer

    return ensure_provider_customer(customer, provider_name) is not None


def payable_invoices(customer: Customer, numbers: list[str] | None) -> list[Invoice]:
    """Return the customer's open invoices named by number (None: all of them), due first first.

    Raises NothingToPay when a named number is not an open invoice of this customer (whether it
    exists elsewhere is not told) or when nothing is left to pay.
    """
    query = select(Invoice).where(
        Invoice.merchant_id == customer.merchant_id,
        Invoice.customer_id == customer.id,
        Invoice.status == InvoiceStatus.OPEN.value,
    )
    if numbers is not None:
        wanted = set(numbers)
        query = query.where(Invoice.number.in_(wanted))
    invoices = list(db.session.scalars(query.order_by(Invoice.due_date, Invoice.number)))
    if numbers is not None and len(invoices) != len(wanted):
        raise NothingToPay("Only open invoices of this customer can be paid")
    today = customer.merchant.today()
    invoices = [invoice for invoice in invoices if _amount_due(invoice, today) > 0]
    if not invoices:
        raise NothingToPay("Nothing is due")
    return invoices


def _amount_due(invoice: Invoice, today: date) -> int:
    breakdown = invoice_breakdown(invoice, today)
    return breakdown.amount_due if breakdown is not None else 0


def start_several_payment(customer: Customer, invoices: list[Invoice], provider_name: str) -> PaymentAttempt:
    """Create (or reuse) one payment for the amounts due of several invoices of one currency.

    Each invoice gets its amount due of today, in due-date order, stored as an allocation with its
    breakdown. An open checkout for exactly these invoices and amounts is reused; any other live
    checkout of one of them is canceled first, so no invoice ever has two live charges.
    """
    until = locked_until(customer)
    if until is not None:
        raise PayLocked(until)
    if len({invoice.currency for invoice in invoices}) > 1:
        raise MixedCurrencies("Invoices in different currencies are paid separately", "invoice")
    if len(invoices) == 1:
        return start_payment(customer, invoices[0], provider_name)
    if not invoices:
        raise NothingToPay("Nothing is due")
    # Only the methods every one of these invoices may be paid with (None: the provider's own choice).
    methods = common_methods(invoices, provider_name)
    if methods == []:
        raise NoCommonMethod("No payment method at this provider is offered for all of these invoices", "provider")
    today = customer.merchant.today()
    parts = []
    for invoice in sorted(invoices, key=lambda item: (item.due_date, item.number)):
        breakdown = invoice_breakdown(invoice, today) if invoice.status == InvoiceStatus.OPEN.value else None
        if breakdown is None or breakdown.amount_due <= 0:
            raise NothingToPay(f"Nothing is due on invoice {invoice.number}")
        parts.append((invoice, breakdown))
    wanted = [(invoice.id, breakdown.amount_due) for invoice, breakdown in parts]
    ids = [invoice.id for invoice, _unused in parts]

    for live in live_attempts_covering(ids):
        same = (
            live.covers_several
            and live.provider == provider_name
            and [(part.invoice_id, part.amount) for part in live.allocations] == wanted
        )
        if same and live.status == "open" and live.checkout_url and _still_open_at_provider(live) is not False:
            return live
        if same and live.status == "creating":
            return _create_at_provider(live, pressed=True)
    for live in live_attempts_covering(ids):
        if _still_open_at_provider(live) is not False:
            _supersede(live)
    for invoice, _unused in parts:
        db.session.refresh(invoice)
        if invoice.status != InvoiceStatus.OPEN.value:
            raise NothingToPay(f"Invoice {invoice.number} was settled meanwhile")

    first = parts[0][0]
    attempt = PaymentAttempt(
        merchant_id=customer.merchant_id,
        invoice_id=first.id,
        customer_id=customer.id,
        provider=provider_name,
        status="creating",
        amount=sum(breakdown.amount_due for _unused, breakdown in parts),
        currency=first.currency,
        principal_amount=sum(breakdown.outstanding for _unused, breakdown in parts),
        fee_amount=sum(breakdown.fee for _unused, breakdown in parts),
        interest_amount=sum(breakdown.interest for _unused, breakdown in parts),
        as_of=today,
        breakdown=[
            {"invoice": invoice.number, "amount_due": breakdown.amount_due, "steps": breakdown.steps()}
            for invoice, breakdown in parts
        ],
        locale=customer.language,
        methods=methods,
        allocations=[
            PaymentAllocation(
                merchant_id=customer.merchant_id,
                invoice_id=invoice.id,
                position=position,
                amount=breakdown.amount_due,
                principal_amount=breakdown.outstanding,
                fee_amount=breakdown.fee,
                interest_amount=breakdown.interest,
                breakdown=breakdown.steps(),
            )
            for position, (invoice, breakdown) in enumerate(parts)
        ],
    )
    db.session.add(attempt)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise PaymentInProgress("A payment for these invoices is already being prepared") from exc
    return _create_at_provider(attempt, pressed=True)


# --- applying what the provider says ------------------------------------------------------------


def _paid_on(invoice: Invoice, paid_at: datetime | None) -> date:
    today = invoice.merchant.today()
    if paid_at is None:
        return today
    return min(today, paid_at.astimezone(ZoneInfo(invoice.merchant.timezone)).date())


def _book_several(attempt: PaymentAttempt, answer: ProviderPayment) -> list[Booking]:
    """Book a checkout of several invoices: each invoice its allocation, in due-date order, one receipt each.

    Every part goes through the ledger, which books on the invoice up to what it still needs and
    the rest on the credit balance (an invoice paid or voided meanwhile takes nothing). When the
    provider reports another amount than asked, what arrived is shared in the same order and any
    surplus rides on the last part. All in the caller's transaction: all of it or none of it.
    """
    left = answer.amount.minor
    parts = list(attempt.allocations)
    bookings = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        share = left if last else min(part.amount, left)
        if share <= 0:
            continue
        left -= share
        invoice = part.invoice
        booking = book_money_received(
            attempt.customer,
            invoice,
            Money(share, attempt.currency),
            method=attempt.provider,
            source=MoneySource("payment_attempt", f"{attempt.id}:{part.position}"),
            received_on=_paid_on(invoice, answer.paid_at),
            reference=attempt.provider_payment_id,
            asked=AskedFor(part.principal_amount, part.fee_amount, part.interest_amount),
            breakdown=part.breakdown,
        )
        if booking.credit is not None:
            log.warning(
                "Attempt %s: %s meant for invoice %s went to the credit balance (%s)",
                attempt.id,
                Money(booking.credit.amount, booking.credit.currency).format_plain(),
                invoice.number,
                booking.credit.reason,
            )
        bookings.append(booking)
    return bookings


def _book_payment(attempt: PaymentAttempt, answer: ProviderPayment) -> Booking:
    """Book the money the provider says arrived: on the invoice up to what it needs, the rest on the balance.

    The invoice may have been paid, credited or voided meanwhile, or the provider may report
    another amount than the attempt asked: whatever arrived is booked, never parked.
    """
    invoice = attempt.invoice
    booking = book_money_received(
        attempt.customer,
        invoice,
        answer.amount,
        method=attempt.provider,
        source=MoneySource("payment_attempt", str(attempt.id)),
        received_on=_paid_on(invoice, answer.paid_at),
        reference=attempt.provider_payment_id,
        asked=AskedFor(attempt.principal_amount, attempt.fee_amount, attempt.interest_amount),
        breakdown=attempt.breakdown,
    )
    if booking.payment is not None:
        attempt.payment_id = booking.payment.id
    if booking.credit is not None:
        log.warning(
            "Attempt %s: %s went to the credit balance of customer %s (%s)",
            attempt.id,
            Money(booking.credit.amount, booking.credit.currency).format_plain(),
            attempt.customer_id,
            booking.credit.reason,
        )
    return booking


def _sync_reversals(attempt: PaymentAttempt, answer: ProviderPayment) -> list:
    """Book refunds and chargebacks the provider reports on a paid attempt, beyond those booked already."""
    if answer.refunded is None and answer.charged_back is None:
        return []
    today = attempt.invoice.merchant.today()
    if attempt.covers_several:
        return sync_reported_reversals_across(
            receipts_giving_back(attempt), refunded=answer.refunded, charged_back=answer.charged_back, on=today
        )
    receipt = receipt_of(attempt)
    if receipt is None:
        return []
    return sync_reported_reversals(receipt, refunded=answer.refunded, charged_back=answer.charged_back, on=today)


def receipt_of(attempt: PaymentAttempt) -> Receipt | None:
    """Return the money received for a paid attempt (the first invoice's part for a checkout of several)."""
    if attempt.covers_several:
        receipts = receipts_giving_back(attempt)
        return receipts[-1] if receipts else None
    return db.session.scalar(
        select(Receipt).where(
            Receipt.merchant_id == attempt.merchant_id,
            Receipt.source_type == "payment_attempt",
            Receipt.source_id == str(attempt.id),
        )
    )


def receipts_giving_back(attempt: PaymentAttempt) -> list[Receipt]:
    """Return the receipts of a checkout of several invoices in the order a refund or chargeback reverses them.

    The rule: the invoice due last gives back first (reverse due-date order, the reverse of the
    order the payment was allocated in), so a partial refund reopens the latest invoices and leaves
    the oldest debts paid. Parts that booked nothing (less arrived than asked) have no receipt.
    """
    by_source = {
        receipt.source_id: receipt
        for receipt in db.session.scalars(
            select(Receipt).where(
                Receipt.merchant_id == attempt.merchant_id,
                Receipt.source_type == "payment_attempt",
                Receipt.source_id.in_([f"{attempt.id}:{part.position}" for part in attempt.allocations]),
            )
        )
    }
    ordered = sorted(attempt.allocations, key=lambda part: part.position, reverse=True)
    return [by_source[key] for key in (f"{attempt.id}:{part.position}" for part in ordered) if key in by_source]


def apply_provider_payment(
    attempt_id: int,
    answer: ProviderPayment,
    *,
    event_id: str | None = None,
    event_type: str = "",
) -> str:
    """Apply what the provider says about an attempt, at most once; return what happened.

    Only a live attempt changes, only to pending or to a final status; but money is never dropped:
    an attempt given up here (canceled, expired, replaced) that the provider reports paid is booked
    too. When it is paid, what the provider says arrived is booked, even another amount than asked
    (the rest of the invoice stays payable, a surplus goes to the credit balance, as does money for
    an invoice settled or void meanwhile). On a paid attempt, refunds and chargebacks the
    provider reports are booked. The attempt row is locked first, so two deliveries at once apply
    one transition. The caller commits.
    """
    attempt = db.session.execute(
        select(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if event_id is not None:
        fresh = _insert_ignoring_conflict(
            WebhookEvent,
            {
                "merchant_id": attempt.merchant_id,
                "provider": attempt.provider,
                "event_id": event_id,
                "event_type": event_type[:100],
                "attempt_id": attempt.id,
                "received_at": utcnow(),
            },
            ["provider", "event_id"],
        )
        if not fresh:
            return "duplicate"
    if attempt.provider_payment_id is None:
        # The process stopped before it stored the provider's answer; the verified event names it.
        attempt.provider_payment_id = answer.provider_payment_id
    elif answer.provider_payment_id != attempt.provider_payment_id:
        log.warning("Attempt %s: answer about %s ignored", attempt.id, answer.provider_payment_id)
        return "other_payment"
    if answer.intent_id and not attempt.provider_intent_id:
        attempt.provider_intent_id = answer.intent_id
    if attempt.is_final and attempt.status == PAID:
        if _sync_reversals(attempt, answer):
            db.session.flush()
            return "reversed"
        return "final"
    if attempt.is_final and answer.status != PAID:
        return "final"
    if attempt.is_final:
        # Canceled, expired or replaced here, yet the provider took the money: book it, never drop it.
        log.warning("Attempt %s was %s but the provider reports it paid", attempt.id, attempt.status)
    if answer.status == OPEN or answer.status == attempt.status:
        return "unchanged"
    if answer.status == PENDING:
        attempt.status = PENDING
        db.session.flush()
        return PENDING
    _finish(attempt, answer.status)
    if answer.status == PAID:
        if answer.amount != Money(attempt.amount, attempt.currency):
            log.warning(
                "Attempt %s: the provider received %s instead of %s; booking what arrived",
                attempt.id,
                answer.amount.format_plain(),
                Money(attempt.amount, attempt.currency).format_plain(),
            )
        if attempt.covers_several:
            _book_several(attempt, answer)
        else:
            _book_payment(attempt, answer)
        if attempt.initiated_by == "customer":
            _register_success(attempt.customer_id, attempt.merchant_id)
        _sync_reversals(attempt, answer)
        if attempt.save_method:
            from portal.services.saved_methods import keep_saved_method

            keep_saved_method(attempt, answer)
    db.session.flush()
    return answer.status


def apply_reported_reversal(attempt_id: int, reversal: ReportedReversal, *, event_id: str, event_type: str) -> str:
    """Book a refund total or a chargeback a provider's verified event reports on a paid attempt, once."""
    attempt = db.session.execute(
        select(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    receipt = receipt_of(attempt)
    if attempt.status != PAID or receipt is None:
        # Out of order: the payment is not booked yet. Not marked as seen, so the provider's retry applies it.
        log.warning("Attempt %s: %s reported before the payment was booked", attempt.id, reversal.kind)
        return "not_paid"
    if event_id and not _insert_ignoring_conflict(
        WebhookEvent,
        {
            "merchant_id": attempt.merchant_id,
            "provider": attempt.provider,
            "event_id": event_id,
            "event_type": event_type[:100],
            "attempt_id": attempt.id,
            "received_at": utcnow(),
        },
        ["provider", "event_id"],
    ):
        return "duplicate"
    today = attempt.invoice.merchant.today()
    if attempt.covers_several:
        # One payment for several invoices: reversed across them, the invoice due last first.
        receipts = receipts_giving_back(attempt)
        if reversal.kind == "refunded":
            booked = sync_reported_reversals_across(receipts, refunded=reversal.amount, charged_back=None, on=today)
        else:
            booked = book_returned_across(
                receipts,
                reversal.amount,
                kind="charged_back",
                source=MoneySource("provider_chargeback", reversal.reference),
                returned_on=today,
                note=f"Dispute {reversal.reference}" if reversal.reference else None,
            )
    elif reversal.kind == "refunded":
        booked = sync_reported_reversals(receipt, refunded=reversal.amount, charged_back=None, on=today)
    else:
        booked = book_money_returned(
            receipt.customer,
            reversal.amount,
            kind="charged_back",
            method=receipt.method,
            source=MoneySource("provider_chargeback", reversal.reference),
            returned_on=today,
            receipt=receipt,
            note=f"Dispute {reversal.reference}" if reversal.reference else None,
        )
    db.session.flush()
    return reversal.kind if booked else "unchanged"


def attempt_for_provider_payment(provider: str, provider_payment_id: str) -> PaymentAttempt | None:
    """Return the attempt a provider's payment id belongs to, or None."""
    return db.session.scalar(
        select(PaymentAttempt).where(
            PaymentAttempt.provider == provider, PaymentAttempt.provider_payment_id == provider_payment_id
        )
    )


# --- reconciliation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciled:
    attempt_id: int
    provider: str
    outcome: str
    #: True when the attempt was paid already and only asked about for refunds and chargebacks.
    was_paid: bool = False


def reconcile(older_than: timedelta, *, refunds_within: timedelta | None = None) -> list[Reconciled]:
    """Ask the providers about attempts still live after `older_than` and apply their answers.

    refunds_within: also ask about attempts paid in that time, and book the refunds and
    chargebacks the providers report on them.
    """
    cutoff = utcnow() - older_than
    ids = list(
        db.session.scalars(
            select(PaymentAttempt.id)
            .where(PaymentAttempt.status.in_(LIVE_STATUSES), PaymentAttempt.created_at <= cutoff)
            .order_by(PaymentAttempt.id)
        )
    )
    paid_ids = []
    if refunds_within:
        paid_ids = list(
            db.session.scalars(
                select(PaymentAttempt.id)
                .where(
                    PaymentAttempt.status == PAID,
                    PaymentAttempt.finished_at >= utcnow() - refunds_within,
                    PaymentAttempt.provider_payment_id.is_not(None),
                )
                .order_by(PaymentAttempt.id)
            )
        )
    db.session.rollback()
    results = []
    recent = set(paid_ids)
    for attempt_id in ids + paid_ids:
        attempt = db.session.get(PaymentAttempt, attempt_id)
        try:
            if attempt.provider_payment_id is None:
                # Created, or about to be, when the process stopped: the same key finds it.
                _create_at_provider(attempt)
                attempt = db.session.get(PaymentAttempt, attempt_id)
                if attempt.status == "open" and attempt.invoice.status != InvoiceStatus.OPEN.value:
                    cancel_checkout(attempt)  # voided or settled meanwhile: no checkout should stay open
            if attempt.is_final and attempt_id not in recent:
                outcome = attempt.status
            else:
                answer = _adapter(attempt).fetch_payment(attempt.provider_payment_id)
                outcome = apply_provider_payment(attempt.id, answer)
            db.session.commit()
        except PaymentNotStarted as exc:
            db.session.rollback()
            outcome = "refused" if exc.refused else "unreachable"
        except ProviderNotEnabled:
            db.session.rollback()
            outcome = "provider_disabled"
        except ProviderError as exc:
            db.session.rollback()
            log.warning("Reconciling attempt %s failed: %s", attempt_id, exc)
            outcome = "unreachable"
        results.append(Reconciled(attempt_id, attempt.provider, outcome, was_paid=attempt_id in recent))
    return results

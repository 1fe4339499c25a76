"""Charges, recurring lines and the monthly billing cycle."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.domain.errors import DomainError
from portal.domain.invoices import Line, Totals, compute_totals
from portal.domain.money import currency_exponent
from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.models.base import utcnow
from portal.models.billing import BillingCycle, BillingRun, Charge, RecurringLine
from portal.services import invoices
from portal.services.errors import Conflict, NotFound
from portal.services.issuing import issue_invoice

log = logging.getLogger(__name__)


class ChargesTaken(Conflict):
    """Another draft claimed one of the charges first."""

    code = "charges_taken"


def _check_line(
    description: str, quantity: Decimal, unit_amount: int, tax_rate: Decimal, tax_category: str | None
) -> Line:
    # The domain's line holds the bounds for descriptions, quantities, prices, rates and categories.
    return Line(
        description=description.strip(),
        quantity=quantity,
        unit_amount=unit_amount,
        tax_rate=tax_rate,
        tax_category=tax_category,
    )


def record_charge(
    customer: Customer,
    *,
    description: str,
    charged_on: date,
    quantity: Decimal,
    unit_amount: int,
    tax_rate: Decimal,
    currency: str | None = None,
    tax_category: str | None = None,
) -> Charge:
    """Record a billable item against a customer, to be invoiced later."""
    currency = currency or customer.merchant.default_currency
    currency_exponent(currency)
    line = _check_line(description, quantity, unit_amount, tax_rate, tax_category)
    charge = Charge(
        merchant_id=customer.merchant_id,
        customer=customer,
        description=line.description,
        charged_on=charged_on,
        quantity=quantity,
        unit_amount=unit_amount,
        currency=currency,
        tax_rate=tax_rate,
        tax_category=line.tax_category.value,
    )
    db.session.add(charge)
    db.session.flush()
    return charge


def update_charge(
    charge: Charge,
    *,
    description: str,
    charged_on: date,
    quantity: Decimal,
    unit_amount: int,
    tax_rate: Decimal,
    currency: str,
    tax_category: str | None = None,
) -> Charge:
    """Change a charge that is not on an invoice yet."""
    if charge.status != "open":
        raise Conflict("Only an open charge can be changed; this one is on an invoice", "status")
    currency_exponent(currency)
    line = _check_line(description, quantity, unit_amount, tax_rate, tax_category)
    charge.description = line.description
    charge.charged_on = charged_on
    charge.quantity = quantity
    charge.unit_amount = unit_amount
    charge.currency = currency
    charge.tax_rate = tax_rate
    charge.tax_category = line.tax_category.value
    db.session.flush()
    return charge


def get_charge(merchant: Merchant, charge_id: int) -> Charge:
    """Return the merchant's charge, or NotFound for anyone else's."""
    charge = db.session.scalar(select(Charge).where(Charge.id == charge_id, Charge.merchant_id == merchant.id))
    if charge is None:
        raise NotFound("No such charge")
    return charge


def delete_charge(charge: Charge) -> None:
    """Delete a charge that is not on an invoice yet."""
    if charge.status != "open":
        raise Conflict("Only an open charge can be deleted; this one is on an invoice", "status")
    db.session.delete(charge)
    db.session.flush()


def customer_charges(customer: Customer) -> list[Charge]:
    """Return the customer's charges, open ones first, each by date."""
    charges = db.session.scalars(
        select(Charge)
        .where(Charge.merchant_id == customer.merchant_id, Charge.customer_id == customer.id)
        .options(selectinload(Charge.invoice))
        .order_by(Charge.charged_on, Charge.id)
    )
    return sorted(charges, key=lambda charge: charge.status != "open")


def _open_charges(customer: Customer, *, currency: str, until: date | None = None) -> list[Charge]:
    """Return the customer's open charges, locked; charges another draft is taking right now are skipped."""
    statement = select(Charge).where(
        Charge.merchant_id == customer.merchant_id,
        Charge.customer_id == customer.id,
        Charge.invoice_id.is_(None),
        Charge.currency == currency,
    )
    if until is not None:
        statement = statement.where(Charge.charged_on <= until)
    statement = statement.order_by(Charge.charged_on, Charge.id).with_for_update(skip_locked=True)
    return list(db.session.scalars(statement))


def _claim(charges: Sequence[Charge], invoice: Invoice) -> None:
    """Put the charges on the invoice, each only if it is still open; raise ChargesTaken if any is not.

    One conditional UPDATE: of two drafts racing for a charge, exactly one changes its row, so a
    charge can never be on two invoices. The caller rolls back on ChargesTaken.
    """
    ids = [charge.id for charge in charges]
    claimed = db.session.execute(
        update(Charge)
        .where(Charge.id.in_(ids), Charge.invoice_id.is_(None))
        .values(invoice_id=invoice.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != len(ids):
        raise ChargesTaken("Some of these charges were put on another invoice a moment ago: try again", "charges")
    for charge in charges:
        db.session.expire(charge, ["invoice_id", "invoice"])
    db.session.expire(invoice, ["charges"])


def draft_from_charges(
    customer: Customer,
    *,
    charge_ids: Sequence[int] | None = None,
    issue_date: date | None = None,
    payment_days: int = 30,
) -> Invoice:
    """Draft an invoice from all of the customer's open charges, or the selected ones.

    The charges are claimed atomically: two drafts made at once never hold the same charge.
    """
    merchant = customer.merchant
    if charge_ids:
        charges = []
        for charge_id in charge_ids:
            charge = db.session.scalar(
                select(Charge)
                .where(Charge.id == charge_id, Charge.merchant_id == merchant.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if charge is None or charge.customer_id != customer.id:
                raise NotFound("No such charge", "charges")
            if charge.status != "open":
                raise Conflict(f"The charge {charge.description!r} is already on an invoice", "charges")
            charges.append(charge)
        charges.sort(key=lambda charge: (charge.charged_on, charge.id))
    else:
        charges = _open_charges(customer, currency=merchant.default_currency)
    if not charges:
        raise DomainError("This customer has no open charges to invoice", "charges")
    currencies = {charge.currency for charge in charges}
    if len(currencies) > 1:
        raise DomainError("Charges in different currencies go on separate invoices", "charges")
    issue_date = issue_date or merchant.today()
    invoice = invoices.create_draft(
        merchant,
        customer=customer,
        currency=currencies.pop(),
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=payment_days),
        lines=[charge.to_line() for charge in charges],
    )
    _claim(charges, invoice)
    db.session.flush()
    return invoice


@dataclass(frozen=True)
class DraftPreview:
    """What "draft an invoice" would take: the charges, in invoice order, and the totals the draft would have."""

    charges: list[Charge]
    currency: str
    totals: Totals


def preview_draft_from_charges(customer: Customer, *, charge_ids: Sequence[int] | None = None) -> DraftPreview:
    """Return what draft_from_charges would take now (the selected charges, or all open ones), claiming nothing.

    Raises what draft_from_charges raises for the same choice, so staff see the refusal before confirming.
    """
    merchant = customer.merchant
    base = select(Charge).where(Charge.merchant_id == merchant.id, Charge.customer_id == customer.id)
    if charge_ids:
        charges = list(db.session.scalars(base.where(Charge.id.in_(list(charge_ids)))))
        if len(charges) != len(set(charge_ids)):
            raise NotFound("No such charge", "charges")
        for charge in charges:
            if charge.status != "open":
                raise Conflict(f"The charge {charge.description!r} is already on an invoice", "charges")
    else:
        charges = list(
            db.session.scalars(base.where(Charge.invoice_id.is_(None), Charge.currency == merchant.default_currency))
        )
    charges.sort(key=lambda charge: (charge.charged_on, charge.id))
    if not charges:
        raise DomainError("This customer has no open charges to invoice", "charges")
    currencies = {charge.currency for charge in charges}
    if len(currencies) > 1:
        raise DomainError("Charges in different currencies go on separate invoices", "charges")
    return DraftPreview(charges, currencies.pop(), compute_totals([charge.to_line() for charge in charges]))


def add_recurring_line(
    customer: Customer,
    *,
    description: str,
    quantity: Decimal,
    unit_amount: int,
    tax_rate: Decimal,
    tax_category: str | None = None,
) -> RecurringLine:
    """Add a line that goes on every monthly invoice of the customer."""
    checked = _check_line(description, quantity, unit_amount, tax_rate, tax_category)
    line = RecurringLine(
        merchant_id=customer.merchant_id,
        customer_id=customer.id,
        description=checked.description,
        quantity=quantity,
        unit_amount=unit_amount,
        currency=customer.merchant.default_currency,
        tax_rate=tax_rate,
        tax_category=checked.tax_category.value,
    )
    db.session.add(line)
    db.session.flush()
    return line


def recurring_lines(customer: Customer) -> list[RecurringLine]:
    """Return the customer's recurring lines in the order they were added."""
    return list(
        db.session.scalars(
            select(RecurringLine)
            .where(RecurringLine.merchant_id == customer.merchant_id, RecurringLine.customer_id == customer.id)
            .order_by(RecurringLine.id)
        )
    )


def get_recurring_line(merchant: Merchant, line_id: int) -> RecurringLine:
    """Return the merchant's recurring line, or NotFound for anyone else's."""
    line = db.session.scalar(
        select(RecurringLine).where(RecurringLine.id == line_id, RecurringLine.merchant_id == merchant.id)
    )
    if line is None:
        raise NotFound("No such recurring line")
    return line


def update_recurring_line(
    line: RecurringLine,
    *,
    description: str,
    quantity: Decimal,
    unit_amount: int,
    tax_rate: Decimal,
    tax_category: str | None = None,
) -> RecurringLine:
    """Change a recurring line for the months to come; invoices already drafted keep what they copied."""
    checked = _check_line(description, quantity, unit_amount, tax_rate, tax_category)
    line.description = checked.description
    line.quantity = quantity
    line.unit_amount = unit_amount
    line.tax_rate = tax_rate
    line.tax_category = checked.tax_category.value
    db.session.flush()
    return line


def delete_recurring_line(merchant: Merchant, line_id: int) -> None:
    """Stop billing a recurring line."""
    db.session.delete(get_recurring_line(merchant, line_id))
    db.session.flush()


def billing_cycle(customer: Customer) -> BillingCycle | None:
    """Return the customer's monthly billing settings, if any."""
    return db.session.get(BillingCycle, customer.id)


def set_billing_cycle(
    customer: Customer, *, active: bool, day_of_month: int, payment_days: int, auto_send: bool
) -> BillingCycle:
    """Create or change the customer's monthly billing settings."""
    if not 1 <= day_of_month <= 28:
        raise DomainError("The billing day must be between 1 and 28, so every month has it", "day_of_month")
    if not 0 <= payment_days <= 365:
        raise DomainError("Payment terms must be between 0 and 365 days", "payment_days")
    cycle = billing_cycle(customer)
    if cycle is None:
        cycle = BillingCycle(customer_id=customer.id, merchant_id=customer.merchant_id)
        db.session.add(cycle)
    cycle.active = active
    cycle.day_of_month = day_of_month
    cycle.payment_days = payment_days
    cycle.auto_send = auto_send
    db.session.flush()
    return cycle


@dataclass(frozen=True)
class MonthlyResult:
    """What the monthly run did for one customer."""

    customer: Customer
    period: str
    invoice: Invoice | None
    sent: bool
    #: Why nothing was billed (the month stays unbilled, so the next run tries again).
    error: str | None = None


def billing_period(day: date) -> str:
    """Return the month a day falls in, as YYYY-MM."""
    return f"{day.year:04d}-{day.month:02d}"


def bill_customer_for_month(cycle: BillingCycle, today: date) -> MonthlyResult | None:
    """Bill one customer for today's month unless that month was billed already.

    Runs inside a savepoint: a concurrent run that billed the same month first makes the
    unique (customer, period) row collide, and this customer is skipped without harm.
    """
    customer = cycle.customer
    period = billing_period(today)
    done = db.session.scalar(
        select(BillingRun.id).where(BillingRun.customer_id == customer.id, BillingRun.period == period)
    )
    if done is not None or today.day < cycle.day_of_month:
        return None
    currency = customer.merchant.default_currency
    try:
        with db.session.begin_nested():
            run = BillingRun(merchant_id=customer.merchant_id, customer_id=customer.id, period=period)
            db.session.add(run)
            db.session.flush()  # claim the month before drafting anything
            lines = [line.to_line() for line in recurring_lines(customer) if line.currency == currency]
            charges = _open_charges(customer, currency=currency, until=today)
            lines += [charge.to_line() for charge in charges]
            invoice = None
            if lines:
                invoice = invoices.create_draft(
                    customer.merchant,
                    customer=customer,
                    currency=currency,
                    issue_date=today,
                    due_date=today + timedelta(days=cycle.payment_days),
                    lines=lines,
                    notes=f"Billing period {period}",
                )
                if charges:
                    _claim(charges, invoice)
                run.invoice = invoice
                if cycle.auto_send:
                    issue_invoice(invoice, send=True)
                db.session.flush()
    except IntegrityError:
        return None
    except DomainError as exc:
        return MonthlyResult(customer=customer, period=period, invoice=None, sent=False, error=exc.message)
    return MonthlyResult(customer=customer, period=period, invoice=invoice, sent=bool(invoice and cycle.auto_send))


def bill_monthly() -> list[MonthlyResult]:
    """Bill every active cycle that is due this month in its merchant's time zone, once per month.

    Each customer is committed on its own: one that fails is rolled back and reported, and neither
    undoes nor blocks the others (its month stays unbilled, so the next run tries again).
    """
    cycle_ids = list(
        db.session.scalars(
            select(BillingCycle.customer_id)
            .where(BillingCycle.active.is_(True))
            .order_by(BillingCycle.merchant_id, BillingCycle.customer_id)
        )
    )
    results = []
    for customer_id in cycle_ids:
        cycle = db.session.get(BillingCycle, customer_id)
        if cycle is None or not cycle.active:
            continue
        try:
            result = bill_customer_for_month(cycle, cycle.customer.merchant.today())
            db.session.commit()
        except Exception as exc:  # one customer's failure must not stop the run
            db.session.rollback()
            log.exception("Monthly billing of customer %s failed", customer_id)
            cycle = db.session.get(BillingCycle, customer_id)
            result = MonthlyResult(
                customer=cycle.customer,
                period=billing_period(utcnow().date()),
                invoice=None,
                sent=False,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
        if result is not None:
            results.append(result)
    return results

"""What needs a person: the admin's home page lists it, so nothing waits unseen.

Customer comments waiting for an answer, bank transfers the import could not book by itself, online payments the
provider reports as pending (a bank transfer through Mollie or Stripe), money parked on customers'
credit balances (to apply to an invoice or to refund), and mail or jobs that failed for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Comment, Customer, Merchant
from portal.models.bank import BankTransaction
from portal.models.job import Job
from portal.models.ledger import CreditEntry
from portal.models.mail import OutboxMessage
from portal.models.online_payment import PaymentAttempt
from portal.services import comment_inbox

#: Rows shown per kind; the count says how many there are in all.
SHOWN = 5


@dataclass
class Pile:
    """One kind of thing waiting: how many, and the first few."""

    count: int = 0
    rows: list = field(default_factory=list)


@dataclass(frozen=True)
class ParkedCredit:
    customer: Customer
    currency: str
    amount: int


@dataclass
class Attention:
    comments: Pile
    bank: Pile
    pending_payments: Pile
    credit: Pile
    failed_mail: Pile
    failed_jobs: Pile

    @property
    def total(self) -> int:
        return sum(pile.count for pile in self.__dict__.values() if isinstance(pile, Pile))


def _pile(query, count_query) -> Pile:
    return Pile(count=db.session.scalar(count_query) or 0, rows=list(db.session.scalars(query.limit(SHOWN))))


def needs_attention(merchant: Merchant) -> Attention:
    """Return what waits for the merchant's staff, oldest or largest first."""
    waiting: list[Comment] = comment_inbox.inbox(merchant, state="open", limit=SHOWN)
    waiting_bank = (BankTransaction.merchant_id == merchant.id) & BankTransaction.status.in_(("suggested", "unmatched"))
    pending = (PaymentAttempt.merchant_id == merchant.id) & (PaymentAttempt.status == "pending")
    failed_mail = (OutboxMessage.merchant_id == merchant.id) & (OutboxMessage.status == "failed")
    failed_jobs = (Job.merchant_id == merchant.id) & (Job.status == "failed")

    balances = (
        select(CreditEntry.customer_id, CreditEntry.currency, func.sum(CreditEntry.amount).label("amount"))
        .where(CreditEntry.merchant_id == merchant.id)
        .group_by(CreditEntry.customer_id, CreditEntry.currency)
        .having(func.sum(CreditEntry.amount) > 0)
        .subquery()
    )
    credit_rows = db.session.execute(
        select(balances.c.customer_id, balances.c.currency, balances.c.amount)
        .order_by(balances.c.amount.desc(), balances.c.customer_id)
        .limit(SHOWN)
    ).all()
    customers = {
        row.id: row
        for row in db.session.scalars(select(Customer).where(Customer.id.in_([r.customer_id for r in credit_rows])))
    }
    return Attention(
        comments=Pile(count=comment_inbox.open_count(merchant), rows=waiting),
        bank=_pile(
            select(BankTransaction).where(waiting_bank).order_by(BankTransaction.booking_date, BankTransaction.id),
            select(func.count()).select_from(BankTransaction).where(waiting_bank),
        ),
        pending_payments=_pile(
            select(PaymentAttempt)
            .where(pending)
            .options(selectinload(PaymentAttempt.invoice))
            .order_by(PaymentAttempt.created_at, PaymentAttempt.id),
            select(func.count()).select_from(PaymentAttempt).where(pending),
        ),
        credit=Pile(
            count=db.session.scalar(select(func.count()).select_from(balances)) or 0,
            rows=[ParkedCredit(customers[r.customer_id], r.currency, int(r.amount)) for r in credit_rows],
        ),
        failed_mail=_pile(
            select(OutboxMessage).where(failed_mail).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
            select(func.count()).select_from(OutboxMessage).where(failed_mail),
        ),
        failed_jobs=_pile(
            select(Job).where(failed_jobs).order_by(Job.id.desc()),
            select(func.count()).select_from(Job).where(failed_jobs),
        ),
    )

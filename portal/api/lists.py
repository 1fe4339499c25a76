"""The API's invoice and customer lists: their filters, and keyset pages in a stable order backed by indexes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from portal.api.pagination import PageQuery, Timestamp, cursor_values, day_bounds, keyset_page
from portal.api.schemas import IsoDate
from portal.domain.invoices import InvoiceStatus
from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.models.bank import BankTransaction

AS_OF_DESCRIPTION = (
    "The day (YYYY-MM-DD) amounts are stated for: `days_late`, `overdue`, `late_fee`, `interest`, `amount_due` and "
    "`breakdown` are computed for it with the late-fee policy copied onto the invoice at finalize (a draft uses the "
    "merchant's current policy, as if finalized now). Left out: the merchant's today in its time zone. Nothing is "
    "stored: the same invoice shows the same amounts for the same day."
)
Search = Annotated[str, Field(max_length=100)]
Offset = Annotated[
    int,
    Field(
        ge=0,
        le=10_000,
        json_schema_extra={"deprecated": True},
        description="Deprecated: skip this many objects; use starting_after, which costs the same on any page",
    ),
]


class _Paged(PageQuery):
    offset: Offset = 0
    created_gte: Annotated[Timestamp | None, Field(alias="created[gte]", description="Created at or after")] = None
    created_lte: Annotated[Timestamp | None, Field(alias="created[lte]", description="Created at or before")] = None

    @model_validator(mode="after")
    def _offset_or_cursor(self):
        if self.offset and (self.starting_after is not None or self.ending_before is not None):
            raise ValueError("send offset or a cursor, not both")
        return self


class InvoiceListQuery(_Paged):
    as_of: Annotated[IsoDate | None, Field(description=AS_OF_DESCRIPTION)] = None
    customer_id: Annotated[int, Field(gt=0, le=2**31 - 1)] | None = None
    status: Annotated[
        Literal["draft", "open", "overdue", "paid", "void"] | None,
        Field(description="overdue: open and past its due date on the merchant's today"),
    ] = None
    q: Annotated[
        Search, Field(description="An invoice number (whole), or part of the customer's name, company or email")
    ] = ""
    issue_date_gte: Annotated[IsoDate | None, Field(alias="issue_date[gte]")] = None
    issue_date_lte: Annotated[IsoDate | None, Field(alias="issue_date[lte]")] = None
    due_date_gte: Annotated[IsoDate | None, Field(alias="due_date[gte]")] = None
    due_date_lte: Annotated[IsoDate | None, Field(alias="due_date[lte]")] = None
    updated_since: Annotated[
        Timestamp | None, Field(description="Changed at or after (finalized, paid, voided, edited, …)")
    ] = None


class CustomerListQuery(_Paged):
    q: Annotated[Search, Field(description="Part of the name, company or email")] = ""
    archived: Annotated[bool, Field(description="true lists the archived customers instead of the active ones")] = False


def _created(statement: Select, model: Any, params: _Paged) -> Select:
    if params.created_gte is not None:
        statement = statement.where(model.created_at >= params.created_gte)
    if params.created_lte is not None:
        statement = statement.where(model.created_at <= params.created_lte)
    return statement


def _page(statement: Select, model: Any, keys: list, params: _Paged, merchant_id: int, *, descending: bool):
    if params.offset:
        ordered = statement.order_by(*[key.desc() if descending else key.asc() for key in keys])
        rows = list(db.session.scalars(ordered.offset(params.offset).limit(params.limit + 1)))
        return rows[: params.limit], len(rows) > params.limit
    return keyset_page(statement, keys, params, cursor_values(model, merchant_id, keys), descending=descending)


def invoice_page(merchant: Merchant, params: InvoiceListQuery) -> tuple[list[Invoice], bool]:
    """Return one page of the merchant's invoices, newest issue date first (then newest id), and has_more."""
    statement = (
        select(Invoice)
        .where(Invoice.merchant_id == merchant.id)
        .options(selectinload(Invoice.lines), selectinload(Invoice.payments), selectinload(Invoice.credit_notes))
    )
    if params.customer_id is not None:
        statement = statement.where(Invoice.customer_id == params.customer_id)
    if params.status == "overdue":
        statement = statement.where(Invoice.status == InvoiceStatus.OPEN.value, Invoice.due_date < merchant.today())
    elif params.status is not None:
        statement = statement.where(Invoice.status == params.status)
    statement = statement.where(
        *day_bounds(params.issue_date_gte, params.issue_date_lte, Invoice.issue_date),
        *day_bounds(params.due_date_gte, params.due_date_lte, Invoice.due_date),
    )
    if params.updated_since is not None:
        statement = statement.where(Invoice.updated_at >= params.updated_since)
    statement = _created(statement, Invoice, params)
    if params.q.strip():
        statement = statement.where(_invoice_matches(merchant, params.q.strip()))
    keys = [Invoice.issue_date, Invoice.id]
    return _page(statement, Invoice, keys, params, merchant.id, descending=True)


#: Up to this many matching customers, their ids are given to PostgreSQL as a list, so it fetches their
#: invoices through the customer index and sorts them; beyond, it walks the list's order and filters.
NARROW_SEARCH = 500


def _invoice_matches(merchant: Merchant, text: str):
    """Return the condition of invoices whose number is the text, or whose customer matches it.

    Both halves use an index: the number the (merchant, number) key, the customers theirs.
    """
    number = Invoice.number.in_(sorted({text, text.upper(), text.lower()}))
    customers = select(Customer.id).where(Customer.merchant_id == merchant.id, _customer_matches(text.lower()))
    ids = list(db.session.scalars(customers.limit(NARROW_SEARCH + 1)))
    if len(ids) > NARROW_SEARCH:
        return or_(number, Invoice.customer_id.in_(customers))
    return or_(number, Invoice.customer_id.in_(ids))


def _customer_matches(query: str):
    return or_(
        func.lower(Customer.name).contains(query, autoescape=True),
        func.lower(Customer.company).contains(query, autoescape=True),
        func.lower(Customer.email).contains(query, autoescape=True),
    )


def customer_page(merchant: Merchant, params: CustomerListQuery) -> tuple[list[Customer], bool]:
    """Return one page of the merchant's customers, newest first, and has_more."""
    statement = select(Customer).where(
        Customer.merchant_id == merchant.id,
        Customer.archived_at.is_not(None) if params.archived else Customer.archived_at.is_(None),
    )
    query = params.q.strip().lower()
    if query:
        statement = statement.where(_customer_matches(query))
    statement = _created(statement, Customer, params)
    keys = [Customer.id]
    return _page(statement, Customer, keys, params, merchant.id, descending=True)


class BankTransactionListQuery(_Paged):
    status: Annotated[
        Literal["matched", "suggested", "unmatched", "ignored"] | None,
        Field(description="unmatched and suggested transfers wait for staff (or for POST …/match)"),
    ] = None


def bank_transaction_page(merchant: Merchant, params: BankTransactionListQuery) -> tuple[list[BankTransaction], bool]:
    """Return one page of the merchant's imported bank transactions, latest booking date first, and has_more."""
    statement = select(BankTransaction).where(BankTransaction.merchant_id == merchant.id)
    if params.status is not None:
        statement = statement.where(BankTransaction.status == params.status)
    statement = _created(statement, BankTransaction, params)
    keys = [BankTransaction.booking_date, BankTransaction.id]
    return _page(statement, BankTransaction, keys, params, merchant.id, descending=True)

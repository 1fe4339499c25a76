"""The JSON API under /api/v1: merchants' integrations issue and follow up documents."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import models_json_schema
from werkzeug.datastructures import FileStorage

from portal.api import idempotency, lists, rate_limits
from portal.api import schemas as s
from portal.api.lists import BankTransactionListQuery, CustomerListQuery, InvoiceListQuery
from portal.api.owned import own
from portal.api.pagination import PageQuery
from portal.documents.archive import Download, ubl_download
from portal.domain.bank_statements import parse_statement
from portal.domain.errors import (
    DomainError,
    InvalidTransition,
)
from portal.domain.invoices import Line, compute_totals
from portal.domain.late_fees import LateFeePolicy
from portal.domain.parties import Address, Buyer, Seller, check_address
from portal.extensions import csrf, db
from portal.input_checks import MAX_DB_INT
from portal.mail import notifications as mail_notifications
from portal.models import CreditNote, Customer, Invoice
from portal.services import (
    bank_import,
    branding,
    contacts,
    credit_notes,
    customers,
    disputes,
    invoices,
    issuing,
    ledger,
    links,
    merchants,
    payment_settings,
    refunds,
    reminders,
    saved_methods,
    send_log,
    sms,
    statements,
)
from portal.services.errors import Conflict, NotFound, TooLarge

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class ApiError(Exception):
    """An error answered as {"error": {"code", "message", "field"}}."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None):
    """Return the API's error body with its status."""
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _status_for(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, (Conflict, InvalidTransition)):
        return 409
    return 422


# --- operations registry: the routes and the OpenAPI document come from one table ----------


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str
    operation_id: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    status: int
    response: type[BaseModel] | None
    errors: tuple[int, ...] = field(default=())
    #: What a success answers with: JSON (the response model), or a file (the view returns a Download).
    content_type: str = "application/json"
    #: Media types of a raw (non-JSON) request body, handed to the view as bytes (`data`).
    raw_body: tuple[str, ...] = ()
    #: The multipart/form-data field holding an uploaded file, handed to the view as `upload`.
    upload: str | None = None
    #: The largest file `upload` takes, in bytes: the request body may exceed it by the form's overhead only.
    upload_max_bytes: int = 0
    #: Other successes it may answer: (status, response model, description), e.g. 202 for work left to a job.
    alternatives: tuple[tuple[int, type[BaseModel], str], ...] = ()


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    rule: str,
    *,
    summary: str,
    status: int = 200,
    response: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    errors: tuple[int, ...] = (),
    content_type: str = "application/json",
    raw_body: tuple[str, ...] = (),
    upload: str | None = None,
    upload_max_bytes: int = 0,
    alternatives: tuple[tuple[int, type[BaseModel], str], ...] = (),
) -> Callable:
    """Register a view as an API operation: parse, call, commit once, serialize (or send the file it returns)."""

    def decorate(view: Callable) -> Callable:
        answers = tuple(sorted({*errors, 429}))  # any request may be over its key's limit
        if query is not None and issubclass(query, PageQuery):
            answers = tuple(sorted({*answers, 404}))  # a cursor naming no object of the list
        if method.upper() in idempotency.WRITE_METHODS:
            # Any write may meet a malformed Idempotency-Key (400), one in use (409) or one used elsewhere (422).
            answers = tuple(sorted({*answers, 400, 409, 422}))
        if upload:
            answers = tuple(sorted({*answers, 413}))  # a file over the limit
        op = Operation(
            method,
            rule,
            view.__name__,
            summary,
            body,
            query,
            status,
            response,
            answers,
            content_type,
            raw_body,
            upload,
            upload_max_bytes,
            alternatives,
        )
        OPERATIONS.append(op)

        def endpoint(**path_args: Any):
            kwargs = dict(path_args)
            if body is not None:
                kwargs["payload"] = _validated(body, _json_body())
            if raw_body:
                kwargs["data"] = _raw_body(raw_body)
            if upload:
                kwargs["upload"] = _upload(upload, upload_max_bytes)
            if query is not None:
                kwargs["params"] = _validated(query, request.args.to_dict())
            claimed = idempotency.claim()
            if isinstance(claimed, Response):
                return claimed  # the stored answer to the same request
            try:
                response = _response(view(**kwargs), status)
                idempotency.store(claimed, response)  # committed with the effect, or not at all
                db.session.commit()
            except (DomainError, ApiError) as exc:
                db.session.rollback()
                response = _refusal(exc)
                idempotency.store_refusal(claimed, response)
                return response
            except Exception:
                db.session.rollback()
                idempotency.release(claimed)
                raise
            return response

        endpoint.__name__ = view.__name__
        bp.add_url_rule(rule, view.__name__, endpoint, methods=[method.upper()])
        return view

    return decorate


@dataclass(frozen=True)
class Answer:
    """A view's answer with a status of its own (one of its operation's alternatives) and headers."""

    body: BaseModel
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def _response(result: Any, status: int) -> Response:
    if result is None:
        return Response("", status)
    if isinstance(result, Answer):
        response = _response(result.body, result.status)
        response.headers.update(result.headers)
        return response
    if isinstance(result, Download):
        sent = Response(result.data, status, mimetype=result.content_type)
        sent.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
        return sent
    response = jsonify(result.model_dump(mode="json"))
    response.status_code = status
    return response


def _refusal(exc: DomainError | ApiError) -> Response:
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.field)
    return error_response(_status_for(exc), exc.code, exc.message, exc.field)


def _json_number(text: str) -> Decimal | int:
    """Return a JSON number with a fraction or exponent as a Decimal, or as an int when it has no fractional part.

    JSON Schema's integers are numbers without a fractional part, 1.0 among them: an amount or id sent
    so is accepted. No float ever touches money.
    """
    number = Decimal(text)
    if number.is_finite() and abs(number) <= 10**18 and number == number.to_integral_value():
        return int(number)
    return number


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(400, "bad_request", "Send a JSON object with Content-Type: application/json")
    try:
        # Decimal keeps every digit of quantities and rates: no float ever touches money.
        data = json.loads(request.get_data(), parse_float=_json_number, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object")
    return data


def _raw_body(media_types: tuple[str, ...]) -> bytes:
    if request.mimetype not in media_types:
        raise ApiError(400, "bad_request", f"Send the body with Content-Type: {' or '.join(media_types)}")
    return request.get_data()


#: What a multipart/form-data body may hold beyond its file: boundaries, part headers, a long file name.
UPLOAD_OVERHEAD = 64 * 1024


def _upload(field: str, max_bytes: int) -> FileStorage:
    if request.mimetype != "multipart/form-data":
        raise ApiError(400, "bad_request", f"Send the file as multipart/form-data, in the field '{field}'")
    # A body far over the limit is refused (413) before it is read, not after it filled the memory.
    request.max_content_length = max_bytes + UPLOAD_OVERHEAD
    upload = request.files.get(field)
    if upload is None:
        raise ApiError(422, "invalid", f"{field}: This field is required", field)
    return upload


def _validated(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # A refused dict key is located as ("exemption_reasons", "S", "[key]"): name the key itself.
        where = ".".join(str(part) for part in first["loc"] if part != "[key]") or None
        message = first["msg"]
        if first["type"] == "missing":
            message = "This field is required"
        elif first["type"] == "extra_forbidden":
            message = "Unknown field"
        raise ApiError(422, "invalid", f"{where}: {message}" if where else message, where) from None


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message, exc.field)


@bp.errorhandler(idempotency.IdempotencyError)
def _idempotency_error(exc: idempotency.IdempotencyError):
    db.session.rollback()
    response = error_response(exc.status, exc.code, exc.message, "Idempotency-Key")
    if exc.status == 409:
        response.headers["Retry-After"] = "1"
    return response


@bp.errorhandler(rate_limits.RateLimited)
def _rate_limited(exc: rate_limits.RateLimited):
    db.session.rollback()
    response = error_response(429, "rate_limited", exc.message)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    rate_limits.refuse_if_failing_address()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    key = merchants.api_key_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        rate_limits.note_failed_authentication()
        raise ApiError(401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'")
    g.merchant = key.merchant
    g.api_key_id = key.id
    g.api_key = key
    rate_limits.check_key(key.id)


bp.after_request(rate_limits.add_headers)


# --- serializers ----------------------------------------------------------------------------


def _address_out(address: Address | None) -> s.AddressOut | None:
    return None if address is None else s.AddressOut(**address.to_json())


def _address_in(address: s.AddressIn | None) -> Address | None:
    if address is None:
        return None
    return check_address(
        line1=address.line1,
        line2=address.line2,
        postal_code=address.postal_code,
        city=address.city,
        country=address.country,
    )


def _balances_out(balances: dict[str, int]) -> list[s.CreditBalanceOut]:
    return [s.CreditBalanceOut(currency=currency, amount=amount) for currency, amount in sorted(balances.items())]


def _customer_out(customer: Customer, balances: dict[str, int] | None = None) -> s.CustomerOut:
    balances = ledger.credit_balances(customer) if balances is None else balances
    return s.CustomerOut(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        language=customer.language,
        company=customer.company,
        address=_address_out(customer.address),
        vat_number=customer.vat_number,
        company_number=customer.company_number,
        phone=customer.phone,
        created_at=customer.created_at,
        credit_balance=balances.get(customer.merchant.default_currency, 0),
        credit_balances=_balances_out(balances),
        archived_at=customer.archived_at,
        consumer=customer.consumer,
        reminders_paused=customer.reminders_paused,
    )


def _seller_out(seller: Seller) -> s.SellerOut:
    return s.SellerOut(**{**seller.to_json(), "address": _address_out(seller.address)})


def _buyer_out(buyer: Buyer) -> s.BuyerOut:
    return s.BuyerOut(**{**buyer.to_json(), "address": _address_out(buyer.address)})


def _lines_out(rows) -> list[s.LineOut]:
    return [
        s.LineOut(
            position=row.position,
            description=row.description,
            quantity=row.quantity,
            unit_amount=row.unit_amount,
            tax_rate=row.tax_rate,
            tax_category=row.tax_category,
            discount_percent=row.discount_percent,
            discount_fixed=row.discount_fixed,
            net_amount=row.net_amount,
        )
        for row in rows
    ]


def _taxes_out(rows, discount_percent: Decimal = Decimal("0"), discount_fixed: int = 0) -> list[s.TaxOut]:
    totals = compute_totals([row.to_domain() for row in rows], discount_percent, discount_fixed)
    return [
        s.TaxOut(tax_category=tax.category.value, rate=tax.rate, base=tax.base, amount=tax.amount)
        for tax in totals.taxes
    ]


def _payment_out(payment) -> s.PaymentOut:
    return s.PaymentOut(
        id=payment.id,
        invoice_id=payment.invoice_id,
        amount=payment.amount,
        fee_amount=payment.fee_amount,
        interest_amount=payment.interest_amount,
        currency=payment.currency,
        paid_on=payment.paid_on,
        method=payment.method,
        reference=payment.reference,
        refunded=payment.refunded,
        moved_to_credit=sum(r.principal_amount + r.late_amount for r in payment.reversals if r.kind == "credited"),
    )


def _invoice_out(invoice: Invoice, as_of: date, sends: tuple[Any, int] | None = None) -> s.InvoiceOut:
    breakdown = invoices.invoice_breakdown(invoice, as_of)
    policy = invoice.late_fee_policy
    last_sent_at, send_count = sends if sends is not None else send_log.send_summary(invoice)
    return s.InvoiceOut(
        id=invoice.id,
        number=invoice.number,
        payment_reference=invoice.payment_reference,
        status=invoice.status,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        supply_date=invoice.document_supply_date,
        due_date=invoice.due_date,
        seller=_seller_out(invoice.seller_party),
        buyer=_buyer_out(invoice.buyer_party),
        language=invoice.document_language,
        discount_percent=invoice.discount_percent,
        discount_fixed=invoice.discount_fixed,
        notes=invoice.notes,
        terms=invoice.terms,
        exemption_reasons=invoice.document_exemption_reasons,
        lines=_lines_out(invoice.lines),
        subtotal=invoice.subtotal,
        discount_amount=invoice.discount_amount,
        net_amount=invoice.net_amount,
        taxes=_taxes_out(invoice.lines, invoice.discount_percent, invoice.discount_fixed),
        tax_amount=invoice.tax_amount,
        total=invoice.total,
        credited=invoice.credited,
        paid=invoice.paid,
        outstanding=invoices.outstanding(invoice),
        as_of=as_of,
        days_late=breakdown.days_late if breakdown else 0,
        overdue=breakdown.overdue if breakdown and invoice.status == "open" else False,
        late_fee=breakdown.fee if breakdown else 0,
        interest=breakdown.interest if breakdown else 0,
        # A draft shows what would be due were it finalized now: the same figure its breakdown ends with.
        amount_due=breakdown.amount_due if breakdown and invoice.status in ("open", "draft") else 0,
        breakdown=breakdown.steps() if breakdown else [],
        late_fee_policy=None
        if policy is None
        else s.LateFeePolicyOut(
            annual_rate=policy.annual_rate,
            fee_percent=policy.fee_percent,
            fee_minimum=policy.fee_minimum,
            grace_days=policy.grace_days,
        ),
        credit_notes=[
            s.CreditNoteSummary(id=note.id, number=note.number, issue_date=note.issue_date, total=note.total)
            for note in invoice.credit_notes
        ],
        payments=[_payment_out(payment) for payment in invoice.payments],
        finalized_at=invoice.finalized_at,
        paid_on=invoice.paid_on,
        voided_at=invoice.voided_at,
        last_sent_at=last_sent_at,
        send_count=send_count,
        created_at=invoice.created_at,
        disputed=invoice.open_dispute is not None,
        reminders_paused=invoice.reminders_paused,
        first_sent_at=invoice.first_sent_at,
    )


def _credit_note_out(note: CreditNote) -> s.CreditNoteOut:
    return s.CreditNoteOut(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        invoice_number=note.invoice.number,
        customer_id=note.customer_id,
        currency=note.currency,
        issue_date=note.issue_date,
        invoice_issue_date=note.invoice.issue_date,
        reason=note.reason,
        seller=_seller_out(note.seller_party),
        buyer=_buyer_out(note.buyer_party),
        language=note.document_language,
        exemption_reasons=note.document_exemption_reasons,
        lines=_lines_out(note.lines),
        subtotal=note.subtotal,
        net_amount=note.net_amount,
        taxes=_taxes_out(note.lines),
        tax_amount=note.tax_amount,
        total=note.total,
    )


def _domain_lines(lines: list[s.LineIn]) -> list[Line]:
    """Return the body's lines as the domain's; a line naming no tax rate takes the merchant's default."""
    result = []
    default_rate = g.merchant.default_tax_rate
    for index, line in enumerate(lines):
        tax_rate = default_rate if line.tax_rate is None else line.tax_rate
        if tax_rate is None:
            raise ApiError(
                422,
                "invalid",
                f"lines.{index}.tax_rate: This field is required (set a default tax rate in Settings to leave it out)",
                f"lines.{index}.tax_rate",
            )
        try:
            result.append(
                Line(
                    description=line.description,
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                    tax_rate=tax_rate,
                    discount_percent=line.discount_percent,
                    discount_fixed=line.discount_fixed,
                    tax_category=line.tax_category,
                )
            )
        except DomainError as exc:
            raise ApiError(422, exc.code, exc.message, f"lines.{index}.{exc.field}") from None
    return result


# --- customers --------------------------------------------------------------------------------


@operation(
    "post",
    "/customers",
    summary="Create a customer",
    status=201,
    response=s.CustomerOut,
    body=s.CustomerIn,
    errors=(400, 401, 422),
)
def create_customer(payload: s.CustomerIn):
    customer = customers.create_customer(
        g.merchant,
        name=payload.name,
        email=payload.email,
        language=payload.language,
        company=payload.company,
        address=_address_in(payload.address),
        vat_number=payload.vat_number,
        company_number=payload.company_number,
        phone=payload.phone,
        consumer=payload.consumer,
        reminders_paused=payload.reminders_paused,
    )
    return _customer_out(customer)


@operation(
    "get",
    "/customers",
    summary="List customers, newest first",
    response=s.CustomerListOut,
    query=CustomerListQuery,
    errors=(401, 422),
)
def list_customers(params: CustomerListQuery):
    rows, has_more = lists.customer_page(g.merchant, params)
    balances = ledger.customers_with_credit(g.merchant, [row.id for row in rows])
    return s.CustomerListOut(data=[_customer_out(row, balances.get(row.id, {})) for row in rows], has_more=has_more)


@operation("get", "/customers/<int:customer_id>", summary="Fetch a customer", response=s.CustomerOut, errors=(401, 404))
def get_customer(customer_id: int):
    return _customer_out(own(customers.get_customer, customer_id))


@operation(
    "patch",
    "/customers/<int:customer_id>",
    summary="Change a customer (documents already finalized keep the customer they were issued to)",
    response=s.CustomerOut,
    body=s.CustomerPatch,
    errors=(400, 401, 404, 422),
)
def update_customer(customer_id: int, payload: s.CustomerPatch):
    customer = own(customers.get_customer, customer_id)
    sent = payload.model_fields_set
    for name in ("name", "email", "language", "consumer", "reminders_paused"):
        if name in sent and getattr(payload, name) is None:
            raise ApiError(422, "invalid", f"{name}: cannot be null", name)
    changes: dict[str, Any] = {name: getattr(payload, name) for name in sent if name != "address"}
    if "address" in sent:
        changes["address"] = _address_in(payload.address)
    customers.update_customer(customer, **changes)
    return _customer_out(customer)


@operation(
    "post",
    "/customers/<int:customer_id>/portal-links",
    summary="Create a portal link for a customer",
    status=201,
    response=s.PortalLinkOut,
    body=s.PortalLinkIn,
    errors=(400, 401, 404, 422),
)
def create_portal_link(customer_id: int, payload: s.PortalLinkIn):
    customer = own(customers.get_customer, customer_id)
    invoice = None
    if payload.invoice_id is not None:
        invoice = _invoice_or_404(payload.invoice_id, field="invoice_id")
        if invoice.customer_id != customer.id or invoice.status == "draft":
            raise NotFound("No such invoice for this customer", "invoice_id")
    link = links.make_portal_link(customer, invoice)
    return s.PortalLinkOut(url=link.url, expires_at=link.expires_at)


@operation(
    "post",
    "/customers/<int:customer_id>/revoke-links",
    summary="Revoke every portal link of a customer",
    status=204,
    errors=(401, 404),
)
def revoke_links(customer_id: int):
    customers.revoke_links(own(customers.get_customer, customer_id))


@operation(
    "post",
    "/customers/<int:customer_id>/statements",
    summary="Build a customer's statement of account for a period; with send, mail it (PDF attached)",
    response=s.StatementOut,
    body=s.StatementIn,
    errors=(400, 401, 404, 422),
)
def create_statement(customer_id: int, payload: s.StatementIn):
    customer = customers.get_customer(g.merchant, customer_id)
    if payload.start > payload.end:
        raise ApiError(422, "invalid", "from: must not be after to", "from")
    if (payload.end - payload.start).days > statements.MAX_DAYS:
        raise ApiError(422, "invalid", "to: a statement covers at most three years", "to")
    if payload.send:
        statement = statements.send_statement(customer, payload.start, payload.end)
        sent = len(statements.statement_readers(customer))
    else:
        statement = statements.build_statement(customer, payload.start, payload.end)
        sent = 0
    return s.StatementOut(**statements.statement_json(statement), sent=sent)


# --- contacts -------------------------------------------------------------------------------------


def _contact_out(contact) -> s.ContactOut:
    return s.ContactOut(
        id=contact.id,
        customer_id=contact.customer_id,
        name=contact.name,
        email=contact.email,
        language=contact.language,
        role=contact.role,
        primary=contact.is_primary,
        notify_invoices=contact.notify_invoices,
        notify_reminders=contact.notify_reminders,
        notify_payments=contact.notify_payments,
        notify_statements=contact.notify_statements,
        created_at=contact.created_at,
    )


@operation(
    "get",
    "/customers/<int:customer_id>/contacts",
    summary="List a customer's contacts, the primary one first",
    response=s.ContactListOut,
    errors=(401, 404),
)
def list_contacts(customer_id: int):
    customer = customers.get_customer(g.merchant, customer_id)
    return s.ContactListOut(data=[_contact_out(contact) for contact in contacts.list_contacts(customer)])


@operation(
    "post",
    "/customers/<int:customer_id>/contacts",
    summary="Add a contact to a customer (their own portal links; billing contacts receive invoice mail)",
    status=201,
    response=s.ContactOut,
    body=s.ContactIn,
    errors=(400, 401, 404, 422),
)
def create_contact(customer_id: int, payload: s.ContactIn):
    customer = customers.get_customer(g.merchant, customer_id)
    contact = contacts.add_contact(
        customer, name=payload.name, email=payload.email, language=payload.language, role=payload.role
    )
    contacts.update_contact(
        contact,
        **{name: getattr(payload, name) for name in contacts.PREFERENCES.values()},
    )
    return _contact_out(contact)


@operation(
    "patch",
    "/contacts/<int:contact_id>",
    summary="Change a contact, its mail preferences, or revoke its links (revoke_links: true)",
    response=s.ContactOut,
    body=s.ContactPatch,
    errors=(400, 401, 404, 409, 422),
)
def update_contact(contact_id: int, payload: s.ContactPatch):
    contact = contacts.get_contact(g.merchant, contact_id)
    sent = payload.model_fields_set
    for name in sent:
        if getattr(payload, name) is None:
            raise ApiError(422, "invalid", f"{name}: cannot be null", name)
    changes = {name: getattr(payload, name) for name in sent if name != "revoke_links"}
    contacts.update_contact(contact, **changes)
    if payload.revoke_links:
        contacts.revoke_contact_links(contact)
    return _contact_out(contact)


@operation(
    "delete",
    "/contacts/<int:contact_id>",
    summary="Remove a contact: its links stop working, it receives no more mail (not the primary one)",
    status=204,
    errors=(401, 404, 409),
)
def delete_contact(contact_id: int):
    contacts.remove_contact(contacts.get_contact(g.merchant, contact_id))


# --- the credit balance and refunds -------------------------------------------------------------


def _credit_out(customer: Customer) -> s.CreditOut:
    balances = ledger.credit_balances(customer)
    return s.CreditOut(
        customer_id=customer.id,
        credit_balance=balances.get(g.merchant.default_currency, 0),
        credit_balances=_balances_out(balances),
        entries=[
            s.CreditEntryOut(
                id=entry.id,
                amount=entry.amount,
                currency=entry.currency,
                reason=entry.reason,
                invoice_id=entry.invoice_id,
                payment_id=entry.payment_id,
                credit_note_id=entry.credit_note_id,
                receipt_id=entry.receipt_id,
                refund_id=entry.reversal_id,
                created_at=entry.created_at,
            )
            for entry in ledger.credit_entries(customer)
        ],
    )


@operation(
    "get",
    "/customers/<int:customer_id>/credit",
    summary="Fetch a customer's credit balance and its entries (newest first)",
    response=s.CreditOut,
    errors=(401, 404),
)
def get_customer_credit(customer_id: int):
    return _credit_out(own(customers.get_customer, customer_id))


@operation(
    "post",
    "/customers/<int:customer_id>/credit/apply",
    summary="Pay an open invoice of the customer from their credit balance",
    status=201,
    response=s.PaymentOut,
    body=s.CreditApplyIn,
    errors=(400, 401, 404, 409, 422),
)
def apply_customer_credit(customer_id: int, payload: s.CreditApplyIn):
    customer = own(customers.get_customer, customer_id)
    invoice = _invoice_or_404(payload.invoice_id, field="invoice_id")
    if invoice.customer_id != customer.id:
        raise NotFound("No such invoice for this customer", "invoice_id")
    return _payment_out(ledger.apply_credit(customer, invoice, payload.amount))


def _refund_out(reversal) -> s.RefundOut:
    invoice = reversal.payment.invoice if reversal.payment is not None else None
    return s.RefundOut(
        id=reversal.id,
        kind=reversal.kind,
        payment_id=reversal.payment_id,
        invoice_id=invoice.id if invoice is not None else None,
        amount=reversal.amount,
        principal_amount=reversal.principal_amount,
        late_amount=reversal.late_amount,
        credit_amount=reversal.credit_amount,
        currency=reversal.currency,
        method=reversal.method,
        provider_refund_id=reversal.source_id if reversal.source_type == "provider_refund" else None,
        refunded_on=reversal.reversed_on,
        note=reversal.note,
        invoice_status=invoice.status if invoice is not None else None,
    )


@operation(
    "post",
    "/payments/<int:payment_id>/refund",
    summary="Refund a payment: through its provider for online payments, else recorded as refunded by hand "
    "(the invoice reopens; 409 when the provider refuses or cannot be reached)",
    status=201,
    response=s.RefundOut,
    body=s.RefundIn,
    errors=(400, 401, 404, 409, 422),
)
def refund_payment(payment_id: int, payload: s.RefundIn):
    payment = own(refunds.get_payment, payment_id)
    return _refund_out(refunds.refund_payment(payment, payload.amount, note=payload.note))


# --- invoices ---------------------------------------------------------------------------------


def _invoice_or_404(invoice_id: int, field: str | None = None) -> Invoice:
    return own(invoices.get_invoice, invoice_id, field)


class AsOfQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: Annotated[s.IsoDate | None, Field(description=lists.AS_OF_DESCRIPTION)] = None


def _as_of(params: AsOfQuery | None) -> date:
    return (params.as_of if params and params.as_of else None) or g.merchant.today()


@operation(
    "post",
    "/invoices",
    summary="Create a draft invoice",
    status=201,
    response=s.InvoiceOut,
    body=s.InvoiceIn,
    errors=(400, 401, 404, 422),
)
def create_invoice(payload: s.InvoiceIn):
    customer = own(customers.get_customer, payload.customer_id, "customer_id")
    invoice = invoices.create_draft(
        g.merchant,
        customer=customer,
        currency=payload.currency,
        issue_date=payload.issue_date,
        due_date=payload.due_date,
        lines=_domain_lines(payload.lines),
        discount_percent=payload.discount_percent,
        discount_fixed=payload.discount_fixed,
        notes=payload.notes,
        terms=payload.terms,
        supply_date=payload.supply_date,
        exemption_reasons=payload.exemption_reasons,
    )
    return _invoice_out(invoice, g.merchant.today())


@operation(
    "get",
    "/invoices",
    summary="List invoices, latest issue date first",
    response=s.InvoiceListOut,
    query=InvoiceListQuery,
    errors=(401, 422),
)
def list_invoices(params: InvoiceListQuery):
    rows, has_more = lists.invoice_page(g.merchant, params)
    as_of = _as_of(params)
    sends = send_log.send_summaries(rows)
    return s.InvoiceListOut(data=[_invoice_out(row, as_of, sends[row.id]) for row in rows], has_more=has_more)


@operation(
    "get",
    "/invoices/<int:invoice_id>",
    summary="Fetch an invoice with its amount due on a day",
    response=s.InvoiceOut,
    query=AsOfQuery,
    errors=(401, 404, 422),
)
def get_invoice(invoice_id: int, params: AsOfQuery):
    return _invoice_out(_invoice_or_404(invoice_id), _as_of(params))


@operation(
    "patch",
    "/invoices/<int:invoice_id>",
    summary="Change a draft invoice",
    response=s.InvoiceOut,
    body=s.InvoicePatch,
    errors=(400, 401, 404, 409, 422),
)
def update_invoice(invoice_id: int, payload: s.InvoicePatch):
    invoice = _invoice_or_404(invoice_id)
    sent = payload.model_fields_set
    for name in ("customer_id", "currency", "issue_date", "due_date", "discount_percent", "discount_fixed", "lines"):
        if name in sent and getattr(payload, name) is None:
            raise ApiError(422, "invalid", f"{name}: cannot be null", name)
    changes: dict[str, Any] = {}
    if payload.customer_id is not None:
        changes["customer"] = own(customers.get_customer, payload.customer_id, "customer_id")
    if payload.lines is not None:
        changes["lines"] = _domain_lines(payload.lines)
    for name in ("currency", "issue_date", "due_date", "discount_percent", "discount_fixed"):
        if getattr(payload, name) is not None:
            changes[name] = getattr(payload, name)
    for name in ("notes", "terms", "supply_date", "exemption_reasons"):
        if name in sent:
            changes[name] = getattr(payload, name)
    invoices.update_draft(invoice, **changes)
    return _invoice_out(invoice, g.merchant.today())


@operation("delete", "/invoices/<int:invoice_id>", summary="Delete a draft invoice", status=204, errors=(401, 404, 409))
def delete_invoice(invoice_id: int):
    invoices.delete_draft(_invoice_or_404(invoice_id))


@operation(
    "post",
    "/invoices/<int:invoice_id>/finalize",
    summary="Finalize a draft: number it and lock it (and mail it when the merchant sends invoices when ready)",
    response=s.InvoiceOut,
    errors=(401, 404, 409, 422),
)
def finalize_invoice(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    issuing.issue_invoice(invoice, by=g.api_key)
    return _invoice_out(invoice, g.merchant.today())


@operation(
    "post",
    "/invoices/<int:invoice_id>/void",
    summary="Void an open invoice",
    response=s.InvoiceOut,
    errors=(401, 404, 409),
)
def void_invoice(invoice_id: int):
    invoice = invoices.void_invoice(_invoice_or_404(invoice_id))
    return _invoice_out(invoice, g.merchant.today())


@operation(
    "post",
    "/invoices/<int:invoice_id>/reminders",
    summary="Pause or resume an invoice's payment reminders",
    response=s.InvoiceOut,
    body=s.RemindersPausedIn,
    errors=(400, 401, 404, 422),
)
def set_invoice_reminders(invoice_id: int, payload: s.RemindersPausedIn):
    invoice = reminders.set_invoice_reminders_paused(_invoice_or_404(invoice_id), payload.paused)
    return _invoice_out(invoice, g.merchant.today())


@operation(
    "post",
    "/invoices/<int:invoice_id>/resolve-dispute",
    summary="Resolve the customer's dispute: reminders and late charges run again from tomorrow",
    response=s.InvoiceOut,
    body=s.ResolveDisputeIn,
    errors=(400, 401, 404, 409, 422),
)
def resolve_dispute(invoice_id: int, payload: s.ResolveDisputeIn):
    invoice = _invoice_or_404(invoice_id)
    disputes.resolve_dispute(invoice, resolution=payload.resolution)
    return _invoice_out(invoice, g.merchant.today())


@operation(
    "post",
    "/invoices/<int:invoice_id>/payments",
    summary="Record a payment received",
    status=201,
    response=s.PaymentOut,
    body=s.PaymentIn,
    errors=(400, 401, 404, 409, 422),
)
def record_payment(invoice_id: int, payload: s.PaymentIn):
    payment = invoices.record_payment(
        _invoice_or_404(invoice_id),
        amount=payload.amount,
        paid_on=payload.paid_on,
        method=payload.method,
        reference=payload.reference,
        surplus_to_credit=payload.surplus_to_credit,
    )
    return _payment_out(payment)


@operation(
    "post",
    "/invoices/<int:invoice_id>/charge-saved-method",
    summary="Charge the amount due to the customer's saved card or direct-debit mandate (off-session)",
    status=201,
    response=s.PaymentAttemptOut,
    body=s.ChargeSavedMethodIn,
    errors=(400, 401, 404, 409, 422),
)
def charge_saved_method(invoice_id: int, payload: s.ChargeSavedMethodIn):
    """Charge the invoice to a saved method; the answer is the attempt (paid, pending, failed, …).

    409 when the customer has no saved method, nothing is due, or another payment is under way. The
    money is booked as any online payment (the provider's answer or webhook); a decline mails the
    customer a link to pay and never locks their pay button.
    """
    invoice = _invoice_or_404(invoice_id)
    method = None
    if payload.saved_method_id is not None:
        method = saved_methods.customer_saved_method(invoice.customer, payload.saved_method_id)
    attempt = saved_methods.charge_saved_method(invoice, initiated_by="api", method=method)
    return s.PaymentAttemptOut(
        id=attempt.id,
        invoice_id=attempt.invoice_id,
        status=attempt.status,
        provider=attempt.provider,
        amount=attempt.amount,
        currency=attempt.currency,
        initiated_by=attempt.initiated_by,
        saved_method_id=attempt.saved_method_id,
        provider_payment_id=attempt.provider_payment_id,
        payment_id=attempt.payment_id,
        created_at=attempt.created_at,
        finished_at=attempt.finished_at,
    )


@operation(
    "post",
    "/invoices/<int:invoice_id>/credit-notes",
    summary="Issue a credit note against an invoice",
    status=201,
    response=s.CreditNoteOut,
    body=s.CreditNoteIn,
    errors=(400, 401, 404, 409, 422),
)
def create_credit_note(invoice_id: int, payload: s.CreditNoteIn):
    note = credit_notes.issue_credit_note(
        _invoice_or_404(invoice_id),
        lines=_domain_lines(payload.lines),
        issue_date=payload.issue_date,
        reason=payload.reason,
    )
    return _credit_note_out(note)


@operation(
    "get",
    "/credit-notes/<int:credit_note_id>",
    summary="Fetch a credit note",
    response=s.CreditNoteOut,
    errors=(401, 404),
)
def get_credit_note(credit_note_id: int):
    return _credit_note_out(own(credit_notes.get_credit_note, credit_note_id))


# --- e-invoices ---------------------------------------------------------------------------------


@operation(
    "get",
    "/invoices/<int:invoice_id>/ubl",
    summary="Fetch the invoice as a Peppol BIS Billing 3.0 UBL Invoice (409 for a draft; "
    "422 when the customer is not on Peppol or EN 16931 cannot state it)",
    content_type="application/xml",
    errors=(401, 404, 409, 422),
)
def get_invoice_ubl(invoice_id: int):
    return ubl_download(_invoice_or_404(invoice_id))


@operation(
    "get",
    "/credit-notes/<int:credit_note_id>/ubl",
    summary="Fetch the credit note as a Peppol BIS Billing 3.0 UBL CreditNote "
    "(422 when the customer is not on Peppol or EN 16931 cannot state it)",
    content_type="application/xml",
    errors=(401, 404, 422),
)
def get_credit_note_ubl(credit_note_id: int):
    return ubl_download(own(credit_notes.get_credit_note, credit_note_id))


# --- settings ---------------------------------------------------------------------------------


@operation(
    "put",
    "/settings/late-fee-policy",
    summary="Set the late-fee policy for invoices finalized from now on",
    response=s.LateFeePolicyOut,
    body=s.LateFeePolicyIn,
    errors=(400, 401, 422),
)
def put_late_fee_policy(payload: s.LateFeePolicyIn):
    policy = LateFeePolicy(
        annual_rate=payload.annual_rate,
        fee_percent=payload.fee_percent,
        fee_minimum=payload.fee_minimum,
        grace_days=payload.grace_days,
    )
    merchants.set_late_fee_policy(g.merchant, policy)
    return s.LateFeePolicyOut(**payload.model_dump())


@operation(
    "get",
    "/settings/invoice-defaults",
    summary="Fetch what new invoice lines take when they leave it out (the default tax rate)",
    response=s.InvoiceDefaultsOut,
    errors=(401,),
)
def get_invoice_defaults():
    return s.InvoiceDefaultsOut(default_tax_rate=g.merchant.default_tax_rate)


@operation(
    "put",
    "/settings/invoice-defaults",
    summary="Set the tax rate of lines that name none (null: every line names its own)",
    response=s.InvoiceDefaultsOut,
    body=s.InvoiceDefaultsIn,
    errors=(400, 401, 422),
)
def put_invoice_defaults(payload: s.InvoiceDefaultsIn):
    branding.set_default_tax_rate(g.merchant, payload.default_tax_rate)
    return s.InvoiceDefaultsOut(default_tax_rate=g.merchant.default_tax_rate)


def _company_out() -> s.CompanyOut:
    merchant = g.merchant
    return s.CompanyOut(name=merchant.name, **_seller_out(merchant.legal_identity).model_dump())


@operation(
    "get", "/settings/company", summary="Fetch the merchant's legal identity", response=s.CompanyOut, errors=(401,)
)
def get_company():
    return _company_out()


@operation(
    "put",
    "/settings/company",
    summary="Set the merchant's legal identity and bank details for documents issued from now on",
    response=s.CompanyOut,
    body=s.CompanyIn,
    errors=(400, 401, 422),
)
def put_company(payload: s.CompanyIn):
    merchants.set_company(
        g.merchant,
        name=payload.name,
        legal_name=payload.legal_name,
        address=_address_in(payload.address),
        email=payload.email,
        vat_number=payload.vat_number,
        company_number=payload.company_number,
        phone=payload.phone,
        website=payload.website,
        iban=payload.iban,
        bic=payload.bic,
    )
    return _company_out()


# The integrators' resources register their operations in this table too.
from portal.api import resources, webhook_endpoints  # noqa: E402,F401

# --- the OpenAPI document ---------------------------------------------------------------------

_RULE_PARAM = re.compile(r"<(?:int:)?(\w+)>")
_ERROR_TEXT = {
    400: "Malformed request body",
    401: "Missing or invalid API key",
    404: "No such object for this merchant",
    409: "The object's state does not allow this",
    413: "The file is larger than allowed",
    422: "Invalid input",
    429: "Too many requests for this API key, or too many failed authentications from this address: "
    "retry after the seconds in Retry-After",
}
_WRITE_ERROR_TEXT = {
    400: "Malformed request body or Idempotency-Key",
    409: "The object's state does not allow this, or a request with this Idempotency-Key is still running "
    "(idempotency_key_in_use)",
    422: "Invalid input, or this Idempotency-Key was used for another request (idempotency_key_reused)",
}


#: What a request's text may hold: no NUL character, which no database text column stores (portal.input_checks).
STORABLE_TEXT = "^[^\\u0000]*$"


def _storable_text(schema: Any) -> None:
    """Say of every free text in a request schema that it holds no NUL character (answered 400 otherwise).

    A PATCH field that refuses null but may be left out has no default to state: its null default
    (pydantic's "not sent") is dropped, so the document does not offer null.
    """
    if isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
            schema["pattern"] = STORABLE_TEXT
        if "default" in schema and schema["default"] is None and {"type": "null"} not in schema.get("anyOf", []):
            del schema["default"]
        for value in schema.values():
            _storable_text(value)
    elif isinstance(schema, list):
        for item in schema:
            _storable_text(item)


def openapi_document() -> dict[str, Any]:
    """Build the OpenAPI 3.1 document from the registered operations."""
    models = {s.ErrorOut}
    for op in OPERATIONS:
        models.update(m for m in (op.body, op.response) if m is not None)
        models.update(model for _, model, _ in op.alternatives)
    keyed = [
        (model, "validation" if model.__name__.endswith(("In", "Patch")) else "serialization")
        for model in sorted(models, key=lambda m: m.__name__)
    ]
    refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
    for name, schema in defs.get("$defs", {}).items():
        if name.endswith(("In", "Patch")):
            _storable_text(schema)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path = _RULE_PARAM.sub(r"{\1}", op.rule)
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INT},
            }
            for name in _RULE_PARAM.findall(op.rule)
        ]
        if op.query is not None:
            query_schema = op.query.model_json_schema()
            _storable_text(query_schema)
            for name, prop in query_schema["properties"].items():
                parameters.append({"name": name, "in": "query", "required": False, "schema": prop})
        write = op.method.upper() in idempotency.WRITE_METHODS
        if write:
            parameters.append(
                {
                    "name": idempotency.HEADER,
                    "in": "header",
                    "required": False,
                    "description": idempotency.HEADER_DESCRIPTION,
                    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
                }
            )
        responses: dict[str, Any] = {}
        if op.content_type != "application/json":
            responses[str(op.status)] = {
                "description": op.summary,
                "content": {op.content_type: {"schema": {"type": "string"}}},
            }
        elif op.response is None:
            responses[str(op.status)] = {"description": "Done"}
        else:
            responses[str(op.status)] = {
                "description": op.summary,
                "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
            }
        for alternative, model, description in op.alternatives:
            responses[str(alternative)] = {
                "description": description,
                "content": {"application/json": {"schema": refs[(model, "serialization")]}},
            }
        if write:
            responses[str(op.status)]["headers"] = {
                idempotency.REPLAYED: {
                    "description": "true when this is the stored answer to an earlier request with the same key",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            }
        for code in op.errors:
            responses[str(code)] = {
                "description": _WRITE_ERROR_TEXT.get(code, _ERROR_TEXT[code]) if write else _ERROR_TEXT[code],
                "content": {"application/json": {"schema": refs[(s.ErrorOut, "serialization")]}},
            }
        entry: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "responses": responses}
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        elif op.upload:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                op.upload: {
                                    "type": "string",
                                    "contentMediaType": "application/octet-stream",
                                    "description": f"The file, at most {op.upload_max_bytes} bytes",
                                }
                            },
                            "required": [op.upload],
                        }
                    }
                },
            }
        elif op.raw_body:
            entry["requestBody"] = {
                "required": True,
                "content": {media_type: {"schema": {"type": "string"}} for media_type in op.raw_body},
            }
        paths.setdefault(path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Invoice Portal API",
            "version": "1.0.0",
            "description": "Money is an integer in the currency's minor unit, beside a `currency` code. "
            'Rates and quantities are decimal strings. Errors are `{"error": {"code", "message", "field"}}`. '
            "Every answer to an authenticated request carries `RateLimit-Limit`, `RateLimit-Remaining` and "
            "`RateLimit-Reset` (seconds) for its API key; past the limit, 429 with `Retry-After`. Lists page with "
            "cursors (`starting_after`, `ending_before`); writes take an `Idempotency-Key`.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


# --- payment providers --------------------------------------------------------------------------


def _payment_providers_out() -> s.PaymentProvidersOut:
    settings = payment_settings.provider_settings(g.merchant)
    return s.PaymentProvidersOut(
        **{
            name: s.ProviderSettingOut(
                enabled=item.enabled,
                source=item.source,
                api_key_hint=item.api_key_hint,
                webhook_secret_set=item.webhook_secret_set,
                methods=item.methods,
            )
            for name, item in settings.items()
        }
    )


@operation(
    "put",
    "/settings/payment-providers",
    summary="Set the merchant's Mollie and Stripe credentials",
    response=s.PaymentProvidersOut,
    body=s.PaymentProvidersIn,
    errors=(400, 401, 422),
)
def put_payment_providers(payload: s.PaymentProvidersIn):
    for name in ("mollie", "stripe"):
        setting = getattr(payload, name)
        if setting is not None:
            payment_settings.set_provider_account(
                g.merchant,
                name,
                enabled=setting.enabled,
                api_key=setting.api_key,
                webhook_secret=setting.webhook_secret,
                **({"methods": setting.methods} if "methods" in setting.model_fields_set else {}),
            )
    return _payment_providers_out()


# --- sending invoices by mail -------------------------------------------------------------------


@operation(
    "post",
    "/invoices/<int:invoice_id>/send",
    summary="Send the invoice to its customer by email and/or SMS, or a [TEST] copy to the merchant's staff (in the background)",
    status=202,
    response=s.SendOut,
    body=s.SendIn,
    errors=(400, 401, 404, 409, 422),
)
def send_invoice(invoice_id: int, payload: s.SendIn):
    """Accept the invoice mail with its PDF and a fresh portal link; sending again is a resend.

    The answer (202) comes at once: a worker renders the PDF and sends the mail in the background.
    An API key has no person behind it, so a test copy goes to every active staff member of the
    merchant (or to its support address when it has no staff), each marked "[TEST]". A draft can be
    test-sent (its PDF marked DRAFT), never sent to the customer: that is 409.
    """
    invoice = _invoice_or_404(invoice_id)
    channels = list(dict.fromkeys(payload.channels))
    if not payload.test:
        recipients, jobs = [], []
        if "sms" in channels:
            # Checked first: a refused SMS must not leave the mail half-sent (the request is one transaction).
            queued = sms.send_invoice_sms(invoice, by=g.api_key)
            recipients.append(queued.message.to)
            jobs.append(queued.job)
        if "email" in channels:
            # Every billing contact who takes invoice mail gets it (one job queues their mails).
            emails = [contact.email for contact in contacts.recipients(invoice.customer, "invoice")]
            recipients[0:0] = emails
            jobs.insert(0, mail_notifications.send_invoice(invoice, by=g.api_key))
        return s.SendOut(
            queued=len(jobs), test=False, channels=channels, recipients=recipients, job_ids=[job.id for job in jobs]
        )
    if channels != ["email"]:
        raise DomainError("A test copy goes by email only", "channels")
    recipients = mail_notifications.staff_recipients(g.merchant)
    if not recipients:
        raise Conflict("No active staff member nor support address to send a test copy to", "test")
    jobs = [mail_notifications.send_invoice(invoice, test_to=address, by=g.api_key) for address in recipients]
    return s.SendOut(queued=len(recipients), test=True, recipients=recipients, job_ids=[job.id for job in jobs])


# --- bank statements ------------------------------------------------------------------------------


def _bank_transaction_out(transaction, invoices_by_id) -> s.BankTransactionOut:
    return s.BankTransactionOut(
        id=transaction.id,
        status=transaction.status,
        booking_date=transaction.booking_date,
        amount=transaction.amount,
        currency=transaction.currency,
        payer_name=transaction.payer_name,
        payer_iban=transaction.payer_iban,
        account_iban=transaction.account_iban,
        statement_id=transaction.statement_id,
        entry_key=transaction.entry_key,
        structured_reference=transaction.structured_reference,
        remittance=transaction.remittance,
        invoice_id=transaction.invoice_id,
        receipt_id=transaction.receipt_id,
        suggestions=[
            s.BankSuggestionOut(
                invoice_id=suggestion["invoice_id"],
                invoice_number=getattr(invoices_by_id.get(suggestion["invoice_id"]), "number", None),
                reasons=suggestion["reasons"],
            )
            for suggestion in transaction.suggestions or []
        ],
        created_at=transaction.created_at,
    )


def _one_transaction_out(transaction) -> s.BankTransactionOut:
    return _bank_transaction_out(transaction, bank_import.suggested_invoices([transaction]))


def _statement_job_out(pending) -> s.BankStatementJobOut:
    return s.BankStatementJobOut(
        id=pending.id,
        status=pending.status,
        entries=pending.entries,
        matched=pending.matched,
        suggested=pending.suggested,
        unmatched=pending.unmatched,
        duplicates=pending.duplicates,
        error=pending.error,
        created_at=pending.created_at,
        finished_at=pending.finished_at,
    )


@operation(
    "post",
    "/bank-statements",
    summary="Import a bank statement (ISO 20022 CAMT.053, CAMT.054 or CAMT.052 XML as the body): each credit entry "
    "is stored once, those whose reference names an invoice are booked on it. A statement of more than "
    "PORTAL_BANK_IMPORT_JOB_ENTRIES credit entries (500) is imported by a job: 202 with its id and a Location to poll",
    status=201,
    response=s.BankStatementImportOut,
    raw_body=("application/xml", "text/xml"),
    errors=(400, 401, 422),
    alternatives=(
        (
            202,
            s.BankStatementJobOut,
            "A large statement, accepted: a job imports it; GET the Location (/bank-statements/{id}) for its counts",
        ),
    ),
)
def import_bank_statement(data: bytes):
    statement = parse_statement(data)
    entries = len(statement.incoming_payments)
    if entries > int(current_app.config["BANK_IMPORT_JOB_ENTRIES"]):
        pending = bank_import.queue_import(g.merchant, data, entries)
        location = url_for("api.get_bank_statement_import", import_id=pending.id)
        return Answer(_statement_job_out(pending), 202, {"Location": location})
    result = bank_import.import_parsed(g.merchant, statement)
    return s.BankStatementImportOut(**result.as_dict())


@operation(
    "get",
    "/bank-statements/<int:import_id>",
    summary="A statement imported by a job: pending, then done with its counts (or failed, with the error)",
    response=s.BankStatementJobOut,
    errors=(401, 404),
)
def get_bank_statement_import(import_id: int):
    return _statement_job_out(bank_import.get_import(g.merchant, import_id))


@operation(
    "get",
    "/bank-transactions",
    summary="List imported bank transactions (newest first), e.g. ?status=unmatched",
    response=s.BankTransactionListOut,
    query=BankTransactionListQuery,
    errors=(401, 422),
)
def list_bank_transactions(params: BankTransactionListQuery):
    rows, has_more = lists.bank_transaction_page(g.merchant, params)
    suggested = bank_import.suggested_invoices(rows)
    return s.BankTransactionListOut(data=[_bank_transaction_out(row, suggested) for row in rows], has_more=has_more)


@operation(
    "post",
    "/bank-transactions/<int:transaction_id>/match",
    summary="Book a waiting bank transaction on an invoice (the rest, if any, on the customer's credit balance)",
    response=s.BankTransactionOut,
    body=s.BankTransactionMatchIn,
    errors=(400, 401, 404, 409, 422),
)
def match_bank_transaction(transaction_id: int, payload: s.BankTransactionMatchIn):
    transaction = own(bank_import.get_transaction, transaction_id)
    invoice = _invoice_or_404(payload.invoice_id, "invoice_id")
    bank_import.match_transaction(transaction, invoice)
    return _one_transaction_out(transaction)


@operation(
    "post",
    "/bank-transactions/<int:transaction_id>/ignore",
    summary="Mark a waiting bank transaction as not an invoice payment",
    response=s.BankTransactionOut,
    errors=(401, 404, 409),
)
def ignore_bank_transaction(transaction_id: int):
    transaction = own(bank_import.get_transaction, transaction_id)
    return _one_transaction_out(bank_import.ignore_transaction(transaction))

"""API operations for what the admin area already does: archiving customers, products, charges, comments, ways to pay,
attachments, recurring lines and the billing cycle, and the send log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import g
from pydantic import Field
from sqlalchemy import func
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from portal.api import integration_schemas as i
from portal.api import schemas as s
from portal.api.events import comment_out
from portal.api.operations import ApiError, _customer_out, _invoice_or_404, _invoice_out, operation
from portal.api.owned import own, owned_page
from portal.api.pagination import PageQuery
from portal.documents.archive import Download
from portal.models import Comment, Product
from portal.models.billing import Charge, RecurringLine
from portal.models.document import InvoiceAttachment
from portal.models.mail import InvoiceSend
from portal.payments.registry import PROVIDERS, enabled_providers
from portal.services import attachments, billing, comment_inbox, customers, payment_choices, products, send_log
from portal.services.errors import Conflict


def _no_nulls(payload, allowed: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the fields sent; null is refused except where it means something."""
    changes = {}
    for name in payload.model_fields_set:
        value = getattr(payload, name)
        if value is None and name not in allowed:
            raise ApiError(422, "invalid", f"{name}: cannot be null", name)
        changes[name] = value
    return changes


# --- customers: archive -------------------------------------------------------------------------


@operation(
    "post",
    "/customers/<int:customer_id>/archive",
    summary="Archive a customer: lists leave it out (unless archived=true) and no invoice can be drafted for it",
    response=s.CustomerOut,
    errors=(401, 404),
)
def archive_customer(customer_id: int):
    return _customer_out(customers.archive_customer(own(customers.get_customer, customer_id)))


@operation(
    "post",
    "/customers/<int:customer_id>/unarchive",
    summary="Restore an archived customer",
    response=s.CustomerOut,
    errors=(401, 404),
)
def unarchive_customer(customer_id: int):
    return _customer_out(customers.restore_customer(own(customers.get_customer, customer_id)))


# --- products -------------------------------------------------------------------------------------


def product_out(product: Product) -> i.ProductOut:
    return i.ProductOut(
        id=product.id,
        name=product.name,
        unit_amount=product.unit_amount,
        currency=product.currency,
        tax_rate=product.tax_rate,
        tax_category=product.tax_category,
    )


class ProductListQuery(PageQuery):
    q: Annotated[str, Field(max_length=100, description="Part of the name")] = ""


@operation(
    "get",
    "/products",
    summary="List the product catalogue, newest first",
    response=i.ProductListOut,
    query=ProductListQuery,
    errors=(401, 422),
)
def list_products(params: ProductListQuery):
    query = params.q.strip().lower()
    matches = [func.lower(Product.name).contains(query, autoescape=True)] if query else []
    rows, has_more = owned_page(Product, params, *matches)
    return i.ProductListOut(data=[product_out(row) for row in rows], has_more=has_more)


@operation(
    "post",
    "/products",
    summary="Add a product to the catalogue",
    status=201,
    response=i.ProductOut,
    body=i.ProductIn,
    errors=(400, 401, 422),
)
def create_product(payload: i.ProductIn):
    return product_out(products.create_product(g.merchant, **payload.model_dump()))


@operation("get", "/products/<int:product_id>", summary="Fetch a product", response=i.ProductOut, errors=(401, 404))
def get_product(product_id: int):
    return product_out(own(products.get_product, product_id))


@operation(
    "patch",
    "/products/<int:product_id>",
    summary="Change a product (lines already drafted from it keep what they copied)",
    response=i.ProductOut,
    body=i.ProductPatch,
    errors=(400, 401, 404, 422),
)
def update_product(product_id: int, payload: i.ProductPatch):
    product = own(products.get_product, product_id)
    current = {
        "name": product.name,
        "unit_amount": product.unit_amount,
        "currency": product.currency,
        "tax_rate": product.tax_rate,
        "tax_category": product.tax_category,
    }
    return product_out(products.update_product(product, **{**current, **_no_nulls(payload)}))


@operation(
    "delete",
    "/products/<int:product_id>",
    summary="Remove a product from the catalogue",
    status=204,
    errors=(401, 404),
)
def delete_product(product_id: int):
    products.delete_product(own(products.get_product, product_id))


# --- charges --------------------------------------------------------------------------------------


def charge_out(charge: Charge) -> i.ChargeOut:
    return i.ChargeOut(
        id=charge.id,
        customer_id=charge.customer_id,
        description=charge.description,
        charged_on=charge.charged_on,
        quantity=charge.quantity,
        unit_amount=charge.unit_amount,
        currency=charge.currency,
        tax_rate=charge.tax_rate,
        tax_category=charge.tax_category,
        status=charge.status,
        invoice_id=charge.invoice_id,
        created_at=charge.created_at,
    )


class ChargeListQuery(PageQuery):
    customer_id: Annotated[int, Field(gt=0, le=2**31 - 1)] | None = None
    status: Annotated[
        Literal["open", "invoiced"] | None,
        Field(description="open: not on an invoice yet; invoiced: on a draft or finalized invoice"),
    ] = None


@operation(
    "get",
    "/charges",
    summary="List charges, newest first",
    response=i.ChargeListOut,
    query=ChargeListQuery,
    errors=(401, 422),
)
def list_charges(params: ChargeListQuery):
    conditions = []
    if params.customer_id is not None:
        conditions.append(Charge.customer_id == params.customer_id)
    if params.status == "open":
        conditions.append(Charge.invoice_id.is_(None))
    elif params.status == "invoiced":
        conditions.append(Charge.invoice_id.is_not(None))
    rows, has_more = owned_page(Charge, params, *conditions, options=[selectinload(Charge.invoice)])
    return i.ChargeListOut(data=[charge_out(row) for row in rows], has_more=has_more)


@operation(
    "post",
    "/charges",
    summary="Record a billable item against a customer, to be invoiced later",
    status=201,
    response=i.ChargeOut,
    body=i.ChargeIn,
    errors=(400, 401, 404, 422),
)
def create_charge(payload: i.ChargeIn):
    customer = own(customers.get_customer, payload.customer_id, "customer_id")
    fields = payload.model_dump(exclude={"customer_id"})
    return charge_out(billing.record_charge(customer, **fields))


@operation("get", "/charges/<int:charge_id>", summary="Fetch a charge", response=i.ChargeOut, errors=(401, 404))
def get_charge(charge_id: int):
    return charge_out(own(billing.get_charge, charge_id))


@operation(
    "patch",
    "/charges/<int:charge_id>",
    summary="Change a charge that is not on an invoice yet",
    response=i.ChargeOut,
    body=i.ChargePatch,
    errors=(400, 401, 404, 409, 422),
)
def update_charge(charge_id: int, payload: i.ChargePatch):
    charge = own(billing.get_charge, charge_id)
    current = {
        "description": charge.description,
        "charged_on": charge.charged_on,
        "quantity": charge.quantity,
        "unit_amount": charge.unit_amount,
        "currency": charge.currency,
        "tax_rate": charge.tax_rate,
        "tax_category": charge.tax_category,
    }
    return charge_out(billing.update_charge(charge, **{**current, **_no_nulls(payload)}))


@operation(
    "delete",
    "/charges/<int:charge_id>",
    summary="Delete a charge that is not on an invoice yet",
    status=204,
    errors=(401, 404, 409),
)
def delete_charge(charge_id: int):
    billing.delete_charge(own(billing.get_charge, charge_id))


@operation(
    "post",
    "/customers/<int:customer_id>/draft-from-charges",
    summary="Draft an invoice from the customer's open charges, or the ones named (deleting the draft frees them)",
    status=201,
    response=s.InvoiceOut,
    body=i.DraftFromChargesIn,
    errors=(400, 401, 404, 409, 422),
)
def draft_from_charges(customer_id: int, payload: i.DraftFromChargesIn):
    customer = own(customers.get_customer, customer_id)
    invoice = billing.draft_from_charges(
        customer, charge_ids=payload.charge_ids, issue_date=payload.issue_date, payment_days=payload.payment_days
    )
    return _invoice_out(invoice, g.merchant.today())


# --- comments -------------------------------------------------------------------------------------


@operation(
    "get",
    "/invoices/<int:invoice_id>/comments",
    summary="List the invoice's comment thread, oldest first",
    response=i.CommentListOut,
    query=PageQuery,
    errors=(401, 404, 422),
)
def list_comments(invoice_id: int, params: PageQuery):
    invoice = _invoice_or_404(invoice_id)
    rows, has_more = owned_page(
        Comment,
        params,
        Comment.invoice_id == invoice.id,
        options=[selectinload(Comment.staff_user)],
        descending=False,
    )
    return i.CommentListOut(data=[comment_out(row) for row in rows], has_more=has_more)


@operation(
    "post",
    "/invoices/<int:invoice_id>/comments",
    summary="Reply to the invoice's thread as the merchant's staff (the customer is mailed the reply)",
    status=201,
    response=i.CommentOut,
    body=i.CommentIn,
    errors=(400, 401, 404, 422),
)
def reply_to_comments(invoice_id: int, payload: i.CommentIn):
    return comment_out(comment_inbox.reply(_invoice_or_404(invoice_id), None, payload.body))


# --- ways to pay ----------------------------------------------------------------------------------


def _payment_methods_out(invoice) -> i.PaymentMethodsOut:
    return i.PaymentMethodsOut(
        invoice_id=invoice.id,
        offered=payment_choices.offered_providers(invoice),
        chosen=payment_choices.chosen_providers(invoice),
        enabled=enabled_providers(invoice.merchant_id),
        methods=payment_choices.chosen_methods(invoice),
        checkout_methods={
            name: payment_choices.checkout_methods(invoice, name) for name in payment_choices.offered_providers(invoice)
        },
        available_methods=payment_choices.available_methods(invoice),
        bank_transfer=payment_choices.offers_bank_transfer(invoice),
    )


@operation(
    "get",
    "/invoices/<int:invoice_id>/payment-methods",
    summary="Which ways to pay online the invoice offers",
    response=i.PaymentMethodsOut,
    errors=(401, 404),
)
def get_payment_methods(invoice_id: int):
    return _payment_methods_out(_invoice_or_404(invoice_id))


@operation(
    "put",
    "/invoices/<int:invoice_id>/payment-methods",
    summary="Choose the invoice's ways to pay: providers ([] for none online), payment methods, bank transfer",
    response=i.PaymentMethodsOut,
    body=i.PaymentMethodsIn,
    errors=(400, 401, 404, 422),
)
def put_payment_methods(invoice_id: int, payload: i.PaymentMethodsIn):
    invoice = _invoice_or_404(invoice_id)
    if payload.providers is None and payload.methods is None and payload.bank_transfer:
        payment_choices.clear_payment_choice(invoice)
    else:
        providers = list(PROVIDERS) if payload.providers is None else payload.providers
        payment_choices.set_payment_choice(
            invoice, providers, bank_transfer=payload.bank_transfer, methods=payload.methods
        )
    return _payment_methods_out(invoice)


# --- attachments ----------------------------------------------------------------------------------


class InvoiceNotDraft(Conflict):
    """The invoice is finalized: its attachments no longer change through the API."""

    code = "invoice_not_draft"


def _require_draft(invoice) -> None:
    if invoice.status != "draft":
        raise InvoiceNotDraft(
            f"Invoice {invoice.number} is {invoice.status}: attachments change only while it is a draft", "status"
        )


def attachment_out(attachment: InvoiceAttachment) -> i.AttachmentOut:
    return i.AttachmentOut(
        id=attachment.id,
        invoice_id=attachment.invoice_id,
        filename=attachment.download_name,
        content_type=attachment.content_type,
        size=attachment.size,
        uploaded_by="staff" if attachment.uploaded_by_id is not None else "api",
        created_at=attachment.created_at,
    )


@operation(
    "post",
    "/invoices/<int:invoice_id>/attachments",
    summary=f"Attach a file to a draft invoice (multipart/form-data, field `file`): {attachments.ALLOWED_DESCRIPTION}, "
    f"at most {attachments.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB (413 above) and "
    f"{attachments.MAX_ATTACHMENTS} files; the type is read from the file's bytes, never from its name or "
    "Content-Type (422 when they show no accepted type); 409 invoice_not_draft once finalized",
    status=201,
    response=i.AttachmentOut,
    upload="file",
    upload_max_bytes=attachments.MAX_ATTACHMENT_BYTES,
    errors=(400, 401, 404, 409, 413, 422),
)
def create_attachment(invoice_id: int, upload: FileStorage):
    invoice = _invoice_or_404(invoice_id)
    _require_draft(invoice)
    attachment = attachments.add_attachment(
        invoice,
        filename=upload.filename or "",
        data=upload.read(attachments.MAX_ATTACHMENT_BYTES + 1),
        uploaded_by=None,
    )
    return attachment_out(attachment)


@operation(
    "get",
    "/invoices/<int:invoice_id>/attachments",
    summary="List the invoice's attachments, oldest first",
    response=i.AttachmentListOut,
    query=PageQuery,
    errors=(401, 404, 422),
)
def list_attachments(invoice_id: int, params: PageQuery):
    invoice = _invoice_or_404(invoice_id)
    rows, has_more = owned_page(InvoiceAttachment, params, InvoiceAttachment.invoice_id == invoice.id, descending=False)
    return i.AttachmentListOut(data=[attachment_out(row) for row in rows], has_more=has_more)


@operation(
    "get",
    "/invoices/<int:invoice_id>/attachments/<int:attachment_id>",
    summary="Fetch an attachment's name, type and size",
    response=i.AttachmentOut,
    errors=(401, 404),
)
def get_attachment(invoice_id: int, attachment_id: int):
    return attachment_out(attachments.get_attachment(_invoice_or_404(invoice_id), attachment_id))


@operation(
    "get",
    "/invoices/<int:invoice_id>/attachments/<int:attachment_id>/content",
    summary="Download an attachment's file: always a download, as application/octet-stream (its type is the "
    "attachment's content_type)",
    content_type="application/octet-stream",
    errors=(401, 404),
)
def get_attachment_content(invoice_id: int, attachment_id: int):
    attachment = attachments.get_attachment(_invoice_or_404(invoice_id), attachment_id)
    # Never rendered by whatever opens it under a type of the uploader's choosing: bytes, as a download.
    return Download(attachment.download_name, "application/octet-stream", attachment.data)


@operation(
    "delete",
    "/invoices/<int:invoice_id>/attachments/<int:attachment_id>",
    summary="Remove an attachment from a draft invoice (409 invoice_not_draft once finalized)",
    status=204,
    errors=(401, 404, 409),
)
def delete_attachment(invoice_id: int, attachment_id: int):
    invoice = _invoice_or_404(invoice_id)
    attachment = attachments.get_attachment(invoice, attachment_id)  # another's id is 404 before the state's 409
    _require_draft(invoice)
    attachments.remove_attachment(attachment)


# --- recurring lines and the billing cycle --------------------------------------------------------


def recurring_line_out(line: RecurringLine) -> i.RecurringLineOut:
    return i.RecurringLineOut(
        id=line.id,
        customer_id=line.customer_id,
        description=line.description,
        quantity=line.quantity,
        unit_amount=line.unit_amount,
        currency=line.currency,
        tax_rate=line.tax_rate,
        tax_category=line.tax_category,
        created_at=line.created_at,
    )


@operation(
    "get",
    "/customers/<int:customer_id>/recurring-lines",
    summary="List the lines put on every monthly invoice of the customer, in the order they were added",
    response=i.RecurringLineListOut,
    query=PageQuery,
    errors=(401, 404, 422),
)
def list_recurring_lines(customer_id: int, params: PageQuery):
    customer = own(customers.get_customer, customer_id)
    rows, has_more = owned_page(RecurringLine, params, RecurringLine.customer_id == customer.id, descending=False)
    return i.RecurringLineListOut(data=[recurring_line_out(row) for row in rows], has_more=has_more)


@operation(
    "post",
    "/customers/<int:customer_id>/recurring-lines",
    summary="Add a line to every monthly invoice of the customer (in the merchant's default currency)",
    status=201,
    response=i.RecurringLineOut,
    body=i.RecurringLineIn,
    errors=(400, 401, 404, 422),
)
def create_recurring_line(customer_id: int, payload: i.RecurringLineIn):
    customer = own(customers.get_customer, customer_id)
    return recurring_line_out(billing.add_recurring_line(customer, **payload.model_dump()))


@operation(
    "get",
    "/recurring-lines/<int:line_id>",
    summary="Fetch a recurring line",
    response=i.RecurringLineOut,
    errors=(401, 404),
)
def get_recurring_line(line_id: int):
    return recurring_line_out(own(billing.get_recurring_line, line_id))


@operation(
    "patch",
    "/recurring-lines/<int:line_id>",
    summary="Change a recurring line for the months to come (invoices already drafted keep what they copied)",
    response=i.RecurringLineOut,
    body=i.RecurringLinePatch,
    errors=(400, 401, 404, 422),
)
def update_recurring_line(line_id: int, payload: i.RecurringLinePatch):
    line = own(billing.get_recurring_line, line_id)
    current = {
        "description": line.description,
        "quantity": line.quantity,
        "unit_amount": line.unit_amount,
        "tax_rate": line.tax_rate,
        "tax_category": line.tax_category,
    }
    return recurring_line_out(billing.update_recurring_line(line, **{**current, **_no_nulls(payload)}))


@operation(
    "delete",
    "/recurring-lines/<int:line_id>",
    summary="Stop billing a recurring line",
    status=204,
    errors=(401, 404),
)
def delete_recurring_line(line_id: int):
    billing.delete_recurring_line(g.merchant, line_id)


def _billing_cycle_out(customer) -> i.BillingCycleOut:
    cycle = billing.billing_cycle(customer)
    if cycle is None:
        return i.BillingCycleOut(
            customer_id=customer.id, active=False, day_of_month=1, payment_days=30, auto_send=False
        )
    return i.BillingCycleOut(
        customer_id=customer.id,
        active=cycle.active,
        day_of_month=cycle.day_of_month,
        payment_days=cycle.payment_days,
        auto_send=cycle.auto_send,
    )


@operation(
    "get",
    "/customers/<int:customer_id>/billing-cycle",
    summary="Fetch the customer's monthly billing settings (inactive when never set)",
    response=i.BillingCycleOut,
    errors=(401, 404),
)
def get_billing_cycle(customer_id: int):
    return _billing_cycle_out(own(customers.get_customer, customer_id))


@operation(
    "put",
    "/customers/<int:customer_id>/billing-cycle",
    summary="Set the customer's monthly billing: `flask portal bill-monthly` drafts (or finalizes and sends) an "
    "invoice from the recurring lines and open charges on that day of each month",
    response=i.BillingCycleOut,
    body=i.BillingCycleIn,
    errors=(400, 401, 404, 422),
)
def put_billing_cycle(customer_id: int, payload: i.BillingCycleIn):
    customer = own(customers.get_customer, customer_id)
    billing.set_billing_cycle(customer, **payload.model_dump())
    return _billing_cycle_out(customer)


# --- the send log -----------------------------------------------------------------------------------


def send_out(send: InvoiceSend) -> i.InvoiceSendOut:
    delivery = send_log.delivery(send)
    return i.InvoiceSendOut(
        id=send.id,
        invoice_id=send.invoice_id,
        channel=send.channel,
        to=send.to_address,
        test=send.test,
        sent_by=send.sent_by,
        api_key_id=send.api_key_id,
        staff_user_id=send.staff_user_id,
        sent_by_name=send.sent_by_name,
        status=delivery.status,
        attempts=delivery.attempts,
        error=delivery.error,
        created_at=send.created_at,
        delivered_at=delivery.delivered_at,
    )


@operation(
    "get",
    "/invoices/<int:invoice_id>/sends",
    summary="List every send of the invoice, newest first: when, to whom, by whom, and whether its mail was "
    "delivered (the invoice's last_sent_at is the newest one to its customer)",
    response=i.InvoiceSendListOut,
    query=PageQuery,
    errors=(401, 404, 422),
)
def list_invoice_sends(invoice_id: int, params: PageQuery):
    invoice = _invoice_or_404(invoice_id)
    rows, has_more = owned_page(
        InvoiceSend,
        params,
        InvoiceSend.invoice_id == invoice.id,
        options=[
            selectinload(InvoiceSend.message),
            selectinload(InvoiceSend.job),
            selectinload(InvoiceSend.sms_message),
        ],
    )
    return i.InvoiceSendListOut(data=[send_out(row) for row in rows], has_more=has_more)

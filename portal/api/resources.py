"""API operations for what the admin area already does: archiving customers, products, charges, comments, ways to pay."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import g
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.api import integration_schemas as i
from portal.api import schemas as s
from portal.api.events import comment_out
from portal.api.operations import ApiError, _customer_out, _invoice_or_404, _invoice_out, operation
from portal.api.pagination import PageQuery, cursor_values, keyset_page
from portal.models import Comment, Product
from portal.models.billing import Charge
from portal.payments.registry import PROVIDERS, enabled_providers
from portal.services import billing, comment_inbox, customers, payment_choices, products


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
    return _customer_out(customers.archive_customer(customers.get_customer(g.merchant, customer_id)))


@operation(
    "post",
    "/customers/<int:customer_id>/unarchive",
    summary="Restore an archived customer",
    response=s.CustomerOut,
    errors=(401, 404),
)
def unarchive_customer(customer_id: int):
    return _customer_out(customers.restore_customer(customers.get_customer(g.merchant, customer_id)))


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
    merchant_id = g.merchant.id
    statement = select(Product).where(Product.merchant_id == merchant_id)
    query = params.q.strip().lower()
    if query:
        statement = statement.where(func.lower(Product.name).contains(query, autoescape=True))
    keys = [Product.id]
    rows, has_more = keyset_page(statement, keys, params, cursor_values(Product, merchant_id, keys))
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
    return product_out(products.get_product(g.merchant, product_id))


@operation(
    "patch",
    "/products/<int:product_id>",
    summary="Change a product (lines already drafted from it keep what they copied)",
    response=i.ProductOut,
    body=i.ProductPatch,
    errors=(400, 401, 404, 422),
)
def update_product(product_id: int, payload: i.ProductPatch):
    product = products.get_product(g.merchant, product_id)
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
    products.delete_product(products.get_product(g.merchant, product_id))


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
    merchant_id = g.merchant.id
    statement = select(Charge).where(Charge.merchant_id == merchant_id).options(selectinload(Charge.invoice))
    if params.customer_id is not None:
        statement = statement.where(Charge.customer_id == params.customer_id)
    if params.status == "open":
        statement = statement.where(Charge.invoice_id.is_(None))
    elif params.status == "invoiced":
        statement = statement.where(Charge.invoice_id.is_not(None))
    keys = [Charge.id]
    rows, has_more = keyset_page(statement, keys, params, cursor_values(Charge, merchant_id, keys))
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
    customer = customers.get_customer(g.merchant, payload.customer_id, field="customer_id")
    fields = payload.model_dump(exclude={"customer_id"})
    return charge_out(billing.record_charge(customer, **fields))


@operation("get", "/charges/<int:charge_id>", summary="Fetch a charge", response=i.ChargeOut, errors=(401, 404))
def get_charge(charge_id: int):
    return charge_out(billing.get_charge(g.merchant, charge_id))


@operation(
    "patch",
    "/charges/<int:charge_id>",
    summary="Change a charge that is not on an invoice yet",
    response=i.ChargeOut,
    body=i.ChargePatch,
    errors=(400, 401, 404, 409, 422),
)
def update_charge(charge_id: int, payload: i.ChargePatch):
    charge = billing.get_charge(g.merchant, charge_id)
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
    billing.delete_charge(billing.get_charge(g.merchant, charge_id))


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
    customer = customers.get_customer(g.merchant, customer_id)
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
    statement = (
        select(Comment)
        .where(Comment.invoice_id == invoice.id, Comment.merchant_id == invoice.merchant_id)
        .options(selectinload(Comment.staff_user))
    )
    keys = [Comment.id]
    cursor = cursor_values(Comment, invoice.merchant_id, keys)
    rows, has_more = keyset_page(statement, keys, params, cursor, descending=False)
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

"""The statement of account: every movement over a period with a running balance, as a page and a PDF."""

from __future__ import annotations

from flask import Response, current_app, render_template, request, url_for

from portal.customer import bp
from portal.customer.access import require_customer
from portal.documents.archive import content_disposition
from portal.documents.html import statement_line_label
from portal.documents.pdf import statement_pdf
from portal.models import Customer
from portal.services.statements import (
    BadPeriod,
    Statement,
    build_statement,
    parse_period,
    statement_filename,
    statement_transfer,
)

#: The endpoint of "pay several invoices in one checkout"; the form shows once it exists.
PAY_SEVERAL_ENDPOINTS = ("portal.pay_several", "customer.pay_several")


def pay_several_endpoint() -> str | None:
    """Return the endpoint that pays the open balance in one checkout, when this deployment has it."""
    return next((name for name in PAY_SEVERAL_ENDPOINTS if name in current_app.view_functions), None)


def _statement(customer: Customer) -> Statement | Response:
    today = customer.merchant.today()
    try:
        start, end = parse_period(request.args.get("from"), request.args.get("to"), today)
    except BadPeriod as exc:
        html = render_template(
            "customer/statement_bad_period.html",
            merchant=customer.merchant,
            customer=customer,
            problem=exc.field,
        )
        return _no_store(Response(html, 400))
    return build_statement(customer, start, end, today)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/statement")
def statement():
    """Show the statement of account for a period (the year to date unless asked otherwise)."""
    customer = require_customer()
    result = _statement(customer)
    if isinstance(result, Response):
        return result
    html = render_template(
        "customer/statement.html",
        merchant=customer.merchant,
        customer=customer,
        statement=result,
        transfer=statement_transfer(result),
        pay_endpoint=pay_several_endpoint(),
        pdf_url=url_for(
            "customer.statement_pdf_view", **{"from": result.start.isoformat(), "to": result.end.isoformat()}
        ),
    )
    return _no_store(Response(html))


@bp.get("/statement.pdf")
def statement_pdf_view():
    """Download the statement of account as a PDF in the customer's language."""
    customer = require_customer()
    result = _statement(customer)
    if isinstance(result, Response):
        return result
    pdf = statement_pdf(result, statement_transfer(result))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition("attachment", statement_filename(result))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


bp.add_app_template_global(statement_line_label)

"""Admin exports for the accountant: CSV of invoices, credit notes and payments, and a zip of the documents."""

from __future__ import annotations

from flask import Response, render_template, request

from portal.admin.views import bp, merchant
from portal.documents.archive import content_disposition
from portal.domain.errors import DomainError
from portal.services import exports

_CSV = {
    "invoices": exports.invoices_csv,
    "credit-notes": exports.credit_notes_csv,
    "payments": exports.payments_csv,
}


def _period_or_page():
    """Return (from, to) from the query, or the exports page with the error (400) when it is wrong."""
    try:
        return exports.parse_period(request.args.get("from"), request.args.get("to")), None
    except DomainError as exc:
        return None, (_page(error=exc.message), 400)


def _page(error: str | None = None):
    today = merchant().today()
    return render_template(
        "admin/exports.html",
        start=request.args.get("from") or today.replace(month=1, day=1).isoformat(),
        end=request.args.get("to") or today.isoformat(),
        error=error,
    )


@bp.get("/exports")
def exports_page():
    return _page()


@bp.get("/exports/<any(invoices, 'credit-notes', payments):kind>.csv")
def export_csv(kind: str):
    period, refusal = _period_or_page()
    if refusal is not None:
        return refusal
    first, last = period
    # A byte-order mark so spreadsheet programs read the UTF-8 (names with accents) as UTF-8.
    body = "\ufeff" + _CSV[kind](merchant(), first, last)
    return _download(body.encode("utf-8"), "text/csv; charset=utf-8", f"{kind}-{first}-{last}.csv")


@bp.get("/exports/documents.zip")
def export_documents():
    period, refusal = _period_or_page()
    if refusal is not None:
        return refusal
    first, last = period
    return _download(exports.documents_zip(merchant(), first, last), "application/zip", f"documents-{first}-{last}.zip")


def _download(data: bytes, content_type: str, name: str) -> Response:
    response = Response(data, content_type=content_type)
    response.headers["Content-Disposition"] = content_disposition("attachment", name)
    response.headers["Cache-Control"] = "no-store"
    return response

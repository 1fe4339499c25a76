"""Admin pages for the bank: import a statement, then match or dismiss what it could not book by itself."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.admin.forms import MAX_STATEMENT_UPLOAD_BYTES, BankMatchForm, StatementImportForm
from portal.admin.views import bp, failure, load, merchant
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.services import bank_import
from portal.services.invoices import outstanding

#: The tabs of the list: which statuses each shows.
TABS = {
    "waiting": bank_import.WAITING,
    "matched": ("matched",),
    "ignored": ("ignored",),
    "all": None,
}
#: Why an invoice is suggested, as staff read it.
REASONS = {
    "reference": "its reference",
    "invoice_number": "its number in the text",
    "amount": "same amount",
    "payer_iban": "account paid this customer before",
    "payer_name": "payer's name known for this customer",
}
PAGE_SIZE = 50


def _page(status: str, import_form=None, http_status: int = 200):
    tab = status if status in TABS else "waiting"
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, has_more = bank_import.list_transactions(
        merchant(), statuses=TABS[tab], limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    suggested = bank_import.suggested_invoices(rows)
    return render_template(
        "admin/bank.html",
        rows=rows,
        tab=tab,
        page=page,
        has_more=has_more,
        suggested=suggested,
        outstanding={invoice_id: outstanding(invoice) for invoice_id, invoice in suggested.items()},
        reasons=REASONS,
        import_form=import_form or StatementImportForm(formdata=None),
        match_form=BankMatchForm(formdata=None),
    ), http_status


@bp.get("/bank")
def bank():
    return _page(request.args.get("status", "waiting"))


@bp.post("/bank/import")
def bank_import_statement():
    form = StatementImportForm()
    if not form.validate_on_submit():
        return _page("waiting", form, 422)
    try:
        result = bank_import.import_statement(
            merchant(), form.file.data.read(MAX_STATEMENT_UPLOAD_BYTES + 1), max_bytes=MAX_STATEMENT_UPLOAD_BYTES
        )
        db.session.commit()
    except DomainError as exc:
        return _page("waiting", form, failure(exc, form))
    flash(
        f"Statement imported: {result.entries} credit entries, {result.matched} booked on invoices, "
        f"{result.suggested} with suggestions, {result.unmatched} unmatched, {result.duplicates} imported before; "
        f"{result.skipped} debits or pending entries skipped.",
        "success",
    )
    return redirect(url_for("admin.bank"), code=303)


@bp.post("/bank/<int:transaction_id>/match")
def bank_match(transaction_id: int):
    transaction = load(bank_import.get_transaction, transaction_id)
    form = BankMatchForm()
    back = redirect(url_for("admin.bank", status=request.args.get("status")), code=303)
    if not form.validate_on_submit():
        flash("Enter the number of the invoice this transfer pays.", "error")
        return back
    try:
        invoice = bank_import.invoice_by_number(merchant(), form.invoice_number.data)
        bank_import.match_transaction(transaction, invoice, staff_id=current_user.id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    flash(f"Transfer booked on invoice {invoice.number}.", "success")
    return back


@bp.post("/bank/<int:transaction_id>/ignore")
def bank_ignore(transaction_id: int):
    transaction = load(bank_import.get_transaction, transaction_id)
    try:
        bank_import.ignore_transaction(transaction, staff_id=current_user.id)
        db.session.commit()
    except DomainError as exc:
        failure(exc)
    else:
        flash("Marked as not an invoice payment.", "success")
    return redirect(url_for("admin.bank", status=request.args.get("status")), code=303)

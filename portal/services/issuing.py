"""Finalizing an invoice and, when asked or when the merchant wants it, mailing it at once."""

from __future__ import annotations

from portal.mail.notifications import send_invoice
from portal.models import ApiKey, Invoice, StaffUser
from portal.services.invoices import finalize_invoice


def issue_invoice(invoice: Invoice, *, send: bool | None = None, by: StaffUser | ApiKey | None = None) -> bool:
    """Finalize a draft and queue its mail: when asked to (True), never (False), or, by default (None),
    when the merchant sends every invoice when ready ("Invoice ready for payment").

    Return whether the mail was queued, so a caller never queues it a second time.
    """
    finalize_invoice(invoice)
    if send if send is not None else invoice.merchant.send_when_finalized:
        send_invoice(invoice, by=by)
        return True
    return False

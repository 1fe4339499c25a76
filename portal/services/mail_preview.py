"""What the invoice mail will look like, for staff to check before sending; nothing is queued."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.documents.html import format_day, format_money
from portal.domain.money import Money
from portal.mail.compose import Button, compose, fill_html, fill_text
from portal.mail.notifications import invoice_template
from portal.models import Invoice
from portal.services.invoices import invoice_breakdown
from portal.services.links import make_portal_link


@dataclass(frozen=True)
class MailPreview:
    """The invoice mail as the customer would receive it."""

    to: str
    subject: str
    text: str
    html: str


def preview_invoice_mail(invoice: Invoice) -> MailPreview:
    """Compose the invoice mail in the customer's language with the merchant's template.

    A draft has no number and no link yet, so the preview shows placeholders for them.
    """
    merchant, customer = invoice.merchant, invoice.customer
    breakdown = invoice_breakdown(invoice, merchant.today())
    amount_due = breakdown.amount_due if breakdown is not None and invoice.status in ("draft", "open") else 0
    link = make_portal_link(customer, invoice).url if invoice.status != "draft" else "https://…/l/(link made when sent)"
    with force_locale(customer.language):
        values = {
            "number": invoice.number or "(number given at finalize)",
            "amount_due": format_money(Money(amount_due, invoice.currency)),
            "due_date": format_day(invoice.due_date),
            "merchant": merchant.name,
            "customer": customer.name,
            "link": link,
        }
        template = invoice_template(merchant, customer.language)
        subject = fill_text(template.subject, values)
        composed = compose(
            merchant,
            body_text=fill_text(template.body, values),
            body_html=fill_html(template.body, values, Button(_("View this invoice"), link)),
            preheader=subject,
        )
    html = composed.html
    for part in composed.inline:
        # A browser cannot resolve cid: references, so the preview inlines the images as data: URIs.
        data = base64.b64encode(part.data).decode()
        html = html.replace(f"cid:{part.content_id}", f"data:{part.content_type};base64,{data}")
    return MailPreview(to=customer.email, subject=subject, text=composed.text, html=html)

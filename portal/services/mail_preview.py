"""What the invoice mail will look like, for staff to check before sending; nothing is queued."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from portal.mail.notifications import compose_invoice_mail
from portal.models import Invoice
from portal.services.links import make_portal_link


@dataclass(frozen=True)
class MailPreview:
    """The invoice mail as the customer would receive it."""

    to: str
    subject: str
    text: str
    html: str


def preview_invoice_mail(invoice: Invoice) -> MailPreview:
    """Compose the invoice mail exactly as send_invoice will, for staff to look at.

    A draft has no number and no link yet, so the preview shows placeholders for them.
    """
    customer = invoice.customer
    link = make_portal_link(customer, invoice).url if invoice.status != "draft" else "https://…/l/(link made when sent)"
    subject, composed = compose_invoice_mail(invoice, link=link, number="(number given at finalize)")
    html = composed.html
    for part in composed.inline:
        # A browser cannot resolve cid: references, so the preview inlines the images as data: URIs.
        data = base64.b64encode(part.data).decode()
        html = html.replace(f"cid:{part.content_id}", f"data:{part.content_type};base64,{data}")
    return MailPreview(to=customer.email, subject=subject, text=composed.text, html=html)

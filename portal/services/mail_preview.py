"""What the invoice and its mail will look like to the customer, for staff to check before sending; nothing is queued."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from portal.documents.pdf import invoice_source
from portal.mail.notifications import compose_invoice_mail
from portal.models import Invoice
from portal.services.links import make_portal_link
from portal.theming import merchant_theme, theme_file


@dataclass(frozen=True)
class MailPreview:
    """The invoice mail as the customer would receive it."""

    to: str
    subject: str
    text: str
    html: str


def preview_invoice_mail(invoice: Invoice, language: str | None = None) -> MailPreview:
    """Compose the invoice mail exactly as send_invoice will, for staff to look at (in `language` if given).

    A draft has no number and no link yet, so the preview shows placeholders for them.
    """
    customer = invoice.customer
    link = make_portal_link(customer, invoice).url if invoice.status != "draft" else "https://…/l/(link made when sent)"
    subject, composed = compose_invoice_mail(invoice, link=link, number="(number given at finalize)", language=language)
    html = composed.html
    for part in composed.inline:
        # A browser cannot resolve cid: references, so the preview inlines the images as data: URIs.
        data = base64.b64encode(part.data).decode()
        html = html.replace(f"cid:{part.content_id}", f"data:{part.content_type};base64,{data}")
    return MailPreview(to=customer.email, subject=subject, text=composed.text, html=html)


def preview_invoice_page(invoice: Invoice, language: str | None = None) -> str:
    """Return the invoice's document as the customer reads it (in their language, or `language`), as one HTML page.

    The same HTML as the PDF, its stylesheets inlined, so a browser shows it without fetching anything.
    """
    source = invoice_source(invoice, language=language)
    styles = list(source.stylesheets)
    theme_css = theme_file(merchant_theme(invoice.merchant), "pdf.css")
    if theme_css is not None:
        styles.append(theme_css.read_text())
    # A "</" inside a stylesheet must not close the element early (CSS reads "<\/" the same).
    inline = "".join("<style>{}</style>".format(css.replace("</", "<\\/")) for css in styles)
    return source.html.replace("</head>", inline + "</head>", 1)

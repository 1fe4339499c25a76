"""Sending an invoice: the mail arrives over SMTP with both parts, the PDF, and a link that opens the portal."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pypdf
import pytest

from portal.extensions import db
from portal.mail.notifications import send_invoice
from portal.models.mail import EmailTemplate
from portal.services.demo import _logo
from portal.services.einvoices import facturx_cii, ubl
from portal.services.errors import Conflict
from portal.services.merchants import create_staff_user, set_attach_ubl_to_mail
from tests.factories import make_company_customer, make_customer, make_invoice, make_merchant, run_jobs

pytestmark = pytest.mark.usefixtures("ctx")


def deliver() -> None:
    # The worker renders the PDF and composes the mail, then delivers it.
    report = run_jobs()
    assert report.kinds.get("invoice.send", 0) >= 1 and report.kinds.get("mail.deliver", 0) >= 1
    assert report.failed == 0 and report.retrying == 0


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u202f", " ").replace("\u00a0", " ")


def test_the_invoice_mail_arrives_with_both_parts_the_pdf_and_a_working_link(
    client, smtp_server, deliver_to, time_machine
):
    time_machine.move_to("2026-01-15 09:00", tick=False)
    deliver_to(smtp_server)
    merchant = make_merchant("Atelier Lumen", logo_png=_logo(), support_email="billing@lumen.example")
    customer = make_customer(merchant, "Jane Cooper", email="jane@example.com")
    invoice = make_invoice(customer)
    send_invoice(invoice)
    db.session.commit()

    deliver()

    [message] = smtp_server.messages
    assert message["To"] == "jane@example.com"
    assert message["Subject"] == "Invoice 2026-0001 from Atelier Lumen"
    assert message["Reply-To"] == "billing@lumen.example"
    assert "Atelier Lumen" in message["From"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "invoice 2026-0001 from Atelier Lumen for €1,000.00, due on Jan 31, 2026" in text
    assert "View this invoice" in html and "€1,000.00" in html
    # The logo travels inline with the HTML part.
    assert 'src="cid:logo.' in html
    [pdf] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "invoice-2026-0001.pdf"
    pdf_body = pdf_text(pdf.get_content())
    assert "2026-0001" in pdf_body and "€1,000.00" in pdf_body

    [link] = re.findall(r"https?://\S+/l/\S+", text)
    assert f'href="{link}"' in html
    opened = client.get(urlsplit(link).path)
    assert opened.status_code == 303
    assert opened.headers["Location"].endswith("/invoices/2026-0001")
    page = client.get(opened.headers["Location"])
    assert page.status_code == 200 and "2026-0001" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "subject", "amount", "due"),
    [
        ("fr", "Facture 2026-0001 de Acme", "1 000,00 €", "31 janv. 2026"),
        ("nl", "Factuur 2026-0001 van Acme", "€ 1.000,00", "31 jan 2026"),
        ("de", "Rechnung 2026-0001 von Acme", "1.000,00 €", "31.01.2026"),
        ("en", "Invoice 2026-0001 from Acme", "€1,000.00", "Jan 31, 2026"),
    ],
)
def test_the_default_mail_is_written_in_the_customers_language(
    language, subject, amount, due, smtp_server, deliver_to, time_machine
):
    time_machine.move_to("2026-01-15 09:00", tick=False)
    deliver_to(smtp_server)
    invoice = make_invoice(make_customer(make_merchant("Acme"), language=language))
    send_invoice(invoice)
    db.session.commit()

    deliver()

    [message] = smtp_server.messages
    assert message["Subject"] == subject
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\u202f", " ").replace("\u00a0", " ")
    assert amount in text and due in text


def test_a_merchants_template_is_used_and_hostile_placeholders_are_harmless(smtp_server, deliver_to):
    deliver_to(smtp_server)
    merchant = make_merchant("Evil <script>alert(1)</script> & Co")
    db.session.add(
        EmailTemplate(
            merchant_id=merchant.id,
            kind="invoice",
            language="en",
            subject="{number} {unknown} {amount_due:>999999999} {link.__class__}",
            body="Dear customer,\n\n{link}\n\nSee {link} for {number} <b>{merchant}</b> {missing}",
        )
    )
    invoice = make_invoice(make_customer(merchant))
    send_invoice(invoice)
    db.session.commit()

    deliver()

    [message] = smtp_server.messages
    assert message["Subject"] == "2026-0001 {unknown} {amount_due:>999999999} {link.__class__}"
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;" in html and "{missing}" in html
    assert html.count("/l/") == 2  # the button and the inline link
    assert "Evil <script>alert(1)</script> & Co" in text and "{missing}" in text


def test_a_test_copy_goes_to_staff_with_a_marked_subject(smtp_server, deliver_to):
    deliver_to(smtp_server)
    merchant = make_merchant("Acme")
    staff = create_staff_user(merchant, email="boss@acme.example", name="Boss", password="correct horse")
    invoice = make_invoice(make_customer(merchant, email="jane@example.com"))
    send_invoice(invoice, test_to=staff)
    db.session.commit()

    deliver()

    [message] = smtp_server.messages
    assert message["To"] == "boss@acme.example"
    assert message["Subject"] == "[TEST] Invoice 2026-0001 from Acme"
    assert "Test copy" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_draft_cannot_be_sent():
    invoice = make_invoice(make_customer(make_merchant()), finalize=False)
    with pytest.raises(Conflict):
        send_invoice(invoice)


def _files(message) -> dict[str, tuple[str, bytes]]:
    return {part.get_filename(): (part.get_content_type(), part.get_content()) for part in message.iter_attachments()}


def test_the_mailed_pdf_is_factur_x(smtp_server, deliver_to):
    deliver_to(smtp_server)
    invoice = make_invoice(make_customer(make_merchant("Acme")))
    send_invoice(invoice)
    db.session.commit()

    deliver()

    [message] = smtp_server.messages
    content_type, pdf = _files(message)["invoice-2026-0001.pdf"]
    assert content_type == "application/pdf"
    assert pypdf.PdfReader(io.BytesIO(pdf)).attachments == {"factur-x.xml": [facturx_cii(invoice)]}


def test_the_ubl_goes_with_the_mail_only_when_the_merchant_asks(smtp_server, deliver_to):
    deliver_to(smtp_server)
    merchant = make_merchant("Acme")
    invoice = make_invoice(make_company_customer(merchant))
    consumers = make_invoice(make_customer(merchant))
    assert merchant.attach_ubl_to_mail is False  # off unless the merchant turns it on
    send_invoice(invoice)
    db.session.commit()
    deliver()  # the worker composes the mail: with the setting as it is when the job runs
    set_attach_ubl_to_mail(merchant, True)
    send_invoice(invoice)
    send_invoice(consumers)  # a consumer is not on Peppol: the (Factur-X) PDF alone
    db.session.commit()

    deliver()

    without, with_ubl, consumer = (_files(message) for message in smtp_server.messages)
    assert set(without) == {"invoice-2026-0001.pdf"}
    assert set(with_ubl) == {"invoice-2026-0001.pdf", "invoice-2026-0001.xml"}
    assert with_ubl["invoice-2026-0001.xml"][0] == "application/xml"
    assert with_ubl["invoice-2026-0001.xml"][1] == ubl(invoice)
    assert set(consumer) == {"invoice-2026-0002.pdf"}

"""E-invoices of issued documents: built from the finalize snapshot, as issued, and carried by the PDFs."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from flask_babel import force_locale
from lxml import etree
from sqlalchemy import select

from portal.documents import pdf as pdf_module
from portal.documents.context import invoice_view
from portal.documents.pdf import credit_note_pdf, invoice_pdf
from portal.einvoice import en16931
from portal.einvoice.document import NotExpressible, NotOnPeppol
from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice
from portal.models.document import RenderedDocument
from portal.services import einvoices
from portal.services.demo import _logo
from portal.services.errors import Conflict
from portal.services.invoices import invoice_breakdown
from tests.factories import credit, line, make_company_customer, make_customer, make_invoice, make_merchant, pay

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
}


def texts(xml: bytes, path: str) -> list[str]:
    return [element.text for element in etree.fromstring(xml).xpath(path, namespaces=NS)]


def pdf_a_part(pdf: bytes) -> list[str]:
    """Return the PDF/A part its XMP metadata declares ([] for a plain PDF)."""
    catalog = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    if "/Metadata" not in catalog:
        return []
    xmp = etree.fromstring(catalog["/Metadata"].get_object().get_data())
    return [str(part) for part in xmp.xpath("//@pdfaid:part | //pdfaid:part/text()", namespaces=NS)]


def attachments(pdf: bytes) -> dict[str, list[bytes]]:
    return dict(pypdf.PdfReader(io.BytesIO(pdf)).attachments)


def interpolated_images(pdf: bytes) -> list[bool]:
    """Return the /Interpolate flag of every image on every page (PDF/A wants them all false)."""
    flags = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        objects = page["/Resources"].get("/XObject", {})
        for ref in objects.values():
            image = ref.get_object()
            if image.get("/Subtype") == "/Image":
                flag = image.get("/Interpolate", False)
                flags.append(bool(getattr(flag, "value", flag)))  # pypdf's BooleanObject keeps it in .value
    return flags


@pytest.fixture
def business(ctx):
    """A Belgian merchant with VAT number and IBAN, and a company customer: everything has e-invoices."""
    merchant = make_merchant(
        "Atelier Lumen", logo_png=_logo(), company_number="0403.170.701", iban="BE68539007547034", bic="GKCCBEBB"
    )
    return merchant, make_company_customer(merchant)


# -- the demo ---------------------------------------------------------------------------------


def _demo_documents() -> list[Invoice | CreditNote]:
    invoices = db.session.scalars(select(Invoice).where(Invoice.status != "draft").order_by(Invoice.id))
    return [*invoices, *db.session.scalars(select(CreditNote).order_by(CreditNote.id))]


def test_every_demo_document_passes_the_official_rules(app, runner, rules):
    """`flask portal demo`: each finalized document's Factur-X CII, and the UBL of each on Peppol, break no rule."""
    assert runner.invoke(args=["portal", "demo"]).exit_code == 0
    with app.app_context():
        documents = _demo_documents()
        on_peppol = []
        for document in documents:
            rules.assert_valid(einvoices.facturx_cii(document))
            buyer = document.buyer_party
            if buyer.vat_number or buyer.company_number:
                rules.assert_valid(einvoices.ubl(document))
                on_peppol.append(document.number)
            else:
                # A consumer is not on Peppol: the Factur-X PDF is the e-invoice.
                with pytest.raises(NotOnPeppol):
                    einvoices.ubl(document)
        # The companies' documents, a credit note among them, and a reverse-charged and intra-Community one.
        companies = {
            customer.id for customer in db.session.scalars(select(Customer).where(Customer.company.is_not(None)))
        }
        assert on_peppol == [d.number for d in documents if d.customer_id in companies]
        assert len(on_peppol) >= 5 and any(number.startswith("CN-") for number in on_peppol)


# -- what an e-invoice states -------------------------------------------------------------------


def test_the_einvoice_states_the_snapshot_as_issued_never_late_charges(business, rules, time_machine):
    time_machine.move_to("2026-03-02 12:00", tick=False)
    merchant, customer = business
    invoice = make_invoice(
        customer,
        lines=[line("Design", "3", 12500, "21", "10"), line("Print", "250", 120, "6")],
        discount_percent=Decimal("5"),
        notes="Thank you",
    )
    pay(invoice, 10000, date(2026, 2, 15))
    note = credit(invoice, 5000, date(2026, 2, 20))
    before = einvoices.ubl(invoice), einvoices.facturx_cii(invoice), einvoices.ubl(note)
    breakdown = invoice_breakdown(invoice, date(2026, 3, 2))
    assert breakdown.fee > 0 and breakdown.interest > 0 and breakdown.amount_due != invoice.total

    # Everything that could leak in changes: the merchant's and the customer's identities.
    merchant.legal_name, merchant.vat_number, merchant.iban = "Renamed SRL", "BE0477472701", "BE71096123456769"
    customer.company, customer.vat_number, customer.city, customer.language = "Other BV", "BE0202239951", "Gent", "fr"
    db.session.flush()

    assert (einvoices.ubl(invoice), einvoices.facturx_cii(invoice), einvoices.ubl(note)) == before
    ubl, cii, note_ubl = before
    for xml in before:
        rules.assert_valid(xml)
    total = en16931.amount_text(invoice.total, "EUR")
    assert texts(ubl, "cac:LegalMonetaryTotal/cbc:PayableAmount") == [total]
    assert texts(cii, "//ram:DuePayableAmount") == [total]
    assert texts(ubl, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName") == [
        "Atelier Lumen"
    ]
    assert texts(ubl, "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID") == ["BE0417497106"]
    assert texts(ubl, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["BE68539007547034"]
    assert texts(ubl, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount") == [
        en16931.amount_text(tax.base, "EUR") for tax in einvoices.invoice_document(invoice).taxes
    ]
    assert texts(note_ubl, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == [invoice.number]


def test_a_draft_has_no_einvoice_and_its_preview_stays_a_plain_pdf(business):
    _, customer = business
    draft = make_invoice(customer, finalize=False)

    with pytest.raises(Conflict, match="finalize it first"):
        einvoices.ubl(draft)
    pdf = invoice_pdf(draft)
    assert einvoices.facturx_cii(draft) is None
    assert attachments(pdf) == {} and pdf_a_part(pdf) == []
    assert "DRAFT" in "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("kind", ["invoice", "credit note"])
def test_finalized_pdfs_are_factur_x(business, rules, kind):
    _, customer = business
    invoice = make_invoice(customer, lines=[line(unit_amount=100000, tax_rate="21")])
    document = invoice if kind == "invoice" else credit(invoice, 20000, date(2026, 1, 10))

    pdf = invoice_pdf(invoice) if kind == "invoice" else credit_note_pdf(document)

    embedded = attachments(pdf)
    assert list(embedded) == ["factur-x.xml"] and embedded["factur-x.xml"] == [einvoices.facturx_cii(document)]
    rules.assert_valid(rules.embedded_xml(pdf))
    assert texts(rules.embedded_xml(pdf), "rsm:ExchangedDocument/ram:TypeCode") == [
        "380" if kind == "invoice" else "381"
    ]
    assert pdf_a_part(pdf) == ["3"]
    # PDF/A forbids interpolated images: the logo (and an open invoice's EPC QR code) are drawn with crisp edges.
    assert set(interpolated_images(pdf)) == {False}


def test_a_plain_pdf_cached_before_e_invoices_is_rendered_again_as_factur_x(business):
    _, customer = business
    invoice = make_invoice(customer)
    # What the cache holds from before PDFs were Factur-X: the same page rendered plain, under its fingerprint.
    with force_locale("en"):
        view = invoice_view(invoice, invoice.merchant.today())
        before = pdf_module._source("documents/invoice.html", view, invoice.merchant, "en")
    plain = pdf_module._cached(before.fingerprint, lambda: before, "invoice", invoice.id, invoice.merchant_id, "en")
    assert attachments(plain) == {} and db.session.scalar(select(RenderedDocument.pdf)) == plain

    upgraded = invoice_pdf(invoice)

    assert list(attachments(upgraded)) == ["factur-x.xml"] and pdf_a_part(upgraded) == ["3"]
    assert db.session.scalar(select(RenderedDocument.pdf)) == upgraded
    assert invoice_pdf(invoice) == upgraded  # and it is cached again


# -- what EN 16931 cannot state ------------------------------------------------------------------


def test_a_document_en16931_cannot_state_keeps_a_plain_pdf(ctx):
    """Kuwaiti dinars have three decimals; EN 16931 amounts have two: no e-invoice, the PDF as before."""
    customer = make_company_customer(make_merchant("Gulf Trading", default_currency="KWD"))
    invoice = make_invoice(customer, currency="KWD", lines=[line(unit_amount=125750, tax_rate="0")])
    note = credit(invoice, 10000, date(2026, 1, 10))

    for document, pdf in ((invoice, invoice_pdf(invoice)), (note, credit_note_pdf(note))):
        with pytest.raises(NotExpressible, match="at most two decimals; KWD has 3"):
            einvoices.ubl(document)
        assert einvoices.facturx_cii(document) is None and not einvoices.ubl_available(document)
        assert attachments(pdf) == {} and pdf_a_part(pdf) == []
        assert document.number in "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_a_consumers_documents_are_factur_x_without_peppol_ubl(ctx, rules):
    invoice = make_invoice(make_customer(make_merchant()))

    with pytest.raises(NotOnPeppol, match="buyer"):
        einvoices.ubl(invoice)
    rules.assert_valid(rules.embedded_xml(invoice_pdf(invoice)))


def test_the_einvoices_name_the_invoices_payment_reference(business, rules):
    """UBL PaymentID and CII PaymentReference carry the reference issued with the invoice, beside code 58."""
    _, customer = business
    invoice = make_invoice(customer)
    assert invoice.payment_reference == "202600000192"
    ubl, cii = einvoices.ubl(invoice), einvoices.facturx_cii(invoice)
    for xml in (ubl, cii):
        rules.assert_valid(xml)
    # Belgian banks read a structured communication written +++…+++.
    assert texts(ubl, "cac:PaymentMeans/cbc:PaymentID") == ["+++202/6000/00192+++"]
    assert texts(ubl, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["58"]
    assert texts(cii, "//ram:ApplicableHeaderTradeSettlement/ram:PaymentReference") == ["+++202/6000/00192+++"]
    # A credit note pays nothing: no reference.
    assert texts(einvoices.ubl(credit(invoice, 5000, date(2026, 1, 10))), "//cbc:PaymentID") == []

    dutch = make_merchant(
        "Studio",
        address_line1="Keizersgracht 1",
        postal_code="1015 CJ",
        city="Amsterdam",
        country="NL",
        vat_number="NL004495445B01",
        iban="NL91ABNA0417164300",
    )
    rf_invoice = make_invoice(make_company_customer(dutch))
    rf_ubl = einvoices.ubl(rf_invoice)
    rules.assert_valid(rf_ubl)
    assert texts(rf_ubl, "cac:PaymentMeans/cbc:PaymentID") == [rf_invoice.payment_reference]
    assert rf_invoice.payment_reference.startswith("RF")

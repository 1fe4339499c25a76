"""A Factur-X PDF: PDF/A-3 with the CII embedded as factur-x.xml and declared in its XMP metadata."""

from __future__ import annotations

import io

import pytest
import weasyprint
from lxml import etree
from pypdf import PdfReader

from portal.documents.pdf import RestrictedURLFetcher
from portal.einvoice import facturx
from portal.einvoice.cii import cii_xml
from tests.einvoice.samples import invoice, line

PDFAID = "http://www.aiim.org/pdfa/ns/id/"


@pytest.fixture(scope="module")
def made():
    """Render one Factur-X PDF for the whole module: what it was made from, and the fetcher that served it."""
    document = invoice([line("2", 4999, "21", "10", category="S"), line("1", 1999, "6", category="S")], discount="5")
    cii = cii_xml(document)
    fetcher = RestrictedURLFetcher()
    rendered = weasyprint.HTML(
        string=f"<html lang=en><title>Invoice {document.number}</title><h1>Invoice {document.number}</h1>",
        url_fetcher=fetcher,
    ).render()
    pdf = facturx.write_facturx(rendered, cii, issued_on=document.issue_date, url_fetcher=fetcher)
    return cii, pdf, fetcher


def _xmp(pdf: bytes) -> etree._Element:
    catalog = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    return etree.fromstring(catalog["/Metadata"].get_object().get_data())


def test_the_embedded_xml_is_the_cii_and_passes_the_rules(rules, made):
    cii, pdf, _ = made
    embedded = rules.embedded_xml(pdf)
    assert embedded == cii
    rules.assert_valid(embedded)


def test_the_xmp_declares_pdf_a_3_and_factur_x(made):
    _, pdf, _ = made
    xmp = _xmp(pdf)
    parts = xmp.xpath("//@pdfaid:part | //pdfaid:part/text()", namespaces={"pdfaid": PDFAID})
    assert [str(part) for part in parts] == ["3"]
    fx = {etree.QName(element).localname: element.text for element in xmp.iter(f"{{{facturx.FX_NS}}}*")}
    assert fx == {
        "DocumentFileName": "factur-x.xml",
        "DocumentType": "INVOICE",
        "Version": "1.0",
        "ConformanceLevel": "EN 16931",
    }
    # PDF/A admits the fx: properties only with their extension schema described in the file.
    namespaces = {"pdfaSchema": facturx.PDFA_SCHEMA_NS}
    assert xmp.xpath("//pdfaSchema:namespaceURI/text()", namespaces=namespaces) == [facturx.FX_NS]


def test_the_attachment_is_an_associated_file_of_the_pdf_a(made):
    _, pdf, fetcher = made
    catalog = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    associated = {spec.get_object()["/F"]: spec.get_object() for spec in catalog["/AF"]}
    assert list(associated) == ["factur-x.xml"]
    spec = associated["factur-x.xml"]
    assert spec["/AFRelationship"] == "/Alternative"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"
    # The XML reached the PDF through the restricted fetcher, as a data: URL, and nothing else was fetched.
    assert [url[:14] for url in fetcher.served] == ["data:text/xml;"] and fetcher.refused == []

"""Factur-X: a PDF/A-3 whose `factur-x.xml` attachment is the CII invoice, declared in the XMP metadata."""

from __future__ import annotations

import base64
from datetime import date, datetime, time

import weasyprint
from lxml import etree

FILENAME = "factur-x.xml"
FX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PDFA_EXTENSION_NS = "http://www.aiim.org/pdfa/ns/extension/"
PDFA_SCHEMA_NS = "http://www.aiim.org/pdfa/ns/schema#"
PDFA_PROPERTY_NS = "http://www.aiim.org/pdfa/ns/property#"
#: The Factur-X profile the CII follows, as the XMP names it.
CONFORMANCE_LEVEL = "EN 16931"
#: PDF/A-3 calls an attachment that is the document itself in another form "Alternative"
#: (ZUGFeRD's choice for the EN 16931 profile; Factur-X accepts Data, Source and Alternative).
RELATIONSHIP = "Alternative"
_PROPERTIES = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)


def _element(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attributes)
    element.text = text
    return element


def xmp_metadata() -> bytes:
    """Return the rdf:RDF block declaring the Factur-X attachment and its PDF/A extension schema."""
    rdf = etree.Element(
        f"{{{RDF_NS}}}RDF",
        nsmap={
            "rdf": RDF_NS,
            "fx": FX_NS,
            "pdfaExtension": PDFA_EXTENSION_NS,
            "pdfaSchema": PDFA_SCHEMA_NS,
            "pdfaProperty": PDFA_PROPERTY_NS,
        },
    )
    about = {f"{{{RDF_NS}}}about": ""}
    facts = _element(rdf, f"{{{RDF_NS}}}Description", **about)
    for name, value in (
        ("DocumentFileName", FILENAME),
        ("DocumentType", "INVOICE"),
        ("Version", "1.0"),
        ("ConformanceLevel", CONFORMANCE_LEVEL),
    ):
        _element(facts, f"{{{FX_NS}}}{name}", value)
    # PDF/A only admits XMP properties whose schema the file itself describes.
    extension = _element(rdf, f"{{{RDF_NS}}}Description", **about)
    bag = _element(_element(extension, f"{{{PDFA_EXTENSION_NS}}}schemas"), f"{{{RDF_NS}}}Bag")
    schema = _element(bag, f"{{{RDF_NS}}}li", **{f"{{{RDF_NS}}}parseType": "Resource"})
    _element(schema, f"{{{PDFA_SCHEMA_NS}}}schema", "Factur-X PDFA Extension Schema")
    _element(schema, f"{{{PDFA_SCHEMA_NS}}}namespaceURI", FX_NS)
    _element(schema, f"{{{PDFA_SCHEMA_NS}}}prefix", "fx")
    properties = _element(_element(schema, f"{{{PDFA_SCHEMA_NS}}}property"), f"{{{RDF_NS}}}Seq")
    for name, description in _PROPERTIES:
        item = _element(properties, f"{{{RDF_NS}}}li", **{f"{{{RDF_NS}}}parseType": "Resource"})
        _element(item, f"{{{PDFA_PROPERTY_NS}}}name", name)
        _element(item, f"{{{PDFA_PROPERTY_NS}}}valueType", "Text")
        _element(item, f"{{{PDFA_PROPERTY_NS}}}category", "external")
        _element(item, f"{{{PDFA_PROPERTY_NS}}}description", description)
    return etree.tostring(rdf, encoding="UTF-8")


def write_facturx(
    rendered: weasyprint.Document, cii: bytes, *, issued_on: date, url_fetcher: weasyprint.urls.URLFetcher
) -> bytes:
    """Write the rendered document as a PDF/A-3b with the CII embedded as factur-x.xml."""
    # The document's own date keeps the attachment's dates, and so the file, the same on every render.
    stamp = datetime.combine(issued_on, time())
    # A data: URL carries the MIME type PDF/A wants on the embedded file (text/xml) through the fetcher.
    attachment = weasyprint.Attachment(
        url="data:text/xml;base64," + base64.b64encode(cii).decode("ascii"),
        url_fetcher=url_fetcher,
        name=FILENAME,
        description="Factur-X invoice (EN 16931)",
        relationship=RELATIONSHIP,
        created=stamp,
        modified=stamp,
    )
    rendered.metadata.attachments = [attachment]
    rendered.metadata.xmp_metadata = [xmp_metadata()]
    return rendered.write_pdf(pdf_variant="pdf/a-3b")

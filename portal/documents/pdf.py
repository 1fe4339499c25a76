"""Invoice and credit-note PDFs: WeasyPrint behind a restricted URL fetcher, and a cache of finalized ones.

A finalized document's PDF is a Factur-X PDF/A-3 carrying its CII e-invoice as factur-x.xml; a draft's
preview, and a document no EN 16931 e-invoice can state, is a plain PDF.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import mimetypes
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib import request
from urllib.parse import urlsplit

import weasyprint
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.documents import html
from portal.documents.context import DocumentView, credit_note_view, invoice_view, receipt_view
from portal.einvoice.facturx import write_facturx
from portal.extensions import db
from portal.models import CreditNote, Invoice, Merchant
from portal.models.base import utcnow
from portal.models.document import RenderedDocument
from portal.services.einvoices import facturx_cii
from portal.theming import THEMES_DIR, brand_css, merchant_theme, theme_file

log = logging.getLogger(__name__)

BASE_STYLESHEET = Path(__file__).with_name("pdf.css")
#: Files a theme may hand to the renderer; anything else in a theme folder is not an asset.
ASSET_SUFFIXES = frozenset(
    {".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".woff", ".woff2", ".ttf", ".otf"}
)


class FetchRefused(ValueError):
    """The renderer asked for something outside the project's theme assets."""


class RestrictedURLFetcher(URLFetcher):
    """Serve data: URIs and files inside themes/ only; refuse, log and record everything else.

    No network scheme is ever opened, so there are no redirects to follow either.
    """

    def __init__(self, root: Path = THEMES_DIR) -> None:
        super().__init__(timeout=1, allowed_protocols=("data", "file"), allow_redirects=False)
        self.root = Path(root).resolve()
        #: URLs served and refused, in order, so tests and logs can tell what was asked for.
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        try:
            response = self._open(url)
        except FetchRefused:
            self.refused.append(url)
            log.warning("PDF renderer refused to fetch %.200s", url)
            raise
        self.served.append(url[:100])
        return response

    def _open(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            # A data: URI carries its bytes with it: decoding it reaches nothing.
            with request.DataHandler().data_open(request.Request(url)) as response:
                return URLFetcherResponse(url, response.read(), {"Content-Type": response.headers["Content-Type"]})
        if scheme != "file" or parts.netloc not in ("", "localhost"):
            raise FetchRefused(f"not a theme asset: {url}")
        # realpath follows every symlink first, so a link inside themes/ cannot lead out of it.
        path = Path(request.url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root) or path.suffix.lower() not in ASSET_SUFFIXES or not path.is_file():
            raise FetchRefused(f"not a theme asset: {url}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})


@dataclass(frozen=True)
class FacturX:
    """What makes the PDF a Factur-X: the CII to embed, and the document's date for the attachment's."""

    cii: bytes
    issued_on: date


@dataclass(frozen=True)
class PdfSource:
    """Everything WeasyPrint is given: the HTML, the stylesheets and the theme folder as base URL."""

    html: str
    stylesheets: tuple[str, ...]
    theme_stylesheet_url: str | None
    base_url: str
    fingerprint: str = field(default="", compare=False)
    #: Set for a finalized document that an e-invoice can state: the PDF is then a PDF/A-3 carrying it.
    facturx: FacturX | None = None


@functools.cache
def _theme_digest(theme: str) -> str:
    """Hash the theme's assets: they are deployed with the code, so once per process is enough."""
    digest = hashlib.sha256()
    folder = THEMES_DIR / theme
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in ASSET_SUFFIXES:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _source(
    template: str,
    view: DocumentView,
    merchant: Merchant,
    language: str,
    facturx: FacturX | None = None,
    **extra,
) -> PdfSource:
    theme = merchant_theme(merchant)
    page = html.render(template, view=view, language=language, **extra)
    stylesheets = (BASE_STYLESHEET.read_text(), brand_css(merchant))
    theme_css = theme_file(theme, "pdf.css")
    theme_url = theme_css.as_uri() if theme_css else None
    base_url = (THEMES_DIR / theme).as_uri() + "/"
    # The HTML holds every word, number, logo and colour the PDF shows, so hashing it with the
    # stylesheets and theme assets tells exactly when a cached PDF is out of date.
    digest = hashlib.sha256()
    for part in (weasyprint.__version__, page, *stylesheets, theme or "", _theme_digest(theme)):
        digest.update(part.encode() + b"\0")
    if facturx is not None:
        # The embedded XML is part of the file: a plain PDF cached before (or one with other XML) is out of date.
        digest.update(b"factur-x\0" + facturx.cii)
    return PdfSource(page, stylesheets, theme_url, base_url, digest.hexdigest(), facturx)


def write_pdf(source: PdfSource, fetcher: RestrictedURLFetcher | None = None) -> bytes:
    """Render the PDF; every resource, the stylesheets' included, goes through the restricted fetcher."""
    fetcher = fetcher or RestrictedURLFetcher()
    stylesheets = [
        weasyprint.CSS(string=css, base_url=source.base_url, url_fetcher=fetcher) for css in source.stylesheets
    ]
    if source.theme_stylesheet_url:
        stylesheets.append(weasyprint.CSS(url=source.theme_stylesheet_url, url_fetcher=fetcher))
    document = weasyprint.HTML(string=source.html, base_url=source.base_url, url_fetcher=fetcher)
    if source.facturx is None:
        return document.write_pdf(stylesheets=stylesheets)
    rendered = document.render(stylesheets=stylesheets)
    return write_facturx(rendered, source.facturx.cii, issued_on=source.facturx.issued_on, url_fetcher=fetcher)


def _facturx(row: Invoice | CreditNote) -> FacturX | None:
    cii = facturx_cii(row)
    return FacturX(cii, row.issue_date) if cii is not None else None


_PORTAL_DIR = Path(__file__).resolve().parent.parent


@functools.cache
def renderer_digest(translations: str) -> str:
    """Hash what turns a document's view into its PDF: templates, stylesheet, the code, catalogues, WeasyPrint.

    They change only with a deployment, so once per process is enough.
    """
    digest = hashlib.sha256(weasyprint.__version__.encode() + b"\0")
    folders = [_PORTAL_DIR / "documents", _PORTAL_DIR / "einvoice", *html.TEMPLATE_FOLDERS, Path(translations)]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".html", ".css", ".xml", ".txt", ".mo", ".po"):
                digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _inputs_fingerprint(template: str, view, merchant: Merchant, language: str) -> str:
    """Return a hash of everything the PDF is made from, without rendering it.

    The view (a frozen dataclass: parties, lines, taxes, payments, amounts as of today, the logo) holds
    every value the PDF prints; with the branding, the theme, the language and the renderer's own digest,
    an unchanged fingerprint means an unchanged PDF, so a cached download renders nothing to check it.
    """
    theme = merchant_theme(merchant)
    digest = hashlib.sha256()
    for part in (
        renderer_digest(str(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])),
        template,
        language,
        repr(view),
        brand_css(merchant),
        theme or "",
        _theme_digest(theme),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def invoice_source(invoice: Invoice, as_of: date | None = None, *, language: str | None = None) -> PdfSource:
    """Return what the invoice's PDF is rendered from, in the language it was issued in (or `language`, to preview)."""
    language = language or invoice.document_language
    with force_locale(language):
        view = invoice_view(invoice, as_of or invoice.merchant.today())
        return _source("documents/invoice.html", view, invoice.merchant, language, _facturx(invoice))


def receipt_source(invoice: Invoice) -> PdfSource:
    """Return what a paid invoice's receipt is rendered from: its snapshot and its payments, in its language."""
    language = invoice.document_language
    with force_locale(language):
        receipt = receipt_view(invoice)
        return _source("documents/receipt.html", receipt.document, invoice.merchant, language, receipt=receipt)


def receipt_pdf(invoice: Invoice) -> bytes:
    """Return the receipt PDF of a paid invoice, rendered once per content, language and branding."""
    language = invoice.document_language
    with force_locale(language):
        receipt = receipt_view(invoice)
        key = _inputs_fingerprint("documents/receipt.html", receipt, invoice.merchant, language)
        return _cached(
            key,
            lambda: _source("documents/receipt.html", receipt.document, invoice.merchant, language, receipt=receipt),
            "receipt",
            invoice.id,
            invoice.merchant_id,
            language,
        )


def credit_note_source(note: CreditNote) -> PdfSource:
    """Return what the credit note's PDF is rendered from, in the language it was issued in."""
    language = note.document_language
    with force_locale(language):
        view = credit_note_view(note)
        return _source("documents/credit_note.html", view, note.invoice.merchant, language, _facturx(note))


def invoice_pdf(invoice: Invoice, as_of: date | None = None) -> bytes:
    """Return the invoice's PDF; a draft is rendered afresh with a DRAFT mark, a finalized one (Factur-X) is cached."""
    if invoice.status == "draft":
        return write_pdf(invoice_source(invoice, as_of))
    language = invoice.document_language
    with force_locale(language):
        view = invoice_view(invoice, as_of or invoice.merchant.today())
        key = _inputs_fingerprint("documents/invoice.html", view, invoice.merchant, language)
        return _cached(
            key,
            lambda: _source("documents/invoice.html", view, invoice.merchant, language, _facturx(invoice)),
            "invoice",
            invoice.id,
            invoice.merchant_id,
            language,
        )


def credit_note_pdf(note: CreditNote) -> bytes:
    """Return the credit note's PDF, rendered once per content, language and branding."""
    language = note.document_language
    merchant = note.invoice.merchant
    with force_locale(language):
        view = credit_note_view(note)
        key = _inputs_fingerprint("documents/credit_note.html", view, merchant, language)
        return _cached(
            key,
            lambda: _source("documents/credit_note.html", view, merchant, language, _facturx(note)),
            "credit_note",
            note.id,
            note.merchant_id,
            language,
        )


def _cached(fingerprint: str, source, kind: str, document_id: int, merchant_id: int, language: str) -> bytes:
    """Return the stored PDF if its inputs' fingerprint matches, else render it from source() and store it.

    Flushed, not committed. The HTML is rendered only when the PDF is.
    """
    row = db.session.scalar(
        select(RenderedDocument).where(
            RenderedDocument.kind == kind,
            RenderedDocument.document_id == document_id,
            RenderedDocument.language == language,
        )
    )
    if row is not None and row.fingerprint == fingerprint:
        return row.pdf
    pdf = write_pdf(source())
    values = dict(fingerprint=fingerprint, pdf=pdf, size=len(pdf), rendered_at=utcnow())
    if row is not None:
        for name, value in values.items():
            setattr(row, name, value)
    else:
        # Two first downloads at once must not fail on the unique key: the later one wins.
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(
            dialect.insert(RenderedDocument)
            .values(kind=kind, document_id=document_id, language=language, merchant_id=merchant_id, **values)
            .on_conflict_do_update(index_elements=["kind", "document_id", "language"], set_=values)
        )
    db.session.flush()
    return pdf


def statement_pdf(statement, transfer=None, *, language: str | None = None) -> bytes:
    """Render a statement of account in the reader's language, branded like the invoices (never cached)."""
    from portal.domain.money import Money
    from portal.theming import logo_data_uri

    customer = statement.customer
    merchant = customer.merchant
    language = language or customer.language
    theme = merchant_theme(merchant)
    with force_locale(language):
        page = html.render(
            "documents/statement.html",
            statement=statement,
            seller=merchant.legal_identity,
            buyer=customer.legal_identity,
            logo=logo_data_uri(merchant),
            transfer=transfer,
            language=language,
            money_of=Money,
        )
    theme_css = theme_file(theme, "pdf.css")
    source = PdfSource(
        page,
        (BASE_STYLESHEET.read_text(), brand_css(merchant)),
        theme_css.as_uri() if theme_css else None,
        (THEMES_DIR / theme).as_uri() + "/",
    )
    return write_pdf(source)

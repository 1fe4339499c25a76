"""Hostile names, notes and brand settings make the PDF renderer fetch nothing: no network, no files."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest

from portal.documents.pdf import PdfSource, RestrictedURLFetcher, credit_note_pdf, invoice_pdf, write_pdf
from portal.services.einvoices import facturx_cii
from portal.theming import THEMES_DIR
from tests.factories import credit, line, make_customer, make_invoice, make_merchant

pytestmark = pytest.mark.usefixtures("ctx")

SECRET = "TOP-SECRET-7f3a9c"


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def payloads(secret_path, port: int) -> list[str]:
    return [
        f'<img src="file://{secret_path}">',
        f"<link rel=attachment href=file://{secret_path}>",
        f"<style>@import url(http://127.0.0.1:{port}/evil.css);</style>",
        '<div style="background: url(file:///dev/urandom)">x</div>',
        f'<img src="http://127.0.0.1:{port}/pixel.png">',
    ]


def touched(events, secret_path, port: int) -> list[tuple[str, str]]:
    """Return the opens of the secret or /dev/urandom, and the requests or connections to the trap."""
    return [
        (kind, what)
        for kind, what in events
        if (kind == "open" and (str(secret_path) in what or what == "/dev/urandom"))
        or (kind != "open" and str(port) in what)
    ]


def test_hostile_text_in_every_field_fetches_nothing(http_trap, audit_log, secret_file):
    port = http_trap.server_address[1]
    hostile = " ".join(payloads(secret_file, port))
    merchant = make_merchant(
        "Evil <b>Corp</b>",
        terms=hostile,
        support_email="x@example.com",
        primary_color="#fff;}*",
        accent_color="red}{@i",
        theme="../../../../etc",
    )
    customer = make_customer(merchant, name=hostile[:200])
    invoice = make_invoice(customer, lines=[line(hostile[:500])], notes=hostile)
    note = credit(invoice, 1000, date(2026, 1, 5), reason=hostile)

    audit_log.clear()  # from here on, only the rendering is watched
    pdfs = [invoice_pdf(invoice, as_of=date(2026, 3, 2)), credit_note_pdf(note)]

    assert http_trap.hits == []
    assert touched(audit_log, secret_file, port) == []
    for data, document in zip(pdfs, (invoice, note), strict=True):
        reader = pypdf.PdfReader(io.BytesIO(data))
        # The only file inside is the document's own e-invoice (Factur-X), the hostile text escaped in it.
        assert reader.attachments == {"factur-x.xml": [facturx_cii(document)]}
        assert SECRET.encode() not in reader.attachments["factur-x.xml"][0]
        text = "".join(page.extract_text() for page in reader.pages)
        assert SECRET not in text
        assert "<img src=" in text.replace("\n", " ")  # shown as text, never interpreted


def test_the_fetcher_refuses_files_outside_the_themes_and_every_network_url(http_trap, audit_log, secret_file):
    port = http_trap.server_address[1]
    page = f"<html><body><h1>Hostile</h1>{''.join(payloads(secret_file, port))}</body></html>"
    stylesheet = (
        f"@import url(http://127.0.0.1:{port}/more.css);"
        "@font-face { font-family: Evil; src: url(file:///dev/urandom); }"
        f"body {{ background: url(file://{secret_file}) }}"
    )
    source = PdfSource(page, (stylesheet,), None, (THEMES_DIR / "classic").as_uri() + "/")
    fetcher = RestrictedURLFetcher()
    audit_log.clear()

    data = write_pdf(source, fetcher)

    assert data.startswith(b"%PDF-")
    assert http_trap.hits == []
    assert touched(audit_log, secret_file, port) == []
    refused = " ".join(fetcher.refused)
    assert f"file://{secret_file}" in refused
    assert "file:///dev/urandom" in refused
    assert f"http://127.0.0.1:{port}/evil.css" in refused
    assert f"http://127.0.0.1:{port}/more.css" in refused
    assert f"http://127.0.0.1:{port}/pixel.png" in refused
    assert fetcher.served == []
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.attachments == {}
    assert not any(page.images for page in reader.pages)


def test_the_fetcher_serves_theme_assets_and_data_uris_only(tmp_path, secret_file):
    themes = tmp_path / "themes"
    (themes / "t").mkdir(parents=True)
    (themes / "t" / "pdf.css").write_text("h1 { color: red }")
    (themes / "t" / "notes.txt").write_text("not an asset")
    (themes / "t" / "escape.css").symlink_to(secret_file)
    fetcher = RestrictedURLFetcher(root=themes)

    response = fetcher.fetch((themes / "t" / "pdf.css").as_uri())
    assert response.read() == b"h1 { color: red }" and response.content_type == "text/css"
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"

    for url in [
        (themes / "t" / "escape.css").as_uri(),  # a symlink leading out of the folder
        (themes / "t" / "notes.txt").as_uri(),  # not an asset type
        (themes / "t" / ".." / ".." / "secret.txt").as_uri(),
        f"file://{themes}/t/%2e%2e/%2e%2e/secret.txt",
        f"file://evil.example{themes}/t/pdf.css",  # a remote file host
        "http://127.0.0.1:1/x.css",
        "https://example.com/x.css",
        "ftp://example.com/x.css",
        "javascript:alert(1)",
    ]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 9

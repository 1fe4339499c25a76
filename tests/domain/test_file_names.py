"""File names: no control or direction characters, and the extension of the type the bytes show."""

from __future__ import annotations

import pytest

from portal.domain.file_names import clean_file_name, name_for_type

PDF = "application/pdf"


@pytest.mark.parametrize(
    "name, cleaned",
    [
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # RIGHT-TO-LEFT OVERRIDE shows it as "invoiceexe.jpg"
        ("\u202aa\u202bb\u202cc\u202dd\u202ee.pdf", "abcde.pdf"),
        ("\u2066a\u2067b\u2068c\u2069d.pdf", "abcd.pdf"),
        ("a\u200eb\u200fc\u061cd.pdf", "abcd.pdf"),
        ("tab\there\x01\x1f\x7f\x85.pdf", "tabhere.pdf"),
        ("line\u2028para\u2029.pdf", "linepara.pdf"),
        ("C:\\Users\\me\\..\\plan.pdf", "plan.pdf"),
        ("../../etc/passwd", "passwd"),
        ("  .hidden.pdf. ", "hidden.pdf"),
        ("Facture été\u200d.pdf", "Facture été\u200d.pdf"),  # letters and joiners of any script stay
        ("e\u0301te\u0301.pdf", "été.pdf"),  # one form (NFC)
        ("\u202e", ""),
        (None, ""),
    ],
)
def test_clean_file_name(name, cleaned):
    assert clean_file_name(name) == cleaned


@pytest.mark.parametrize(
    "name, content_type, served",
    [
        ("x.exe", PDF, "x.pdf"),
        ("invoice\u202efdp.exe", PDF, "invoicefdp.pdf"),
        ("photo.PNG", "image/png", "photo.png"),
        ("photo.jpeg", "image/jpeg", "photo.jpg"),
        ("scan", PDF, "scan.pdf"),
        ("Report v1.2", PDF, "Report v1.2.pdf"),  # a version number is no extension
        (
            "report.final.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "report.final.docx",
        ),
        ("sheet.docx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "sheet.xlsx"),
        ("letter.doc", "application/msword", "letter.doc"),
        ("budget.txt", "application/vnd.ms-excel", "budget.xls"),
        (".pdf", PDF, "pdf.pdf"),  # no hidden files: the leading dot goes
        ("\u202e.exe", PDF, "exe.pdf"),
        ("\u202e", PDF, "attachment.pdf"),
        # Rows stored before the Office kinds were told apart keep one of their extensions.
        ("old.xls", "application/vnd.ms-office", "old.xls"),
        ("old.exe", "application/vnd.ms-office", "old.doc"),
        ("n" * 300 + ".exe", PDF, "n" * 196 + ".pdf"),
    ],
)
def test_the_served_name_has_the_detected_types_extension(name, content_type, served):
    assert name_for_type(name, content_type) == served

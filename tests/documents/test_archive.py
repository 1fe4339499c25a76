"""The zip bundle: flat, safely named members that cannot escape a folder."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from portal.documents.archive import build_zip, safe_filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoice-2026-0007.pdf", "invoice-2026-0007.pdf"),
        ("../../etc/passwd", "etc_passwd"),
        ("..\\..\\windows\\win.ini", "windows_win.ini"),
        ("/absolute/path.pdf", "absolute_path.pdf"),
        ("..", "file"),
        ("", "file"),
        (".hidden", "hidden"),
        ("a..b...pdf", "a.b.pdf"),
        ("Facture été 2026 (copie).pdf", "Facture_t_2026_copie_.pdf"),
        ("C:evil.pdf", "C_evil.pdf"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_zip_members_are_flat_unique_and_safe():
    data = build_zip(
        [
            ("invoice-1.pdf", b"a"),
            ("../../invoice-1.pdf", b"b"),
            ("/etc/passwd", b"c"),
            ("dir/sub/file.txt", b"d"),
        ]
    )

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == ["invoice-1.pdf", "invoice-1-2.pdf", "etc_passwd", "dir_sub_file.txt"]
        for name in names:
            assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert archive.read("invoice-1-2.pdf") == b"b"


def test_zip_members_carry_their_documents_date():
    data = build_zip([("invoice.pdf", b"a", date(2026, 1, 5)), ("note.txt", b"b", None)])

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        dates = [info.date_time for info in archive.infolist()]
    assert dates == [(2026, 1, 5, 0, 0, 0), (2000, 1, 1, 0, 0, 0)]

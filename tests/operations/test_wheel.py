"""The built wheel carries everything the portal needs and runs it from an empty directory."""

from __future__ import annotations

import zipfile

from portal.bundled import PACKAGE_DIR
from tests.operations.conftest import once_per_suite_run
from tests.operations.wheel_smoke import run_smoke


def test_the_installed_wheel_serves_pages_pdfs_and_mail(tmp_path):
    once_per_suite_run()
    report = run_smoke(tmp_path, light=True)

    with zipfile.ZipFile(report.wheel) as wheel:
        names = set(wheel.namelist())
    checkout = PACKAGE_DIR.parent
    # Every file of the package, templates, static files and stylesheets included.
    expected = {
        path.relative_to(checkout).as_posix()
        for path in PACKAGE_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert expected <= names, sorted(expected - names)
    for folder in ("themes", "migrations"):
        shipped = {p.relative_to(checkout).as_posix() for p in (checkout / folder).rglob("*") if p.is_file()}
        shipped = {name for name in shipped if "__pycache__" not in name}
        assert {"portal/" + name for name in shipped} <= names, folder
    catalogues = {p.parts[-3] for p in (checkout / "translations").glob("*/LC_MESSAGES/messages.po")}
    assert {f"portal/translations/{lang}/LC_MESSAGES/messages.mo" for lang in catalogues} <= names
    assert not any(name.startswith("tests/") or name.endswith(".po") for name in names)

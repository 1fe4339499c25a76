"""The built wheel carries everything the portal needs and runs it from an empty directory."""

from __future__ import annotations

import zipfile

from portal.bundled import PACKAGE_DIR
from tests.operations.conftest import once_per_suite_run
from tests.operations.wheel_smoke import run_smoke

# Files the wheel must carry besides Python modules, as they sit in the checkout.
PACKAGE_DATA = ("**/templates/**/*.html", "**/templates/**/*.txt", "**/static/*", "**/*.css")


def test_the_installed_wheel_serves_pages_pdfs_and_mail(tmp_path):
    once_per_suite_run()
    report = run_smoke(tmp_path, light=True)

    with zipfile.ZipFile(report.wheel) as wheel:
        names = set(wheel.namelist())
    checkout = PACKAGE_DIR.parent
    expected = {
        path.relative_to(checkout).as_posix()
        for pattern in PACKAGE_DATA
        for path in PACKAGE_DIR.glob(pattern)
        if "__pycache__" not in path.parts
    }
    assert expected <= names, sorted(expected - names)
    for folder in ("themes", "migrations"):
        shipped = {p.relative_to(checkout).as_posix() for p in (checkout / folder).rglob("*") if p.is_file()}
        shipped = {name for name in shipped if "__pycache__" not in name}
        assert {"portal/" + name for name in shipped} <= names, folder
    catalogues = {p.parts[-3] for p in (checkout / "translations").glob("*/LC_MESSAGES/messages.po")}
    assert {f"portal/translations/{lang}/LC_MESSAGES/messages.mo" for lang in catalogues} <= names
    assert not any(name.startswith("tests/") or name.endswith(".po") for name in names)

"""Build step beyond pyproject.toml: the wheel carries the folders kept beside portal/ in the repository.

themes/, translations/ and migrations/ stay at the top of the repository (translators, theme authors
and Alembic work there), but an installed portal needs them too: the build copies them into the
package as portal/themes, portal/translations and portal/migrations, compiling each messages.po into
the messages.mo Flask-Babel reads. portal/bundled.py finds them there at run time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Files never worth shipping: byte code, editor and OS debris, and .mo files compiled by hand.
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", ".*")


def compile_catalogues(source: Path, target: Path) -> None:
    """Compile every <lang>/LC_MESSAGES/messages.po under source into a .mo beside its copy in target."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo_path = (target / po_path.relative_to(source)).with_suffix(".mo")
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parts[-3])
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)


class BuildWithBundledFolders(build_py):
    """build_py, then the bundled folders copied into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, where the folders already are
        package = Path(self.build_lib) / "portal"
        for name in ("themes", "migrations"):
            shutil.rmtree(package / name, ignore_errors=True)
            shutil.copytree(ROOT / name, package / name, ignore=SKIPPED)
        shutil.rmtree(package / "translations", ignore_errors=True)
        compile_catalogues(ROOT / "translations", package / "translations")


setup(cmdclass={"build_py": BuildWithBundledFolders})

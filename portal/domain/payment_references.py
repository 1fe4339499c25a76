"""Structured payment references: Belgian OGM/VCS and ISO 11649 RF, made, shown and found in remittance text.

A reference is stored in its compact form: twelve digits for an OGM (``202600000746``),
``RF`` + check digits + body for an RF reference (``RF452026000007``). Both carry mod-97
check digits, so any one-digit typo fails validation and can never name another invoice.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator

from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

from portal.domain.errors import DomainError

#: Country codes (ISO 3166 alpha-2) whose merchants get the Belgian structured communication.
OGM_COUNTRIES = frozenset({"BE"})

# Year (4 digits) + sequence (6 digits) fill the OGM's ten-digit base.
_SEQUENCE_DIGITS = 6
_MAX_OGM_SEQUENCE = 10**_SEQUENCE_DIGITS - 1
_MAX_RF_BODY = 21

_INVOICE_NUMBER = re.compile(r"(\d{4})-(\d{1,18})")
# Free text: runs of digit groups joined by one separator each, e.g. "123/4567/89012", "1234 5678 9012".
_SEPARATOR = r"(?:[ ]{0,3}[/.\-][ ]{0,3}|[ ]{1,3})"
# The letters glued in front are captured so that an IBAN ("BE71 0961 2345 6769": a Belgian account
# number carries the same mod-97 check as an OGM) is not read as one.
_DIGIT_RUN = re.compile(rf"(?<![A-Za-z0-9])([A-Za-z]*)(\d+(?:{_SEPARATOR}\d+)*)")
_IBAN_HEAD = re.compile(r"[A-Z]{2}", re.IGNORECASE)
# "RF" + two check digits, then alphanumeric groups joined by one separator each.
_RF_RUN = re.compile(r"(?<![A-Z0-9])RF ?(\d\d)((?:[ \-.]?[A-Z0-9])+)", re.IGNORECASE)
_RF_GROUPS = re.compile(r"[A-Z0-9]+", re.IGNORECASE)
# No remittance field is longer than this; anything beyond is not read (bounds the work per entry).
MAX_TEXT_LENGTH = 2000


class ReferenceScheme(str, enum.Enum):  # noqa: UP042 (str() of a member must stay its value)
    """Which kind of structured reference a merchant's invoices carry."""

    OGM = "ogm"
    RF = "rf"


class ReferenceOverflow(DomainError):
    """Signal a sequence number too large for the ten-digit OGM base."""

    code = "reference_overflow"


def scheme_for_country(country: str | None) -> ReferenceScheme:
    """Return OGM for Belgian merchants, RF for everyone else."""
    return ReferenceScheme.OGM if (country or "").upper() in OGM_COUNTRIES else ReferenceScheme.RF


def _check_parts(year: int, sequence: int) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ValueError(f"year must be a four-digit int, not {year!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValueError(f"sequence must be a positive int, not {sequence!r}")


def ogm_reference(year: int, sequence: int) -> str:
    """Return the twelve-digit OGM of a merchant's invoice numbered year-sequence."""
    _check_parts(year, sequence)
    if sequence > _MAX_OGM_SEQUENCE:
        raise ReferenceOverflow(
            f"Invoice {year}-{sequence} does not fit a Belgian structured communication "
            f"(at most {_MAX_OGM_SEQUENCE:,} invoices a year)",
            "number",
        )
    base = f"{year:04d}{sequence:0{_SEQUENCE_DIGITS}d}"
    return base + ogm_vcs.calc_check_digits(base)


def rf_reference(year: int, sequence: int) -> str:
    """Return the compact ISO 11649 creditor reference of a merchant's invoice numbered year-sequence."""
    _check_parts(year, sequence)
    body = f"{year:04d}{sequence:0{_SEQUENCE_DIGITS}d}"
    # ISO 7064 mod 97-10 over body + "RF00": the check digits make the whole string ≡ 1 (mod 97).
    check = mod_97_10.calc_check_digits(body + "RF")
    return iso11649.validate(f"RF{check}{body}")


def make_reference(scheme: ReferenceScheme, year: int, sequence: int) -> str:
    """Return the compact reference of a merchant's invoice numbered year-sequence under the scheme."""
    if ReferenceScheme(scheme) is ReferenceScheme.OGM:
        return ogm_reference(year, sequence)
    return rf_reference(year, sequence)


def reference_for_number(scheme: ReferenceScheme, number: str) -> str:
    """Return the compact reference of an invoice numbered like "2026-0007" (the numbering service's form)."""
    match = _INVOICE_NUMBER.fullmatch(number or "")
    if match is None:
        raise ValueError(f"Not an invoice number of the form YYYY-NNNN: {number!r}")
    return make_reference(scheme, int(match.group(1)), int(match.group(2)))


def invoice_reference(country: str | None, number: str) -> str:
    """Return the reference an invoice is issued with, from its seller's country and its number.

    OGM for a Belgian seller, RF otherwise. An OGM holds a million invoices a year; beyond that the
    invoice gets an RF reference, which Belgian banks take too, rather than no reference at all.
    """
    try:
        return reference_for_number(scheme_for_country(country), number)
    except ReferenceOverflow:
        return reference_for_number(ReferenceScheme.RF, number)


def format_reference(reference: str) -> str:
    """Show a compact reference the way people write it: +++123/4567/89012+++ or RF18 5390 0754 7034."""
    if reference.upper().startswith("RF"):
        return iso11649.format(reference)
    return f"+++{ogm_vcs.format(reference)}+++"


def normalize_reference(text: str) -> str | None:
    """Return the compact form of one written reference, or None when its check digits fail."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    compact = re.sub(r"[\s+*/.\-]", "", text).upper()
    if compact.startswith("RF"):
        return compact if 5 <= len(compact) <= 25 and iso11649.is_valid(compact) else None
    if len(compact) == 12 and compact.isascii() and compact.isdigit():
        return _valid_ogm(compact)
    return None


def _valid_ogm(digits: str) -> str | None:
    try:
        return ogm_vcs.validate(digits)
    except ValidationError:
        return None


def _ogm_candidates(text: str) -> Iterator[str]:
    # Every window of whole digit groups holding exactly twelve digits: "+++123/4567/89012+++",
    # "123 4567 89012", "1234 5678 9012", "123456789012". Digits are never split mid-group, so a
    # longer number (an IBAN, an order id) is not searched for twelve-digit slices.
    for run in _DIGIT_RUN.finditer(text):
        if _IBAN_HEAD.fullmatch(run.group(1)):
            continue
        groups = re.split(_SEPARATOR, run.group(2))
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) >= 12:
                    break
            if len(digits) == 12:
                yield digits


def _rf_candidates(match: re.Match[str]) -> Iterator[str]:
    # The body's end is not marked in free text ("RF18 5390 0754 7034 thanks"): try each prefix of
    # whole groups up to the 21-character limit; the check digits say which one, if any, is a reference.
    head = "RF" + match.group(1)
    body = ""
    for group in _RF_GROUPS.findall(match.group(2)):
        body += group.upper()
        if len(body) > _MAX_RF_BODY:
            break
        yield head + body


def find_references(text: str | None) -> list[str]:
    """Return every valid reference written in free text, compact and once each: RF ones first, then OGMs."""
    if not text:
        return []
    text = text[:MAX_TEXT_LENGTH]
    found: dict[str, None] = {}
    for match in _RF_RUN.finditer(text):
        valid = [candidate for candidate in _rf_candidates(match) if iso11649.is_valid(candidate)]
        for candidate in valid:
            found.setdefault(candidate)
        if valid:
            # An RF reference's digits are not also read as an OGM.
            text = text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
    for candidate in _ogm_candidates(text):
        if _valid_ogm(candidate):
            found.setdefault(candidate)
    return list(found)

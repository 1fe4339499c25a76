"""Legal identifiers checked by their national rules: VAT and company numbers, countries, IBAN and BIC.

Each check returns the identifier in one canonical form (VAT numbers compact with their country
prefix, IBANs compact, company numbers as their register writes them) or raises InvalidIdentifier
naming the field, so the API can answer 422 with it and a form can mark it.
"""

from __future__ import annotations

import re

import pycountry
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import get_cc_module
from stdnum.be import vat as be_vat
from stdnum.de import handelsregisternummer
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.fr import siren, siret

from portal.domain.errors import DomainError

MAX_FREE_COMPANY_NUMBER = 50


class InvalidIdentifier(DomainError):
    """Signal a VAT number, company number, country, IBAN or BIC that fails its rules."""

    code = "invalid_identifier"


def check_country(value: str, field: str = "address.country") -> str:
    """Return the ISO 3166 alpha-2 code, upper-cased, of a real country."""
    code = (value or "").strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha() or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidIdentifier(f"{value!r} is not an ISO 3166 country code (two letters, e.g. BE)", field)
    return code


def _vat_module(prefix: str):
    if prefix.lower() in eu_vat.MEMBER_STATES or prefix == "EL":
        return eu_vat
    return get_cc_module(prefix.lower(), "vat") if prefix.isalpha() else None


def check_vat_number(value: str, field: str = "vat_number") -> str:
    """Return the VAT number compact with its country prefix (BE0477472701), its check digits verified."""
    compact = re.sub(r"[\s.\-/]", "", value or "").upper()
    prefix = compact[:2]
    module = _vat_module(prefix) if len(compact) > 2 else None
    if module is None:
        raise InvalidIdentifier("A VAT number starts with its country prefix (e.g. BE0477472701, FR40303265045)", field)
    # Some national formats include the prefix (CHE-…), others do not (GB…): try both.
    for candidate in (compact, compact[2:]) if module is not eu_vat else (compact,):
        try:
            number = module.validate(candidate)
        except ValidationError:
            continue
        return number if number.startswith(prefix) else prefix + number
    raise InvalidIdentifier(f"{value!r} is not a valid {prefix} VAT number", field)


def _belgian_enterprise_number(value: str, field: str) -> str:
    try:
        digits = be_vat.validate(value)
    except ValidationError:
        raise InvalidIdentifier(
            f"{value!r} is not a valid Belgian enterprise number (10 digits, e.g. 0477.472.701)", field
        ) from None
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def _french_company_number(value: str, field: str) -> str:
    digits = re.sub(r"\s", "", value)
    try:
        if len(digits) == 14:
            return siret.format(siret.validate(digits))
        return siren.format(siren.validate(digits))
    except ValidationError:
        raise InvalidIdentifier(f"{value!r} is not a valid SIREN (9 digits) or SIRET (14 digits)", field) from None


def _dutch_company_number(value: str, field: str) -> str:
    digits = re.sub(r"[\s.]", "", value)
    # The Chamber of Commerce number has eight digits and no check digit.
    if not re.fullmatch(r"\d{8}", digits):
        raise InvalidIdentifier(f"{value!r} is not a valid KvK number (8 digits)", field)
    return digits


def _german_company_number(value: str, field: str) -> str:
    try:
        return handelsregisternummer.validate(value)
    except ValidationError:
        raise InvalidIdentifier(
            f"{value!r} is not a valid Handelsregisternummer (court, register and number, e.g. Berlin (Charlottenburg) HRB 12345)",
            field,
        ) from None


_COMPANY_NUMBERS = {
    "BE": _belgian_enterprise_number,
    "FR": _french_company_number,
    "NL": _dutch_company_number,
    "DE": _german_company_number,
}


def check_company_number(value: str, country: str | None, field: str = "company_number") -> str:
    """Return the company register number in its national form, checked where the country has rules.

    Belgian enterprise numbers and French SIREN/SIRET carry check digits; Dutch KvK numbers and
    German register numbers have a fixed shape. Other countries' numbers are kept as written.
    """
    value = (value or "").strip()
    if not value:
        raise InvalidIdentifier("The company number is empty", field)
    check = _COMPANY_NUMBERS.get((country or "").upper())
    if check is not None:
        return check(value, field)
    if len(value) > MAX_FREE_COMPANY_NUMBER:
        raise InvalidIdentifier(f"A company number is at most {MAX_FREE_COMPANY_NUMBER} characters", field)
    return value


def check_iban(value: str, field: str = "iban") -> str:
    """Return the IBAN compact (BE68539007547034), its structure and check digits verified."""
    try:
        return IBAN(value or "").compact
    except SchwiftyException:
        raise InvalidIdentifier(f"{value!r} is not a valid IBAN", field) from None


def check_bic(value: str, field: str = "bic") -> str:
    """Return the BIC compact (GKCCBEBB), its structure and country verified."""
    try:
        return BIC(value or "").compact
    except SchwiftyException:
        raise InvalidIdentifier(f"{value!r} is not a valid BIC (8 or 11 characters, e.g. GKCCBEBB)", field) from None


def format_iban(iban: str) -> str:
    """Write an IBAN in groups of four, as printed on invoices."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def optional_text(value: str | None, field: str, limit: int) -> str | None:
    """Return the text trimmed, None when empty, refusing more than limit characters (never cut)."""
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidIdentifier(f"The {field.replace('_', ' ')} is at most {limit} characters", field)
    return value or None


def company_number_country(address_country: str | None, vat_number: str | None) -> str | None:
    """Return the country whose rules a company number follows: the address's, else the VAT prefix's."""
    if address_country:
        return address_country
    if vat_number:
        prefix = vat_number[:2]
        return "GR" if prefix == "EL" else prefix
    return None


def check_party_numbers(
    vat_number: str | None, company_number: str | None, country: str | None
) -> tuple[str | None, str | None]:
    """Return (VAT number, company number) checked and canonical, each None when not given."""
    vat = check_vat_number(vat_number) if (vat_number or "").strip() else None
    company = None
    if (company_number or "").strip():
        company = check_company_number(company_number, company_number_country(country, vat))
    return vat, company

"""Legal identifiers checked by their national rules (python-stdnum, schwifty), and the parties' shapes."""

from __future__ import annotations

import pytest

from portal.domain.identifiers import (
    InvalidIdentifier,
    check_bic,
    check_company_number,
    check_country,
    check_iban,
    check_vat_number,
    format_iban,
)
from portal.domain.parties import Address, Buyer, Seller, check_address


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("BE0477472701", "BE0477472701"),
        ("be 0477.472.701", "BE0477472701"),
        ("FR40303265045", "FR40303265045"),
        ("NL004495445B01", "NL004495445B01"),
        ("DE136695976", "DE136695976"),
        ("DE 136 695 976", "DE136695976"),
        ("EL094259216", "EL094259216"),
    ],
)
def test_valid_vat_numbers_are_kept_compact_with_their_prefix(given, canonical):
    assert check_vat_number(given) == canonical


@pytest.mark.parametrize(
    "given",
    ["BE0477472702", "FR40303265046", "NL004495446B01", "DE136695977", "0477472701", "XX123456789", "BE", ""],
)
def test_invalid_vat_numbers_are_refused_naming_the_field(given):
    with pytest.raises(InvalidIdentifier) as refused:
        check_vat_number(given, "buyer.vat_number")
    assert refused.value.field == "buyer.vat_number" and refused.value.code == "invalid_identifier"


@pytest.mark.parametrize(
    ("country", "given", "canonical"),
    [
        ("BE", "0477472701", "0477.472.701"),
        ("BE", "BE 0477.472.701", "0477.472.701"),
        ("FR", "732 829 320", "732 829 320"),
        ("FR", "73282932000074", "732 829 320 00074"),
        ("NL", "3423 6789", "34236789"),
        ("DE", "Berlin HRB 12345", "Berlin (Charlottenburg) HRB 12345"),
        ("US", "C0806592", "C0806592"),  # no national rules: kept as written
    ],
)
def test_valid_company_numbers_follow_their_register(country, given, canonical):
    assert check_company_number(given, country) == canonical


@pytest.mark.parametrize(
    ("country", "given"),
    [("BE", "0477472702"), ("FR", "732829321"), ("NL", "3423678"), ("DE", "HRB 12345"), ("US", "x" * 51)],
)
def test_invalid_company_numbers_are_refused(country, given):
    with pytest.raises(InvalidIdentifier) as refused:
        check_company_number(given, country)
    assert refused.value.field == "company_number"


def test_iban_and_bic_are_checked_by_schwifty():
    assert check_iban("BE68 5390 0754 7034") == "BE68539007547034"
    assert check_iban("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert format_iban("BE68539007547034") == "BE68 5390 0754 7034"
    assert check_bic("gkcc be bb") == "GKCCBEBB"
    for bad in ("BE68539007547035", "NL91ABNA0417164301", "BE68", "hello"):
        with pytest.raises(InvalidIdentifier) as refused:
            check_iban(bad)
        assert refused.value.field == "iban"
    for bad in ("GKCCXXBB", "GKCC", "GKCCBEBB1"):
        with pytest.raises(InvalidIdentifier) as refused:
            check_bic(bad)
        assert refused.value.field == "bic"


def test_addresses_are_complete_or_empty_and_name_real_countries():
    assert check_address(line1=" ", postal_code="", city=None, country="") is None
    assert check_address(line1="Rue Haute 1", postal_code="1000", city="Bruxelles", country="be") == Address(
        "Rue Haute 1", None, "1000", "Bruxelles", "BE"
    )
    with pytest.raises(InvalidIdentifier) as partial:
        check_address(line1="Rue Haute 1", postal_code="1000", city="", country="BE")
    assert partial.value.field == "address.city"
    with pytest.raises(InvalidIdentifier) as country:
        check_address(line1="Rue Haute 1", postal_code="1000", city="Bruxelles", country="XX")
    assert country.value.field == "address.country"
    assert check_country("nl") == "NL"


def test_parties_read_back_exactly_what_they_stored():
    seller = Seller(
        legal_name="Atelier Lumen SRL",
        address=Address("Rue Haute 112", "Box 2", "1000", "Bruxelles", "BE"),
        vat_number="BE0477472701",
        iban="BE68539007547034",
    )
    buyer = Buyer(name="Lena Schmidt", company="Schmidt Design GmbH", address=None, vat_number="DE136695976")
    assert Seller.from_json(seller.to_json()) == seller
    assert Buyer.from_json(buyer.to_json()) == buyer
    assert set(seller.to_json()) == {
        "legal_name",
        "address",
        "vat_number",
        "company_number",
        "email",
        "phone",
        "website",
        "iban",
        "bic",
    }
    assert set(buyer.to_json()) == {"name", "company", "address", "vat_number", "company_number", "email", "phone"}
    assert buyer.billed_name == "Schmidt Design GmbH" and buyer.attention == "Lena Schmidt"
    assert seller.missing() == []
    assert Seller(legal_name="", address=None).missing() == [
        "legal_name",
        "address.line1",
        "address.postal_code",
        "address.city",
        "address.country",
    ]

"""The EPC QR code decodes, with zbar as a banking app's scanner would, to the transfer's fields."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from portal.documents.epc_qr import CreditTransfer, epc_qr_code, epc_qr_data_uri, epc_qr_png
from portal.domain.money import Money
from portal.domain.payment_references import ogm_reference, rf_reference
from tests.bank.scanner import decode


def transfer(**overrides) -> CreditTransfer:
    fields = {
        "beneficiary": "Atelier Lumen SRL",
        "iban": "BE71 0961 2345 6769",
        "bic": "GKCCBEBB",
        "amount": Money(104986, "EUR"),
        "reference": ogm_reference(2026, 7),
    }
    return CreditTransfer(**{**fields, **overrides})


def test_every_field_decodes(tmp_path):
    lines = decode(epc_qr_png(transfer()), tmp_path)
    assert lines == [
        "BCD",  # service tag
        "002",  # version: BIC optional within the EEA
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        "GKCCBEBB",
        "Atelier Lumen SRL",
        "BE71096123456769",  # compact IBAN
        "EUR1049.86",
        "",  # purpose
        "202600000701",  # the reference, in the structured field
    ]


def test_rf_reference_no_bic_and_a_long_accented_name(tmp_path):
    name = "Société Coopérative des Éditions Numériques et Graphiques du Grand-Duché de Luxembourg"
    lines = decode(
        epc_qr_png(
            transfer(
                beneficiary=name,
                iban="LU28 0019 4006 4475 0000",
                bic=None,
                amount=Money(100000, "EUR"),
                reference=rf_reference(2026, 42),
            )
        ),
        tmp_path,
    )
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[4] == ""
    assert lines[5] == name[:70] and len(lines[5]) == 70
    assert lines[6] == "LU280019400644750000"
    assert lines[7].startswith("EUR") and Decimal(lines[7][3:]) == Decimal("1000.00")
    assert lines[9] == rf_reference(2026, 42)


def test_only_for_euros_within_the_standards_bounds():
    assert epc_qr_code(transfer(amount=Money(104986, "USD"))) is None
    assert epc_qr_png(transfer(amount=Money(0, "EUR"))) is None
    assert epc_qr_data_uri(transfer(amount=Money(100_000_000_000, "EUR"))) is None
    assert epc_qr_code(transfer(amount=Money(1, "EUR"))) is not None
    assert epc_qr_code(transfer(amount=Money(99_999_999_999, "EUR"))) is not None


def test_version_and_error_level_as_the_standard_requires():
    qr = epc_qr_code(transfer())
    assert qr.error == "M"
    assert qr.version <= 13


def test_data_uri_is_the_same_png(tmp_path):
    uri = epc_qr_data_uri(transfer())
    assert uri.startswith("data:image/png;base64,")
    png = base64.b64decode(uri.removeprefix("data:image/png;base64,"))
    assert png == epc_qr_png(transfer())
    assert decode(png, tmp_path)[7] == "EUR1049.86"


@pytest.mark.parametrize("minor, written", [(1, "EUR0.01"), (10, "EUR0.1"), (123456789, "EUR1234567.89")])
def test_amount_is_exact(minor, written, tmp_path):
    lines = decode(epc_qr_png(transfer(amount=Money(minor, "EUR"))), tmp_path)
    assert lines[7] == written
    assert Money.from_decimal(Decimal(lines[7][3:]), "EUR").minor == minor

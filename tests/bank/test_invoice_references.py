"""Finalize gives each invoice its structured payment reference, kept as issued whatever the merchant changes."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from stdnum import iso11649
from stdnum.be import ogm_vcs

from portal.domain.payment_references import ogm_reference, rf_reference
from portal.extensions import db
from portal.services import invoices
from tests.factories import make_customer, make_invoice, make_merchant

pytestmark = pytest.mark.usefixtures("ctx")

DUTCH = {"address_line1": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": "NL"}


def test_a_belgian_merchants_invoice_gets_an_ogm_at_finalize():
    customer = make_customer(make_merchant("Atelier", iban="BE68539007547034"))
    draft = make_invoice(customer, finalize=False)
    assert draft.payment_reference is None

    invoices.finalize_invoice(draft)

    assert draft.number == "2026-0001"
    assert draft.payment_reference == ogm_reference(2026, 1) == "202600000192"
    assert ogm_vcs.is_valid(draft.payment_reference)
    second = make_invoice(customer)
    assert second.payment_reference == ogm_reference(2026, 2)


def test_any_other_merchants_invoice_gets_an_rf_reference():
    customer = make_customer(make_merchant("Studio", **DUTCH))
    invoice = make_invoice(customer, issue_date=date(2025, 12, 30), due_date=date(2026, 1, 29))
    assert invoice.number == "2025-0001"
    assert invoice.payment_reference == rf_reference(2025, 1)
    assert iso11649.is_valid(invoice.payment_reference)


def test_the_reference_is_kept_as_issued_when_the_merchant_moves_and_changes_bank():
    merchant = make_merchant("Atelier", iban="BE68539007547034", bic="GKCCBEBB")
    customer = make_customer(merchant)
    issued = make_invoice(customer)
    reference = issued.payment_reference
    db.session.commit()

    for key, value in {**DUTCH, "iban": "NL91ABNA0417164300", "bic": "ABNANL2A"}.items():
        setattr(merchant, key, value)
    db.session.commit()
    db.session.expire_all()

    assert issued.payment_reference == reference == ogm_reference(2026, 1)
    assert issued.seller_party.iban == "BE68539007547034"
    # Invoices issued from now on are Dutch ones.
    assert make_invoice(customer).payment_reference == rf_reference(2026, 2)


def test_references_are_unique_per_merchant():
    first = make_invoice(make_customer(make_merchant("One")))
    other = make_invoice(make_customer(make_merchant("Two")))
    # Each merchant numbers from 2026-0001: the same reference, each in its own books.
    assert first.payment_reference == other.payment_reference
    db.session.commit()

    second = make_invoice(first.customer)
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        second.payment_reference = first.payment_reference
        db.session.flush()
    db.session.rollback()

"""Parties and documents for the e-invoice tests, built through the domain's arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.domain.invoices import Line
from portal.einvoice.document import Address, Buyer, EDocument, InvoiceReference, Seller, issued_document

BRUSSELS = Address(line1="Rue de la Loi 16", line2=None, postal_code="1000", city="Bruxelles", country="BE")

SELLER = Seller(
    legal_name="Atelier Dupont SRL",
    address=BRUSSELS,
    email="billing@atelier-dupont.example",
    vat_number="BE0403170701",
    company_number="0403.170.701",
    phone="+32 2 555 01 01",
    website="https://atelier-dupont.example",
    iban="BE71 0961 2345 6769",
    bic="GKCCBEBB",
)
SELLER_DE = Seller(
    legal_name="Müller Werkstatt GmbH",
    address=Address(line1="Friedrichstraße 12", line2=None, postal_code="10117", city="Berlin", country="DE"),
    email="rechnung@mueller.example",
    vat_number="DE136695976",
    phone="+49 30 1234567",
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
)
SELLER_NL = Seller(
    legal_name="Bakker Design B.V.",
    address=Address(line1="Keizersgracht 1", line2=None, postal_code="1015 CJ", city="Amsterdam", country="NL"),
    email="facturen@bakker.example",
    vat_number="NL853746333B01",
    company_number="12345678",
    iban="NL91ABNA0417164300",
)

BUYER_BE = Buyer(
    name="Jan Peeters",
    company="Peeters BV",
    email="jan@peeters.example",
    address=Address(line1="Meir 1", line2=None, postal_code="2000", city="Antwerpen", country="BE"),
    vat_number="BE 0417.497.106",
    company_number="0417497106",
)
BUYER_FR = Buyer(
    name="Claire Martin",
    company="Martin & Fils SARL",
    email="claire@martin.example",
    address=Address(line1="12 rue de Rivoli", line2=None, postal_code="75001", city="Paris", country="FR"),
    vat_number="FR40303265045",
    company_number="303265045",
)
BUYER_DE = Buyer(
    name="Anna Schmidt",
    company="Schmidt KG",
    email="anna@schmidt.example",
    address=Address(line1="Königsallee 5", line2=None, postal_code="40212", city="Düsseldorf", country="DE"),
    vat_number="DE136695976",
)
BUYER_NL = Buyer(
    name="Pieter de Vries",
    company="De Vries Bouw B.V.",
    email="pieter@devries.example",
    address=Address(line1="Coolsingel 40", line2=None, postal_code="3011 AD", city="Rotterdam", country="NL"),
    vat_number="NL853746333B01",
    company_number="87654321",
)
BUYER_US = Buyer(
    name="Sam Lee",
    company="Lee Imports Inc.",
    email="sam@lee.example",
    address=Address(line1="1 Market St", line2=None, postal_code="94105", city="San Francisco", country="US"),
    company_number="12-3456789",
)
#: A Belgian association: an enterprise number, no VAT number.
BUYER_NO_VAT = Buyer(
    name="Els Wouters",
    company="VZW De Kring",
    email="els@dekring.example",
    address=Address(line1="Kerkstraat 3", line2=None, postal_code="9000", city="Gent", country="BE"),
    company_number="0202.239.951",
)
#: A business whose address was never recorded.
BUYER_NO_ADDRESS = Buyer(
    name="Luc Maes", company="Maes Consult", address=None, email="luc@maes.example", vat_number="BE0477472701"
)
#: Consumers have no Peppol participant identifier: their electronic address is their email (EM).
CONSUMER = Buyer(
    name="Marie Dubois",
    company=None,
    email="marie@example.org",
    address=Address(line1="Avenue Louise 54", line2=None, postal_code="1050", city="Ixelles", country="BE"),
)
CONSUMER_NO_ADDRESS = Buyer(name="Tom Janssens", company=None, address=None, email="tom@example.org")

EXEMPTION_REASONS = {
    "E": "Exempt under article 44 of the Belgian VAT Code",
    "AE": "Reverse charge: VAT due by the customer (art. 196 Directive 2006/112/EC)",
    "K": "Intra-community supply of goods, art. 138 Directive 2006/112/EC",
    "G": "Export outside the EU, art. 146 Directive 2006/112/EC",
    "O": "Not subject to VAT: services supplied outside the scope of EU VAT",
}


def line(quantity="1", unit_amount=10000, rate="21", discount="0", description="Consulting", category=None) -> Line:
    return Line(
        description=description,
        quantity=Decimal(quantity),
        unit_amount=unit_amount,
        tax_rate=Decimal(rate),
        discount_percent=Decimal(discount),
        tax_category=category,
    )


def invoice(
    lines: list[Line],
    *,
    seller: Seller = SELLER,
    buyer: Buyer = BUYER_BE,
    currency: str = "EUR",
    discount: str = "0",
    kind: str = "invoice",
    number: str = "2026-0007",
    **details,
) -> EDocument:
    defaults = dict(
        issue_date=date(2026, 1, 15),
        due_date=None if kind == "credit_note" else date(2026, 2, 14),
        supply_date=date(2026, 1, 12),
        payment_reference=None if kind == "credit_note" else "+++090/9337/55493+++",
        terms="Payable within 30 days. Late payment: 12 % interest a year and a 40.00 EUR fixed fee.",
        exemption_reasons=EXEMPTION_REASONS,
    )
    if kind == "credit_note":
        defaults["corrected_invoice"] = InvoiceReference("2026-0007", date(2026, 1, 15))
    defaults.update(details)
    return issued_document(
        kind=kind,
        number=number,
        currency=currency,
        seller=seller,
        buyer=buyer,
        lines=lines,
        discount_percent=Decimal(discount),
        **defaults,
    )

"""Peppol BIS Billing 3.0: the UBL 2.1 Invoice or CreditNote of a document as issued."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from portal.einvoice import en16931
from portal.einvoice.document import Address, EDocument, NotOnPeppol

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CONTENT_TYPE = "application/xml"


def _cbc(parent: etree._Element, name: str, text: object, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    element.text = str(text)
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


class _Writer:
    """Write one document; the element order follows the UBL 2.1 schema."""

    def __init__(self, document: EDocument) -> None:
        self.doc = document
        self.currency = document.currency
        self.states_vat_numbers = en16931.states_vat_numbers(document)

    def amount(self, parent: etree._Element, name: str, minor: int) -> etree._Element:
        return _cbc(parent, name, en16931.amount_text(minor, self.currency), currencyID=self.currency)

    def price(self, parent: etree._Element, name: str, value: Decimal) -> etree._Element:
        return _cbc(parent, name, en16931.decimal_text(value), currencyID=self.currency)

    def write(self) -> bytes:
        doc = self.doc
        credit = doc.is_credit_note
        root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
        root = etree.Element(
            f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}", nsmap={None: root_ns, "cac": CAC, "cbc": CBC}
        )
        _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
        _cbc(root, "ProfileID", PROFILE_ID)
        _cbc(root, "ID", doc.number)
        _cbc(root, "IssueDate", doc.issue_date.isoformat())
        if doc.due_date and not credit:
            _cbc(root, "DueDate", doc.due_date.isoformat())
        _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", en16931.TYPE_CODES[doc.kind])
        if doc.note:
            # PEPPOL-EN16931-R002: one document-level note at most.
            _cbc(root, "Note", doc.note)
        _cbc(root, "DocumentCurrencyCode", self.currency)
        _cbc(root, "BuyerReference", doc.buyer_reference or doc.number)
        if doc.corrected_invoice:
            reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
            _cbc(reference, "ID", doc.corrected_invoice.number)
            _cbc(reference, "IssueDate", doc.corrected_invoice.issue_date.isoformat())
        self.seller(_cac(_cac(root, "AccountingSupplierParty"), "Party"))
        self.buyer(_cac(_cac(root, "AccountingCustomerParty"), "Party"))
        self.delivery(root)
        self.payment(root)
        self.document_allowances(root)
        self.tax_total(root)
        self.totals(_cac(root, "LegalMonetaryTotal"))
        for position, line in enumerate(doc.lines, start=1):
            self.line(root, position, line)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def address(self, parent: etree._Element, address: Address, name: str = "PostalAddress") -> None:
        element = _cac(parent, name)
        if address.line1:
            _cbc(element, "StreetName", address.line1)
        if address.line2:
            _cbc(element, "AdditionalStreetName", address.line2)
        if address.city:
            _cbc(element, "CityName", address.city)
        if address.postal_code:
            _cbc(element, "PostalZone", address.postal_code)
        _cbc(_cac(element, "Country"), "IdentificationCode", address.country)

    def endpoint(self, party: etree._Element, role: str, country: str, company: str | None, vat: str | None):
        found = en16931.peppol_endpoint(country, company, vat)
        if found is None:
            # PEPPOL-EN16931-R010/R020 and CL008: both parties need a participant identifier, and Peppol
            # lists no scheme for an email address; consumers are not on Peppol (their Factur-X PDF is).
            raise NotOnPeppol(
                f"Peppol BIS Billing 3.0 addresses the {role} by a company or VAT number, and it has neither", role
            )
        scheme, value = found
        _cbc(party, "EndpointID", value, schemeID=scheme)

    def tax_scheme(self, party: etree._Element, vat_number: str, country: str) -> None:
        scheme = _cac(party, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", en16931.vat_identifier(vat_number, country))
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")

    def legal_entity(self, party: etree._Element, name: str, company_number: str | None, country: str) -> None:
        entity = _cac(party, "PartyLegalEntity")
        _cbc(entity, "RegistrationName", name)
        registration = en16931.legal_registration(company_number, country)
        if registration:
            number, scheme = registration
            _cbc(entity, "CompanyID", number, **({"schemeID": scheme} if scheme else {}))

    def seller(self, party: etree._Element) -> None:
        seller = self.doc.seller
        country = seller.address.country
        self.endpoint(party, "seller", country, seller.company_number, seller.vat_number)
        if seller.vat_number and not self.states_vat_numbers and not seller.company_number:
            # Without its VAT number the seller still needs an identifier (BR-CO-26).
            _cbc(_cac(party, "PartyIdentification"), "ID", en16931.vat_identifier(seller.vat_number, country))
        _cbc(_cac(party, "PartyName"), "Name", seller.legal_name)
        self.address(party, seller.address)
        if seller.vat_number and self.states_vat_numbers:
            self.tax_scheme(party, seller.vat_number, country)
        self.legal_entity(party, seller.legal_name, seller.company_number, country)
        contact = _cac(party, "Contact")
        _cbc(contact, "Name", seller.legal_name)
        if seller.phone:
            _cbc(contact, "Telephone", seller.phone)
        if seller.email:
            _cbc(contact, "ElectronicMail", seller.email)

    def buyer(self, party: etree._Element) -> None:
        buyer = self.doc.buyer
        address = en16931.buyer_address(self.doc)
        self.endpoint(party, "buyer", address.country, buyer.company_number, buyer.vat_number)
        _cbc(_cac(party, "PartyName"), "Name", buyer.billed_name)
        self.address(party, address)
        if buyer.vat_number and self.states_vat_numbers:
            self.tax_scheme(party, buyer.vat_number, address.country)
        self.legal_entity(party, buyer.billed_name, buyer.company_number, address.country)
        if buyer.email or buyer.phone or buyer.company:
            contact = _cac(party, "Contact")
            if buyer.company:
                _cbc(contact, "Name", buyer.name)
            if buyer.phone:
                _cbc(contact, "Telephone", buyer.phone)
            if buyer.email:
                _cbc(contact, "ElectronicMail", buyer.email)

    def delivery(self, root: etree._Element) -> None:
        doc = self.doc
        intra_community = "K" in doc.categories
        if not (doc.supply_date or intra_community):
            return
        delivery = _cac(root, "Delivery")
        # BR-IC-11: an intra-community supply states when it happened.
        _cbc(delivery, "ActualDeliveryDate", (doc.supply_date or doc.issue_date).isoformat())
        if intra_community:
            # BR-IC-12: and the country it went to.
            self.address(_cac(delivery, "DeliveryLocation"), en16931.buyer_address(self.doc), "Address")

    def payment(self, root: etree._Element) -> None:
        doc = self.doc
        seller = doc.seller
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", en16931.payment_means_code(seller.iban, self.currency))
        if doc.payment_reference and not doc.is_credit_note:
            _cbc(means, "PaymentID", en16931.payment_id(doc.payment_reference))
        if seller.iban:
            account = _cac(means, "PayeeFinancialAccount")
            _cbc(account, "ID", en16931.compact_iban(seller.iban))
            _cbc(account, "Name", seller.legal_name)
            if seller.bic:
                _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", seller.bic.replace(" ", "").upper())
        terms = en16931.payment_terms(doc)
        if terms:
            _cbc(_cac(root, "PaymentTerms"), "Note", terms)

    def tax_category(self, parent: etree._Element, name: str, category: str, rate: Decimal) -> etree._Element:
        element = _cac(parent, name)
        _cbc(element, "ID", category)
        if en16931.states_rate(category):
            _cbc(element, "Percent", en16931.decimal_text(rate))
        return element

    def document_allowances(self, root: etree._Element) -> None:
        for allowance in en16931.document_allowances(self.doc):
            element = _cac(root, "AllowanceCharge")
            _cbc(element, "ChargeIndicator", "false")
            _cbc(element, "AllowanceChargeReasonCode", en16931.DISCOUNT_REASON_CODE)
            _cbc(element, "AllowanceChargeReason", en16931.DISCOUNT_REASON)
            if allowance.percent is not None:
                _cbc(element, "MultiplierFactorNumeric", en16931.decimal_text(allowance.percent))
            self.amount(element, "Amount", allowance.amount)
            if allowance.base is not None:
                self.amount(element, "BaseAmount", allowance.base)
            category = self.tax_category(element, "TaxCategory", allowance.category, allowance.rate)
            _cbc(_cac(category, "TaxScheme"), "ID", "VAT")

    def tax_total(self, root: etree._Element) -> None:
        total = _cac(root, "TaxTotal")
        self.amount(total, "TaxAmount", self.doc.tax)
        for group in self.doc.taxes:
            subtotal = _cac(total, "TaxSubtotal")
            self.amount(subtotal, "TaxableAmount", group.base)
            self.amount(subtotal, "TaxAmount", group.amount)
            category = self.tax_category(subtotal, "TaxCategory", group.category, group.rate)
            text, code = en16931.exemption(group)
            if code:
                _cbc(category, "TaxExemptionReasonCode", code)
            if text:
                _cbc(category, "TaxExemptionReason", text)
            _cbc(_cac(category, "TaxScheme"), "ID", "VAT")

    def totals(self, element: etree._Element) -> None:
        doc = self.doc
        self.amount(element, "LineExtensionAmount", doc.subtotal)
        self.amount(element, "TaxExclusiveAmount", doc.net)
        self.amount(element, "TaxInclusiveAmount", doc.total)
        if doc.discount:
            self.amount(element, "AllowanceTotalAmount", doc.discount)
        # What was issued is what is payable: payments, credits and late charges are not part of it.
        self.amount(element, "PayableAmount", doc.total)

    def line(self, root: etree._Element, position: int, line) -> None:
        credit = self.doc.is_credit_note
        terms = en16931.line_terms(line, self.currency)
        element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(element, "ID", position)
        _cbc(
            element,
            "CreditedQuantity" if credit else "InvoicedQuantity",
            en16931.decimal_text(line.quantity),
            unitCode=en16931.UNIT_CODE,
        )
        self.amount(element, "LineExtensionAmount", line.net)
        if terms.allowance:
            allowance = _cac(element, "AllowanceCharge")
            _cbc(allowance, "ChargeIndicator", "false")
            _cbc(allowance, "AllowanceChargeReasonCode", en16931.DISCOUNT_REASON_CODE)
            _cbc(allowance, "AllowanceChargeReason", en16931.DISCOUNT_REASON)
            if terms.allowance_percent is not None:
                _cbc(allowance, "MultiplierFactorNumeric", en16931.decimal_text(terms.allowance_percent))
            self.amount(allowance, "Amount", terms.allowance)
            if terms.allowance_base is not None:
                self.amount(allowance, "BaseAmount", terms.allowance_base)
        item = _cac(element, "Item")
        name, description = en16931.item_name(line.description)
        if description:
            _cbc(item, "Description", description)
        _cbc(item, "Name", name)
        category = self.tax_category(item, "ClassifiedTaxCategory", line.tax_category, line.tax_rate)
        _cbc(_cac(category, "TaxScheme"), "ID", "VAT")
        price = _cac(element, "Price")
        self.price(price, "PriceAmount", terms.price)
        if terms.gross_price is not None:
            discount = _cac(price, "AllowanceCharge")
            _cbc(discount, "ChargeIndicator", "false")
            self.price(discount, "Amount", terms.price_discount)
            self.price(discount, "BaseAmount", terms.gross_price)


def ubl_xml(document: EDocument) -> bytes:
    """Return the Peppol BIS Billing 3.0 UBL Invoice (or CreditNote) of the document, UTF-8 encoded."""
    return _Writer(document).write()

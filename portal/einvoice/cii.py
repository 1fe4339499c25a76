"""UN/CEFACT Cross Industry Invoice (D16B), Factur-X EN 16931 profile: the XML inside a Factur-X PDF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from portal.einvoice import en16931
from portal.einvoice.document import Address, EDocument

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
#: The EN 16931 profile's guideline identifier (Factur-X and ZUGFeRD "EN 16931", formerly COMFORT).
GUIDELINE_ID = "urn:cen.eu:en16931:2017"


def _ram(parent: etree._Element, name: str, text: object = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{name}", attributes)
    if text is not None:
        element.text = str(text)
    return element


def _date(parent: etree._Element, name: str, value: date, namespace: str = UDT) -> None:
    holder = _ram(parent, name)
    element = etree.SubElement(holder, f"{{{namespace}}}DateTimeString", format="102")
    element.text = value.strftime("%Y%m%d")


def _indicator(parent: etree._Element, value: bool) -> None:
    element = etree.SubElement(_ram(parent, "ChargeIndicator"), f"{{{UDT}}}Indicator")
    element.text = "true" if value else "false"


class _Writer:
    """Write one document; the element order follows the Factur-X EN 16931 schema."""

    def __init__(self, document: EDocument) -> None:
        self.doc = document
        self.currency = document.currency
        self.states_vat_numbers = en16931.states_vat_numbers(document)

    def amount(self, parent: etree._Element, name: str, minor: int, **attributes: str) -> None:
        _ram(parent, name, en16931.amount_text(minor, self.currency), **attributes)

    def write(self) -> bytes:
        doc = self.doc
        root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "qdt": QDT, "udt": UDT})
        context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
        _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE_ID)
        header = etree.SubElement(root, f"{{{RSM}}}ExchangedDocument")
        _ram(header, "ID", doc.number)
        _ram(header, "TypeCode", en16931.TYPE_CODES[doc.kind])
        _date(header, "IssueDateTime", doc.issue_date)
        if doc.note:
            _ram(_ram(header, "IncludedNote"), "Content", doc.note)
        transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
        for position, line in enumerate(doc.lines, start=1):
            self.line(transaction, position, line)
        agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
        _ram(agreement, "BuyerReference", doc.buyer_reference or doc.number)
        self.seller(_ram(agreement, "SellerTradeParty"))
        self.buyer(_ram(agreement, "BuyerTradeParty"))
        self.delivery(_ram(transaction, "ApplicableHeaderTradeDelivery"))
        self.settlement(_ram(transaction, "ApplicableHeaderTradeSettlement"))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def line(self, transaction: etree._Element, position: int, line) -> None:
        terms = en16931.line_terms(line, self.currency)
        item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
        _ram(_ram(item, "AssociatedDocumentLineDocument"), "LineID", position)
        product = _ram(item, "SpecifiedTradeProduct")
        name, description = en16931.item_name(line.description)
        _ram(product, "Name", name)
        if description:
            _ram(product, "Description", description)
        agreement = _ram(item, "SpecifiedLineTradeAgreement")
        if terms.gross_price is not None:
            gross = _ram(agreement, "GrossPriceProductTradePrice")
            _ram(gross, "ChargeAmount", en16931.decimal_text(terms.gross_price))
            discount = _ram(gross, "AppliedTradeAllowanceCharge")
            _indicator(discount, False)
            _ram(discount, "ActualAmount", en16931.decimal_text(terms.price_discount))
        _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", en16931.decimal_text(terms.price))
        _ram(
            _ram(item, "SpecifiedLineTradeDelivery"),
            "BilledQuantity",
            en16931.decimal_text(line.quantity),
            unitCode=en16931.UNIT_CODE,
        )
        settlement = _ram(item, "SpecifiedLineTradeSettlement")
        self.tax(settlement, "ApplicableTradeTax", line.tax_category, line.tax_rate)
        if terms.allowance:
            allowance = _ram(settlement, "SpecifiedTradeAllowanceCharge")
            _indicator(allowance, False)
            if terms.allowance_percent is not None:
                _ram(allowance, "CalculationPercent", en16931.decimal_text(terms.allowance_percent))
                self.amount(allowance, "BasisAmount", terms.allowance_base)
            self.amount(allowance, "ActualAmount", terms.allowance)
            _ram(allowance, "ReasonCode", en16931.DISCOUNT_REASON_CODE)
            _ram(allowance, "Reason", en16931.DISCOUNT_REASON)
        self.amount(_ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation"), "LineTotalAmount", line.net)

    def tax(self, parent: etree._Element, name: str, category: str, rate: Decimal) -> etree._Element:
        tax = _ram(parent, name)
        _ram(tax, "TypeCode", "VAT")
        _ram(tax, "CategoryCode", category)
        if en16931.states_rate(category):
            _ram(tax, "RateApplicablePercent", en16931.decimal_text(rate))
        return tax

    def address(self, parent: etree._Element, address: Address) -> None:
        element = _ram(parent, "PostalTradeAddress")
        if address.postal_code:
            _ram(element, "PostcodeCode", address.postal_code)
        if address.line1:
            _ram(element, "LineOne", address.line1)
        if address.line2:
            _ram(element, "LineTwo", address.line2)
        if address.city:
            _ram(element, "CityName", address.city)
        _ram(element, "CountryID", address.country)

    def legal_organization(self, party: etree._Element, company_number: str | None, country: str) -> None:
        registration = en16931.legal_registration(company_number, country)
        if registration:
            number, scheme = registration
            _ram(_ram(party, "SpecifiedLegalOrganization"), "ID", number, **({"schemeID": scheme} if scheme else {}))

    def electronic_address(self, party, country: str, company: str | None, vat: str | None, email: str | None):
        # Optional in EN 16931 (BT-34, BT-49): stated when the party has an identifier or an email.
        found = en16931.endpoint(country, company, vat, email)
        if found is not None:
            scheme, value = found
            _ram(_ram(party, "URIUniversalCommunication"), "URIID", value, schemeID=scheme)

    def vat(self, party: etree._Element, vat_number: str | None, country: str) -> None:
        if vat_number and self.states_vat_numbers:
            _ram(
                _ram(party, "SpecifiedTaxRegistration"),
                "ID",
                en16931.vat_identifier(vat_number, country),
                schemeID="VA",
            )

    def seller(self, party: etree._Element) -> None:
        seller = self.doc.seller
        country = seller.address.country
        if seller.vat_number and not self.states_vat_numbers and not seller.company_number:
            # Without its VAT number the seller still needs an identifier (BR-CO-26).
            _ram(party, "ID", en16931.vat_identifier(seller.vat_number, country))
        _ram(party, "Name", seller.legal_name)
        self.legal_organization(party, seller.company_number, country)
        contact = _ram(party, "DefinedTradeContact")
        _ram(contact, "PersonName", seller.legal_name)
        if seller.phone:
            _ram(_ram(contact, "TelephoneUniversalCommunication"), "CompleteNumber", seller.phone)
        if seller.email:
            _ram(_ram(contact, "EmailURIUniversalCommunication"), "URIID", seller.email)
        self.address(party, seller.address)
        self.electronic_address(party, country, seller.company_number, seller.vat_number, seller.email)
        self.vat(party, seller.vat_number, country)

    def buyer(self, party: etree._Element) -> None:
        buyer = self.doc.buyer
        address = en16931.buyer_address(self.doc)
        _ram(party, "Name", buyer.billed_name)
        self.legal_organization(party, buyer.company_number, address.country)
        if buyer.company or buyer.phone or buyer.email:
            contact = _ram(party, "DefinedTradeContact")
            if buyer.company:
                _ram(contact, "PersonName", buyer.name)
            if buyer.phone:
                _ram(_ram(contact, "TelephoneUniversalCommunication"), "CompleteNumber", buyer.phone)
            if buyer.email:
                _ram(_ram(contact, "EmailURIUniversalCommunication"), "URIID", buyer.email)
        self.address(party, address)
        self.electronic_address(party, address.country, buyer.company_number, buyer.vat_number, buyer.email)
        self.vat(party, buyer.vat_number, address.country)

    def delivery(self, delivery: etree._Element) -> None:
        doc = self.doc
        intra_community = "K" in doc.categories
        if intra_community:
            # BR-IC-12: an intra-community supply states the country it went to…
            ship_to = _ram(delivery, "ShipToTradeParty")
            self.address(ship_to, en16931.buyer_address(self.doc))
        if doc.supply_date or intra_community:
            # …and when it happened (BR-IC-11).
            event = _ram(delivery, "ActualDeliverySupplyChainEvent")
            _date(event, "OccurrenceDateTime", doc.supply_date or doc.issue_date)

    def settlement(self, settlement: etree._Element) -> None:
        doc = self.doc
        seller = doc.seller
        if doc.payment_reference and not doc.is_credit_note:
            _ram(settlement, "PaymentReference", en16931.payment_id(doc.payment_reference))
        _ram(settlement, "InvoiceCurrencyCode", self.currency)
        means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _ram(means, "TypeCode", en16931.payment_means_code(seller.iban, self.currency))
        if seller.iban:
            account = _ram(means, "PayeePartyCreditorFinancialAccount")
            _ram(account, "IBANID", en16931.compact_iban(seller.iban))
            _ram(account, "AccountName", seller.legal_name)
            if seller.bic:
                _ram(
                    _ram(means, "PayeeSpecifiedCreditorFinancialInstitution"),
                    "BICID",
                    seller.bic.replace(" ", "").upper(),
                )
        for group in doc.taxes:
            tax = _ram(settlement, "ApplicableTradeTax")
            self.amount(tax, "CalculatedAmount", group.amount)
            _ram(tax, "TypeCode", "VAT")
            text, code = en16931.exemption(group)
            if text:
                _ram(tax, "ExemptionReason", text)
            self.amount(tax, "BasisAmount", group.base)
            _ram(tax, "CategoryCode", group.category)
            if code:
                _ram(tax, "ExemptionReasonCode", code)
            if en16931.states_rate(group.category):
                _ram(tax, "RateApplicablePercent", en16931.decimal_text(group.rate))
        for allowance in en16931.document_allowances(doc):
            element = _ram(settlement, "SpecifiedTradeAllowanceCharge")
            _indicator(element, False)
            if allowance.percent is not None:
                _ram(element, "CalculationPercent", en16931.decimal_text(allowance.percent))
                self.amount(element, "BasisAmount", allowance.base)
            self.amount(element, "ActualAmount", allowance.amount)
            _ram(element, "ReasonCode", en16931.DISCOUNT_REASON_CODE)
            _ram(element, "Reason", en16931.DISCOUNT_REASON)
            self.tax(element, "CategoryTradeTax", allowance.category, allowance.rate)
        terms = en16931.payment_terms(doc)
        due_date = None if doc.is_credit_note else doc.due_date
        if terms or due_date:
            payment_terms = _ram(settlement, "SpecifiedTradePaymentTerms")
            if terms:
                _ram(payment_terms, "Description", terms)
            if due_date:
                _date(payment_terms, "DueDateDateTime", due_date)
        totals = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
        self.amount(totals, "LineTotalAmount", doc.subtotal)
        if doc.discount:
            self.amount(totals, "AllowanceTotalAmount", doc.discount)
        self.amount(totals, "TaxBasisTotalAmount", doc.net)
        self.amount(totals, "TaxTotalAmount", doc.tax, currencyID=self.currency)
        self.amount(totals, "GrandTotalAmount", doc.total)
        # What was issued is what is payable: payments, credits and late charges are not part of it.
        self.amount(totals, "DuePayableAmount", doc.total)
        if doc.corrected_invoice:
            reference = _ram(settlement, "InvoiceReferencedDocument")
            _ram(reference, "IssuerAssignedID", doc.corrected_invoice.number)
            _date(reference, "FormattedIssueDateTime", doc.corrected_invoice.issue_date, namespace=QDT)


def cii_xml(document: EDocument) -> bytes:
    """Return the Factur-X (EN 16931 profile) CII XML of the document, UTF-8 encoded."""
    return _Writer(document).write()

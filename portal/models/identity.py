"""Legal identities: the columns merchants (seller) and customers (buyer) share, and what documents keep of them."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.parties import Address, Buyer, Seller
from portal.domain.vat import TaxCategory, exemption_reasons


class IdentityColumns:
    """A postal address with VAT and company numbers, as art. 226 of the VAT Directive asks of both parties."""

    #: First address line (street and number); NULL when no address is known.
    address_line1: Mapped[str | None] = mapped_column(String(200))
    #: Second address line (building, box), optional.
    address_line2: Mapped[str | None] = mapped_column(String(200))
    #: Postal code as the country writes it.
    postal_code: Mapped[str | None] = mapped_column(String(20))
    #: Town or city.
    city: Mapped[str | None] = mapped_column(String(100))
    #: ISO 3166 alpha-2 country code, upper case.
    country: Mapped[str | None] = mapped_column(String(2))
    #: VAT number with its country prefix, compact (BE0477472701), checked by its national rules.
    vat_number: Mapped[str | None] = mapped_column(String(20))
    #: Company register number in its national form (BE enterprise number, SIREN, KvK, HRB …).
    company_number: Mapped[str | None] = mapped_column(String(60))
    #: Telephone number as written by staff.
    phone: Mapped[str | None] = mapped_column(String(40))

    @property
    def address(self) -> Address | None:
        """Return the postal address, or None when no line of it is known."""
        if not any((self.address_line1, self.postal_code, self.city, self.country)):
            return None
        return Address(
            line1=self.address_line1 or "",
            line2=self.address_line2 or None,
            postal_code=self.postal_code or "",
            city=self.city or "",
            country=self.country or "",
        )

    def set_address(self, address: Address | None) -> None:
        """Store an address (None clears it)."""
        self.address_line1 = address.line1 if address else None
        self.address_line2 = (address.line2 or None) if address else None
        self.postal_code = address.postal_code if address else None
        self.city = address.city if address else None
        self.country = address.country if address else None


class IssuedDocumentColumns:
    """What a finalized document keeps of the moment it was issued, so later edits never reach it.

    NULL on a draft invoice, which shows the live merchant and customer instead (what it would say if
    finalized now); set once when the document is finalized and never changed afterwards.
    """

    #: The seller as issued, shaped as the API's `seller`: {legal_name, address: {line1, line2,
    #: postal_code, city, country}, vat_number, company_number, email, phone, website, iban, bic}.
    seller: Mapped[dict | None] = mapped_column(JSON)
    #: The buyer as issued, shaped as the API's `buyer`: {name, company, address, vat_number,
    #: company_number, email, phone}; absent values are null.
    buyer: Mapped[dict | None] = mapped_column(JSON)
    #: The language the document was issued in (PDF and mail); en, fr, nl or de.
    language: Mapped[str | None] = mapped_column(String(8))
    #: The wording stating why no VAT is charged, per category code ({"AE": "Btw verlegd"}). On a
    #: draft invoice: staff's overrides only (the legal default applies to the rest).
    exemption_reasons: Mapped[dict | None] = mapped_column(JSON)

    def _live_seller(self) -> Seller:
        raise NotImplementedError

    def _live_buyer(self) -> Buyer:
        raise NotImplementedError

    def _live_language(self) -> str:
        raise NotImplementedError

    @property
    def is_issued(self) -> bool:
        """Tell whether the snapshot was taken (the document is finalized)."""
        return self.seller is not None

    @property
    def seller_party(self) -> Seller:
        """Return the seller the document shows: the snapshot, or the live merchant on a draft."""
        return Seller.from_json(self.seller) if self.seller is not None else self._live_seller()

    @property
    def buyer_party(self) -> Buyer:
        """Return the buyer the document shows: the snapshot, or the live customer on a draft."""
        return Buyer.from_json(self.buyer) if self.buyer is not None else self._live_buyer()

    @property
    def document_language(self) -> str:
        """Return the language of the document's PDF and mail."""
        return self.language or self._live_language()

    @property
    def document_exemption_reasons(self) -> dict[str, str]:
        """Return the exemption wording the document shows, per category code, in display order."""
        if self.is_issued:
            return dict(self.exemption_reasons or {})
        categories = {TaxCategory(line.tax_category) for line in self.lines}
        return exemption_reasons(categories, self.document_language, self.exemption_reasons)

"""Columns shared by invoice lines and credit-note lines."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.invoices import Line
from portal.domain.vat import CATEGORY_CODES, TaxCategory
from portal.models.base import ExactDecimal

#: The CHECK every table of lines carries on its tax_category column.
TAX_CATEGORY_CHECK = f"tax_category IN {CATEGORY_CODES!r}"
#: The CHECK every table of lines carries on its fixed discount.
DISCOUNT_FIXED_CHECK = "discount_fixed >= 0"


class LineColumns:
    """A document line: what was sold, how many, at what price, tax and discount."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Order on the document, from 1.
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    #: Up to three decimals.
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(15, 3))
    #: Unit price in minor units.
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    #: Percent, e.g. 21 or 5.5; 0 for every category but S.
    tax_rate: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4))
    #: EN 16931 VAT category: S, Z, E, AE, K, G or O.
    tax_category: Mapped[str] = mapped_column(String(2), default="S", server_default="S")
    #: Line discount in percent.
    discount_percent: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4), default=Decimal("0"))
    #: A fixed amount off the line in minor units, taken after the percentage.
    discount_fixed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: round(quantity × unit_amount × (1 − discount)) − discount_fixed, kept for listings.
    net_amount: Mapped[int] = mapped_column(BigInteger)

    @classmethod
    def from_domain(cls, line: Line, *, position: int, merchant_id: int):
        """Build a row from the domain's line."""
        return cls(
            merchant_id=merchant_id,
            position=position,
            description=line.description.strip(),
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            tax_rate=line.tax_rate,
            tax_category=line.tax_category.value,
            discount_percent=line.discount_percent,
            discount_fixed=line.discount_fixed,
            net_amount=line.net,
        )

    def to_domain(self) -> Line:
        """Return the line as the domain's value object."""
        return Line(
            description=self.description,
            quantity=self.quantity,
            unit_amount=self.unit_amount,
            tax_rate=self.tax_rate,
            discount_percent=self.discount_percent,
            discount_fixed=self.discount_fixed,
            tax_category=TaxCategory(self.tax_category),
        )

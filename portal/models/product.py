"""The merchant's product catalogue."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, ExactDecimal
from portal.models.lines import TAX_CATEGORY_CHECK


class Product(Base):
    """A catalogue item staff pick invoice lines from."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("unit_amount >= 0", name="unit_amount_non_negative"),
        CheckConstraint(TAX_CATEGORY_CHECK, name="tax_category_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Price in minor units of `currency`.
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4))
    #: EN 16931 VAT category the product's lines get: S, Z, E, AE, K, G or O.
    tax_category: Mapped[str] = mapped_column(String(2), default="S", server_default="S")

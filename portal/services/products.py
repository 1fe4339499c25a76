"""The merchant's product catalogue."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from portal.domain.errors import DomainError
from portal.domain.invoices import Line
from portal.domain.money import currency_exponent
from portal.extensions import db
from portal.models import Merchant, Product
from portal.services.errors import NotFound


def _check(name: str, unit_amount: int, currency: str, tax_rate: Decimal, tax_category: str | None) -> Line:
    name = name.strip()
    if not name:
        raise DomainError("A product needs a name", "name")
    currency_exponent(currency)
    # The domain's line checks the price, rate and category once, for products as for lines.
    return Line(
        description=name, quantity=Decimal(1), unit_amount=unit_amount, tax_rate=tax_rate, tax_category=tax_category
    )


def create_product(
    merchant: Merchant,
    *,
    name: str,
    unit_amount: int,
    currency: str,
    tax_rate: Decimal,
    tax_category: str | None = None,
) -> Product:
    """Add a product to the merchant's catalogue."""
    line = _check(name, unit_amount, currency, tax_rate, tax_category)
    product = Product(
        merchant_id=merchant.id,
        name=line.description,
        unit_amount=unit_amount,
        currency=currency,
        tax_rate=tax_rate,
        tax_category=line.tax_category.value,
    )
    db.session.add(product)
    db.session.flush()
    return product


def update_product(
    product: Product,
    *,
    name: str,
    unit_amount: int,
    currency: str,
    tax_rate: Decimal,
    tax_category: str | None = None,
) -> Product:
    """Change a product; invoices already drafted keep the lines they copied."""
    line = _check(name, unit_amount, currency, tax_rate, tax_category)
    product.name = line.description
    product.unit_amount = unit_amount
    product.currency = currency
    product.tax_rate = tax_rate
    product.tax_category = line.tax_category.value
    db.session.flush()
    return product


def delete_product(product: Product) -> None:
    """Remove a product from the catalogue; lines copied from it stay as they are."""
    db.session.delete(product)
    db.session.flush()


def get_product(merchant: Merchant, product_id: int) -> Product:
    """Return the merchant's product, or NotFound for anyone else's."""
    product = db.session.scalar(select(Product).where(Product.id == product_id, Product.merchant_id == merchant.id))
    if product is None:
        raise NotFound("No such product")
    return product


def list_products(merchant: Merchant) -> list[Product]:
    """Return the merchant's catalogue by name."""
    return list(
        db.session.scalars(
            select(Product).where(Product.merchant_id == merchant.id).order_by(func.lower(Product.name), Product.id)
        )
    )

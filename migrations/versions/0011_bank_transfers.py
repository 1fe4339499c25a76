"""bank transfers: each invoice's structured payment reference (OGM/VCS or RF), and staff's choice to offer them

Revision ID: 0011
Revises: 0010

Bank transfer becomes one of the ways to pay staff choose per invoice: every existing choice keeps
offering it (an empty list of providers meant "pay by bank transfer only").

Every finalized invoice gets the reference finalize gives it from now on, made from its number
(YYYY-NNNN) and its seller's country as issued: the Belgian structured communication (OGM/VCS) for
a Belgian seller, the ISO 11649 creditor reference (RF) otherwise, and RF for an OGM seller past a
million invoices in a year. The arithmetic is written out here, so that this migration keeps
producing exactly these references whatever the application's code becomes.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_NUMBER = re.compile(r"(\d{4})-(\d{1,18})")
_MAX_OGM_SEQUENCE = 999_999


def ogm(year: int, sequence: int) -> str:
    """Return the twelve digits of a Belgian structured communication: base, then base mod 97 (97 for 0)."""
    base = f"{year:04d}{sequence:06d}"
    return f"{base}{int(base) % 97 or 97:02d}"


def rf(year: int, sequence: int) -> str:
    """Return the compact ISO 11649 reference: ISO 7064 mod 97-10 over body + "RF00" (R = 27, F = 15)."""
    body = f"{year:04d}{sequence:06d}"
    return f"RF{98 - int(body + '271500') % 97:02d}{body}"


def reference(country: str | None, number: str | None) -> str | None:
    """Return the invoice's reference, or None for a number not made by the numbering service."""
    match = _NUMBER.fullmatch(number or "")
    if match is None:
        return None
    year, sequence = int(match.group(1)), int(match.group(2))
    if (country or "").upper() == "BE" and sequence <= _MAX_OGM_SEQUENCE:
        return ogm(year, sequence)
    return rf(year, sequence)


def upgrade():
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=35), nullable=True))
    _give_issued_invoices_their_reference()
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_invoices_merchant_id_payment_reference"), ["merchant_id", "payment_reference"]
        )
    with op.batch_alter_table("invoice_payment_choices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bank_transfer", sa.Boolean(), server_default="1", nullable=False))


def _give_issued_invoices_their_reference() -> None:
    connection = op.get_bind()
    countries = dict(connection.execute(sa.text("SELECT id, country FROM merchants")).all())
    invoices = sa.table(
        "invoices",
        sa.column("id", sa.Integer),
        sa.column("merchant_id", sa.Integer),
        sa.column("number", sa.String),
        sa.column("status", sa.String),
        sa.column("seller", sa.JSON),
        sa.column("payment_reference", sa.String),
    )
    rows = connection.execute(
        sa.select(invoices.c.id, invoices.c.merchant_id, invoices.c.number, invoices.c.seller).where(
            invoices.c.status != "draft"
        )
    ).all()
    for row in rows:
        # The seller as issued decides, as at finalize; an invoice without a snapshot has the merchant's.
        if row.seller is None:
            country = countries.get(row.merchant_id)
        else:
            country = (row.seller.get("address") or {}).get("country")
        value = reference(country, row.number)
        if value is not None:
            connection.execute(invoices.update().where(invoices.c.id == row.id).values(payment_reference=value))


def downgrade():
    with op.batch_alter_table("invoice_payment_choices", schema=None) as batch_op:
        batch_op.drop_column("bank_transfer")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_invoices_merchant_id_payment_reference"), type_="unique")
        batch_op.drop_column("payment_reference")

"""fixed-amount discounts per line and per invoice; the merchant's default tax rate for new lines

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_TABLES = ("invoice_lines", "credit_note_lines", "invoices")


def upgrade():
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("discount_fixed", sa.BigInteger(), server_default="0", nullable=False))
            batch_op.create_check_constraint(op.f(f"ck_{table}_discount_fixed_non_negative"), "discount_fixed >= 0")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_tax_rate", portal.models.base.ExactDecimal(7, 4), nullable=True))


def downgrade():
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("default_tax_rate")
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_discount_fixed_non_negative"), type_="check")
            batch_op.drop_column("discount_fixed")

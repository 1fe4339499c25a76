"""admin billing

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("charged_on", sa.Date(), nullable=False),
        sa.Column("quantity", portal.models.base.ExactDecimal(15, 3), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_rate", portal.models.base.ExactDecimal(7, 4), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("unit_amount >= 0", name=op.f("ck_charges_unit_amount_non_negative")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_charges_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_charges_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_charges_invoice_id_invoices"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_charges_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charges_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_charges_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_charges_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "recurring_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", portal.models.base.ExactDecimal(15, 3), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_rate", portal.models.base.ExactDecimal(7, 4), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("unit_amount >= 0", name=op.f("ck_recurring_lines_unit_amount_non_negative")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_recurring_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_recurring_lines_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_recurring_lines_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_lines")),
    )
    with op.batch_alter_table("recurring_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recurring_lines_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recurring_lines_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "billing_cycles",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.Column("payment_days", sa.Integer(), nullable=False),
        sa.Column("auto_send", sa.Boolean(), nullable=False),
        sa.CheckConstraint("day_of_month BETWEEN 1 AND 28", name=op.f("ck_billing_cycles_day_of_month_valid")),
        sa.CheckConstraint("payment_days BETWEEN 0 AND 365", name=op.f("ck_billing_cycles_payment_days_valid")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_billing_cycles_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_billing_cycles_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_billing_cycles")),
    )
    with op.batch_alter_table("billing_cycles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_cycles_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_billing_runs_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_billing_runs_invoice_id_invoices"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_billing_runs_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
        sa.UniqueConstraint("customer_id", "period", name=op.f("uq_billing_runs_customer_id_period")),
    )
    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_runs_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_billing_runs_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "invoice_payment_choices",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("providers", sa.JSON(), nullable=False),
        sa.Column("updated_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_payment_choices_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_invoice_payment_choices_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_payment_choices")),
    )
    with op.batch_alter_table("invoice_payment_choices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_payment_choices_merchant_id"), ["merchant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("invoice_payment_choices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_payment_choices_merchant_id"))
    op.drop_table("invoice_payment_choices")
    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_runs_customer_id"))
        batch_op.drop_index(batch_op.f("ix_billing_runs_merchant_id"))
    op.drop_table("billing_runs")
    with op.batch_alter_table("billing_cycles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_cycles_merchant_id"))
    op.drop_table("billing_cycles")
    with op.batch_alter_table("recurring_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recurring_lines_customer_id"))
        batch_op.drop_index(batch_op.f("ix_recurring_lines_merchant_id"))
    op.drop_table("recurring_lines")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charges_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_charges_customer_id"))
        batch_op.drop_index(batch_op.f("ix_charges_merchant_id"))
    op.drop_table("charges")

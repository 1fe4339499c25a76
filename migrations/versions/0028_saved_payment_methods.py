"""saved payment methods and autopay: provider customers, saved cards and mandates, who started an attempt

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

AUTOPAY = sa.text("autopay AND removed_at IS NULL")
AUTOPAY_ATTEMPT = sa.text("initiated_by = 'autopay'")


def upgrade():
    op.create_table(
        "provider_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("provider IN ('mollie', 'stripe')", name=op.f("ck_provider_customers_provider_known")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_provider_customers_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_provider_customers_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_customers")),
        sa.UniqueConstraint("customer_id", "provider", name=op.f("uq_provider_customers_customer_id_provider")),
    )
    with op.batch_alter_table("provider_customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_customers_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "saved_payment_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=255), nullable=False),
        sa.Column("provider_method_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=True),
        sa.Column("expiry_month", sa.Integer(), nullable=True),
        sa.Column("expiry_year", sa.Integer(), nullable=True),
        sa.Column("autopay", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("autopay_since", sa.Date(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('card', 'sepa_debit', 'paypal', 'other')", name=op.f("ck_saved_payment_methods_kind_known")
        ),
        sa.CheckConstraint("provider IN ('mollie', 'stripe')", name=op.f("ck_saved_payment_methods_provider_known")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_saved_payment_methods_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_saved_payment_methods_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_payment_methods")),
        sa.UniqueConstraint(
            "provider", "provider_method_id", name=op.f("uq_saved_payment_methods_provider_provider_method_id")
        ),
    )
    with op.batch_alter_table("saved_payment_methods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_payment_methods_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_saved_payment_methods_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(
            "uq_saved_payment_methods_autopay",
            ["customer_id"],
            unique=True,
            sqlite_where=AUTOPAY,
            postgresql_where=AUTOPAY,
        )

    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("initiated_by", sa.String(length=16), server_default="customer", nullable=False))
        batch_op.add_column(sa.Column("save_method", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("saved_method_id", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "initiated_by_known", "initiated_by IN ('customer', 'staff', 'api', 'autopay')"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_attempts_saved_method_id_saved_payment_methods"),
            "saved_payment_methods",
            ["saved_method_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_payment_attempts_saved_method_id"), ["saved_method_id"], unique=False)
        batch_op.create_index(
            "uq_payment_attempts_autopay_invoice",
            ["invoice_id"],
            unique=True,
            sqlite_where=AUTOPAY_ATTEMPT,
            postgresql_where=AUTOPAY_ATTEMPT,
        )


def downgrade():
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index("uq_payment_attempts_autopay_invoice")
        batch_op.drop_index(batch_op.f("ix_payment_attempts_saved_method_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_payment_attempts_saved_method_id_saved_payment_methods"), type_="foreignkey"
        )
        batch_op.drop_constraint("initiated_by_known", type_="check")
        batch_op.drop_column("saved_method_id")
        batch_op.drop_column("save_method")
        batch_op.drop_column("initiated_by")
    with op.batch_alter_table("saved_payment_methods", schema=None) as batch_op:
        batch_op.drop_index("uq_saved_payment_methods_autopay")
        batch_op.drop_index(batch_op.f("ix_saved_payment_methods_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_saved_payment_methods_customer_id"))
    op.drop_table("saved_payment_methods")
    with op.batch_alter_table("provider_customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_customers_merchant_id"))
    op.drop_table("provider_customers")

"""online payments

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('creating', 'open', 'pending')")


def upgrade():
    op.create_table(
        "payment_provider_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("api_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("key_hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('mollie', 'stripe')", name=op.f("ck_payment_provider_accounts_provider_known")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payment_provider_accounts_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_provider_accounts")),
        sa.UniqueConstraint("merchant_id", "provider", name=op.f("uq_payment_provider_accounts_merchant_id_provider")),
    )
    with op.batch_alter_table("payment_provider_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_provider_accounts_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_amount", sa.BigInteger(), nullable=False),
        sa.Column("interest_amount", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_url", sa.String(length=2048), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("provider IN ('mollie', 'stripe')", name=op.f("ck_payment_attempts_provider_known")),
        sa.CheckConstraint(
            "status IN ('creating', 'open', 'pending', 'paid', 'failed', 'canceled', 'expired', 'refused', 'superseded')",
            name=op.f("ck_payment_attempts_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_attempts_amount_positive")),
        sa.CheckConstraint(
            "principal_amount >= 0 AND fee_amount >= 0 AND interest_amount >= 0",
            name=op.f("ck_payment_attempts_parts_non_negative"),
        ),
        sa.CheckConstraint(
            "principal_amount + fee_amount + interest_amount = amount", name=op.f("ck_payment_attempts_parts_add_up")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payment_attempts_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_payment_attempts_invoice_id_invoices")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_payment_attempts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_payment_attempts_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint(
            "provider", "provider_payment_id", name=op.f("uq_payment_attempts_provider_provider_payment_id")
        ),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_attempts_payment_id")),
    )
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_attempts_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_attempts_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_attempts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_attempts_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_payment_attempts_live_invoice", ["invoice_id"], unique=True, sqlite_where=LIVE, postgresql_where=LIVE
        )

    op.create_table(
        "payment_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("received_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("provider IN ('mollie', 'stripe')", name=op.f("ck_payment_webhook_events_provider_known")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payment_webhook_events_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["payment_attempts.id"], name=op.f("fk_payment_webhook_events_attempt_id_payment_attempts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_payment_webhook_events_provider_event_id")),
    )
    with op.batch_alter_table("payment_webhook_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_webhook_events_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "pay_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("consecutive_failures >= 0", name=op.f("ck_pay_locks_failures_non_negative")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_pay_locks_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_pay_locks_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_locks")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_pay_locks_customer_id")),
    )
    with op.batch_alter_table("pay_locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pay_locks_merchant_id"), ["merchant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("pay_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pay_locks_merchant_id"))
    op.drop_table("pay_locks")
    with op.batch_alter_table("payment_webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_webhook_events_merchant_id"))
    op.drop_table("payment_webhook_events")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index("uq_payment_attempts_live_invoice")
        batch_op.drop_index(batch_op.f("ix_payment_attempts_status"))
        batch_op.drop_index(batch_op.f("ix_payment_attempts_customer_id"))
        batch_op.drop_index(batch_op.f("ix_payment_attempts_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_payment_attempts_merchant_id"))
    op.drop_table("payment_attempts")
    with op.batch_alter_table("payment_provider_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_provider_accounts_merchant_id"))
    op.drop_table("payment_provider_accounts")

"""text messages: Twilio accounts, the SMS sent, short links

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sms_accounts",
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("account_sid", sa.String(length=64), nullable=False),
        sa.Column("auth_token_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("token_hint", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("updated_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("merchant_id"),
    )
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("to", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name=op.f("ck_sms_messages_sms_status_known")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sms_messages_merchant_id", "sms_messages", ["merchant_id"])
    op.create_index("ix_sms_messages_invoice_id", "sms_messages", ["invoice_id"])
    op.create_table(
        "short_links",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("link_version", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_short_links_merchant_id", "short_links", ["merchant_id"])
    op.create_index("ix_short_links_customer_id", "short_links", ["customer_id"])
    op.create_index("ix_short_links_expires_at", "short_links", ["expires_at"])


def downgrade():
    op.drop_table("short_links")
    op.drop_table("sms_messages")
    op.drop_table("sms_accounts")

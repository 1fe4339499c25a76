"""payment reminders, the Belgian B2C preset, disputes and the invoice timeline's marks

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminders_enabled", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("consumer_preset", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("legal_interest_rate", portal.models.base.ExactDecimal(7, 4), server_default="0", nullable=False)
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consumer", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("reminders_paused", sa.Boolean(), server_default="0", nullable=False))
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late_consumer", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("reminders_paused", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("first_reminder_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("first_sent_at", portal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_viewed_at", portal.models.base.UTCDateTime(timezone=True), nullable=True))
    # Invoices sent before: their first invoice mail in the outbox, else their first text message.
    op.execute(
        "UPDATE invoices SET first_sent_at = COALESCE("
        "(SELECT MIN(o.created_at) FROM outbox_messages o WHERE o.invoice_id = invoices.id AND o.kind = 'invoice'), "
        "(SELECT MIN(m.created_at) FROM sms_messages m WHERE m.invoice_id = invoices.id AND m.kind = 'invoice'))"
    )

    op.create_table(
        "reminder_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_steps")),
        sa.UniqueConstraint("merchant_id", "offset_days", name=op.f("uq_reminder_steps_merchant_id_offset_days")),
    )
    op.create_index(op.f("ix_reminder_steps_merchant_id"), "reminder_steps", ["merchant_id"], unique=False)
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_message_id"], ["outbox_messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
        sa.UniqueConstraint("invoice_id", "offset_days", name=op.f("uq_reminders_sent_invoice_id_offset_days")),
        sa.UniqueConstraint("invoice_id", "sent_on", name=op.f("uq_reminders_sent_invoice_id_sent_on")),
    )
    op.create_index(op.f("ix_reminders_sent_invoice_id"), "reminders_sent", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_reminders_sent_merchant_id"), "reminders_sent", ["merchant_id"], unique=False)
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "resolved_on IS NULL OR resolved_on >= opened_on", name=op.f("ck_disputes_resolved_after_opened")
        ),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index(op.f("ix_disputes_invoice_id"), "disputes", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_disputes_merchant_id"), "disputes", ["merchant_id"], unique=False)


def downgrade():
    op.drop_table("disputes")
    op.drop_table("reminders_sent")
    op.drop_table("reminder_steps")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in ("first_viewed_at", "first_sent_at", "first_reminder_on", "reminders_paused", "late_consumer"):
            batch_op.drop_column(column)
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("reminders_paused")
        batch_op.drop_column("consumer")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("legal_interest_rate")
        batch_op.drop_column("consumer_preset")
        batch_op.drop_column("reminders_enabled")

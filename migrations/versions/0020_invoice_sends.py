"""the send log: every send of an invoice (channel, recipient, who asked, its job and its mail or text message)

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "invoice_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("sent_by", sa.String(length=16), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("sent_by_name", sa.String(length=254), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("sms_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_invoice_sends_channel_known")),
        sa.CheckConstraint("sent_by IN ('api_key', 'staff', 'system')", name=op.f("ck_invoice_sends_sent_by_known")),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_invoice_sends_api_key_id_api_keys"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_sends_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_invoice_sends_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_invoice_sends_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_invoice_sends_outbox_message_id_outbox_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sms_message_id"],
            ["sms_messages.id"],
            name=op.f("fk_invoice_sends_sms_message_id_sms_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_invoice_sends_staff_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_sends")),
    )
    with op.batch_alter_table("invoice_sends", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_sends_invoice_id_id", ["invoice_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_sends_merchant_id"), ["merchant_id"], unique=False)
    # The sends made before the log are in the outbox: one invoice mail (or test copy) per send, who asked unknown.
    op.execute(
        "INSERT INTO invoice_sends (merchant_id, invoice_id, channel, to_address, test, sent_by, outbox_message_id, "
        "created_at) SELECT merchant_id, invoice_id, 'email', to_address, "
        "CASE WHEN kind = 'invoice_test' THEN TRUE ELSE FALSE END, 'system', id, created_at FROM outbox_messages "
        "WHERE kind IN ('invoice', 'invoice_test') AND invoice_id IS NOT NULL ORDER BY id"
    )
    op.execute(
        "INSERT INTO invoice_sends (merchant_id, invoice_id, channel, to_address, test, sent_by, sms_message_id, "
        "created_at) SELECT merchant_id, invoice_id, 'sms', \"to\", FALSE, 'system', id, created_at FROM sms_messages "
        "WHERE kind = 'invoice' AND invoice_id IS NOT NULL ORDER BY id"
    )


def downgrade():
    with op.batch_alter_table("invoice_sends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_sends_merchant_id"))
        batch_op.drop_index("ix_invoice_sends_invoice_id_id")
    op.drop_table("invoice_sends")

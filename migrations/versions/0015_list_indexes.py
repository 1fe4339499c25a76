"""indexes for the API's keyset pages: invoices by issue date (and status), by change; customers newest first; bank transactions by booking date

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_merchant_id_issue_date_id", ["merchant_id", "issue_date", "id"], unique=False
        )
        batch_op.create_index(
            "ix_invoices_merchant_id_status_issue_date_id", ["merchant_id", "status", "issue_date", "id"], unique=False
        )
        batch_op.create_index("ix_invoices_merchant_id_updated_at", ["merchant_id", "updated_at"], unique=False)
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_merchant_id_id", ["merchant_id", "id"], unique=False)
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bank_transactions_merchant_id_booking_date_id", ["merchant_id", "booking_date", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("bank_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_transactions_merchant_id_booking_date_id")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_merchant_id_id")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_merchant_id_updated_at")
        batch_op.drop_index("ix_invoices_merchant_id_status_issue_date_id")
        batch_op.drop_index("ix_invoices_merchant_id_issue_date_id")

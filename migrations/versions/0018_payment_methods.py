"""payment methods: activated per provider account, chosen per invoice, kept per attempt

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("payment_provider_accounts", "invoice_payment_choices", "payment_attempts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("methods", sa.JSON(), nullable=True))


def downgrade():
    for table in ("payment_attempts", "invoice_payment_choices", "payment_provider_accounts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("methods")

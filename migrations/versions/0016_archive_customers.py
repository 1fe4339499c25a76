"""customers can be archived (left out of lists, no new invoices)

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", portal.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("archived_at")

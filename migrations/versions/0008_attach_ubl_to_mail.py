"""invoice mail: attach the UBL e-invoice as well (off for every existing merchant)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attach_ubl_to_mail", sa.Boolean(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("attach_ubl_to_mail")

"""staff roles: owner, accountant, viewer; every existing staff account becomes an owner

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-29 23:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    # The server default fills the rows already there: whoever could sign in before keeps every right.
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="owner", nullable=False))
        batch_op.create_check_constraint("role_known", "role IN ('owner', 'accountant', 'viewer')")


def downgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_users_role_known"), type_="check")
        batch_op.drop_column("role")

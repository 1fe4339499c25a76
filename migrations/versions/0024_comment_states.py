"""comment states: a customer's comment is open until staff answer it or mark it "no reply needed"

Opening an invoice used to count as answering (read_at); the state says what was done. Existing
comments followed by a staff reply on the same invoice are answered, the others open.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("state_changed_at", portal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("state_changed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_state_changed_by_id_staff_users"), "staff_users", ["state_changed_by_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_comments_state"), ["state"], unique=False)
    op.execute(
        "UPDATE comments SET state = CASE WHEN EXISTS ("
        " SELECT 1 FROM comments AS reply WHERE reply.invoice_id = comments.invoice_id"
        " AND reply.author_kind = 'staff' AND reply.created_at >= comments.created_at"
        ") THEN 'answered' ELSE 'open' END WHERE author_kind = 'customer'"
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_comments_state_known"),
            "(author_kind = 'customer' AND state IN ('open', 'answered', 'no_reply_needed'))"
            " OR (author_kind = 'staff' AND state IS NULL)",
        )


def downgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_comments_state_known"), type_="check")
        batch_op.drop_index(batch_op.f("ix_comments_state"))
        batch_op.drop_constraint(batch_op.f("fk_comments_state_changed_by_id_staff_users"), type_="foreignkey")
        batch_op.drop_column("state_changed_by_id")
        batch_op.drop_column("state_changed_at")
        batch_op.drop_column("state")

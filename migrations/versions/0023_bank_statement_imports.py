"""bank statement imports: a large statement posted to the API waits here for the job that imports it

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bank_statement_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=True),
        sa.Column("suggested", sa.Integer(), nullable=True),
        sa.Column("unmatched", sa.Integer(), nullable=True),
        sa.Column("duplicates", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed')", name=op.f("ck_bank_statement_imports_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_bank_statement_imports_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_imports")),
    )
    with op.batch_alter_table("bank_statement_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_statement_imports_merchant_id"), ["merchant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("bank_statement_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_statement_imports_merchant_id"))
    op.drop_table("bank_statement_imports")

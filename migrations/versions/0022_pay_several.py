"""one checkout for several invoices: what each invoice gets of it; receipts among the rendered PDFs

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("rendered_documents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_rendered_documents_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_rendered_documents_kind_known"), "kind IN ('invoice', 'credit_note', 'receipt')"
        )
    op.create_table(
        "payment_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("principal_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_amount", sa.BigInteger(), nullable=False),
        sa.Column("interest_amount", sa.BigInteger(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_allocations_amount_positive")),
        sa.CheckConstraint(
            "principal_amount + fee_amount + interest_amount = amount", name=op.f("ck_payment_allocations_parts_add_up")
        ),
        sa.CheckConstraint(
            "principal_amount >= 0 AND fee_amount >= 0 AND interest_amount >= 0",
            name=op.f("ck_payment_allocations_parts_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_payment_allocations_attempt_id_payment_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payment_allocations_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payment_allocations_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_allocations")),
        sa.UniqueConstraint("attempt_id", "invoice_id", name=op.f("uq_payment_allocations_attempt_id_invoice_id")),
        sa.UniqueConstraint("attempt_id", "position", name=op.f("uq_payment_allocations_attempt_id_position")),
    )
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_allocations_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_allocations_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_allocations_merchant_id"), ["merchant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_allocations_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocations_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocations_attempt_id"))

    op.drop_table("payment_allocations")
    op.execute("DELETE FROM rendered_documents WHERE kind = 'receipt'")
    with op.batch_alter_table("rendered_documents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_rendered_documents_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_rendered_documents_kind_known"), "kind IN ('invoice', 'credit_note')")

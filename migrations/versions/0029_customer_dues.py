"""customer dues: each customer's amounts due per currency for one day, kept for the portal's overview; indexes for its sections

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "customer_dues",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("amounts", sa.JSON(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_dues_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_customer_dues_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_dues")),
    )
    op.create_index(op.f("ix_customer_dues_merchant_id"), "customer_dues", ["merchant_id"], unique=False)
    for name, last in (("open", "due_date"), ("paid", "paid_on"), ("issued", "issue_date")):
        op.create_index(
            f"ix_invoices_customer_{name}",
            "invoices",
            ["merchant_id", "customer_id", "status", last, "id"],
            unique=False,
        )
    op.create_index(
        "ix_credit_notes_customer_issued",
        "credit_notes",
        ["merchant_id", "customer_id", "issue_date", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_credit_notes_customer_issued", table_name="credit_notes")
    for name in ("open", "paid", "issued"):
        op.drop_index(f"ix_invoices_customer_{name}", table_name="invoices")
    op.drop_index(op.f("ix_customer_dues_merchant_id"), table_name="customer_dues")
    op.drop_table("customer_dues")

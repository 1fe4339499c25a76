"""contacts on comments and short links: who posted a comment, whom an SMS short link was sent to

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_contact_id_contacts"), "contacts", ["contact_id"], ["id"], ondelete="SET NULL"
        )

    # Links made before keep opening as the primary contact (contact_id NULL).
    with op.batch_alter_table("short_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contact_link_version", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_short_links_contact_id_contacts"), "contacts", ["contact_id"], ["id"], ondelete="CASCADE"
        )


def downgrade():
    with op.batch_alter_table("short_links", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_short_links_contact_id_contacts"), type_="foreignkey")
        batch_op.drop_column("contact_link_version")
        batch_op.drop_column("contact_id")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_comments_contact_id_contacts"), type_="foreignkey")
        batch_op.drop_column("contact_id")

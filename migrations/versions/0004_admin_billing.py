"""admin billing

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

import portal.models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

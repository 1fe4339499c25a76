"""The migrations build exactly the schema the models describe, on every database we test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_migrations_match_models(ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_business_table_belongs_to_a_merchant(ctx):
    # Rows reach their merchant directly; the only exceptions are keyed by merchant already, or are
    # the deployment's own bookkeeping (the schedule's periods), which no merchant sees.
    exempt = {"merchants", "alembic_version", "scheduled_runs"}
    for table in db.metadata.sorted_tables:
        if table.name in exempt:
            continue
        assert "merchant_id" in table.columns, f"{table.name} has no merchant_id"

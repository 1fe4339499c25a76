"""one job system: typed jobs and scheduled periods; the outbox's lease moves to its delivery job

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("retried", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_jobs_status_known")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_jobs_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_jobs_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["status", "priority", "run_at", "id"], unique=False)
        batch_op.create_index("ix_jobs_lease", ["status", "lease_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "scheduled_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_scheduled_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_runs")),
        sa.UniqueConstraint("duty", "period", name=op.f("uq_scheduled_runs_duty_period")),
    )

    # Mail still waiting (or held by a worker when the old one stopped) gets its delivery job.
    outbox = sa.table(
        "outbox_messages",
        sa.column("id", sa.Integer),
        sa.column("merchant_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("next_attempt_at", portal.models.base.UTCDateTime(timezone=True)),
    )
    jobs = sa.table(
        "jobs",
        sa.column("merchant_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("queue", sa.String),
        sa.column("priority", sa.Integer),
        sa.column("payload", sa.JSON),
        sa.column("status", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("max_attempts", sa.Integer),
        sa.column("run_at", portal.models.base.UTCDateTime(timezone=True)),
        sa.column("retried", sa.Integer),
        sa.column("created_at", portal.models.base.UTCDateTime(timezone=True)),
    )
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(outbox.c.id, outbox.c.merchant_id, outbox.c.attempts, outbox.c.next_attempt_at).where(
            outbox.c.status.in_(("queued", "sending"))
        )
    ).all()
    if waiting:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        connection.execute(
            jobs.insert(),
            [
                dict(
                    merchant_id=row.merchant_id,
                    kind="mail.deliver",
                    queue="mail",
                    priority=0,
                    payload={"message_id": row.id},
                    status="queued",
                    attempts=min(row.attempts, 7),
                    max_attempts=8,
                    run_at=row.next_attempt_at or now,
                    retried=0,
                    created_at=now,
                )
                for row in waiting
            ],
        )
    connection.execute(outbox.update().where(outbox.c.status == "sending").values(status="queued"))

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_due")
        batch_op.drop_constraint(op.f("ck_outbox_messages_status_known"), type_="check")
        batch_op.create_check_constraint("status_known", "status IN ('queued', 'sent', 'failed')")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claim_token")


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lease_until", portal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "next_attempt_at",
                portal.models.base.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
        batch_op.drop_constraint(op.f("ck_outbox_messages_status_known"), type_="check")
        batch_op.create_check_constraint("status_known", "status IN ('queued', 'sending', 'sent', 'failed')")
        batch_op.create_index("ix_outbox_messages_due", ["status", "next_attempt_at"], unique=False)
    op.drop_table("scheduled_runs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_merchant_id"))
        batch_op.drop_index("ix_jobs_lease")
        batch_op.drop_index("ix_jobs_due")
    op.drop_table("jobs")

"""Migration 0024 on existing data: a customer's comment followed by a staff reply is answered, the others open."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import Comment
from tests.conftest import build_app, dispose
from tests.foundation.test_migration_references import _rows_of_before


def _comment(connection, comment_id: int, invoice_id: int, author: str, at: str, read: bool = False) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO comments (id, merchant_id, invoice_id, author_kind, body, created_at, read_at)"
            " VALUES (:id, 1, :invoice, :author, 'B', :at, :read)"
        ),
        {"id": comment_id, "invoice": invoice_id, "author": author, "at": at, "read": at if read else None},
    )


def test_comments_replied_to_become_answered_and_read_ones_stay_open(tmp_path):
    app = build_app("sqlite:///" + str(tmp_path / "old.db"))
    try:
        with app.app_context():
            upgrade(revision="0010")
            with db.engine.begin() as connection:
                _rows_of_before(connection)
            upgrade(revision="0023")
            with db.engine.begin() as connection:
                _comment(connection, 1, 1, "customer", "2026-01-02 09:00:00", read=True)
                _comment(connection, 2, 1, "staff", "2026-01-02 10:00:00", read=True)
                # Asked again after the reply, and opened by staff: read, yet not answered.
                _comment(connection, 3, 1, "customer", "2026-01-03 09:00:00", read=True)
                _comment(connection, 4, 2, "customer", "2026-01-04 09:00:00")
            upgrade()

            states = {c.id: c.state for c in db.session.scalars(sa.select(Comment))}
            assert states == {1: "answered", 2: None, 3: "open", 4: "open"}
            db.session.rollback()
            with db.engine.begin() as connection, pytest.raises(sa.exc.IntegrityError):
                connection.execute(sa.text("UPDATE comments SET state = 'maybe' WHERE id = 4"))

            downgrade(revision="0023")
            assert "state" not in {column["name"] for column in sa.inspect(db.engine).get_columns("comments")}
    finally:
        dispose(app)

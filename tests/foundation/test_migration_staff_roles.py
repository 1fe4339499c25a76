"""Migration 0024 on existing data: everyone who could sign in before roles existed becomes an owner."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import StaffUser
from tests.conftest import build_app, dispose
from tests.foundation.test_migration_references import NOW, _rows_of_before


def test_existing_staff_become_owners_and_unknown_roles_are_refused(tmp_path):
    app = build_app("sqlite:///" + str(tmp_path / "old.db"))
    try:
        with app.app_context():
            upgrade(revision="0010")
            with db.engine.begin() as connection:
                _rows_of_before(connection)
            upgrade(revision="0023")
            with db.engine.begin() as connection:
                for staff_id, merchant_id, active in ((1, 1, True), (2, 1, False), (3, 2, True)):
                    connection.execute(
                        sa.text(
                            "INSERT INTO staff_users (id, merchant_id, email, name, password_hash, active,"
                            " session_version, created_at) VALUES (:id, :merchant, :email, 'S', 'x', :active, 1, :now)"
                        ),
                        {
                            "id": staff_id,
                            "merchant": merchant_id,
                            "email": f"s{staff_id}@x.example",
                            "active": active,
                            "now": NOW,
                        },
                    )
            upgrade()

            staff = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.id)).all()
            assert [(user.email, user.role, user.active) for user in staff] == [
                ("s1@x.example", "owner", True),
                ("s2@x.example", "owner", False),
                ("s3@x.example", "owner", True),
            ]
            db.session.remove()

            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(sa.text("UPDATE staff_users SET role = 'admin' WHERE id = 1"))

            downgrade(revision="0023")
            upgrade()
            assert db.session.scalar(sa.select(StaffUser.role).where(StaffUser.id == 3)) == "owner"
            db.session.remove()
    finally:
        dispose(app)

"""Migration 0019 on existing data: the invoice mails and text messages already sent become the send log's first entries."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import Invoice
from portal.models.mail import InvoiceSend
from portal.services import send_log
from tests.conftest import build_app, dispose
from tests.foundation.test_migration_references import NOW, _rows_of_before


def _mail(connection, message_id: int, kind: str, invoice_id: int | None, to: str, status: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO outbox_messages (id, merchant_id, kind, invoice_id, to_address, subject, text_body,"
            " message_id, status, attempts, sent_at, created_at) VALUES (:id, 1, :kind, :invoice, :to, 'S', 'T',"
            " :mid, :status, 1, :sent, :now)"
        ),
        {
            "id": message_id,
            "kind": kind,
            "invoice": invoice_id,
            "to": to,
            "mid": f"<{message_id}@x>",
            "status": status,
            "sent": NOW if status == "sent" else None,
            "now": NOW,
        },
    )


def test_the_invoice_mails_in_the_outbox_become_sends(tmp_path):
    app = build_app("sqlite:///" + str(tmp_path / "old.db"))
    try:
        with app.app_context():
            upgrade(revision="0010")
            with db.engine.begin() as connection:
                _rows_of_before(connection)
            upgrade(revision="0019")
            with db.engine.begin() as connection:
                _mail(connection, 1, "invoice", 1, "c@example.com", "sent")
                _mail(connection, 2, "invoice_test", 1, "staff@example.com", "failed")
                _mail(connection, 3, "comment", 1, "staff@example.com", "sent")  # not a send of the invoice
                _mail(connection, 4, "invoice", 2, "c@example.com", "queued")
                connection.execute(
                    sa.text(
                        'INSERT INTO sms_messages (id, merchant_id, customer_id, invoice_id, kind, "to", body, status,'
                        " attempts, created_at) VALUES (7, 1, 1, 1, 'invoice', '+32470123456', 'B', 'sent', 1, :now)"
                    ),
                    {"now": NOW},
                )
            upgrade()

            sends = db.session.scalars(sa.select(InvoiceSend).order_by(InvoiceSend.id)).all()
            assert [(s.invoice_id, s.to_address, s.test, s.sent_by, s.outbox_message_id) for s in sends] == [
                (1, "c@example.com", False, "system", 1),
                (1, "staff@example.com", True, "system", 2),
                (2, "c@example.com", False, "system", 4),
                (1, "+32470123456", False, "system", None),
            ]
            assert (sends[3].channel, sends[3].sms_message_id) == ("sms", 7)
            assert [send_log.delivery(s).status for s in sends] == ["sent", "failed", "queued", "sent"]
            last_sent_at, count = send_log.send_summary(db.session.get(Invoice, 1))
            assert count == 2 and last_sent_at is not None and last_sent_at.tzinfo is not None
            db.session.rollback()

            downgrade(revision="0019")
            assert "invoice_sends" not in sa.inspect(db.engine).get_table_names()
    finally:
        dispose(app)

"""Several mail workers at once on PostgreSQL: row locks (SKIP LOCKED) and claims send each message once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.mail.outbox import deliver_due, queue_mail
from portal.mail.transport import SmtpTransport, parse_smtp_url
from portal.models.mail import OutboxMessage
from tests.factories import make_merchant

pytestmark = pytest.mark.postgres

WORKERS = 4
MESSAGES = 60


def test_concurrent_workers_send_each_message_exactly_once(pg_pool_closed_at_exit, pg, smtp_server):
    with pg.app_context():
        merchant = make_merchant()
        for n in range(MESSAGES):
            queue_mail(
                merchant_id=merchant.id, kind="test", to=f"c{n}@example.com", subject=f"Message {n}", text="Hello"
            )
        db.session.commit()
        db.session.remove()

    start = threading.Barrier(WORKERS)
    reports, errors = [], []

    def worker() -> None:
        try:
            with pg.app_context():
                start.wait()
                reports.append(deliver_due(SmtpTransport(parse_smtp_url(smtp_server.url))))
                db.session.remove()
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(report.sent for report in reports) == MESSAGES
    subjects = Counter(message["Subject"] for message in smtp_server.messages)
    assert len(subjects) == MESSAGES and set(subjects.values()) == {1}
    with pg.app_context():
        statuses = Counter(db.session.scalars(select(OutboxMessage.status)))
        assert statuses == {"sent": MESSAGES}
        assert set(db.session.scalars(select(OutboxMessage.attempts))) == {1}

"""The outbox: queued in the caller's transaction, delivered once, retried with backoff while SMTP is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail.notifications import send_fresh_link
from portal.mail.outbox import MAX_ATTEMPTS, build_email, deliver_due, queue_mail, retry_delay
from portal.mail.transport import SmtpTransport, close_connections, configured_transport, parse_smtp_url
from portal.models.base import utcnow
from portal.models.job import Job
from portal.models.mail import OutboxMessage
from tests.factories import make_customer, make_merchant

pytestmark = pytest.mark.usefixtures("ctx")


def queued(merchant, n: int = 1, **fields) -> list[int]:
    ids = [
        queue_mail(
            merchant_id=merchant.id,
            kind="test",
            to=f"to{i}@example.com",
            subject=f"Message {i}",
            text=f"Body {i}",
            **fields,
        ).id
        for i in range(n)
    ]
    db.session.commit()
    return ids


def delivery_job(message_id: int) -> Job:
    db.session.expire_all()
    return db.session.scalar(
        select(Job).where(Job.kind == "mail.deliver", Job.payload["message_id"].as_integer() == message_id)
    )


def test_mail_is_queued_in_the_callers_transaction():
    customer = make_customer(make_merchant())
    db.session.commit()

    send_fresh_link(customer)
    db.session.rollback()  # the event did not happen, so neither does its mail
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0

    send_fresh_link(customer)
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage))
    assert (message.status, message.to_address, message.kind) == ("queued", customer.email, "fresh_link")
    assert delivery_job(message.id).status == "queued"


def test_without_smtp_the_worker_prints_the_mail_and_keeps_it(app, runner):
    customer = make_customer(make_merchant("Atelier Lumen"), "Jane Cooper")
    send_fresh_link(customer)
    db.session.commit()

    result = runner.invoke(args=["portal", "deliver-mail", "--once"])

    assert result.exit_code == 0, result.output
    assert f"To: {customer.email}" in result.output
    assert "Subject: Your new link to your invoices from Atelier Lumen" in result.output
    assert "/l/" in result.output
    db.session.expire_all()
    message = db.session.scalar(select(OutboxMessage))
    assert (message.status, message.delivered_via, message.attempts) == ("sent", "console", 1)
    # A second run finds nothing to print.
    again = runner.invoke(args=["portal", "deliver-mail", "--once"])
    assert f"To: {customer.email}" not in again.output


def test_with_smtp_down_mail_waits_and_is_delivered_exactly_once_when_it_returns(smtp_down, deliver_to, time_machine):
    time_machine.move_to("2026-03-02 09:00", tick=False)
    deliver_to(smtp_down)
    merchant = make_merchant()
    [message_id] = queued(merchant)
    transport = configured_transport()

    report = deliver_due(transport)

    assert (report.sent, report.retrying) == (0, 1)
    message = db.session.get(OutboxMessage, message_id)
    assert message.status == "queued" and message.attempts == 1
    assert "Connection refused" in message.last_error or "Errno" in message.last_error
    assert delivery_job(message_id).run_at == utcnow() + retry_delay(1)

    smtp_down.start()
    assert deliver_due(transport).sent == 0  # not due yet: backoff
    time_machine.shift(retry_delay(1))
    assert deliver_due(transport).sent == 1
    assert deliver_due(transport).sent == 0
    time_machine.shift(timedelta(hours=3))
    assert deliver_due(transport).sent == 0

    assert [m["Subject"] for m in smtp_down.messages] == ["Message 0"]
    db.session.expire_all()
    message = db.session.get(OutboxMessage, message_id)
    assert (message.status, message.delivered_via, message.last_error) == ("sent", "smtp", None)


def test_backoff_grows_and_the_worker_gives_up_after_the_last_attempt(smtp_down, deliver_to, time_machine):
    time_machine.move_to("2026-03-02 09:00", tick=False)
    deliver_to(smtp_down)
    [message_id] = queued(make_merchant())
    transport = configured_transport()

    delays = []
    for _ in range(MAX_ATTEMPTS):
        before = utcnow()
        deliver_due(transport)
        job = delivery_job(message_id)
        if job.status == "queued":
            delays.append(job.run_at - before)
            time_machine.move_to(job.run_at)
        db.session.expire_all()

    message = db.session.get(OutboxMessage, message_id)
    assert message.status == "failed" and message.attempts == MAX_ATTEMPTS
    job = delivery_job(message_id)
    assert job.status == "failed" and "Errno" in job.last_error  # a dead letter, shown on the Jobs page
    assert delays == [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays[0] == timedelta(seconds=30) and delays[1] == timedelta(minutes=1)


def test_a_message_left_by_a_dead_worker_is_retried_after_its_lease(smtp_server, deliver_to, time_machine):
    time_machine.move_to("2026-03-02 09:00", tick=False)
    deliver_to(smtp_server)
    [message_id] = queued(make_merchant())
    job = delivery_job(message_id)
    job.status, job.attempts, job.claim_token = "running", 1, "dead-worker"
    job.lease_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    transport = configured_transport()

    assert deliver_due(transport).sent == 0  # still leased
    time_machine.shift(timedelta(minutes=11))
    assert deliver_due(transport).sent == 1
    assert len(smtp_server.messages) == 1


def test_line_breaks_cannot_inject_headers(smtp_server, deliver_to):
    deliver_to(smtp_server)
    merchant = make_merchant()
    queue_mail(
        merchant_id=merchant.id,
        kind="test",
        to="a@example.com\nBcc: victim@example.com",
        subject="Hi\r\nBcc: victim@example.com",
        text="x",
        from_name="Evil\nBcc: v@example.com",
    )
    db.session.commit()

    deliver_due(configured_transport())

    [message] = smtp_server.messages
    assert message["Bcc"] is None
    assert smtp_server.inbox.envelopes[0][1] == ["a@example.com"]
    assert "\n" not in message["Subject"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, "plain", None, None)),
        ("smtp://u%40x:p%3Aw@mail.example?starttls=1", ("mail.example", 587, "starttls", "u@x", "p:w")),
        ("smtp+starttls://u:p@mail.example", ("mail.example", 587, "starttls", "u", "p")),
        ("smtps://u:p@mail.example", ("mail.example", 465, "ssl", "u", "p")),
    ],
)
def test_parse_smtp_url(url, expected):
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.security, s.username, s.password) == expected


def test_unknown_smtp_scheme_is_refused():
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example")


def test_smtp_login_is_used(deliver_to):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.mail.conftest import Inbox, free_port

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"user" and auth_data.password == b"s3cret")

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        queued(make_merchant())
        transport = SmtpTransport(parse_smtp_url(f"smtp://user:s3cret@127.0.0.1:{port}"))
        assert deliver_due(transport).sent == 1
    finally:
        controller.stop()
    assert logins == [(b"user", b"s3cret")]
    assert len(inbox.messages) == 1


def test_a_delivery_whose_outcome_was_lost_is_sent_again_with_the_same_message_id(
    smtp_server, deliver_to, time_machine
):
    # At-least-once: the SMTP server accepted the mail, then the worker lost it before its commit
    # (here the connection breaks after acceptance). The retry carries the same Message-ID, so the
    # recipient's mail system can tell the two copies are one message.
    time_machine.move_to("2026-03-02 09:00", tick=False)
    deliver_to(smtp_server)
    [message_id] = queued(make_merchant())

    class AcceptedThenLost(SmtpTransport):
        def send(self, message):
            super().send(message)
            raise ConnectionResetError("connection lost after the server accepted the message")

    report = deliver_due(AcceptedThenLost(parse_smtp_url(smtp_server.url)))
    assert (report.sent, report.retrying) == (0, 1)
    time_machine.shift(retry_delay(1))
    assert deliver_due(configured_transport()).sent == 1

    first, second = smtp_server.messages
    assert first["Message-ID"] == second["Message-ID"] == db.session.get(OutboxMessage, message_id).message_id
    assert db.session.get(OutboxMessage, message_id).status == "sent"


def test_a_batch_of_mail_goes_over_one_connection_to_the_relay(smtp_server, deliver_to):
    deliver_to(smtp_server)
    merchant = make_merchant()
    queued(merchant, 5)

    assert deliver_due().sent == 5

    assert sorted(m["Subject"] for m in smtp_server.messages) == [f"Message {i}" for i in range(5)]
    assert len(set(smtp_server.inbox.peers)) == 1  # one handshake for the batch, not one per mail


def test_a_relay_that_hung_up_between_two_mails_gets_the_next_one_on_a_new_connection(smtp_server):
    transport = SmtpTransport(parse_smtp_url(smtp_server.url))
    merchant = make_merchant()
    first, later = (
        build_email(
            queue_mail(merchant_id=merchant.id, kind="test", to="a@example.com", subject=subject, text="Hi"),
            "x@example.com",
        )
        for subject in ("First", "Later")
    )
    try:
        transport.send(first)
        smtp_server.stop()  # the relay restarts while the worker keeps its connection: that one is dead now
        smtp_server.start()
        transport.send(later)  # no error: sent again at once on a new connection
    finally:
        close_connections()

    assert [m["Subject"] for m in smtp_server.messages] == ["First", "Later"]
    assert len(set(smtp_server.inbox.peers)) == 2


def test_a_kept_connection_is_not_used_after_the_relays_limit_of_messages(smtp_server, deliver_to, monkeypatch):
    deliver_to(smtp_server)
    monkeypatch.setattr(SmtpTransport, "MESSAGES_PER_CONNECTION", 2)
    queued(make_merchant(), 5)

    assert deliver_due().sent == 5

    assert len(set(smtp_server.inbox.peers)) == 3  # 2 + 2 + 1

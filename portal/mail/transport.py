"""How a built message leaves: over SMTP (PORTAL_SMTP_URL), or printed when no server is configured."""

from __future__ import annotations

import smtplib
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

_TRUE = {"1", "true", "yes", "on"}


class Transport(Protocol):
    #: Recorded on the outbox row: "smtp" or "console".
    name: str

    def send(self, message: EmailMessage) -> None:
        """Hand the message over, or raise."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    #: "plain", "starttls" or "ssl" (implicit TLS).
    security: str
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    #: PEM bundle of the CA that signed the relay's certificate (a private CA); None trusts the system's.
    cafile: str | None = None


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read smtp://user:pass@host:port[?starttls=1], smtp+starttls://… or smtps://… (implicit TLS).

    `?cafile=/path/ca.pem` trusts a private CA; the certificate and host name are always verified.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if scheme == "smtps":
        security, port = "ssl", 465
    elif scheme == "smtp+starttls" or (scheme == "smtp" and query.get("starttls", "").lower() in _TRUE):
        security, port = "starttls", 587
    elif scheme == "smtp":
        security, port = "plain", 25
    else:
        raise ValueError(f"PORTAL_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, not {scheme}://")
    if not parts.hostname:
        raise ValueError("PORTAL_SMTP_URL names no host")
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=float(query.get("timeout", 30)),  # money-safe: seconds, not an amount
        cafile=query.get("cafile") or None,
    )


class SmtpTransport:
    """Deliver through an SMTP relay, keeping the connection open for the messages that follow.

    A worker sending a month-end batch would otherwise pay a TCP (and TLS, and login) handshake per
    mail. Each thread keeps at most one open connection per relay: it is closed after IDLE_SECONDS
    without a message, after MESSAGES_PER_CONNECTION messages (relays cap a session), when the
    worker finds nothing to do (close_connections), and on any error, so a broken connection affects
    one mail only. A message that finds its reused connection closed by the relay in the meantime
    (nothing was accepted on it) is sent once more on a new connection.
    """

    name = "smtp"
    IDLE_SECONDS = 30.0
    MESSAGES_PER_CONNECTION = 100

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        kept = _take_connection(self.settings, self.IDLE_SECONDS, self.MESSAGES_PER_CONNECTION)
        if kept is not None:
            connection, sent = kept
            try:
                connection.send_message(message)
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                _close(connection)  # the relay hung up while it waited: open a new one below
            except BaseException:
                _close(connection)
                raise
            else:
                _keep_connection(self.settings, connection, sent + 1)
                return
        connection = self._connect()
        try:
            connection.send_message(message)
        except BaseException:
            _close(connection)
            raise
        _keep_connection(self.settings, connection, 1)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.cafile)
        if s.security == "ssl":
            connection = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.security == "starttls":
                connection.starttls(context=context)
            if s.username:
                connection.login(s.username, s.password or "")
        except BaseException:
            _close(connection)
            raise
        return connection


#: Per thread: relay settings → (open connection, messages sent on it, when it was last used).
_connections = threading.local()


def _kept() -> dict[SmtpSettings, tuple[smtplib.SMTP, int, float]]:
    kept = getattr(_connections, "by_settings", None)
    if kept is None:
        kept = _connections.by_settings = {}
    return kept


def _take_connection(settings: SmtpSettings, idle: float, most: int) -> tuple[smtplib.SMTP, int] | None:
    """Return this thread's open connection to the relay (and the messages sent on it) if still worth using."""
    entry = _kept().pop(settings, None)
    if entry is None:
        return None
    connection, sent, last_used = entry
    if sent >= most or time.monotonic() - last_used > idle:
        _close(connection)
        return None
    return connection, sent


def _keep_connection(settings: SmtpSettings, connection: smtplib.SMTP, sent: int) -> None:
    _kept()[settings] = (connection, sent, time.monotonic())


def _close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def close_connections() -> None:
    """Say goodbye to the relays this thread kept a connection to (a worker with nothing to do calls this)."""
    kept = _kept()
    while kept:
        _close(kept.popitem()[1][0])


class ConsoleTransport:
    """Print each message instead of sending it, so the demo needs no mail server."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: EmailMessage) -> None:
        stream = self.stream or sys.stdout
        text = message.get_body(preferencelist=("plain",))
        files = [part.get_filename() for part in message.iter_attachments() if part.get_filename()]
        print("-" * 72, file=stream)
        print(f"To: {message['To']}", file=stream)
        print(f"Subject: {message['Subject']}", file=stream)
        if files:
            print(f"Attachments: {', '.join(files)}", file=stream)
        print("", file=stream)
        print(text.get_content().rstrip() if text is not None else "", file=stream)
        stream.flush()


def configured_transport() -> Transport:
    """Return SMTP when PORTAL_SMTP_URL is set, else the console."""
    url = current_app.config.get("SMTP_URL")
    return SmtpTransport(parse_smtp_url(url)) if url else ConsoleTransport()

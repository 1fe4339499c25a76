"""A real SMTP server (aiosmtpd) on loopback, and an app configured to deliver to it."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """Collects what the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        #: The client's (address, port) per message: one port is one SMTP connection.
        self.peers: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.peers.append(tuple(session.peer))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server that can be stopped and started again on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(autouse=True)
def _no_relay_connection_outlives_its_test():
    """A test that sends through SmtpTransport directly leaves its kept connection: close it."""
    yield
    from portal.mail.transport import close_connections

    close_connections()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """A server that is not running yet: its port refuses connections until start()."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def deliver_to(app, monkeypatch):
    """Point the app's SMTP_URL at a server for this test."""

    def configure(server: SmtpServer) -> None:
        monkeypatch.setitem(app.config, "SMTP_URL", server.url)

    return configure

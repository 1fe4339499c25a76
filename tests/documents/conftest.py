"""Fixtures for the PDF and download tests: a signed-in customer, a hostile HTTP endpoint, file-open auditing."""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator

import pytest

from portal.customer.access import SESSION_CUSTOMER, SESSION_LINK_VERSION


@pytest.fixture
def sign_in(client):
    """Return a function that opens the portal session for a customer, as a magic link would."""

    def sign_in_as(customer) -> None:
        with client.session_transaction() as session:
            session[SESSION_CUSTOMER] = customer.id
            session[SESSION_LINK_VERSION] = customer.link_version

    return sign_in_as


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.hits.append(self.path)
        body = b"@import url(file:///etc/passwd); body { background: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_trap() -> Iterator[http.server.ThreadingHTTPServer]:
    """A real HTTP server on loopback that records every request it gets."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


_recorders: list[list[tuple[str, str]]] = []


def _audit(event: str, args) -> None:
    if not _recorders:
        return
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        path = args[0].decode(errors="replace") if isinstance(args[0], bytes) else args[0]
        for recorder in _recorders:
            recorder.append(("open", path))
    elif event in ("urllib.Request", "socket.connect"):
        for recorder in _recorders:
            recorder.append((event, repr(args[:2] if event == "urllib.Request" else args[1])))


_hook_installed = False


@pytest.fixture
def audit_log() -> Iterator[list[tuple[str, str]]]:
    """Record every file opened, URL requested and socket connected by this process while the test runs."""
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while a test asks
        _hook_installed = True
    events: list[tuple[str, str]] = []
    _recorders.append(events)
    yield events
    _recorders.remove(events)

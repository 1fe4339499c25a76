"""A small threaded HTTP server on loopback that fakes one provider's API."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    data: Any = None  # the decoded body: JSON (Mollie) or nested form params (Stripe)


@dataclass
class Injected:
    """An answer to give instead of the normal one, `count` times, for requests matching method and path."""

    method: str
    path_prefix: str
    status: int | None  # None: hang up without answering
    body: Any = None
    count: int = 1
    after: bool = False  # True: do the real work first, then answer like this (or hang up)


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    raw: bytes | None = None


class HangUp(Exception):
    """Close the connection without answering, as a crashed or unreachable server would."""


class FakeProvider:
    """Base of the fakes: the HTTP plumbing, request log, error injection and webhook sending."""

    content_type = "application/json"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.injected: list[Injected] = []
        self.lock = threading.RLock()
        #: Called with each Recorded request before it is handled (a test may block or kill here).
        self.on_request: Callable[[Recorded], None] | None = None
        #: Called with each request and the answer the fake is about to send, after doing the work.
        self.on_answer: Callable[[Recorded, Answer], None] | None = None
        #: How webhooks sent over https verify the app's certificate (None: the system's authorities).
        self.ssl_context: ssl.SSLContext | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # keep test output quiet
                pass

            def _serve(self, method: str) -> None:
                fake._handle(self, method)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

            def do_PATCH(self):
                self._serve("PATCH")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test controls ----------------------------------------------------------------------

    def inject(
        self,
        method: str,
        path_prefix: str,
        status: int | None,
        body: Any = None,
        *,
        count: int = 1,
        after: bool = False,
    ) -> None:
        """Answer the next `count` matching requests with an error (or hang up: status None)."""
        with self.lock:
            self.injected.append(Injected(method, path_prefix, status, body, count, after))

    def requests_to(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- plumbing ---------------------------------------------------------------------------

    def _take_injection(self, method: str, path: str) -> Injected | None:
        with self.lock:
            for item in self.injected:
                if item.method == method and path.startswith(item.path_prefix) and item.count > 0:
                    item.count -= 1
                    return item
        return None

    def decode(self, headers, body: bytes) -> Any:
        raise NotImplementedError

    def route(self, request: Recorded) -> Answer:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        raise NotImplementedError

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Recorded(
            method=method,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={key.lower(): value for key, value in handler.headers.items()},
            body=body,
        )
        try:
            request.data = self.decode(handler.headers, body)
        except ValueError:
            request.data = None
        with self.lock:
            self.requests.append(request)
        try:
            if self.on_request is not None:
                self.on_request(request)
            injected = self._take_injection(method, parts.path)
            if injected is not None and not injected.after:
                answer = self._injected_answer(injected)
            else:
                answer = self.route(request)
                if injected is not None:
                    answer = self._injected_answer(injected)
            if self.on_answer is not None:
                self.on_answer(request, answer)
        except HangUp:
            handler.close_connection = True
            return
        self._write(handler, answer)

    def _injected_answer(self, injected: Injected) -> Answer:
        if injected.status is None:
            raise HangUp()
        body = injected.body if injected.body is not None else self.error_body(injected.status, "Injected error")
        return Answer(injected.status, body)

    def _write(self, handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", answer.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in answer.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def post(self, url: str, data: bytes, headers: dict[str, str]) -> int:
        """Send a webhook like the provider does; return the status the app answered."""
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        # ssl_context: a test serving the app over https with its own certificate sets one that trusts it.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ssl_context)
        )
        try:
            with opener.open(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


def html_page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>"
        + title
        + "</title></head><body>"
        + body
        + "</body></html>"
    ).encode()

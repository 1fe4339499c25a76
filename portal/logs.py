"""Logging: one line per request, and the app's own events, as text or JSON lines (PORTAL_LOG_FORMAT).

A request line holds the method, the path (a magic link's token replaced by `<token>`; never the
query string), the status, the duration and the request id (the proxy's X-Request-ID when it sends
a sane one, else a new one), which the response echoes so a complaint can be matched to its line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request

from portal.web_security import url_holds_secret

#: Loggers whose records the app writes: its own, and Flask-Limiter's (it says when Redis is down).
APP_LOGGERS = ("portal", "flask-limiter")
#: Fields a record may carry (logging's `extra`) that the formatters write out.
FIELDS = ("method", "path", "status", "duration_ms", "request_id", "remote_addr")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Magic links (/l/<token>) and the short links of text messages (/s/<token>).
_TOKEN_IN_PATH = re.compile(r"^/([ls])/(?!fresh$)[^/]+")
_TOKEN_IN_TEXT = re.compile(r"/([ls])/(?!fresh\b)[^/\s?\"]+")

request_log = logging.getLogger("portal.request")


class TextFormatter(logging.Formatter):
    """`2026-03-02T10:00:00Z INFO portal.request GET /l/<token> 303 4.1ms id=…`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{stamp} {record.levelname} {record.name} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _RedactTokens(logging.Filter):
    """Replace magic-link tokens in the development server's request lines (werkzeug logs raw paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_TEXT.sub(r"/\1/<token>", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_TEXT.sub(r"/\1/<token>", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


class _StandardError(logging.StreamHandler):
    """Write to whatever sys.stderr is at the time (gunicorn, the CLI and pytest's capture all swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(app: Flask) -> None:
    """Send the app's records to standard error in the configured format; log every request."""
    install_handlers(str(app.config["LOG_FORMAT"]), str(app.config["LOG_LEVEL"]))
    app.before_request(_start_request)
    app.after_request(_log_request)


def install_handlers(log_format: str, level: str) -> None:
    """Write the records of APP_LOGGERS to standard error as text or JSON lines (once per process)."""
    log_format, level = log_format.lower(), level.upper()
    if log_format not in ("text", "json"):
        raise RuntimeError(f"PORTAL_LOG_FORMAT must be text or json, not {log_format!r}")
    if not isinstance(logging.getLevelName(level), int):
        raise RuntimeError(f"PORTAL_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    for name in APP_LOGGERS:
        logger = logging.getLogger(name)
        # One handler per logger however many apps a process creates (tests create many).
        handler = next((h for h in logger.handlers if isinstance(h, _StandardError)), None)
        if handler is None:
            handler = _StandardError()
            logger.addHandler(handler)
        handler.setFormatter(formatter)
        logger.setLevel(level)
    development_server = logging.getLogger("werkzeug")
    if not any(isinstance(f, _RedactTokens) for f in development_server.filters):
        development_server.addFilter(_RedactTokens())


def _start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def loggable_path() -> str:
    """Return the request's path with any secret in it replaced by its name, e.g. /l/<token>."""
    if request.url_rule is not None and url_holds_secret():
        return request.url_rule.rule
    return _TOKEN_IN_PATH.sub(r"/\1/<token>", request.path)


def _log_request(response: Response) -> Response:
    request_id = g.get("request_id") or uuid.uuid4().hex
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    response.headers.setdefault("X-Request-ID", request_id)
    path = loggable_path()
    request_log.info(
        "%s %s %s %sms id=%s",
        request.method,
        path,
        response.status_code,
        duration_ms,
        request_id,
        extra={
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "request_id": request_id,
            "remote_addr": request.remote_addr,
        },
    )
    return response

"""Error responses: JSON under /api/, pages elsewhere."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import HTTPException


def register(app) -> None:
    """Answer HTTP errors in the shape the caller expects."""

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            from portal.admin.api import error_response

            code = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}.get(
                exc.code, "http_error"
            )
            response = error_response(exc.code or 500, code, exc.description or exc.name)
            if exc.code == 405 and exc.response is None:
                allowed = getattr(exc, "valid_methods", None)
                if allowed:
                    response.headers["Allow"] = ", ".join(allowed)
            return response
        return exc

"""Error responses: JSON under /api/, pages elsewhere."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

#: Codes with a page of their own; any other error gets the generic page.
ERROR_PAGES = frozenset({400, 401, 403, 404, 405, 410, 413, 429})
#: The API's error code per status.
API_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}


def register(app) -> None:
    """Answer HTTP errors in the shape the caller expects."""
    app.register_error_handler(HTTPException, answer_http_error)


def answer_http_error(exc: HTTPException):
    """Roll back whatever the request did, then answer the error as the API's JSON or as a page."""
    _roll_back()
    if request.path.startswith("/api/"):
        from portal.api.operations import error_response

        code = API_ERROR_CODES.get(exc.code, "http_error")
        response = error_response(exc.code or 500, code, exc.description or exc.name)
        if exc.code == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response
    return _error_page(exc)


def _roll_back() -> None:
    # A failed statement leaves PostgreSQL's transaction aborted: the page (the admin's unread count,
    # the signed-in staff member) must read from a clean one, and nothing half done may be committed.
    from portal.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a connection already lost is discarded by the pool
        log.debug("rollback before an error page failed", exc_info=True)


def _error_page(exc: HTTPException):
    """Render the error as a portal page, keeping headers such as Retry-After or Allow."""
    if exc.response is not None:
        return exc  # the code that aborted built its own response
    code = exc.code or 500
    response = exc.get_response()
    shown = code if code in ERROR_PAGES else None
    if request.blueprint == "admin" or request.path.startswith("/admin/"):
        # Staff get their own frame (also for an address no admin rule matched).
        page = render_template("admin/error.html", code=shown, error=exc, staff=current_user)
    else:
        page = render_template("customer/error.html", code=shown, error=exc)
    response.set_data(page)
    response.mimetype = "text/html"
    response.headers["Cache-Control"] = "no-store"
    return response

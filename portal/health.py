"""Health checks for the load balancer, and what the portal answers while the database or Redis is down.

`/healthz`: the process answers. `/readyz`: it can serve (the database, and Redis when rate limits
live there, answer), as JSON listing each check, else 503; it also reports how long the oldest due
job has waited for a worker. A request that meets an outage (the
database unreachable, a lock or statement timeout, a full connection pool) gets 503 with Retry-After,
as a page or as JSON, never a bare 500: the page is drawn without touching the database.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
import sqlalchemy.exc
from flask import Blueprint, Flask, Response, current_app, jsonify, request, session, url_for
from flask_babel import force_locale

from portal.extensions import csrf, db, limiter
from portal.i18n import SESSION_LANGUAGE
from portal.jobs.queue import oldest_queued_age

bp = Blueprint("health", __name__)
csrf.exempt(bp)

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before trying again during an outage.
RETRY_AFTER_SECONDS = 30
#: The page shown during an outage; rendered without context processors (they may read the database).
UNAVAILABLE_TEMPLATE = "customer/unavailable.html"


def outage_errors() -> tuple[type[BaseException], ...]:
    """Return the exceptions that mean "a service we depend on is down or too slow", not a bug."""
    import redis.exceptions

    return (
        sqlalchemy.exc.OperationalError,  # unreachable, restarting, lock_timeout, statement_timeout
        sqlalchemy.exc.TimeoutError,  # every pooled connection is busy
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    )


def register(app: Flask) -> None:
    """Serve the health checks and answer outages with 503."""
    app.register_blueprint(bp)
    for error in outage_errors():
        app.register_error_handler(error, answer_outage)


@bp.get("/healthz")
def healthz():
    """Answer "ok" while the process runs (liveness; also the benchmark's baseline)."""
    return Response("ok", mimetype="text/plain")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Answer 200 when every service the portal needs answers, else 503; list each check."""
    checks = {"database": _check(_database_answers)}
    storage = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not storage.startswith("memory://"):
        checks["redis"] = _check(lambda: limiter.storage.check())
    ready = all(state == "ok" for state in checks.values())
    body: dict = {"status": "ready" if ready else "unavailable", "checks": checks}
    if checks["database"] == "ok":
        # Reported, not judged: a backlog means "add workers", not "send this web process no traffic".
        age = _check_value(oldest_queued_age)
        body["jobs"] = {"oldest_queued_age_seconds": None if age is None else round(age, 1)}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    if not ready:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _database_answers() -> bool:
    with db.engine.connect() as connection:
        return connection.execute(sa.text("SELECT 1")).scalar() == 1


def _check_value(probe):
    try:
        return probe()
    except Exception as exc:  # noqa: BLE001 - the figure is informative; readiness was decided above
        db.session.rollback()
        log.warning("readiness figure failed: %s: %s", type(exc).__name__, str(exc).strip().splitlines()[:1])
        return None


def _check(probe) -> str:
    try:
        return "ok" if probe() else "unavailable"
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the service is not there
        log.warning("readiness check failed: %s: %s", type(exc).__name__, str(exc).strip().splitlines()[:1])
        return "unavailable"


def answer_outage(exc: Exception):
    """Answer 503 with Retry-After, as JSON or as a page that needs no database."""
    from portal.logs import loggable_path

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool discards it
        log.debug("rollback after an outage failed", exc_info=True)
    summary = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.error("%s %s: service unavailable: %s: %s", request.method, loggable_path(), type(exc).__name__, summary)
    if _wants_json():
        response = _json_outage()
    else:
        response = Response(_outage_page(), 503, mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _wants_json() -> bool:
    if request.path.startswith(("/api/", "/webhooks/")):
        return True
    accepted = request.accept_mimetypes
    return accepted.accept_json and not accepted.accept_html


def _json_outage() -> Response:
    message = "The service is temporarily unavailable. Try again shortly."
    if request.path.startswith("/api/"):
        from portal.api.operations import error_response

        return error_response(503, "unavailable", message)
    return jsonify({"error": {"code": "unavailable", "message": message}})


def _outage_page() -> str:
    """Render the outage page in the visitor's language, reading nothing from the database."""
    languages = list(current_app.config["LANGUAGES"])
    is_admin = request.blueprint == "admin" or request.path.startswith("/admin")
    chosen = session.get(SESSION_LANGUAGE)
    if is_admin:
        language = "en"  # the admin area speaks English
    elif chosen in languages:
        language = chosen
    else:
        language = request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        template = current_app.jinja_env.get_template(UNAVAILABLE_TEMPLATE)
        return template.render(
            language=language,
            retry_after=RETRY_AFTER_SECONDS,
            stylesheet=url_for("customer.asset", filename="portal.css"),
        )

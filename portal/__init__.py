"""Invoice Portal: a client self-service invoice portal."""

from __future__ import annotations

from typing import Any


def create_app(config: Any = None):
    """Create the application; `config` (a class or a mapping) overrides the environment."""
    from flask import Flask

    from portal import cli, errors, extensions, health, input_checks, logs, web_security
    from portal.bundled import bundled_dir
    from portal.config import Config
    from portal.i18n import select_locale
    from portal.jobs import load_job_types

    app = Flask(__name__, instance_relative_config=True)
    input_checks.register_converters(app)  # before any rule is added
    app.config.from_object(Config)
    app.config.from_prefixed_env("PORTAL")
    if isinstance(config, dict):
        app.config.from_mapping(config)
    elif config is not None:
        app.config.from_object(config)
    _derive_settings(app)
    app.json.sort_keys = False  # keep fields in the documented order
    logs.configure_logging(app)  # first, so each request is timed and logged whatever answers it

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(bundled_dir("migrations")))
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    extensions.login_manager.init_app(app)
    extensions.babel.init_app(app, locale_selector=select_locale)

    from portal.admin.views import bp as admin_bp
    from portal.api import bp as api_bp
    from portal.customer import bp as customer_bp
    from portal.webhooks import bp as webhooks_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(customer_bp)
    app.register_blueprint(webhooks_bp)
    errors.register(app)
    input_checks.register(app)
    health.register(app)
    web_security.register(app)
    cli.register(app)
    load_job_types()
    _embed_worker(app)
    if app.config["WARM_UP"]:
        from portal.warm_up import warm_up

        warm_up(app)
    return app


def _embed_worker(app) -> None:
    """With SQLite and no separate worker, run the jobs in a thread of the web process, started by its first request."""
    embedded = app.config.get("EMBEDDED_WORKER")
    if embedded is None:
        embedded = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not app.config.get("TESTING")
    if not embedded:
        return
    from portal.jobs.worker import start_embedded_worker

    @app.before_request
    def _start_worker() -> None:
        start_embedded_worker(app)


def _derive_settings(app) -> None:
    """Fill in what follows from the configured values, and refuse unsafe production setups."""
    import os

    from portal.bundled import bundled_dir

    config = app.config
    if not config.get("SECRET_KEY"):
        if not (config["DEVELOPMENT"] or config.get("TESTING")):
            raise RuntimeError("Set PORTAL_SECRET_KEY (a long random string) outside development")
        config["SECRET_KEY"] = "development-only-secret"
    config["SECRET_KEY_FALLBACKS"] = _key_list(config.get("SECRET_KEY_FALLBACKS"), "PORTAL_SECRET_KEY_FALLBACKS")
    encryption_keys = _key_list(config.get("ENCRYPTION_KEY"), "PORTAL_ENCRYPTION_KEY")
    if not encryption_keys and not (config["DEVELOPMENT"] or config.get("TESTING")):
        raise RuntimeError(
            "Set PORTAL_ENCRYPTION_KEY (a long random string; a comma-separated list while rotating) outside development"
        )
    config["ENCRYPTION_KEY"] = encryption_keys or None
    url = config.get("DATABASE_URL")
    if not url:
        os.makedirs(app.instance_path, exist_ok=True)
        url = "sqlite:///" + os.path.join(app.instance_path, "portal.db")
    elif url.startswith(("postgres://", "postgresql://")):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    config["SQLALCHEMY_DATABASE_URI"] = url
    # Compiled catalogues: inside the installed package, or beside it in a checkout.
    config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(bundled_dir("translations")))
    config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(config, url)
    if str(config["RATELIMIT_STORAGE_URI"]).startswith("redis"):
        # A Redis that stops answering must not hold requests: fail fast, and Flask-Limiter falls back.
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    hops = config["PROXY_HOPS"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise RuntimeError(f"PORTAL_PROXY_HOPS must be a whole number of proxies (0 or more), not {hops!r}")
    config["SESSION_COOKIE_SECURE"] = not config["DEVELOPMENT"]


def _key_list(value, name: str) -> list[str]:
    """Return a list of secrets from a comma-separated string (or a JSON list from the environment)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        keys = [str(key).strip() for key in value]
    else:  # from_prefixed_env reads a secret of digits as a number
        keys = [key.strip() for key in str(value).split(",")]
    if not all(keys):
        raise RuntimeError(f"{name} holds an empty secret (a stray comma?)")
    return keys


def _engine_options(config, url: str) -> dict:
    """Return SQLAlchemy's engine options: pre-ping, and PostgreSQL's connect, statement and lock timeouts."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {"pool_pre_ping": True})
    if not url.startswith("postgresql"):
        return options
    limits = {}
    for name in ("DATABASE_STATEMENT_TIMEOUT_MS", "DATABASE_LOCK_TIMEOUT_MS", "DATABASE_CONNECT_TIMEOUT"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuntimeError(f"PORTAL_{name} must be a whole number (0 or more), not {value!r}")
        limits[name] = value
    server_settings = (
        f"-c statement_timeout={limits['DATABASE_STATEMENT_TIMEOUT_MS']} "
        f"-c lock_timeout={limits['DATABASE_LOCK_TIMEOUT_MS']}"
    )
    connect_args = {"options": server_settings}
    if limits["DATABASE_CONNECT_TIMEOUT"]:
        connect_args["connect_timeout"] = limits["DATABASE_CONNECT_TIMEOUT"]
    options["connect_args"] = {**connect_args, **options.get("connect_args", {})}
    return options

"""Fixtures: one real database per run (SQLite, or PostgreSQL with PORTAL_TEST_DATABASE_URL)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _xdist_worker() -> int | None:
    """Return the pytest-xdist worker's number (gw0 → 0), or None when the run is not split."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else None


# Two checkouts on one machine (worktrees, a CI clone) running the suite at once must not share databases.
_CHECKOUT = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]


def _per_worker_database(url: str) -> str:
    """Give each checkout (and each of its xdist workers) a PostgreSQL database of its own.

    So no run resets the schema another run is using, whether split over workers or not.
    """
    if not url.startswith("postgresql"):
        return url
    worker = _xdist_worker()
    base = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{base.database}_{_CHECKOUT}" + ("" if worker is None else f"_gw{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        return url  # unreachable: the caller reports it
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _per_worker_redis() -> None:
    """Give each xdist worker a Redis database of its own (base n → 2n, 2n + 1), so shared limits never mix."""
    worker = _xdist_worker()
    if worker is None:
        return
    url = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    head, _, number = url.rpartition("/")
    base = int(number) if number.isdigit() else 0
    os.environ["PORTAL_TEST_REDIS_URL"] = f"{head}/{(2 * base + worker) % 16}"


_per_worker_redis()


def redis_url() -> str:
    """Return the tests' Redis URL (PORTAL_TEST_REDIS_URL); skip outside CI, fail in CI, when it is down."""
    import redis

    url = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if in_ci():
            pytest.fail(f"Redis is required in CI and unreachable at {url}: {exc}")
        pytest.skip(f"Redis unreachable at {url} ({exc}); CI runs this test")
    return url


def _reachable(url: str) -> str | None:
    """Return None when the database answers, else why not."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except Exception as exc:  # any driver error means "not reachable" here
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()
    return None


def build_app(database_url: str, **overrides) -> Flask:
    """Create an app on the given database with the test settings."""
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(DATABASE_URL=database_url, **overrides)
    return create_app(config)


def reset_schema(app: Flask) -> None:
    """Drop everything and build the schema through the migrations, as production does."""
    from flask_migrate import upgrade

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as connection:
                connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


def empty_tables(app: Flask) -> None:
    """Remove every row, keeping the schema."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                names = ", ".join(f'"{table.name}"' for table in tables)
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "portal.db")
    url = _per_worker_database(url)
    problem = _reachable(url)
    if problem:
        # A run that asked for PostgreSQL must not silently test SQLite instead.
        pytest.exit(f"PORTAL_TEST_DATABASE_URL is set but the database is unreachable: {problem}", returncode=3)
    return url


def dispose(app: Flask) -> None:
    """Close the app's pooled connections (psycopg warns about ones left to the garbage collector)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def app(database_url) -> Iterator[Flask]:
    app = build_app(database_url)
    reset_schema(app)
    yield app
    dispose(app)


@pytest.fixture(autouse=True)
def _clean_database(request) -> Iterator[None]:
    yield
    if "app" in request.fixturenames:
        empty_tables(request.getfixturevalue("app"))


@pytest.fixture
def ctx(app) -> Iterator[None]:
    """Run the test inside an application context."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def postgres_app(app, database_url) -> Iterator[Flask]:
    """An app on PostgreSQL, for the tests only PostgreSQL can answer (row locks, races)."""
    if database_url.startswith("postgresql"):
        yield app
        return
    url = _per_worker_database(os.environ.get("PORTAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    problem = _reachable(url)
    if problem:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {url}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {url} ({problem}); CI runs this test")
    pg_app = build_app(url)
    reset_schema(pg_app)
    yield pg_app
    dispose(pg_app)


@pytest.fixture
def pg(postgres_app) -> Iterator[Flask]:
    """Yield the PostgreSQL app and empty its tables afterwards."""
    yield postgres_app
    empty_tables(postgres_app)


@pytest.fixture(scope="session")
def pg_pool_closed_at_exit(postgres_app):
    """Close the PostgreSQL app's pooled connections when the run ends.

    Pooled connections left open until interpreter exit raise ResourceWarning, which
    filterwarnings=error turns into a failed run.
    """
    yield postgres_app
    with postgres_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def twilio(app, monkeypatch):
    """A fake Twilio on loopback that the app's Twilio SDK is pointed at (account SID and TOKEN)."""
    from tests.fakes.twilio import SID, TOKEN, FakeTwilio

    fake = FakeTwilio(SID, TOKEN).start()
    monkeypatch.setitem(app.config, "TWILIO_API_BASE", fake.url)
    monkeypatch.setitem(app.config, "TWILIO_TIMEOUT_SECONDS", 3)
    yield fake
    fake.stop()

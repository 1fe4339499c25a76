"""Configuration: defaults here, overridden by PORTAL_* environment variables."""

from __future__ import annotations


class Config:
    """Defaults for the embedded deployment (SQLite, in-process limits, mail printed)."""

    #: Must be set in production (PORTAL_SECRET_KEY); development gets a fixed key.
    SECRET_KEY: str | None = None
    #: Development relaxes the Secure cookie flag and allows the fixed secret key.
    DEVELOPMENT = False
    #: SQLAlchemy URL; None means a SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    #: smtp://user:pass@host:port, smtps://… (implicit TLS) or smtp+starttls://…; None keeps mail in the outbox.
    SMTP_URL: str | None = None
    MAIL_FROM = "Invoice Portal <no-reply@localhost>"
    #: Base of every link we put in a mail or return from the API; never the request's Host.
    PUBLIC_URL = "http://127.0.0.1:5000"
    #: How long a portal link stays valid.
    LINK_MAX_AGE_DAYS = 90
    LANGUAGES = ("en", "fr", "nl", "de")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = "../translations"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024


class TestConfig(Config):
    """Settings for the test suite: a throwaway database and a fixed secret."""

    TESTING = True
    DEVELOPMENT = True
    SECRET_KEY = "test-secret-key"
    PUBLIC_URL = "http://portal.test"

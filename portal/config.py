"""Configuration: defaults here, overridden by PORTAL_* environment variables."""

from __future__ import annotations


class Config:
    """Defaults for the embedded deployment (SQLite, in-process limits, mail printed)."""

    #: Must be set in production (PORTAL_SECRET_KEY); development gets a fixed key.
    SECRET_KEY: str | None = None
    #: Keys SECRET_KEY replaced (PORTAL_SECRET_KEY_FALLBACKS, comma-separated): sessions and portal links
    #: signed with them are still accepted, while everything new is signed with SECRET_KEY.
    SECRET_KEY_FALLBACKS: list[str] | str = []
    #: Development relaxes the Secure cookie flag and allows the fixed secret key.
    DEVELOPMENT = False
    #: Compile the templates and load the locale data when the app is created (portal.warm_up), so a
    #: worker's first page or PDF costs what later ones do. Off in the tests: they create many apps.
    WARM_UP = True
    #: SQLAlchemy URL; None means a SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    #: While the limits' storage (Redis) is down, count in this process instead (Flask-Limiter logs it).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    #: PostgreSQL: how long one statement may run, and wait for a lock, before it is cancelled (ms; 0: no limit).
    #: Below gunicorn's 30 s worker timeout, so a locked table answers 503 instead of holding every worker.
    DATABASE_STATEMENT_TIMEOUT_MS = 20000
    DATABASE_LOCK_TIMEOUT_MS = 5000
    #: PostgreSQL: seconds to wait for a connection before the database counts as unreachable.
    DATABASE_CONNECT_TIMEOUT = 5
    #: smtp://user:pass@host:port, smtps://… (implicit TLS) or smtp+starttls://…; None keeps mail in the outbox.
    SMTP_URL: str | None = None
    MAIL_FROM = "Invoice Portal <no-reply@localhost>"
    #: Base of every link we put in a mail or return from the API; never the request's Host.
    PUBLIC_URL = "http://127.0.0.1:5000"
    #: How long a portal link stays valid.
    LINK_MAX_AGE_DAYS = 90
    LANGUAGES = ("en", "fr", "nl", "de")
    BABEL_DEFAULT_LOCALE = "en"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    #: web_security checks the Origin of every form post (and the Referer over https when there is
    #: no Origin); Flask-WTF's own check would demand a Referer even when the Origin proves the site.
    WTF_CSRF_SSL_STRICT = False
    #: Reverse proxies in front that set X-Forwarded-For/-Proto/-Host (0: the headers are ignored).
    PROXY_HOPS = 0
    #: Strict-Transport-Security max-age sent over https (0: none).
    HSTS_MAX_AGE = 31536000
    #: text or json (one JSON object per line), written to standard error.
    LOG_FORMAT = "text"
    LOG_LEVEL = "INFO"
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    #: Mollie's API base; tests point it at a fake server.
    MOLLIE_API_ENDPOINT = "https://api.mollie.com"
    #: Stripe's API base; tests point it at a fake server.
    STRIPE_API_BASE = "https://api.stripe.com"
    #: Retries on network errors and 5xx (safe: every creation carries an idempotency key).
    STRIPE_MAX_NETWORK_RETRIES = 2
    #: Twilio's API base (text messages); tests point it at a fake server.
    TWILIO_API_BASE = "https://api.twilio.com"
    #: Seconds to wait for Twilio to connect and answer before the SMS job is retried.
    TWILIO_TIMEOUT_SECONDS = 10
    #: Seconds to wait for a provider's answer before the try counts as a failure (the customer is waiting).
    PROVIDER_TIMEOUT_SECONDS = 20
    #: Defaults for a single-merchant deployment: used by a merchant with no stored settings for that provider.
    MOLLIE_API_KEY: str | None = None
    STRIPE_SECRET_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: str | None = None
    #: Secrets the stored provider keys are encrypted with (PORTAL_ENCRYPTION_KEY, comma-separated: the first
    #: encrypts, every one decrypts; `flask portal rotate-encryption-key` re-encrypts with the first).
    #: Required outside development, where it falls back to SECRET_KEY.
    ENCRYPTION_KEY: list[str] | str | None = None
    #: Flask-Limiter limits of the admin sign-in: every attempt per (address, account), and failed
    #: attempts per account whatever the address (credential stuffing from many addresses).
    ADMIN_LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    ADMIN_LOGIN_ACCOUNT_RATE_LIMIT = "10 per 15 minutes"
    #: Flask-Limiter limits of the pay button.
    PAY_RATE_LIMIT_PER_CUSTOMER = "10/minute"
    PAY_RATE_LIMIT_PER_ADDRESS = "30/minute"
    #: Failed payments in a row that lock a customer's pay button, and for how long.
    PAY_LOCK_FAILURES = 5
    PAY_LOCK_MINUTES = 60
    #: `flask portal reconcile` asks about attempts still open after this many minutes.
    RECONCILE_AFTER_MINUTES = 15
    #: It also asks about payments paid in the last this many days, for refunds and chargebacks
    #: whose webhook never came (0: only webhooks report them).
    RECONCILE_REFUNDS_DAYS = 14
    #: Run one job worker thread inside the web process; None: on with SQLite (the embedded default), off otherwise.
    EMBEDDED_WORKER: bool | None = None
    #: How long an idle worker waits before looking for due jobs again.
    WORKER_POLL_SECONDS = 1.0
    #: How often a worker looks at the schedule (each duty still fires once per period).
    SCHEDULE_TICK_SECONDS = 30.0
    #: Finished jobs are kept this long for the Jobs page, then deleted by the clean-up duty.
    JOB_RETENTION_DAYS = 14
    #: A statement posted to the API with more credit entries than this is imported by a job (202, then poll).
    BANK_IMPORT_JOB_ENTRIES = 500
    #: Requests each API key may make (Flask-Limiter's notation; several limits separated by ";").
    API_RATE_LIMIT = "600/minute"
    #: Failed API authentications a client address may make before its requests are refused for a while.
    API_AUTH_FAILURE_RATE_LIMIT = "60/minute"
    #: Outbound webhooks may use http and reach loopback and private addresses (tests and development only).
    WEBHOOKS_ALLOW_PRIVATE = False
    #: Seconds to wait for a webhook endpoint to connect and answer.
    WEBHOOK_TIMEOUT_SECONDS = 10


class TestConfig(Config):
    """Settings for the test suite: a throwaway database and a fixed secret."""

    TESTING = True
    DEVELOPMENT = True
    WARM_UP = False
    SECRET_KEY = "test-secret-key"
    PUBLIC_URL = "http://portal.test"

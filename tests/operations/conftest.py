"""Fixtures for running the portal as an operator does: behind a TLS proxy, through outages."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask

from portal.extensions import limiter
from tests.browser import conftest as browser_fixtures
from tests.conftest import build_app, dispose

#: Chromium, launched once per module, as the browser tests have it.
chromium = browser_fixtures.chromium

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def once_per_suite_run() -> None:
    """Skip the PostgreSQL pass of the suite for a slow test that uses none of the suite's databases.

    CI runs the whole suite twice, on SQLite and then with PORTAL_TEST_DATABASE_URL set; a test that
    builds its own database (the wheel, make run) proves nothing more the second time.
    """
    if os.environ.get("PORTAL_TEST_DATABASE_URL"):
        pytest.skip("uses no suite database: runs in the SQLite pass of the suite")


def proxied_app(database_url: str, hops: int, **overrides) -> Flask:
    """An app on the suite's database behind `hops` proxies, in production mode (Secure cookies)."""
    return build_app(database_url, PROXY_HOPS=hops, DEVELOPMENT=False, **overrides)


@pytest.fixture(scope="module")
def behind_proxy(app, database_url) -> Iterator[Flask]:
    """The app as deployed behind one TLS-terminating proxy (PORTAL_PROXY_HOPS=1)."""
    proxied = proxied_app(database_url, 1)
    yield proxied
    dispose(proxied)


@pytest.fixture(scope="module")
def without_proxy(app, database_url) -> Iterator[Flask]:
    """The app reached directly (PORTAL_PROXY_HOPS=0, the default)."""
    direct = proxied_app(database_url, 0)
    yield direct
    dispose(direct)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app) -> None:
    with app.app_context():
        limiter.reset()


class Browser:
    """A test client that sends what a browser sends, behind a TLS-terminating proxy or over https.

    `via="proxy"`: plain http to the app with the proxy's X-Forwarded-For/-Proto/-Host.
    `via="https"`: the app itself sees https, as gunicorn shows it a request forwarded by a local proxy.
    Form posts carry Origin and Referer as Chromium derives them from the page's Referrer-Policy.
    """

    def __init__(self, app: Flask, *, via: str = "proxy", host: str = "billing.example.com", address: str):
        self.via = via
        self.host = host
        self.address = address
        self.client = app.test_client()
        self.page_url: str | None = None
        self.page_policy = ""

    @property
    def origin(self) -> str:
        return f"https://{self.host}"

    def _environ(self) -> dict:
        if self.via == "proxy":
            return {
                "base_url": "http://internal:8000",
                "headers": {
                    "X-Forwarded-For": self.address,
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": self.host,
                },
            }
        return {"base_url": self.origin, "environ_base": {"REMOTE_ADDR": self.address}, "headers": {}}

    def get(self, path: str):
        environ = self._environ()
        response = self.client.get(path, **environ)
        if response.status_code == 200 and response.mimetype == "text/html":
            self.page_url = self.origin + path
            self.page_policy = response.headers.get("Referrer-Policy", "")
        return response

    def post(self, path: str, data: dict, *, origin: str | None = None):
        """Submit a form of the last page (origin: pretend another site's page submitted it)."""
        environ = self._environ()
        headers = environ.pop("headers")
        headers.update(self._provenance(origin))
        return self.client.post(path, data=data, headers=headers, **environ)

    def submit(self, page_path: str, path: str, fields: dict):
        """Open a page, then submit its form with the page's CSRF token."""
        page = self.get(page_path)
        assert page.status_code == 200, (page_path, page.status_code)
        token = CSRF.search(page.get_data(as_text=True))
        assert token, f"no CSRF token on {page_path}"
        return self.post(path, {"csrf_token": token.group(1), **fields})

    def _provenance(self, foreign_origin: str | None) -> dict[str, str]:
        if foreign_origin is not None:
            return {"Origin": foreign_origin, "Referer": foreign_origin + "/page"}
        # Chromium's rules for a same-origin form post (Fetch: "serializing a request origin",
        # Referrer Policy: "determine request's referrer").
        policy = self.page_policy.split(",")[-1].strip().lower() or "strict-origin-when-cross-origin"
        if policy == "no-referrer":
            return {"Origin": "null"}
        headers = {"Origin": self.origin}
        if policy in ("origin", "strict-origin"):
            headers["Referer"] = self.origin + "/"
        else:
            headers["Referer"] = self.page_url or self.origin + "/"
        return headers


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")

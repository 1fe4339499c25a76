"""A live server on loopback and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.extensions import db, limiter
from portal.models import Customer
from portal.services.links import make_portal_link
from tests.fakes.mollie import FakeMollie
from tests.fakes.stripe import FakeStripe
from tests.payments.conftest import STRIPE_WEBHOOK_SECRET, point_at_fakes
from tests.portal.conftest import SPEC_DAY, compile_catalogues

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """Serve the test app from a background thread; yield its base URL."""
    compile_catalogues()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="module")
def chromium():
    """Launch Chromium once per module (Playwright's sync API runs its own event loop)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    """The folder where browser tests leave screenshots (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def providers(app, live_server, monkeypatch, time_machine):
    """Fake Mollie and Stripe that send customers and webhooks back to the live server, on the SPEC's day."""
    time_machine.move_to(SPEC_DAY, tick=True)
    mollie, stripe = FakeMollie().start(), FakeStripe(STRIPE_WEBHOOK_SECRET).start()
    for key, value in point_at_fakes(app.config, mollie, stripe).items():
        monkeypatch.setitem(app.config, key, value)
    # The providers send the customer and the webhooks to the public address: here, the live server.
    monkeypatch.setitem(app.config, "PUBLIC_URL", live_server)
    stripe.webhook_url = live_server + "/webhooks/stripe"
    with app.app_context():
        limiter.reset()
    yield mollie, stripe
    mollie.stop()
    stripe.stop()


def link_path(app, customer_id: int) -> str:
    """Return the path of a fresh magic link for the customer."""
    with app.app_context():
        url = make_portal_link(db.session.get(Customer, customer_id)).url
        db.session.remove()
    return "/l/" + url.rsplit("/l/", 1)[1]

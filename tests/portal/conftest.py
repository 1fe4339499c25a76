"""Fixtures of the customer portal tests: signed-in clients, frozen SPEC day, compiled catalogues."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from portal.extensions import db, limiter
from portal.services.links import make_portal_link

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
#: The SPEC's viewing day: 30 days after the default due date of 2026-01-31.
SPEC_DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="[^"]*"')


def compile_catalogues() -> None:
    """Compile every .po into its .mo (they are not committed), as `make translations` does."""
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source)
        with mo_path.open("wb") as target:
            write_mo(target, catalog)


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues() -> None:
    compile_catalogues()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    # Ids restart in every test, so counts kept by the in-memory limiter would leak between tests.
    with app.app_context():
        limiter.reset()
    yield


@pytest.fixture
def spec_day(time_machine):
    """Freeze time on the SPEC's viewing day (the factory's merchants live in UTC)."""
    time_machine.move_to(SPEC_DAY, tick=False)
    return SPEC_DAY.date()


def sign_in(client, customer, invoice=None):
    """Open the customer's magic link in the client and return the response."""
    db.session.commit()
    url = make_portal_link(customer, invoice).url
    return client.get(url.split("portal.test", 1)[1])


def normalised(html: str) -> str:
    """Return the page with its CSRF tokens (signed with a timestamp) blanked, for comparing pages."""
    return _CSRF.sub('name="csrf_token" value=""', html)


def plain(text: str) -> str:
    """Return text with the non-breaking spaces of French formatting turned into plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")

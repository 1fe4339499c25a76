"""The reminder schedule: which step an invoice is due for on a day."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from portal.domain.errors import DomainError

MAX_STEPS = 5
#: A step is at most this many days before or after the due date.
EARLIEST_OFFSET, LATEST_OFFSET = -60, 365
CHANNELS = ("email", "sms")
#: The channels that can send today.
WORKING_CHANNELS = ("email",)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def check_schedule(offsets: Sequence[int]) -> list[int]:
    """Return the step offsets sorted, or DomainError: at most five, distinct, within range."""
    if len(offsets) > MAX_STEPS:
        raise DomainError(f"A schedule has at most {MAX_STEPS} steps", "offsets")
    if len(set(offsets)) != len(offsets):
        raise DomainError("Two steps cannot fall on the same day", "offsets")
    for offset in offsets:
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise DomainError("A step is a whole number of days", "offsets")
        if not EARLIEST_OFFSET <= offset <= LATEST_OFFSET:
            raise DomainError(
                f"A step is between {EARLIEST_OFFSET} and {LATEST_OFFSET} days from the due date", "offsets"
            )
    return sorted(offsets)


def check_channels(channels: Sequence[str]) -> list[str]:
    """Return the channels if every one can send now (SMS is not available yet)."""
    if not channels:
        raise DomainError("A step needs a channel", "channels")
    for channel in channels:
        if channel not in CHANNELS:
            raise DomainError(f"Unknown channel {channel!r}", "channels")
        if channel not in WORKING_CHANNELS:
            raise DomainError(f"Reminders by {channel} are not available yet", "channels")
    return list(dict.fromkeys(channels))


def check_template(subject: str, body: str, allowed: Iterable[str]) -> tuple[str, str]:
    """Return subject and body trimmed, or DomainError for an empty subject, no {link} or an unknown placeholder."""
    allowed = tuple(allowed)
    subject, body = subject.strip(), body.strip()
    if not subject:
        raise DomainError("The subject cannot be empty", "subject")
    if "\n" in subject or "\r" in subject:
        raise DomainError("The subject is one line", "subject")
    if "{link}" not in body:
        raise DomainError("The body must hold {link}: it becomes the “View this invoice” button", "body")
    for text, field in ((subject, "subject"), (body, "body")):
        unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in allowed})
        if unknown:
            names = ", ".join("{" + name + "}" for name in allowed)
            raise DomainError(f"Unknown placeholder {{{unknown[0]}}}: use {names}", field)
    return subject, body


def step_day(due_date: date, offset: int) -> date:
    """Return the day a step falls on."""
    return due_date + timedelta(days=offset)


def step_to_send(
    offsets: Sequence[int],
    *,
    due_date: date,
    today: date,
    sent: Iterable[int] = (),
    finalized_on: date | None = None,
) -> int | None:
    """Return the offset of the step to send today, or None.

    Only the latest step whose day has come is sent: a missed day catches up with that one alone, never
    with two. A step before or on the due date whose day passed before the invoice was finalized is
    skipped; a step at or before one already sent is never sent.
    """
    sent = set(sent)
    due = [
        offset
        for offset in offsets
        if step_day(due_date, offset) <= today
        and not (offset <= 0 and finalized_on is not None and step_day(due_date, offset) < finalized_on)
    ]
    if not due:
        return None
    latest = max(due)
    if sent and latest <= max(sent):
        return None
    return latest

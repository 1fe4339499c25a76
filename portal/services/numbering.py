"""Gapless document numbers per merchant, kind and year."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import NumberSequence

PREFIXES = {"invoice": "", "credit_note": "CN-"}


def next_document_number(merchant_id: int, kind: str, year: int) -> str:
    """Take the next number of a sequence inside the caller's transaction.

    The UPDATE holds the sequence row's lock until the transaction ends, so racing
    finalizes queue up on it and a rolled-back transaction gives its number back.
    """
    bump = (
        update(NumberSequence)
        .where(
            NumberSequence.merchant_id == merchant_id,
            NumberSequence.kind == kind,
            NumberSequence.year == year,
        )
        .values(last_value=NumberSequence.last_value + 1)
        .returning(NumberSequence.last_value)
        .execution_options(synchronize_session=False)
    )
    value = db.session.execute(bump).scalar_one_or_none()
    if value is None:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        create = (
            dialect.insert(NumberSequence)
            .values(merchant_id=merchant_id, kind=kind, year=year, last_value=0)
            .on_conflict_do_nothing()
        )
        db.session.execute(create)
        value = db.session.execute(bump).scalar_one()
    return f"{PREFIXES[kind]}{year}-{value:04d}"

"""Declarative base, naming convention and column types shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, MetaData, Numeric, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Named constraints let Alembic alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class ExactDecimal(TypeDecorator):
    """A Decimal column that never passes through float.

    PostgreSQL stores NUMERIC; SQLite has no exact decimal type, so the value is kept
    as its canonical string there.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 12, scale: int = 4) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def __repr__(self) -> str:  # Alembic renders the type with this
        return f"ExactDecimal({self.precision}, {self.scale})"

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else canonical_decimal(Decimal(value))


def canonical_decimal(value: Decimal) -> Decimal:
    """Drop trailing zeros without going to exponent form: 12.0000 → 12, 100.00 → 100, 5.50 → 5.5.

    PostgreSQL's NUMERIC(7, 4) pads to its scale; SQLite keeps what was written. Both read back alike.
    """
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def draw_ids(session, table: str, count: int) -> list[int]:
    """Return `count` new ids from the table's id sequence, in one query (PostgreSQL)."""
    from sqlalchemy import text

    # No autoflush: flushing the rows waiting for these ids first would defeat the point.
    with session.no_autoflush:
        return list(
            session.scalars(
                text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :n)"),
                {
                    "sequence": session.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}),
                    "n": count,
                },
            )
        )


def assign_ids(session, objects) -> None:
    """Give new rows their ids from their tables' sequences, one query per table (PostgreSQL only).

    With its ids known, the ORM writes many new rows of a table with one pipelined executemany
    instead of a multi-row INSERT … RETURNING, whose thousands of placeholders cost more to
    build and send than the rows themselves. SQLite (in-process) keeps its own numbering.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    by_table: dict[str, list] = {}
    for obj in objects:
        if obj.id is None:
            by_table.setdefault(obj.__table__.name, []).append(obj)
    for table, rows in by_table.items():
        for obj, new_id in zip(rows, draw_ids(session, table, len(rows)), strict=True):
            obj.id = new_id

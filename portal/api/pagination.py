"""Cursor pagination of the API's lists: `limit`, `starting_after`, `ending_before`; `{"data", "has_more"}`.

Keyset pagination, never OFFSET: a page continues from the sort key of the object named by the
cursor (`WHERE (issue_date, id) < (…, …)`), so with an index on the merchant and the sort key a page
costs the same at the 5,000th page as at the first. Every order ends with the id, so it is stable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from sqlalchemy import Select, literal, select, tuple_

from portal.extensions import db
from portal.services.errors import NotFound

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
CursorId = Annotated[int, Field(gt=0, le=2**31 - 1)]

_UNIX = re.compile(r"\d{1,11}")


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and _UNIX.fullmatch(value):
        return datetime.fromtimestamp(int(value), UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be Unix time in seconds or an ISO 8601 date-time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError("must be Unix time in seconds or an ISO 8601 date-time")


#: A moment in a query string: Unix seconds (1767225600) or ISO 8601 (2026-01-01T00:00:00Z; UTC when no zone).
Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    WithJsonSchema(
        {
            "type": "string",
            # Days 29–31 are left out of the pattern (a month may not have them), though they are accepted.
            "pattern": r"^(\d{1,11}|[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d"
            r"(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-3]):[0-5]\d)?)$",
            "description": "Unix time in seconds, or an ISO 8601 date-time (UTC when it names no zone)",
        }
    ),
]


class PageQuery(BaseModel):
    """The cursor parameters every list takes."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Objects per page, at most 100")] = DEFAULT_LIMIT
    starting_after: Annotated[
        CursorId | None, Field(description="The id of the last object of the previous page: the next page follows it")
    ] = None
    ending_before: Annotated[
        CursorId | None, Field(description="The id of the first object of the page after: the page before it")
    ] = None

    @model_validator(mode="after")
    def _one_cursor(self):
        if self.starting_after is not None and self.ending_before is not None:
            raise ValueError("send starting_after or ending_before, not both")
        return self


def keyset_page(
    statement: Select,
    keys: Sequence[Any],
    page: PageQuery,
    cursor_of: Callable[[int], Sequence[Any] | None],
    *,
    descending: bool = True,
) -> tuple[list[Any], bool]:
    """Return one page of `statement` in the order of `keys` (the last one unique, e.g. the id), and has_more.

    cursor_of(id) returns the keys' values of the object a cursor names, or None when the merchant has
    no such object. With ending_before the page is the one just before the cursor, still in list order,
    and has_more tells whether more come before it.
    """
    cursor = page.starting_after if page.starting_after is not None else page.ending_before
    backwards = page.ending_before is not None
    walk_descending = descending != backwards
    if cursor is not None:
        values = cursor_of(cursor)
        field = "ending_before" if backwards else "starting_after"
        if values is None:
            raise NotFound(f"{field}: no such object in this list", field)
        row = tuple_(*keys)
        bound = tuple_(*[literal(value, key.type) for key, value in zip(keys, values, strict=True)])
        statement = statement.where(row < bound if walk_descending else row > bound)
    statement = statement.order_by(*[key.desc() if walk_descending else key.asc() for key in keys])
    rows = list(db.session.scalars(statement.limit(page.limit + 1)))
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if backwards:
        rows.reverse()
    return rows, has_more


def cursor_values(model: Any, merchant_id: int, keys: Sequence[Any]) -> Callable[[int], Sequence[Any] | None]:
    """Return the cursor_of for keyset_page: the keys' values of the merchant's object with that id."""

    def values(cursor: int) -> Sequence[Any] | None:
        return db.session.execute(select(*keys).where(model.id == cursor, model.merchant_id == merchant_id)).first()

    return values


def day_bounds(gte: date | None, lte: date | None, column) -> list:
    """Return the conditions of an inclusive date range on a column."""
    conditions = []
    if gte is not None:
        conditions.append(column >= gte)
    if lte is not None:
        conditions.append(column <= lte)
    return conditions

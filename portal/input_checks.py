"""Input no database column can hold is refused up front with a 4xx, never a 500 from the database.

- Ids: every `<int:…>` in a URL is bounded to PostgreSQL's integer (1 … 2**31 − 1 and 0), so a
  larger id matches no route and answers 404; `db_int` does the same for query values.
- Text: PostgreSQL text cannot hold a NUL character, and no database a lone UTF-16 surrogate
  (JSON can spell both: "\\u0000", "\\ud800"). Either one anywhere in the path, the query, a form
  (names, values, file names) or a JSON body answers 400 before any view runs.
- Whatever still reaches the database and is refused as data (a value out of range) is rolled back
  and answered 400, as a page or as the API's JSON error.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import sqlalchemy.exc
from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

log = logging.getLogger(__name__)

#: The largest value of a database integer column (PostgreSQL's integer, the type of every id).
MAX_DB_INT = 2**31 - 1

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ID = re.compile(r"[0-9]{1,10}")
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class UnstorableInput(BadRequest):
    """A request holding what no column can store: a NUL character, or a number out of range."""

    description = "The request holds a character (such as NUL) or a number that cannot be stored."
    #: Lets the error pages say what is wrong instead of "reload the page".
    unstorable_input = True


def _digits_up_to(limit: int) -> str:
    """Return a regular expression matching the decimal numbers from 0 to `limit`, e.g. for 2147483647."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for at, digit in enumerate(digits):
        if digit != "0":
            options.append(f"{digits[:at]}[0-{int(digit) - 1}]" + rf"\d{{{len(digits) - at - 1}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` that matches only what a database integer holds, so a longer id is a 404, not a 500.

    The bound is in the pattern itself: werkzeug checks a rule's methods before its converters, so a
    value refused only by the converter would answer 405 on a path other methods also serve.
    """

    regex = _digits_up_to(MAX_DB_INT)

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_DB_INT if max is None else max, signed=signed)


def db_int(value: str) -> int:
    """Convert a query value to an int a database integer holds (for `request.args.get(…, type=db_int)`).

    Raises ValueError otherwise, which makes werkzeug's get() return its default.
    """
    number = int(value)
    if not -MAX_DB_INT - 1 <= number <= MAX_DB_INT:
        raise ValueError(f"{value!r} is out of range")
    return number


def parse_db_id(value: str | None) -> int | None:
    """Return the id a text names (ASCII digits a database integer holds), else None."""
    if value is None or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_DB_INT else None


def register_converters(app: Flask) -> None:
    """Bound every `<int:…>` in the app's URLs (before any blueprint adds a rule)."""
    app.url_map.converters["int"] = BoundedIntConverter


def register(app: Flask) -> None:
    """Refuse unstorable text before the views, and answer a database's refusal of a value with 400."""
    app.before_request(refuse_unstorable_text)
    app.register_error_handler(sqlalchemy.exc.DataError, answer_unstorable_value)


def _holds_unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def _json_holds_unstorable(document: Any) -> bool:
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _holds_unstorable(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def refuse_unstorable_text() -> None:
    """Answer 400 when the path, query, form or JSON body holds a NUL character or a lone surrogate."""
    if _holds_unstorable(request.path):
        raise UnstorableInput()
    if any(_holds_unstorable(key) or _holds_unstorable(value) for key, value in request.args.items(multi=True)):
        raise UnstorableInput()
    if request.mimetype in _FORM_TYPES:
        if any(_holds_unstorable(key) or _holds_unstorable(value) for key, value in request.form.items(multi=True)):
            raise UnstorableInput()
        # A file's name is cleaned where it is stored; a NUL in it is still no honest upload.
        if any(_holds_unstorable(upload.filename or "") for upload in request.files.values()):
            raise UnstorableInput()
    elif request.is_json:
        try:
            document = json.loads(request.get_data(cache=True))
        except (ValueError, RecursionError):
            return  # not JSON: the view answers that in its own words
        if _json_holds_unstorable(document):
            raise UnstorableInput()


def answer_unstorable_value(exc: sqlalchemy.exc.DataError):
    """Roll back and answer 400 for a value the database refused (e.g. an integer out of range)."""
    from portal.errors import answer_http_error
    from portal.extensions import db
    from portal.logs import loggable_path

    db.session.rollback()
    summary = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    log.warning("%s %s: the database refused a value: %s", request.method, loggable_path(), summary)
    return answer_http_error(UnstorableInput())

"""The calling merchant's own objects: one of them or 404, and one keyset page of them.

Every operation loads through these two, so no view can forget the merchant: another merchant's
id answers 404 exactly like an id that never existed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from flask import g
from sqlalchemy import select

from portal.api.pagination import PageQuery, cursor_values, keyset_page
from portal.models import Merchant
from portal.services.errors import NotFound

T = TypeVar("T")


def own(load: Callable[[Merchant, int], T], object_id: int, field: str | None = None) -> T:
    """Return the merchant's object through its service's loader; NotFound (404) naming `field` otherwise."""
    try:
        return load(g.merchant, object_id)
    except NotFound as exc:
        raise NotFound(exc.message, field or exc.field) from None


def owned_page(
    model: Any,
    params: PageQuery,
    *conditions: Any,
    keys: Sequence[Any] | None = None,
    options: Iterable[Any] = (),
    descending: bool = True,
) -> tuple[list[Any], bool]:
    """Return one keyset page of the merchant's `model` rows meeting `conditions` (newest id first), and has_more."""
    merchant_id = g.merchant.id
    keys = list(keys) if keys is not None else [model.id]
    statement = select(model).where(model.merchant_id == merchant_id, *conditions).options(*options)
    return keyset_page(statement, keys, params, cursor_values(model, merchant_id, keys), descending=descending)

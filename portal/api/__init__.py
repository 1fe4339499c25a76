"""The JSON API under /api/v1, a product of its own for integrators: operations, schemas and their blueprint.

Importing a module of this package (the services import portal.api.events) must not import the
operations, which import the services: the blueprint is loaded when first asked for.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "bp":
        from portal.api.operations import bp

        return bp
    raise AttributeError(name)

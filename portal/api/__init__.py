"""The JSON API under /api/v1, a product of its own for integrators: operations, schemas and their blueprint."""

from portal.api.operations import bp

__all__ = ["bp"]

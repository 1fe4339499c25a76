"""Outbox messages and per-merchant email templates."""

from __future__ import annotations

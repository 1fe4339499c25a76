"""Online payment attempts, provider settings, webhook events and the pay lock."""

from __future__ import annotations

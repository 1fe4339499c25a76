"""Charges recorded against customers, recurring lines and the monthly billing cycle."""

from __future__ import annotations

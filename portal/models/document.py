"""Rendered PDFs kept for reuse, and files attached to invoices."""

from __future__ import annotations

"""Merchant-facing side: the admin area and the JSON API."""

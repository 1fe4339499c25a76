"""The admin area: the merchant's staff pages."""

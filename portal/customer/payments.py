"""The pay button and the provider's return page (to be written: issue 5)."""

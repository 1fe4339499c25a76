"""Portal pages (to be written: issue 3)."""

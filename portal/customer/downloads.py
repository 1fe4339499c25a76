"""PDF, zip and attachment downloads (to be written: issue 4)."""

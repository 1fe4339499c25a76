"""Use cases: they load and change rows, flush, and leave the commit to the caller."""

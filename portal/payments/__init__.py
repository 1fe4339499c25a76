"""Online payment providers behind one small interface (see base.py)."""

"""The folders shipped with the code (themes, translations, migrations), wherever it is installed.

The repository keeps them beside `portal/`; the built wheel carries them inside the package
(see setup.py), so an installed portal never looks for a source tree.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The folders the build copies into the package.
BUNDLED_FOLDERS = ("themes", "translations", "migrations")


def bundled_dir(name: str) -> Path:
    """Return the folder `name`: inside the installed package, else beside it in a checkout."""
    if name not in BUNDLED_FOLDERS:
        raise ValueError(f"{name!r} is not shipped with the code")
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name

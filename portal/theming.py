"""Per-merchant branding: theme folders, brand colours as CSS custom properties, the logo."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from werkzeug.security import safe_join

from portal.models import Merchant

THEMES_DIR = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME = "classic"
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def available_themes() -> list[str]:
    """Return the names of the theme folders that hold a theme.css."""
    return sorted(p.name for p in THEMES_DIR.iterdir() if (p / "theme.css").is_file())


def theme_file(theme: str, name: str) -> Path | None:
    """Return a file inside a theme folder, or None if it would escape it or is missing."""
    joined = safe_join(str(THEMES_DIR), theme, name)
    if joined is None or not Path(joined).is_file():
        return None
    return Path(joined)


def check_colour(value: str) -> str:
    """Return the colour if it is #rrggbb, else raise ValueError."""
    if not _COLOUR.fullmatch(value or ""):
        raise ValueError("A colour must be written as #rrggbb")
    return value.lower()


def brand_css(merchant: Merchant) -> str:
    """Return the merchant's colours as CSS custom properties (validated, so safe to inline)."""
    primary = merchant.primary_color if _COLOUR.fullmatch(merchant.primary_color or "") else "#1d4ed8"
    accent = merchant.accent_color if _COLOUR.fullmatch(merchant.accent_color or "") else "#f59e0b"
    return f":root {{ --brand-primary: {primary}; --brand-accent: {accent}; }}"


def merchant_theme(merchant: Merchant) -> str:
    """Return the merchant's theme if it exists, else the default."""
    return merchant.theme if merchant.theme in available_themes() else DEFAULT_THEME


def logo_data_uri(merchant: Merchant) -> str | None:
    """Return the logo as a data: URI (it was re-encoded as PNG on upload)."""
    if not merchant.logo_png:
        return None
    return "data:image/png;base64," + base64.b64encode(merchant.logo_png).decode()

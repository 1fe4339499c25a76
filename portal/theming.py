"""Per-merchant branding: theme folders, brand colours as CSS custom properties, the logo."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from werkzeug.security import safe_join

from portal.bundled import bundled_dir
from portal.models import Merchant

THEMES_DIR = bundled_dir("themes")
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


def _luminance(colour: str) -> float:
    """Return the WCAG relative luminance of a #rrggbb colour."""
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG contrast ratio between two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _readable_on(background: str) -> str:
    # Text on a brand-coloured button: whichever of white or near-black reads better.
    return "#ffffff" if contrast_ratio(background, "#ffffff") >= contrast_ratio(background, "#111827") else "#111827"


def _text_safe(colour: str, background: str, fallback: str) -> str:
    # A brand colour used as text must still reach WCAG AA (4.5:1) on the page background.
    return colour if contrast_ratio(colour, background) >= 4.5 else fallback


def brand_css(merchant: Merchant) -> str:
    """Return the merchant's colours as CSS custom properties (validated, so safe to inline).

    Besides the two colours it gives readable companions: text on each colour, and a
    variant of the primary colour safe for links on a light and on a dark page.
    """
    primary = (merchant.primary_color if _COLOUR.fullmatch(merchant.primary_color or "") else "#1d4ed8").lower()
    accent = (merchant.accent_color if _COLOUR.fullmatch(merchant.accent_color or "") else "#f59e0b").lower()
    return (
        ":root { "
        f"--brand-primary: {primary}; --brand-accent: {accent}; "
        f"--brand-on-primary: {_readable_on(primary)}; --brand-on-accent: {_readable_on(accent)}; "
        f"--brand-ink-light: {_text_safe(primary, '#ffffff', '#1f2937')}; "
        f"--brand-ink-dark: {_text_safe(primary, '#131a2e', '#c7d2fe')}; "
        "}"
    )


def merchant_theme(merchant: Merchant) -> str:
    """Return the merchant's theme if it exists, else the default."""
    return merchant.theme if merchant.theme in available_themes() else DEFAULT_THEME


def logo_data_uri(merchant: Merchant) -> str | None:
    """Return the logo as a data: URI (it was re-encoded as PNG on upload)."""
    if not merchant.logo_png:
        return None
    return "data:image/png;base64," + base64.b64encode(merchant.logo_png).decode()

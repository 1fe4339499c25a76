"""A merchant's look and invoice defaults: logo, colours, theme, default terms and default tax rate."""

from __future__ import annotations

import io
import warnings
from decimal import Decimal

from PIL import Image, UnidentifiedImageError

from portal.domain.errors import DomainError
from portal.domain.invoices import MAX_PERCENT
from portal.domain.money import check_decimal
from portal.extensions import db
from portal.models import Merchant
from portal.theming import available_themes, check_colour

MAX_LOGO_BYTES = 1024 * 1024
#: Formats Pillow may open; SVG (script inside), and anything else, is refused before decoding.
LOGO_FORMATS = ("PNG", "JPEG", "WEBP")
#: More pixels than this is refused outright: a small file can decode into gigabytes (a pixel bomb).
MAX_LOGO_PIXELS = 16_000_000
#: Logos are stored no larger than this, which is plenty for a page header, a mail and a PDF.
LOGO_BOX = (800, 400)


def process_logo(data: bytes) -> bytes:
    """Return the upload re-encoded as a PNG, or raise DomainError saying why it is refused."""
    if not data:
        raise DomainError("Choose a file to upload", "logo")
    if len(data) > MAX_LOGO_BYTES:
        raise DomainError("The logo must be at most 1 MB", "logo")
    refused = DomainError("The logo must be a PNG, JPEG or WebP image (SVG and other files are refused)", "logo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=LOGO_FORMATS) as probe:
                width, height = probe.size
                if width * height > MAX_LOGO_PIXELS:
                    raise DomainError("The logo has too many pixels: use an image under 16 megapixels", "logo")
                probe.verify()  # checks the file's structure without decoding the pixels
            # verify() leaves the image unusable, so decode a fresh copy.
            with Image.open(io.BytesIO(data), formats=LOGO_FORMATS) as image:
                image.load()
                image = image.convert("RGBA")
    except DomainError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refused from None
    except (OSError, SyntaxError, ValueError):  # what Pillow raises for truncated or corrupt files
        raise refused from None
    image.thumbnail(LOGO_BOX)
    output = io.BytesIO()
    # Re-encoding keeps only the pixels: metadata and anything appended to the file are gone.
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def set_logo(merchant: Merchant, data: bytes) -> None:
    """Store the uploaded logo, re-encoded as PNG."""
    merchant.logo_png = process_logo(data)
    db.session.flush()


def remove_logo(merchant: Merchant) -> None:
    """Forget the merchant's logo."""
    merchant.logo_png = None
    db.session.flush()


def set_branding(merchant: Merchant, *, primary_color: str, accent_color: str, theme: str, terms: str | None) -> None:
    """Change the colours, theme and default terms of service."""
    try:
        primary = check_colour(primary_color)
    except ValueError as exc:
        raise DomainError(str(exc), "primary_color") from None
    try:
        accent = check_colour(accent_color)
    except ValueError as exc:
        raise DomainError(str(exc), "accent_color") from None
    if theme not in available_themes():
        raise DomainError(f"Theme must be one of {', '.join(available_themes())}", "theme")
    merchant.primary_color = primary
    merchant.accent_color = accent
    merchant.theme = theme
    merchant.terms = (terms or "").strip() or None
    db.session.flush()


def set_default_tax_rate(merchant: Merchant, rate: Decimal | None) -> None:
    """Set the tax rate new lines take when they name none (None: every line names its own)."""
    if rate is not None:
        check_decimal(rate, "default_tax_rate", maximum=MAX_PERCENT, places=2)
    merchant.default_tax_rate = rate
    db.session.flush()

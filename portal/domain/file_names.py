"""Names of files people upload and download: no control or direction characters, an extension that tells the truth.

A name such as "invoice\u202egpj.exe" shows as "invoiceexe.jpg" in a browser or a file manager:
the right-to-left override turns the real extension around. Such characters are removed, and a
served file's extension is the one of the type its bytes show, whatever the uploader called it.
"""

from __future__ import annotations

import re
import unicodedata

#: The extension each accepted type is served with.
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
#: Files stored before the legacy Office kinds were told apart: one of these extensions is kept.
_LEGACY_OFFICE = "application/vnd.ms-office"
_LEGACY_OFFICE_EXTENSIONS = ("doc", "xls", "ppt")

#: Bidirectional formatting (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) and line or paragraph separators.
_DIRECTION_AND_SEPARATORS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})$")
MAX_NAME_LENGTH = 200


def _kept(char: str) -> bool:
    return char not in _DIRECTION_AND_SEPARATORS and unicodedata.category(char) not in ("Cc", "Zl", "Zp", "Cs")


def clean_file_name(name: str | None) -> str:
    """Return the name's last path part without control or direction characters, trimmed ("" when nothing is left)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char if _kept(char) else "" for char in name)
    return name.strip().strip(".").strip()


def extension_for(content_type: str, name: str = "") -> str | None:
    """Return the extension a file of this type is served with (None for a type not accepted)."""
    if content_type == _LEGACY_OFFICE:
        match = _EXTENSION.search(name)
        found = match.group(1).lower() if match else ""
        return found if found in _LEGACY_OFFICE_EXTENSIONS else "doc"
    return EXTENSIONS.get(content_type)


def name_for_type(name: str | None, content_type: str, default_stem: str = "attachment") -> str:
    """Return a clean name whose extension follows the type: "x.exe" holding a PDF becomes "x.pdf"."""
    cleaned = clean_file_name(name)
    extension = extension_for(content_type, cleaned)
    match = _EXTENSION.search(cleaned)
    stem = cleaned[: match.start()] if match and not match.group(1).isdigit() else cleaned
    stem = stem.rstrip(". ") or default_stem
    if extension is None:
        return cleaned[:MAX_NAME_LENGTH] or default_stem
    return f"{stem[: MAX_NAME_LENGTH - len(extension) - 1]}.{extension}"

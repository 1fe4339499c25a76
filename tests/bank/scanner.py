"""Scan an EPC QR code with zbar, as a banking app's camera would."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

DATA_URI_PREFIX = "data:image/png;base64,"


def decode(png: bytes, tmp_path: Path) -> list[str]:
    """Scan a PNG with zbarimg and return the EPC payload's lines."""
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbarimg is missing: install the Debian package zbar-tools (make system-deps)"
    image = tmp_path / "qr.png"
    image.write_bytes(png)
    # -Sbinary: the payload's bytes as encoded, not zbar's guess at a character set.
    result = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sbinary", str(image)], capture_output=True, check=True, timeout=30
    )
    return result.stdout.decode("utf-8").rstrip("\n").split("\n")


def decode_data_uri(uri: str, tmp_path: Path) -> list[str]:
    """Scan the PNG an <img src="data:…"> shows."""
    assert uri.startswith(DATA_URI_PREFIX), uri[:40]
    return decode(base64.b64decode(uri.removeprefix(DATA_URI_PREFIX)), tmp_path)

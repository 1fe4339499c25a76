"""The EPC QR code (EPC069-12 "SEPA credit transfer") that banking apps scan to pre-fill a transfer."""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass

import segno
import segno.helpers

from portal.domain.money import Money

#: The EPC QR code carries euros only (EPC069-12: "EUR" + amount).
EPC_CURRENCY = "EUR"
#: EPC069-12 bounds: 0.01 to 999,999,999.99 EUR, a beneficiary name of at most 70 characters.
MIN_AMOUNT = 1
MAX_AMOUNT = 99_999_999_999
MAX_NAME_LENGTH = 70


@dataclass(frozen=True)
class CreditTransfer:
    """What a customer needs to pay an invoice by bank transfer."""

    beneficiary: str
    #: Compact IBAN (no spaces) and optional BIC of the merchant's account.
    iban: str
    bic: str | None
    amount: Money
    #: The invoice's structured reference, compact (RF… or the OGM's twelve digits).
    reference: str

    @property
    def has_qr_code(self) -> bool:
        """Tell whether an EPC QR code can carry this transfer: euros, within the standard's bounds."""
        return self.amount.currency == EPC_CURRENCY and MIN_AMOUNT <= self.amount.minor <= MAX_AMOUNT


def epc_qr_code(transfer: CreditTransfer) -> segno.QRCode | None:
    """Return the EPC QR code of a transfer (version 002, UTF-8, reference structured), or None outside euros."""
    if not transfer.has_qr_code:
        return None
    # segno writes version 002 (BIC optional), error level M, at most QR version 13, and refuses
    # a payload over 331 bytes. The reference goes in the structured field: banking apps then pass it
    # on as the creditor reference the statement reports back (an OGM as its twelve digits, as
    # Belgian banks read it there). UTF-8 ("1") so that any beneficiary name survives intact.
    return segno.helpers.make_epc_qr(
        name=transfer.beneficiary.strip()[:MAX_NAME_LENGTH],
        iban=transfer.iban.replace(" ", "").upper(),
        amount=transfer.amount.to_decimal(),
        reference=transfer.reference,
        bic=(transfer.bic or "").replace(" ", "").upper() or None,
        encoding="utf-8",
    )


def epc_qr_png(transfer: CreditTransfer, *, scale: int = 4) -> bytes | None:
    """Return the EPC QR code as a PNG (quiet zone included), or None outside euros."""
    qr = epc_qr_code(transfer)
    if qr is None:
        return None
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


@functools.lru_cache(maxsize=512)
def epc_qr_data_uri(transfer: CreditTransfer) -> str | None:
    """Return the EPC QR code as a data: URI for an <img>, the same image on the page and in the PDF.

    Kept per transfer (a frozen value): encoding the code costs more than the rest of a cached PDF download.
    """
    png = epc_qr_png(transfer)
    if png is None:
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

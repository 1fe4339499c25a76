"""The two parties of a document, seller and buyer, as finalized documents keep them.

A finalized invoice or credit note stores both as JSON in exactly the shape of `to_json()`,
the shape the API returns; `from_json()` reads it back, so nothing else digs through dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from portal.domain.identifiers import InvalidIdentifier, check_country

#: Fields a seller must have before any document can be issued (EU VAT Directive art. 226 (5)).
SELLER_REQUIRED = ("legal_name", "address.line1", "address.postal_code", "address.city", "address.country")


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


@dataclass(frozen=True)
class Address:
    """A postal address; country is an ISO 3166 alpha-2 code."""

    line1: str
    line2: str | None
    postal_code: str
    city: str
    country: str

    def to_json(self) -> dict[str, str | None]:
        """Return the address as stored and as the API shows it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Address | None:
        """Read an address back; None when there is none."""
        if not data:
            return None
        return cls(
            line1=_text(data, "line1") or "",
            line2=_text(data, "line2"),
            postal_code=_text(data, "postal_code") or "",
            city=_text(data, "city") or "",
            country=(_text(data, "country") or "").upper(),
        )

    @property
    def locality(self) -> str:
        """Return "postal code city", as a European address writes its last line."""
        return " ".join(part for part in (self.postal_code, self.city) if part)


@dataclass(frozen=True)
class Seller:
    """The merchant's legal identity as printed on a document, with the bank details customers pay to."""

    legal_name: str
    address: Address | None
    vat_number: str | None = None
    company_number: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    iban: str | None = None
    bic: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the seller as stored on a finalized document and as the API shows it."""
        data = asdict(self)
        data["address"] = self.address.to_json() if self.address else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Seller:
        """Read a stored seller back."""
        return cls(
            legal_name=_text(data, "legal_name") or "",
            address=Address.from_json(data.get("address")),
            vat_number=_text(data, "vat_number"),
            company_number=_text(data, "company_number"),
            email=_text(data, "email"),
            phone=_text(data, "phone"),
            website=_text(data, "website"),
            iban=_text(data, "iban"),
            bic=_text(data, "bic"),
        )

    def missing(self) -> list[str]:
        """Return the mandatory fields that are empty, as dotted names (address.city)."""
        address = self.address
        values = {
            "legal_name": self.legal_name,
            "address.line1": address.line1 if address else "",
            "address.postal_code": address.postal_code if address else "",
            "address.city": address.city if address else "",
            "address.country": address.country if address else "",
        }
        return [name for name in SELLER_REQUIRED if not (values[name] or "").strip()]


@dataclass(frozen=True)
class Buyer:
    """The customer as billed: a person, or a company (legal name) with a contact person."""

    name: str
    company: str | None
    address: Address | None
    vat_number: str | None = None
    company_number: str | None = None
    email: str | None = None
    phone: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the buyer as stored on a finalized document and as the API shows it."""
        data = asdict(self)
        data["address"] = self.address.to_json() if self.address else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Buyer:
        """Read a stored buyer back."""
        return cls(
            name=_text(data, "name") or "",
            company=_text(data, "company"),
            address=Address.from_json(data.get("address")),
            vat_number=_text(data, "vat_number"),
            company_number=_text(data, "company_number"),
            email=_text(data, "email"),
            phone=_text(data, "phone"),
        )

    @property
    def billed_name(self) -> str:
        """Return the name the document is addressed to: the company when there is one."""
        return self.company or self.name

    @property
    def attention(self) -> str | None:
        """Return the contact person when the document is addressed to a company."""
        return self.name if self.company and self.name != self.company else None


_ADDRESS_LIMITS = {"line1": 200, "line2": 200, "postal_code": 20, "city": 100}


def check_address(
    *,
    line1: str | None,
    line2: str | None = None,
    postal_code: str | None,
    city: str | None,
    country: str | None,
    field: str = "address",
) -> Address | None:
    """Return the address trimmed and checked, or None when every part is empty.

    A partial address is refused naming the first missing part (address.city), and the country
    must be a real ISO 3166 alpha-2 code.
    """
    values = {
        "line1": (line1 or "").strip(),
        "line2": (line2 or "").strip(),
        "postal_code": (postal_code or "").strip(),
        "city": (city or "").strip(),
        "country": (country or "").strip(),
    }
    if not any(values.values()):
        return None
    for name in ("line1", "postal_code", "city", "country"):
        if not values[name]:
            raise InvalidIdentifier(f"The address needs its {name.replace('_', ' ')}", f"{field}.{name}")
    for name, limit in _ADDRESS_LIMITS.items():
        if len(values[name]) > limit:
            raise InvalidIdentifier(f"The {name.replace('_', ' ')} is at most {limit} characters", f"{field}.{name}")
    return Address(
        line1=values["line1"],
        line2=values["line2"] or None,
        postal_code=values["postal_code"],
        city=values["city"],
        country=check_country(values["country"], f"{field}.country"),
    )

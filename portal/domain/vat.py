"""VAT categories as EN 16931 codes them, and the legal wording an exempt or reverse-charged line needs.

Art. 226 (11) and (11a) of Directive 2006/112/EC ask an invoice to state why no VAT is charged: a
reference to the exemption, or the words "Reverse charge". A reference to the Directive's own
article is valid in every member state, so the default wording cites it where the category has
one article; staff may replace it per invoice (with a national article, for instance).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal

from portal.domain.errors import InvalidAmount

MAX_EXEMPTION_REASON_LENGTH = 300


class TaxCategory(str, enum.Enum):  # noqa: UP042 (str() of a member must stay its value)
    """The EN 16931 VAT category code of a line (UNCL5305 subset used in the EU)."""

    STANDARD = "S"
    ZERO_RATED = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"
    EXPORT = "G"
    NOT_SUBJECT = "O"


#: Display and sorting order.
CATEGORY_ORDER = tuple(TaxCategory)
CATEGORY_CODES = tuple(category.value for category in TaxCategory)
#: Categories whose document must say why no VAT is charged.
NEEDS_REASON = frozenset(
    {
        TaxCategory.EXEMPT,
        TaxCategory.REVERSE_CHARGE,
        TaxCategory.INTRA_COMMUNITY,
        TaxCategory.EXPORT,
        TaxCategory.NOT_SUBJECT,
    }
)
#: Categories only a VAT-registered buyer can receive: the buyer's VAT number must be on the document.
NEEDS_BUYER_VAT = frozenset({TaxCategory.REVERSE_CHARGE, TaxCategory.INTRA_COMMUNITY})
#: The VATEX exemption reason codes (CEF list) the e-invoices carry beside the wording.
VATEX_CODES = {
    TaxCategory.REVERSE_CHARGE: "VATEX-EU-AE",
    TaxCategory.INTRA_COMMUNITY: "VATEX-EU-IC",
    TaxCategory.EXPORT: "VATEX-EU-G",
    TaxCategory.NOT_SUBJECT: "VATEX-EU-O",
}

#: The default wording per category and language; a language missing here falls back to English.
DEFAULT_EXEMPTION_REASONS: dict[TaxCategory, dict[str, str]] = {
    TaxCategory.EXEMPT: {
        "en": "Exempt from VAT",
        "fr": "Exonération de TVA",
        "nl": "Vrijgesteld van btw",
        "de": "Steuerfreie Leistung",
    },
    TaxCategory.REVERSE_CHARGE: {
        "en": "Reverse charge",
        "fr": "Autoliquidation",
        "nl": "Btw verlegd",
        "de": "Steuerschuldnerschaft des Leistungsempfängers",
    },
    TaxCategory.INTRA_COMMUNITY: {
        "en": "Intra-Community supply of goods exempt from VAT (Article 138 of Directive 2006/112/EC)",
        "fr": "Livraison intracommunautaire exonérée de TVA (article 138 de la directive 2006/112/CE)",
        "nl": "Vrijgestelde intracommunautaire levering (artikel 138 van Richtlijn 2006/112/EG)",
        "de": "Steuerfreie innergemeinschaftliche Lieferung (Artikel 138 der Richtlinie 2006/112/EG)",
    },
    TaxCategory.EXPORT: {
        "en": "Export outside the EU exempt from VAT (Article 146 of Directive 2006/112/EC)",
        "fr": "Exportation hors de l’UE exonérée de TVA (article 146 de la directive 2006/112/CE)",
        "nl": "Vrijgestelde uitvoer buiten de EU (artikel 146 van Richtlijn 2006/112/EG)",
        "de": "Steuerfreie Ausfuhrlieferung (Artikel 146 der Richtlinie 2006/112/EG)",
    },
    TaxCategory.NOT_SUBJECT: {
        "en": "Not subject to VAT",
        "fr": "Non soumis à la TVA",
        "nl": "Niet onderworpen aan btw",
        "de": "Nicht steuerbarer Umsatz",
    },
}


def tax_category(value: str | TaxCategory, field: str = "tax_category") -> TaxCategory:
    """Return the category for a code (S, Z, E, AE, K, G, O), or raise naming the field."""
    try:
        return TaxCategory(value)
    except ValueError:
        raise InvalidAmount(f"The tax category must be one of {', '.join(CATEGORY_CODES)}", field) from None


def default_category(rate: Decimal) -> TaxCategory:
    """Return the category a line gets when none is named: standard, or zero-rated at 0 %.

    EN 16931 forbids a standard-rated line at 0 % (BR-S-05), so an unnamed 0 % line is zero-rated.
    """
    return TaxCategory.STANDARD if rate > 0 else TaxCategory.ZERO_RATED


def check_category_rate(category: TaxCategory, rate: Decimal, field: str = "tax_rate") -> None:
    """Raise unless the rate fits the category: above 0 for standard, exactly 0 for every other."""
    if category is TaxCategory.STANDARD and rate <= 0:
        raise InvalidAmount("A standard-rated line (S) needs a tax rate above 0; use Z, E or another category", field)
    if category is not TaxCategory.STANDARD and rate != 0:
        raise InvalidAmount(f"A line of category {category.value} charges no VAT: its tax rate must be 0", field)


def default_exemption_reason(category: TaxCategory, language: str) -> str:
    """Return the legal wording for a category in a language (English when the language has none)."""
    wording = DEFAULT_EXEMPTION_REASONS[category]
    return wording.get(language, wording["en"])


def check_exemption_reasons(reasons: Mapping[str, str | None], field: str = "exemption_reasons") -> dict[str, str]:
    """Return the per-invoice wording overrides cleaned: known exempt categories, non-empty, bounded text."""
    cleaned: dict[str, str] = {}
    for code, text in reasons.items():
        category = tax_category(code, f"{field}.{code}")
        if category not in NEEDS_REASON:
            raise InvalidAmount(
                f"Category {category.value} charges VAT: it takes no exemption wording", f"{field}.{code}"
            )
        text = (text or "").strip()
        if len(text) > MAX_EXEMPTION_REASON_LENGTH:
            raise InvalidAmount(
                f"The exemption wording is at most {MAX_EXEMPTION_REASON_LENGTH} characters", f"{field}.{code}"
            )
        if text:
            cleaned[category.value] = text
    return cleaned


def exemption_reasons(
    categories: Iterable[TaxCategory], language: str, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the wording the document shows for each of its categories that needs one, in display order."""
    overrides = overrides or {}
    used = set(categories)
    return {
        category.value: overrides.get(category.value) or default_exemption_reason(category, language)
        for category in CATEGORY_ORDER
        if category in used and category in NEEDS_REASON
    }

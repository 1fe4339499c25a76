"""A merchant's own wording of the invoice mail, per language."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.mail.defaults import INVOICE_MAIL, INVOICE_PLACEHOLDERS, MailText
from portal.models import Merchant
from portal.models.mail import EmailTemplate
from portal.services.customers import check_language

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _own(merchant: Merchant, language: str) -> EmailTemplate | None:
    return db.session.scalar(
        select(EmailTemplate).where(
            EmailTemplate.merchant_id == merchant.id,
            EmailTemplate.kind == "invoice",
            EmailTemplate.language == language,
        )
    )


def invoice_mail_in_force(merchant: Merchant, language: str) -> MailText:
    """Return the invoice mail a document issued now in that language gets: the merchant's own, else the built-in."""
    own = _own(merchant, language)
    if own is not None:
        return MailText(own.subject, own.body)
    return INVOICE_MAIL.get(language, INVOICE_MAIL["en"])


def invoice_templates(merchant: Merchant, languages: list[str]) -> dict[str, tuple[MailText, bool]]:
    """Return per language the invoice mail in force and whether it is the merchant's own."""
    return {
        language: (invoice_mail_in_force(merchant, language), _own(merchant, language) is not None)
        for language in languages
    }


def _check_placeholders(text: str, field: str) -> None:
    unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in INVOICE_PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in INVOICE_PLACEHOLDERS)
        raise DomainError(f"Unknown placeholder {{{unknown[0]}}}: use {allowed}", field)


def set_invoice_template(merchant: Merchant, language: str, *, subject: str, body: str) -> EmailTemplate:
    """Store the merchant's invoice mail for a language; the body must hold the {link}."""
    check_language(language)
    subject, body = subject.strip(), body.strip()
    if not subject:
        raise DomainError("The subject cannot be empty", "subject")
    if "\n" in subject or "\r" in subject:
        raise DomainError("The subject is one line", "subject")
    if "{link}" not in body:
        raise DomainError("The body must hold {link}: it becomes the “View this invoice” button", "body")
    _check_placeholders(subject, "subject")
    _check_placeholders(body, "body")
    template = _own(merchant, language)
    if template is None:
        template = EmailTemplate(merchant_id=merchant.id, kind="invoice", language=language)
        db.session.add(template)
    template.subject = subject
    template.body = body
    db.session.flush()
    return template


def reset_invoice_template(merchant: Merchant, language: str) -> None:
    """Go back to the built-in invoice mail for a language."""
    template = _own(merchant, language)
    if template is not None:
        db.session.delete(template)
        db.session.flush()

"""The built-in wording of the invoice mail, per language, used until a merchant writes their own."""

from __future__ import annotations

from dataclasses import dataclass

#: The placeholders a merchant's invoice template may use.
INVOICE_PLACEHOLDERS = ("number", "amount_due", "due_date", "merchant", "customer", "link")


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


INVOICE_MAIL = {
    "en": MailText(
        subject="Invoice {number} from {merchant}",
        body=(
            "Hello {customer},\n\n"
            "Please find attached invoice {number} from {merchant} for {amount_due}, due on {due_date}.\n\n"
            "{link}\n\n"
            "In your customer portal you can view the invoice, download it, ask us a question and pay online.\n\n"
            "Kind regards,\n{merchant}"
        ),
    ),
    "fr": MailText(
        subject="Facture {number} de {merchant}",
        body=(
            "Bonjour {customer},\n\n"
            "Veuillez trouver ci-joint la facture {number} de {merchant}, d’un montant de {amount_due}, "
            "à régler au plus tard le {due_date}.\n\n"
            "{link}\n\n"
            "Dans votre portail client, vous pouvez consulter la facture, la télécharger, nous poser une question "
            "et la payer en ligne.\n\n"
            "Cordialement,\n{merchant}"
        ),
    ),
    "nl": MailText(
        subject="Factuur {number} van {merchant}",
        body=(
            "Beste {customer},\n\n"
            "In bijlage vindt u factuur {number} van {merchant} voor een bedrag van {amount_due}, "
            "te betalen uiterlijk op {due_date}.\n\n"
            "{link}\n\n"
            "In uw klantenportaal kunt u de factuur bekijken, downloaden, ons een vraag stellen en online betalen.\n\n"
            "Met vriendelijke groeten,\n{merchant}"
        ),
    ),
    "de": MailText(
        subject="Rechnung {number} von {merchant}",
        body=(
            "Guten Tag {customer},\n\n"
            "anbei erhalten Sie die Rechnung {number} von {merchant} über {amount_due}, zahlbar bis zum {due_date}.\n\n"
            "{link}\n\n"
            "In Ihrem Kundenportal können Sie die Rechnung ansehen, herunterladen, uns eine Frage stellen "
            "und online bezahlen.\n\n"
            "Mit freundlichen Grüßen\n{merchant}"
        ),
    ),
}

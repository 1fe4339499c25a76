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

#: The placeholders a reminder template may use.
REMINDER_PLACEHOLDERS = (*INVOICE_PLACEHOLDERS, "days_late", "late_fee")

#: The built-in reminder wording: "before" for steps up to the due date, "after" for steps past it.
REMINDER_MAIL = {
    "before": {
        "en": MailText(
            subject="Reminder: invoice {number} is due on {due_date}",
            body=(
                "Hello {customer},\n\n"
                "A friendly reminder that invoice {number} from {merchant} for {amount_due} is due on {due_date}.\n\n"
                "{link}\n\n"
                "If you have already paid, thank you, and please ignore this email.\n\n"
                "Kind regards,\n{merchant}"
            ),
        ),
        "fr": MailText(
            subject="Rappel\u00a0: la facture {number} arrive à échéance le {due_date}",
            body=(
                "Bonjour {customer},\n\n"
                "Nous vous rappelons que la facture {number} de {merchant}, d’un montant de {amount_due}, "
                "est à régler au plus tard le {due_date}.\n\n"
                "{link}\n\n"
                "Si vous l’avez déjà réglée, merci, et ne tenez pas compte de ce message.\n\n"
                "Cordialement,\n{merchant}"
            ),
        ),
        "nl": MailText(
            subject="Herinnering: factuur {number} vervalt op {due_date}",
            body=(
                "Beste {customer},\n\n"
                "Graag herinneren we u eraan dat factuur {number} van {merchant} voor een bedrag van {amount_due} "
                "vervalt op {due_date}.\n\n"
                "{link}\n\n"
                "Hebt u al betaald? Dan danken we u en mag u deze e-mail negeren.\n\n"
                "Met vriendelijke groeten,\n{merchant}"
            ),
        ),
        "de": MailText(
            subject="Erinnerung: Rechnung {number} ist am {due_date} fällig",
            body=(
                "Guten Tag {customer},\n\n"
                "wir möchten Sie freundlich daran erinnern, dass die Rechnung {number} von {merchant} über "
                "{amount_due} am {due_date} fällig ist.\n\n"
                "{link}\n\n"
                "Falls Sie bereits bezahlt haben, vielen Dank – dann betrachten Sie diese E-Mail bitte als gegenstandslos.\n\n"
                "Mit freundlichen Grüßen\n{merchant}"
            ),
        ),
    },
    "after": {
        "en": MailText(
            subject="Payment reminder: invoice {number} is {days_late} days overdue",
            body=(
                "Hello {customer},\n\n"
                "Invoice {number} from {merchant} was due on {due_date} and is now {days_late} days overdue. "
                "The amount due today is {amount_due} (late charges included: {late_fee}).\n\n"
                "{link}\n\n"
                "If you have already paid, thank you, and please ignore this email. If something is wrong with the "
                "invoice, you can tell us from the portal.\n\n"
                "Kind regards,\n{merchant}"
            ),
        ),
        "fr": MailText(
            subject="Rappel de paiement\u00a0: la facture {number} est échue depuis {days_late} jours",
            body=(
                "Bonjour {customer},\n\n"
                "La facture {number} de {merchant} était à régler le {due_date} et est échue depuis {days_late} jours. "
                "Le montant dû aujourd’hui s’élève à {amount_due} (frais de retard compris\u00a0: {late_fee}).\n\n"
                "{link}\n\n"
                "Si vous l’avez déjà réglée, merci, et ne tenez pas compte de ce message. Si la facture vous semble "
                "incorrecte, vous pouvez nous le signaler depuis le portail.\n\n"
                "Cordialement,\n{merchant}"
            ),
        ),
        "nl": MailText(
            subject="Betalingsherinnering: factuur {number} is {days_late} dagen te laat",
            body=(
                "Beste {customer},\n\n"
                "Factuur {number} van {merchant} verviel op {due_date} en is nu {days_late} dagen te laat. "
                "Vandaag bedraagt het verschuldigde bedrag {amount_due} (inclusief nalatigheidskosten: {late_fee}).\n\n"
                "{link}\n\n"
                "Hebt u al betaald? Dan danken we u en mag u deze e-mail negeren. Klopt er iets niet aan de factuur, "
                "laat het ons dan weten via het portaal.\n\n"
                "Met vriendelijke groeten,\n{merchant}"
            ),
        ),
        "de": MailText(
            subject="Zahlungserinnerung: Rechnung {number} ist seit {days_late} Tagen überfällig",
            body=(
                "Guten Tag {customer},\n\n"
                "die Rechnung {number} von {merchant} war am {due_date} fällig und ist seit {days_late} Tagen "
                "überfällig. Heute sind {amount_due} zu zahlen (einschließlich Verzugskosten: {late_fee}).\n\n"
                "{link}\n\n"
                "Falls Sie bereits bezahlt haben, vielen Dank – dann betrachten Sie diese E-Mail bitte als "
                "gegenstandslos. Stimmt etwas mit der Rechnung nicht, teilen Sie es uns bitte über das Portal mit.\n\n"
                "Mit freundlichen Grüßen\n{merchant}"
            ),
        ),
    },
}


def reminder_default(offset_days: int, language: str) -> MailText:
    """Return the built-in reminder wording for a step in a language."""
    texts = REMINDER_MAIL["after" if offset_days > 0 else "before"]
    return texts.get(language, texts["en"])

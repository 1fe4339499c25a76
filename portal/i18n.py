"""Which language a request is answered in."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_babel import refresh

#: The session key holding a language chosen before anyone signed in.
SESSION_LANGUAGE = "language"
#: The session key holding the language a signed-in customer picked in the page.
SESSION_READER_LANGUAGE = "reader_language"

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "nl": "Nederlands", "de": "Deutsch"}


def show_in_document_language(language: str) -> None:
    """Show this page in the language its document was issued in, unless the reader picked another."""
    g.document_language = language
    refresh()


def select_locale() -> str | None:
    """Pick the signed-in customer's language, else the visitor's choice, else the browser's.

    A signed-in customer sees a finalized document's page in the language it was issued in (so a
    later change of their language does not rewrite it) unless they picked a language in the page.
    """
    if not has_request_context():
        return None
    from portal.customer.access import current_contact, current_customer

    languages = list(current_app.config["LANGUAGES"])
    customer = current_customer()
    if customer is not None:
        contact = current_contact()
        own = contact.language if contact is not None and not contact.is_primary else customer.language
        for choice in (session.get(SESSION_READER_LANGUAGE), g.get("document_language"), own):
            if choice in languages:
                return choice
    chosen = session.get(SESSION_LANGUAGE)
    if chosen in languages:
        return chosen
    # An expired or revoked link names its customer: their language, not the browser's.
    if g.get("link_language") in languages:
        return g.link_language
    return request.accept_languages.best_match(languages)

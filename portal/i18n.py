"""Which language a request is answered in."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session

#: The session key holding a language chosen before anyone signed in.
SESSION_LANGUAGE = "language"

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "nl": "Nederlands", "de": "Deutsch"}


def select_locale() -> str | None:
    """Pick the signed-in customer's language, else the visitor's choice, else the browser's."""
    if not has_request_context():
        return None
    from portal.customer.access import current_customer

    languages = list(current_app.config["LANGUAGES"])
    customer = current_customer()
    if customer is not None and customer.language in languages:
        return customer.language
    chosen = session.get(SESSION_LANGUAGE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages)

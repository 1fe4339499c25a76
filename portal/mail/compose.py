"""Turn what a mail says into its text and HTML parts, branded with the merchant's logo and colour."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import get_locale
from markupsafe import Markup, escape

from portal.documents.html import render
from portal.mail.outbox import MailAttachment
from portal.models import Merchant
from portal.theming import check_colour

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_DEFAULT_COLOUR = "#1d4ed8"


@dataclass(frozen=True)
class Button:
    label: str
    url: str


@dataclass(frozen=True)
class Composed:
    text: str
    html: str
    inline: tuple[MailAttachment, ...]


def fill_text(template: str, values: Mapping[str, str]) -> str:
    """Replace each known {name}; an unknown placeholder stays as written."""
    # Not str.format: the template is merchant input, and format specs or attribute access
    # ({amount_due:>999999999}, {link.__class__}) must not run.
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), template)


def fill_plain(template: str, values: Mapping[str, str], link_label: str) -> str:
    """Return the text part: placeholders filled, a {link} alone in its paragraph introduced by its label."""
    blocks = []
    for block in re.split(r"\n\s*\n", template.strip()):
        if block.strip() == "{link}" and "link" in values:
            blocks.append(f"{link_label}:\n{values['link']}")
        else:
            blocks.append(fill_text(block.strip(), values))
    return "\n\n".join(blocks)


def _fill_line(line: str, values: Mapping[str, str], link: Markup | None) -> Markup:
    pieces, position = [], 0
    for match in _PLACEHOLDER.finditer(line):
        pieces.append(escape(line[position : match.start()]))
        name = match[1]
        if name == "link" and link is not None:
            pieces.append(link)
        else:
            pieces.append(escape(values.get(name, match[0])))
        position = match.end()
    pieces.append(escape(line[position:]))
    return Markup("").join(pieces)


def fill_html(template: str, values: Mapping[str, str], link_button: Button | None = None) -> Markup:
    """Return the template as HTML paragraphs, everything escaped, a {link} alone in its paragraph as a button."""
    anchor = None
    if link_button is not None:
        anchor = Markup('<a class="inline-link" href="{}">{}</a>').format(link_button.url, link_button.label)
    blocks = []
    for block in re.split(r"\n\s*\n", template.strip()):
        if block.strip() == "{link}" and link_button is not None:
            blocks.append(Markup(render("mail/_button.html", button=link_button)))
            continue
        lines = [_fill_line(line, values, anchor) for line in block.strip().split("\n")]
        blocks.append(Markup("<p>{}</p>").format(Markup("<br>\n").join(lines)))
    return Markup("\n").join(blocks)


def _colour(value: str | None) -> str:
    try:
        return check_colour(value or "")
    except ValueError:
        return _DEFAULT_COLOUR


def compose(
    merchant: Merchant,
    *,
    paragraphs: Sequence[str] = (),
    button: Button | None = None,
    quote: str | None = None,
    body_text: str | None = None,
    body_html: Markup | None = None,
    banner: str | None = None,
    preheader: str = "",
    footer: str = "",
    contact_email: str | None = None,
) -> Composed:
    """Render the mail in the current locale: either paragraphs (+ button, quote) or a merchant's ready body.

    contact_email replaces the merchant's current support address in the footer (a document's mail
    shows the address the document was issued with).
    """
    logo = None
    if merchant.logo_png:
        logo = MailAttachment("logo.png", "image/png", merchant.logo_png, content_id=f"logo.{merchant.id}@portal")
    if body_html is None:
        body_html = Markup("\n").join(Markup("<p>{}</p>").format(p) for p in paragraphs)
        if quote:
            body_html += Markup('\n<blockquote class="quote">{}</blockquote>').format(quote)
        if button:
            body_html += Markup(render("mail/_button.html", button=button))
    if body_text is None:
        body_text = "\n\n".join(paragraphs)
        if quote:
            body_text += "\n\n" + "\n".join(f"> {line}" for line in quote.splitlines())
        if button:
            body_text += f"\n\n{button.label}:\n{button.url}"
    context = dict(
        language=str(get_locale() or "en"),
        merchant_name=merchant.name,
        support_email=contact_email or merchant.support_email,
        colour=_colour(merchant.primary_color),
        accent=_colour(merchant.accent_color),
        logo_cid=logo.content_id if logo else None,
        body_html=Markup(body_html),
        body_text=body_text,
        banner=banner,
        preheader=preheader,
        footer=footer,
    )
    return Composed(
        text=render("mail/message.txt", **context),
        html=render("mail/message.html", **context),
        inline=(logo,) if logo else (),
    )

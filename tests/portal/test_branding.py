"""Branding: logo, validated colours, themes as folders, the merchant's name in the tab."""

from __future__ import annotations

import re

import pytest

from portal.theming import available_themes, brand_css, check_colour, contrast_ratio
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import sign_in

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082"
)


def test_the_tab_title_logo_and_colours_are_the_merchants(ctx, client, spec_day):
    merchant = make_merchant("Atelier Lumen", primary_color="#0f766e", accent_color="#b45309", logo_png=PNG)
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    sign_in(client, customer)

    for path in ("/", f"/invoices/{invoice.number}"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r"<title>Atelier Lumen( – [^<]+)?</title>", page)
        assert 'src="data:image/png;base64,' in page
        stylesheet = re.search(r'href="(/brand\.css\?v=[0-9a-f]+)"', page).group(1)
    css = client.get(stylesheet)
    assert css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    assert "--brand-primary: #0f766e" in text and "--brand-accent: #b45309" in text


def test_the_brand_stylesheet_refuses_anything_but_rrggbb(ctx, client):
    merchant = make_merchant(primary_color="red;}*{", accent_color="#12345")
    css = brand_css(merchant)
    assert (
        "red" not in css and "}*{" not in css and "--brand-primary: #1d4ed8" in css and "--brand-accent: #f59e0b" in css
    )
    with pytest.raises(ValueError):
        check_colour("#12345g")
    assert check_colour("#ABCDEF") == "#abcdef"


def test_text_on_brand_colours_stays_readable(ctx):
    for primary in ("#ffff00", "#0f766e", "#000000", "#f59e0b"):
        css = brand_css(make_merchant(primary_color=primary))
        on_primary = re.search(r"--brand-on-primary: (#[0-9a-f]{6})", css).group(1)
        ink = re.search(r"--brand-ink-light: (#[0-9a-f]{6})", css).group(1)
        assert contrast_ratio(primary, on_primary) >= 3  # large bold button text
        assert contrast_ratio(ink, "#ffffff") >= 4.5


def test_two_distinct_themes_ship_and_the_merchants_is_used(ctx, client, spec_day):
    assert {"classic", "midnight"} <= set(available_themes())
    classic = client.get("/theme/classic/theme.css").get_data(as_text=True)
    midnight = client.get("/theme/midnight/theme.css").get_data(as_text=True)
    assert classic != midnight and "--page-bg" in classic and "--page-bg" in midnight

    customer = make_customer(make_merchant(theme="midnight"))
    sign_in(client, customer)
    page = client.get("/").get_data(as_text=True)
    assert "/theme/midnight/theme.css" in page and 'class="theme-midnight"' in page

    unknown = make_customer(make_merchant(theme="../../etc"))
    sign_in(client, unknown)
    assert "/theme/classic/theme.css" in client.get("/").get_data(as_text=True)


def test_pages_are_built_for_phones_and_keyboards(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert 'class="skip-link" href="#main"' in page
    assert '<label class="visually-hidden" for="language-select">' in page
    assert re.search(r'<label class="field__label" for="body">', page)
    assert "<summary" in page  # "View calculation" is a native, keyboard-operable disclosure

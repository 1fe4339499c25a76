"""Settings: the logo upload's defences, colours and theme, late fees, templates, providers, staff and API keys."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.models import ApiKey, Merchant, StaffUser
from portal.models.mail import EmailTemplate
from portal.services.merchants import merchant_for_api_key
from tests.admin.conftest import login

BRANDING = "/admin/settings/branding"


def image_bytes(fmt: str, size=(120, 40), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128 if mode == "L" else (200, 30, 30)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def upload(staff, data: bytes, filename: str):
    # Encoded here in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(
        {"csrf_token": staff.token(BRANDING), "logo": FileStorage(io.BytesIO(data), filename)}
    )
    return staff.client.post(
        "/admin/settings/logo", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def stored_logo(app, staff) -> bytes | None:
    with app.app_context():
        return db.session.get(Merchant, staff.merchant_id).logo_png


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_logo_is_verified_and_re_encoded_as_png(app, staff, fmt):
    response = upload(staff, image_bytes(fmt), f"logo.{fmt.lower()}")
    assert response.status_code == 303
    logo = stored_logo(app, staff)
    assert logo.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(logo)) as image:
        assert image.format == "PNG" and image.size == (120, 40)


def test_a_large_logo_is_scaled_down(app, staff):
    assert upload(staff, image_bytes("PNG", size=(3000, 1000)), "wide.png").status_code == 303
    with Image.open(io.BytesIO(stored_logo(app, staff))) as image:
        assert image.size == (800, 267)


def test_trailing_data_does_not_survive_re_encoding(app, staff):
    payload = image_bytes("PNG") + b"<?php system($_GET['c']); ?>"
    assert upload(staff, payload, "logo.png").status_code == 303
    assert b"<?php" not in stored_logo(app, staff)


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
PHP = b"<?php echo shell_exec($_GET['cmd']); ?>"


@pytest.mark.parametrize(
    "data, filename",
    [
        (SVG, "logo.svg"),
        (SVG, "logo.png"),
        (PHP, "shell.png"),
        (b"GIF89a" + b"\x00" * 100, "logo.gif"),
        (image_bytes("GIF"), "logo.gif"),
        (image_bytes("PNG")[:60], "truncated.png"),
    ],
    ids=["svg", "svg-renamed", "php-renamed", "fake-gif", "real-gif", "truncated"],
)
def test_anything_but_png_jpeg_webp_is_refused(app, staff, data, filename):
    response = upload(staff, data, filename)
    assert response.status_code == 422
    assert "The logo must be a PNG, JPEG or WebP image" in response.get_data(as_text=True)
    assert stored_logo(app, staff) is None


def test_a_20_megapixel_image_is_refused(app, staff):
    # A flat colour compresses to a few kilobytes: small on the wire, 80 MB once decoded.
    data = image_bytes("PNG", size=(5000, 4000), mode="L", optimize=True)
    assert len(data) < 1024 * 1024
    response = upload(staff, data, "bomb.png")
    assert response.status_code == 422
    assert "too many pixels" in response.get_data(as_text=True)
    assert stored_logo(app, staff) is None


def test_a_file_over_1_mb_is_refused(app, staff):
    noise = Image.frombytes("RGB", (700, 700), bytes(range(256)) * (700 * 700 * 3 // 256) + bytes(700 * 700 * 3 % 256))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG", compress_level=0)
    assert len(buffer.getvalue()) > 1024 * 1024
    response = upload(staff, buffer.getvalue(), "big.png")
    assert response.status_code == 422
    assert "at most 1 MB" in response.get_data(as_text=True)


def test_colours_theme_and_terms(app, staff):
    response = staff.post(
        BRANDING,
        {"primary_color": "#0F766E", "accent_color": "#b45309", "theme": "midnight", "terms": "Pay within 30 days."},
        page=BRANDING,
    )
    assert response.status_code == 303
    with app.app_context():
        merchant = db.session.get(Merchant, staff.merchant_id)
        assert (merchant.primary_color, merchant.accent_color, merchant.theme, merchant.terms) == (
            "#0f766e",
            "#b45309",
            "midnight",
            "Pay within 30 days.",
        )
    bad = staff.post(
        BRANDING, {"primary_color": "red;}body{x", "accent_color": "#b45309", "theme": "classic"}, page=BRANDING
    )
    assert bad.status_code == 422
    assert "#rrggbb" in bad.get_data(as_text=True)
    unknown = staff.post(
        BRANDING, {"primary_color": "#000000", "accent_color": "#b45309", "theme": "../../etc"}, page=BRANDING
    )
    assert unknown.status_code == 422


def test_branding_page_has_a_live_preview_driven_by_a_static_script(staff):
    html = staff.get(BRANDING).get_data(as_text=True)
    assert "data-brand-preview" in html and 'data-preview-var="--brand-primary"' in html
    assert "/admin/static/admin.js" in html
    with staff.get("/admin/static/admin.js") as script:
        assert script.status_code == 200


def test_late_fee_policy(app, staff):
    page = "/admin/settings/late-fees"
    response = staff.post(
        page, {"annual_rate": "8", "fee_percent": "10", "fee_minimum": "40.00", "grace_days": "5"}, page=page
    )
    assert response.status_code == 303
    with app.app_context():
        policy = db.session.get(Merchant, staff.merchant_id).late_fee_policy
        assert (policy.annual_rate, policy.fee_percent, policy.fee_minimum, policy.grace_days) == (
            Decimal("8"),
            Decimal("10"),
            4000,
            5,
        )
    assert (
        staff.post(
            page, {"annual_rate": "-1", "fee_percent": "0", "fee_minimum": "0", "grace_days": "0"}, page=page
        ).status_code
        == 422
    )


def test_email_template_per_language(app, staff):
    page = "/admin/settings/email-templates"
    missing_link = staff.post(
        page, {"language": "fr", "fr-subject": "Facture {number}", "fr-body": "Bonjour"}, page=page
    )
    assert missing_link.status_code == 422
    assert "{link}" in missing_link.get_data(as_text=True)
    ok = staff.post(
        page, {"language": "fr", "fr-subject": "Facture {number}", "fr-body": "Bonjour {customer}\n\n{link}"}, page=page
    )
    assert ok.status_code == 303
    with app.app_context():
        template = db.session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == staff.merchant_id))
        assert (template.language, template.subject) == ("fr", "Facture {number}")
    staff.post(page, {"language": "fr", "fr-subject": "x", "fr-body": "{link}", "reset": "1"}, page=page)
    with app.app_context():
        assert db.session.scalar(select(EmailTemplate).where(EmailTemplate.merchant_id == staff.merchant_id)) is None


def test_the_ubl_attachment_of_invoice_mails_is_off_until_turned_on(app, staff, rival):
    page = "/admin/settings/email-templates"

    def attached(merchant_id: int) -> bool:
        with app.app_context():
            return db.session.get(Merchant, merchant_id).attach_ubl_to_mail

    def checkbox() -> str:
        form = staff.get(page).get_data(as_text=True).split('id="mail-attachments"')[1].split("</form>")[0]
        assert 'name="ubl"' in form
        return form

    assert "checked" not in checkbox() and attached(staff.merchant_id) is False

    response = staff.post("/admin/settings/mail-attachments", {"ubl": "y"}, page=page)
    assert response.status_code == 303 and response.headers["Location"].endswith("#mail-attachments")
    assert "checked" in checkbox()
    assert attached(staff.merchant_id) is True and attached(rival.merchant_id) is False

    staff.post("/admin/settings/mail-attachments", {}, page=page)
    assert attached(staff.merchant_id) is False


def test_payment_provider_settings(app, staff):
    page = "/admin/settings/payments"
    bad = staff.post(page, {"provider": "mollie", "mollie-enabled": "y", "mollie-api_key": "nonsense"}, page=page)
    assert bad.status_code == 422
    ok = staff.post(
        page, {"provider": "mollie", "mollie-enabled": "y", "mollie-api_key": "test_abcdefghijklmnop"}, page=page
    )
    assert ok.status_code == 303
    html = staff.get(page).get_data(as_text=True)
    assert "test_abcdefghijklmnop" not in html and "enabled" in html


def test_staff_accounts(app, staff):
    page = "/admin/settings/staff"
    response = staff.post(
        page, {"name": "Alex", "email": "alex@merchant.example", "password": "a long password"}, page=page
    )
    assert response.status_code == 303
    assert login(app.test_client(), "alex@merchant.example", "a long password").status_code == 303
    short = staff.post(page, {"name": "B", "email": "b@merchant.example", "password": "short"}, page=page)
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    with app.app_context():
        alex = db.session.scalar(select(StaffUser).where(StaffUser.email == "alex@merchant.example"))
        me = db.session.scalar(select(StaffUser).where(StaffUser.email == staff.email))
        alex_id, my_id = alex.id, me.id
    assert staff.post(f"/admin/settings/staff/{alex_id}/active", {"active": "0"}, page=page).status_code == 303
    assert login(app.test_client(), "alex@merchant.example", "a long password").status_code == 422
    staff.post(f"/admin/settings/staff/{my_id}/active", {"active": "0"}, page=page)
    with app.app_context():
        assert db.session.get(StaffUser, my_id).active is True  # nobody locks themselves out


def test_api_keys_are_shown_once_and_can_be_revoked(app, staff):
    page = "/admin/settings/api-keys"
    html = staff.post(page, {"name": "accounting"}, page=page).get_data(as_text=True)
    token = html.split('value="ipk_', 1)[1].split('"', 1)[0]
    token = "ipk_" + token
    with app.app_context():
        assert merchant_for_api_key(token).id == staff.merchant_id
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.merchant_id == staff.merchant_id))
        db.session.rollback()
    assert token not in staff.get(page).get_data(as_text=True)
    assert staff.post(f"{page}/{key_id}/revoke", page=page).status_code == 303
    with app.app_context():
        assert merchant_for_api_key(token) is None

"""The preview shows the invoice as the customer reads it: in their language, with a switch to the others."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Customer
from tests.admin.test_invoices import EDITOR, _only_invoice, draft_form


def _french_customers_draft(app, staff) -> int:
    with app.app_context():
        db.session.get(Customer, staff.customer_id).language = "fr"
        db.session.commit()
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        return _only_invoice(app, staff.merchant_id).id


def test_the_preview_opens_in_the_customers_language_and_switches(app, staff):
    invoice_id = _french_customers_draft(app, staff)
    preview = f"/admin/invoices/{invoice_id}/preview"

    opened = staff.get(preview).get_data(as_text=True)
    assert f'src="{preview}/page?lang=fr"' in opened and f'src="{preview}/email?lang=fr"' in opened
    assert "Français (customer&#39;s)" in opened or "Français (customer's)" in opened
    for code in ("en", "fr", "nl", "de"):
        assert f'href="{preview}?lang={code}"' in opened

    page = staff.get(f"{preview}/page?lang=fr")
    french = page.get_data(as_text=True)
    assert '<html lang="fr">' in french and "Website design" in french
    assert "BROUILLON" in french  # the draft mark, in French
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<style>" in french and "<link" not in french  # styled inline: the frame fetches nothing

    german = staff.get(f"{preview}/page?lang=de").get_data(as_text=True)
    assert '<html lang="de">' in german and "ENTWURF" in german
    switched = staff.get(f"{preview}?lang=de").get_data(as_text=True)
    assert "the customer reads this invoice in Français" in switched
    assert staff.get(f"{preview}/page?lang=xx").status_code == 404

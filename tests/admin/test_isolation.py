"""Staff of one merchant get 404 for every object of another merchant, on every admin URL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import url_for
from sqlalchemy import select

from portal.admin.views import bp
from portal.extensions import db
from portal.jobs.queue import enqueue
from portal.models import ApiKey, Customer, Invoice, Product, StaffUser
from portal.models.bank import BankTransaction
from portal.models.document import InvoiceAttachment
from portal.models.job import Job
from portal.models.self_service import BillingDetailChange, Contact
from portal.services import attachments, bank_import, billing, billing_details, contacts, products, webhook_endpoints
from tests.admin.conftest import make_staff
from tests.bank.camt import Account, Transfer, build
from tests.factories import make_api_key, make_invoice, pay

# Every admin rule that names an object; a new one must be added here (the test below checks).
OBJECT_ENDPOINTS = {
    "admin.customer_edit": ("GET", "POST"),
    "admin.customer_detail": ("GET",),
    "admin.customer_link": ("POST",),
    "admin.customer_revoke_links": ("POST",),
    "admin.charge_new": ("POST",),
    "admin.charge_delete": ("POST",),
    "admin.draft_from_charges": ("POST",),
    "admin.draft_from_charges_confirm": ("GET",),
    "admin.recurring_line_new": ("POST",),
    "admin.recurring_line_delete": ("POST",),
    "admin.billing_cycle_save": ("POST",),
    "admin.product_edit": ("GET", "POST"),
    "admin.product_delete": ("POST",),
    "admin.invoice_edit": ("GET", "POST"),
    "admin.invoice_detail": ("GET",),
    "admin.invoice_delete": ("POST",),
    "admin.invoice_finalize": ("POST",),
    "admin.invoice_send": ("POST",),
    "admin.invoice_link": ("POST",),
    "admin.invoice_void": ("POST",),
    "admin.invoice_charge_saved_method": ("POST",),
    "admin.invoice_payment": ("POST",),
    "admin.invoice_credit_note": ("POST",),
    "admin.invoice_reply": ("POST",),
    "admin.invoice_preview": ("GET",),
    "admin.invoice_preview_pdf": ("GET",),
    "admin.invoice_preview_email": ("GET",),
    "admin.invoice_preview_page": ("GET",),
    "admin.comment_state": ("POST",),
    "admin.invoice_attachment_add": ("POST",),
    "admin.invoice_attachment": ("GET",),
    "admin.invoice_attachment_delete": ("POST",),
    "admin.invoice_payment_methods": ("POST",),
    "admin.invoice_payment_refund": ("POST",),
    "admin.credit_apply": ("POST",),
    "admin.credit_refund": ("POST",),
    "admin.settings_staff_active": ("POST",),
    "admin.settings_staff_role": ("POST",),
    "admin.settings_api_key_revoke": ("POST",),
    "admin.job_retry": ("POST",),
    "admin.bank_match": ("POST",),
    "admin.bank_ignore": ("POST",),
    "admin.settings_webhook_toggle": ("POST",),
    "admin.settings_webhook_delete": ("POST",),
    "admin.settings_webhook_resend": ("POST",),
    "admin.invoice_reminders": ("POST",),
    "admin.invoice_resolve_dispute": ("POST",),
    "admin.settings_reminder_step": ("GET", "POST"),
    "admin.statement_send": ("POST",),
    "admin.monthly_statement_save": ("POST",),
    "admin.contact_new": ("POST",),
    "admin.contact_action": ("POST",),
    "admin.billing_change_decide": ("POST",),
}


@pytest.fixture
def victim_objects(app, staff):
    """Ids of one of each object the first merchant owns."""
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        merchant = customer.merchant
        endpoint, _secret = webhook_endpoints.create_endpoint(merchant, url="https://93.184.216.34/hook", events=["*"])
        open_invoice = make_invoice(customer)  # its invoice.finalized is queued for the endpoint
        [delivery] = webhook_endpoints.recent_deliveries(merchant)
        draft = make_invoice(customer, finalize=False)
        product = products.create_product(merchant, name="Secret", unit_amount=100, currency="EUR", tax_rate=Decimal(0))
        charge = billing.record_charge(
            customer,
            description="Work",
            charged_on=merchant.today(),
            quantity=Decimal(1),
            unit_amount=100,
            tax_rate=Decimal(0),
        )
        recurring = billing.add_recurring_line(
            customer, description="Hosting", quantity=Decimal(1), unit_amount=100, tax_rate=Decimal(0)
        )
        colleague = make_staff(merchant, "colleague@merchant.example")
        attachment = attachments.add_attachment(
            open_invoice, filename="contract.pdf", data=b"%PDF-1.4 secret", uploaded_by=colleague
        )
        make_api_key(merchant)
        contact = contacts.add_contact(customer, name="Secret Contact", email="secret@example.com", language="en")
        change = billing_details.request_change(
            customer,
            billing_details.BillingDetails("Secret BV", None, None, "PO-1", customer.language),
        )
        change.status = "pending"
        payment = pay(open_invoice, 100, merchant.today())
        failed = enqueue("invoice.send", {"invoice_id": open_invoice.id, "to": customer.email}, merchant_id=merchant.id)
        failed.status = "failed"
        bank_import.import_statement(
            merchant, build(Account(entries=[Transfer("1.00", account_servicer_reference="SECRET-1")]))
        )
        from portal.services.disputes import open_dispute
        from portal.services.reminders import reminder_steps, set_reminder_settings

        set_reminder_settings(
            merchant, enabled=True, offsets=[7], consumer_preset=False, legal_interest_rate=Decimal(0)
        )
        comment = open_dispute(open_invoice, customer, "Not ordered.").comment
        db.session.commit()
        transaction_id = db.session.scalar(select(BankTransaction.id).where(BankTransaction.merchant_id == merchant.id))
        key = db.session.query(ApiKey).filter_by(merchant_id=merchant.id).one()
        return {
            "customer_id": customer.id,
            "invoice_id": open_invoice.id,
            "draft_id": draft.id,
            "product_id": product.id,
            "charge_id": charge.id,
            "line_id": recurring.id,
            "user_id": colleague.id,
            "key_id": key.id,
            "attachment_id": attachment.id,
            "job_id": failed.id,
            "payment_id": payment.id,
            "transaction_id": transaction_id,
            "endpoint_id": endpoint.id,
            "delivery_id": delivery.id,
            "step_id": reminder_steps(merchant)[0].id,
            "contact_id": contact.id,
            "change_id": change.id,
            "comment_id": comment.id,
            # The rules' other arguments: the action a contact URL takes, the decision on a change.
            "action": "remove",
            "decision": "approve",
        }


def _urls(app, ids) -> list[tuple[str, str, str]]:
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint not in OBJECT_ENDPOINTS:
                continue
            values = {}
            for name in rule.arguments:
                values[name] = ids[name]
            for method in OBJECT_ENDPOINTS[rule.endpoint]:
                urls.append((rule.endpoint, method, url_for(rule.endpoint, **values)))
            if "invoice_id" in rule.arguments:
                values["invoice_id"] = ids["draft_id"]
                for method in OBJECT_ENDPOINTS[rule.endpoint]:
                    urls.append((rule.endpoint, method, url_for(rule.endpoint, **values)))
    return urls


def test_every_object_url_is_listed(app):
    named = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        # "kind" names one of the merchant's own exports (invoices.csv, payments.csv), not an object.
        if rule.endpoint.startswith(f"{bp.name}.") and rule.arguments - {"filename", "kind"}
    }
    # The exports' <kind> names a kind of export, not an object of the merchant's.
    assert named - {"admin.export_csv"} == set(OBJECT_ENDPOINTS)


def test_another_merchants_staff_gets_404_everywhere(app, staff, rival, victim_objects):
    token = rival.token()
    urls = _urls(app, victim_objects)
    assert len(urls) > 40
    for endpoint, method, url in urls:
        if method == "GET":
            response = rival.client.get(url)
        else:
            response = rival.client.post(
                url,
                data={
                    "csrf_token": token,
                    "send": "1",
                    "active": "0",
                    "body": "hi",
                    "amount": "1",
                    "paid_on": "2026-01-02",
                    "method": "cash",
                    "description": "x",
                    "tax_rate": "0",
                    "name": "x",
                    "email": "x@example.com",
                    "language": "en",
                    "invoice_id": str(victim_objects["invoice_id"]),
                    "source": "manual:cash",
                    "currency": "EUR",
                },
            )
        assert response.status_code == 404, (endpoint, method, url, response.status_code)

    # And nothing changed for the owner.
    with app.app_context():
        assert db.session.get(Invoice, victim_objects["draft_id"]).status == "draft"
        assert db.session.get(Invoice, victim_objects["invoice_id"]).status == "open"
        assert db.session.get(Product, victim_objects["product_id"]) is not None
        assert db.session.get(StaffUser, victim_objects["user_id"]).active is True
        assert db.session.get(Contact, victim_objects["contact_id"]).removed_at is None
        assert db.session.get(BillingDetailChange, victim_objects["change_id"]).status == "pending"
        assert db.session.get(Customer, victim_objects["customer_id"]).link_version == 1
        assert db.session.get(InvoiceAttachment, victim_objects["attachment_id"]) is not None
        assert db.session.get(Job, victim_objects["job_id"]).status == "failed"


def test_lists_show_only_the_merchants_own_rows(app, staff, rival, victim_objects):
    for path in (
        "/admin/invoices",
        "/admin/customers",
        "/admin/products",
        "/admin/comments",
        "/admin/settings/staff",
        "/admin/settings/api-keys",
    ):
        html = rival.get(path).get_data(as_text=True)
        assert "Jane Cooper" not in html and "Secret" not in html and "colleague@" not in html, path


def test_admin_errors_are_shown_in_the_admin_frame(staff, rival, app):
    from portal.extensions import db
    from portal.models import Customer
    from tests.factories import make_invoice

    with app.app_context():
        invoice_id = make_invoice(db.session.get(Customer, rival.customer_id)).id
        db.session.commit()
    for path in (f"/admin/invoices/{invoice_id}", "/admin/no-such-page"):
        response = staff.get(path)
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "Acme Studio" in html and "Rival" not in html  # the staff member's own frame, nothing of the rival's
        assert "admin.css" in html
    signed_out = app.test_client().get("/admin/no-such-page")
    assert signed_out.status_code == 404 and "admin.css" in signed_out.get_data(as_text=True)

"""Settings → Webhooks: add an endpoint (secret shown once), see deliveries with the answer, resend, disable, delete."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.jobs.queue import run_due
from portal.models import Customer
from portal.models.api import Event, WebhookDelivery, WebhookEndpoint
from tests.api.test_webhooks_outbound import receiver  # noqa: F401 - the fixture
from tests.factories import make_invoice

PAGE = "/admin/settings/webhooks"


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)


def _finalize_one(app, staff) -> None:
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        make_invoice(customer)
        db.session.commit()


def test_add_an_endpoint_see_its_deliveries_and_resend(app, staff, receiver, allow_private):  # noqa: F811
    receiver.statuses = [500]
    added = staff.post(PAGE, {"url": receiver.url, "description": "ERP", "events": ["invoice.finalized"]}, page=PAGE)
    assert added.status_code == 200
    html = added.get_data(as_text=True)
    secret = re.search(r'value="(whsec_[^"]+)"', html).group(1)
    assert "shown this once" in html
    assert secret not in staff.get(PAGE).get_data(as_text=True)

    _finalize_one(app, staff)
    with app.app_context():
        run_due(["webhooks"])
    html = staff.get(PAGE).get_data(as_text=True)
    assert "invoice.finalized" in html and "HTTP 500" in html and "pending" in html

    with app.app_context():
        [delivery] = db.session.scalars(select(WebhookDelivery)).all()
        delivery_id = delivery.id
    resent = staff.post(f"{PAGE}/deliveries/{delivery_id}/resend", page=PAGE)
    assert resent.status_code == 303
    with app.app_context():
        run_due(["webhooks"])
        statuses = [d.status for d in db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    assert statuses == ["pending", "succeeded"]
    assert len(receiver.requests) == 2
    assert "HTTP 200" in staff.get(PAGE).get_data(as_text=True)


def test_an_inward_url_is_refused_on_the_form(app, staff):
    refused = staff.post(PAGE, {"url": "https://127.0.0.1/hook"}, page=PAGE)
    assert refused.status_code == 422
    assert "loopback, private" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_disable_and_delete(app, staff, allow_private, rival):
    staff.post(PAGE, {"url": "https://93.184.216.34/hook"}, page=PAGE)
    with app.app_context():
        [endpoint] = db.session.scalars(select(WebhookEndpoint)).all()
        endpoint_id = endpoint.id
        assert endpoint.events == ["*"]
    # Another merchant's staff cannot touch it.
    assert rival.post(f"{PAGE}/{endpoint_id}/enabled", page=PAGE).status_code == 404
    assert rival.post(f"{PAGE}/{endpoint_id}/delete", page=PAGE).status_code == 404
    assert staff.post(f"{PAGE}/{endpoint_id}/enabled", page=PAGE).status_code == 303
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).enabled is False
    assert "disabled" in staff.get(PAGE).get_data(as_text=True)
    assert staff.post(f"{PAGE}/{endpoint_id}/delete", page=PAGE).status_code == 303
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id) is None


def test_voiding_from_the_admin_is_an_event(app, staff):
    with app.app_context():
        invoice = make_invoice(db.session.get(Customer, staff.customer_id))
        db.session.commit()
        invoice_id = invoice.id
    page = f"/admin/invoices/{invoice_id}"
    assert staff.post(f"{page}/void", page=page).status_code == 303
    with app.app_context():
        events = [(e.type, e.data["status"]) for e in db.session.scalars(select(Event).order_by(Event.id))]
    assert events == [("invoice.finalized", "open"), ("invoice.voided", "void")]

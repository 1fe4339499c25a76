"""Admin Settings → Webhooks: the endpoints events are posted to, recent deliveries and "resend"."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from portal.admin.forms import WebhookEndpointForm
from portal.admin.views import bp, failure, load, merchant
from portal.api.integration_schemas import EVENT_TYPES
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.services import webhook_endpoints


def _form(**kwargs) -> WebhookEndpointForm:
    form = WebhookEndpointForm(**kwargs)
    form.events.choices = [(name, name) for name in EVENT_TYPES]
    return form


def _page(form: WebhookEndpointForm | None = None, *, new_secret: str | None = None, status: int = 200):
    current = merchant()
    return render_template(
        "admin/settings/webhooks.html",
        endpoints=webhook_endpoints.list_endpoints(current),
        deliveries=webhook_endpoints.recent_deliveries(current),
        form=form or _form(formdata=None),
        new_secret=new_secret,
        section="webhooks",
    ), status


@bp.get("/settings/webhooks")
def settings_webhooks():
    return _page()


@bp.post("/settings/webhooks")
def settings_webhook_new():
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        _endpoint, secret = webhook_endpoints.create_endpoint(
            merchant(), url=form.url.data, events=form.events.data or ["*"], description=form.description.data
        )
        db.session.commit()
    except DomainError as exc:
        return _page(form, status=failure(exc, form))
    # Shown in this response only, as the API shows it once.
    return _page(new_secret=secret)


@bp.post("/settings/webhooks/<int:endpoint_id>/enabled")
def settings_webhook_toggle(endpoint_id: int):
    endpoint = load(webhook_endpoints.get_endpoint, endpoint_id)
    webhook_endpoints.update_endpoint(endpoint, enabled=not endpoint.enabled)
    db.session.commit()
    flash(f"Webhook endpoint {endpoint.url} {'enabled' if endpoint.enabled else 'disabled'}.", "success")
    return redirect(url_for("admin.settings_webhooks"), code=303)


@bp.post("/settings/webhooks/<int:endpoint_id>/delete")
def settings_webhook_delete(endpoint_id: int):
    endpoint = load(webhook_endpoints.get_endpoint, endpoint_id)
    url = endpoint.url
    webhook_endpoints.delete_endpoint(endpoint)
    db.session.commit()
    flash(f"Webhook endpoint {url} deleted.", "success")
    return redirect(url_for("admin.settings_webhooks"), code=303)


@bp.post("/settings/webhooks/deliveries/<int:delivery_id>/resend")
def settings_webhook_resend(delivery_id: int):
    delivery = load(webhook_endpoints.get_delivery, delivery_id)
    try:
        again = webhook_endpoints.resend_delivery(delivery)
        db.session.commit()
    except DomainError as exc:
        failure(exc)
    else:
        flash(
            f"Event #{delivery.event_id} is queued again for {delivery.endpoint.url} (delivery #{again.id}).", "success"
        )
    return redirect(url_for("admin.settings_webhooks"), code=303)

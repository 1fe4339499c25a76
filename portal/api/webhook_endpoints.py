"""API operations for integrators: the event log and the webhook endpoints events are posted to."""

from __future__ import annotations

from typing import Annotated

from flask import g
from pydantic import Field

from portal.api import integration_schemas as i
from portal.api.operations import ApiError, operation
from portal.api.owned import own, owned_page
from portal.api.pagination import PageQuery, Timestamp
from portal.models.api import Event, WebhookEndpoint
from portal.services import webhook_endpoints as endpoints

# --- events ---------------------------------------------------------------------------------------


def event_out(event: Event) -> i.EventOut:
    """Return an event as the API lists it and webhooks deliver it."""
    return i.EventOut(id=event.id, type=event.type, created=int(event.created_at.timestamp()), data=event.data)


class EventListQuery(PageQuery):
    type: i.EventType | None = None
    created_gte: Annotated[Timestamp | None, Field(alias="created[gte]")] = None
    created_lte: Annotated[Timestamp | None, Field(alias="created[lte]")] = None


@operation(
    "get",
    "/events",
    summary="List the events of the last 30 days, newest first",
    response=i.EventListOut,
    query=EventListQuery,
    errors=(401, 422),
)
def list_events(params: EventListQuery):
    conditions = []
    if params.type is not None:
        conditions.append(Event.type == params.type)
    if params.created_gte is not None:
        conditions.append(Event.created_at >= params.created_gte)
    if params.created_lte is not None:
        conditions.append(Event.created_at <= params.created_lte)
    rows, has_more = owned_page(Event, params, *conditions)
    return i.EventListOut(data=[event_out(row) for row in rows], has_more=has_more)


@operation("get", "/events/<int:event_id>", summary="Fetch an event", response=i.EventOut, errors=(401, 404))
def get_event(event_id: int):
    return event_out(own(endpoints.get_event, event_id))


# --- webhook endpoints ----------------------------------------------------------------------------


def _endpoint_fields(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "enabled": endpoint.enabled,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


@operation(
    "post",
    "/webhook-endpoints",
    summary="Add a webhook endpoint; its signing secret is in this answer only",
    status=201,
    response=i.WebhookEndpointCreatedOut,
    body=i.WebhookEndpointIn,
    errors=(400, 401, 422),
)
def create_webhook_endpoint(payload: i.WebhookEndpointIn):
    endpoint, secret = endpoints.create_endpoint(
        g.merchant,
        url=payload.url,
        events=payload.events,
        description=payload.description,
        enabled=payload.enabled,
    )
    return i.WebhookEndpointCreatedOut(**_endpoint_fields(endpoint), secret=secret)


@operation(
    "get",
    "/webhook-endpoints",
    summary="List the webhook endpoints",
    response=i.WebhookEndpointListOut,
    query=PageQuery,
    errors=(401, 422),
)
def list_webhook_endpoints(params: PageQuery):
    rows, has_more = owned_page(WebhookEndpoint, params)
    return i.WebhookEndpointListOut(data=[i.WebhookEndpointOut(**_endpoint_fields(r)) for r in rows], has_more=has_more)


@operation(
    "get",
    "/webhook-endpoints/<int:endpoint_id>",
    summary="Fetch a webhook endpoint",
    response=i.WebhookEndpointOut,
    errors=(401, 404),
)
def get_webhook_endpoint(endpoint_id: int):
    return i.WebhookEndpointOut(**_endpoint_fields(own(endpoints.get_endpoint, endpoint_id)))


@operation(
    "patch",
    "/webhook-endpoints/<int:endpoint_id>",
    summary="Change a webhook endpoint: enable or disable it, its events, URL or description",
    response=i.WebhookEndpointOut,
    body=i.WebhookEndpointPatch,
    errors=(400, 401, 404, 422),
)
def update_webhook_endpoint(endpoint_id: int, payload: i.WebhookEndpointPatch):
    endpoint = own(endpoints.get_endpoint, endpoint_id)
    changes = {}
    for name in payload.model_fields_set:
        value = getattr(payload, name)
        if value is None and name != "description":
            raise ApiError(422, "invalid", f"{name}: cannot be null", name)
        changes[name] = value
    endpoints.update_endpoint(endpoint, **changes)
    return i.WebhookEndpointOut(**_endpoint_fields(endpoint))


@operation(
    "delete",
    "/webhook-endpoints/<int:endpoint_id>",
    summary="Delete a webhook endpoint",
    status=204,
    errors=(401, 404),
)
def delete_webhook_endpoint(endpoint_id: int):
    endpoints.delete_endpoint(own(endpoints.get_endpoint, endpoint_id))

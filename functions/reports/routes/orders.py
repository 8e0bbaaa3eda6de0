"""Routes tagged `read`: one order's attribution explained, and the review of soft matches."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.core.models import Attribution, OrderSource, ReviewStatus
from ordertrail.core.responses import OrderDocument, ReviewList
from ordertrail.reports.order_document import ReviewRequest, order_document
from ordertrail.runtime import services

router = Router()
OrderId = Annotated[str, Path(min_length=1, max_length=200, description="The store's order id")]
SourceQuery = Annotated[OrderSource | None, Query(description="Which store, when the id exists in several")]


@router.get(
    "/v1/<tenant>/orders/<order_id>",
    summary="An order, its attribution and why",
    tags=["orders"],
    operation_id="get_order",
    responses=documented(200, "The order, its attribution and evidence", OrderDocument, *TEAM_ERRORS, 404, 409),
)
def get_order(tenant: TenantId, order_id: OrderId, source: SourceQuery = None) -> Response[OrderDocument]:
    """Explain how one order was attributed."""
    from ordertrail.attribution import attribute  # on first use: the attribution code serves these two routes alone

    return json_response(200, order_document(attribute.order_views(services.repository(), tenant, order_id, source)))


@router.post(
    "/v1/<tenant>/orders/<order_id>/review",
    summary="Confirm or reject a soft match",
    tags=["orders"],
    operation_id="review_order",
    responses=documented(200, "The attribution after the decision", Attribution, *BODY_ERRORS, 404, 409),
)
def review_order(
    tenant: TenantId, order_id: OrderId, body: Annotated[ReviewRequest, Body()], source: SourceQuery = None
) -> Response[Attribution]:
    """Apply a person's decision to a soft-matched order."""
    from ordertrail.attribution import attribute  # on first use, as in get_order

    decided = attribute.review(services.repository(), tenant, order_id, source, body.decision, services.now())
    return json_response(200, decided)


@router.get(
    "/v1/<tenant>/reviews",
    summary="Soft matches by review status",
    tags=["orders"],
    operation_id="list_reviews",
    responses=documented(200, "Soft matches in the status, oldest first", ReviewList, *TEAM_ERRORS),
)
def list_reviews(
    tenant: TenantId, status: Annotated[ReviewStatus, Query()] = "pending", limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response[ReviewList]:
    """List soft matches waiting for (or after) review."""
    return json_response(200, ReviewList(status=status, items=services.repository().list_reviews(tenant, status, limit)))

"""Routes tagged `config` for coupon codes: which creator link each code belongs to."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from ordertrail.api.resolver import BODY_ERRORS, TEAM_ERRORS, TenantId, documented, json_response
from ordertrail.core.errors import NotFound
from ordertrail.core.models import CouponMapping
from ordertrail.core.responses import CouponList
from ordertrail.reports.order_document import CouponRequest
from ordertrail.runtime import services

router = Router()
CouponCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,100}$", description="Coupon code (case-insensitive)")]


@router.get(
    "/v1/<tenant>/coupons",
    summary="Coupon mappings",
    tags=["config"],
    operation_id="list_coupons",
    responses=documented(200, "Every coupon mapping", CouponList, *TEAM_ERRORS),
)
def list_coupons(tenant: TenantId) -> Response[CouponList]:
    """List the tenant's coupon codes and the creator links they belong to."""
    return json_response(200, CouponList(coupons=services.repository().list_coupons(tenant)))


@router.put(
    "/v1/<tenant>/coupons/<code>",
    summary="Map a coupon code to a creator link",
    tags=["config"],
    operation_id="put_coupon",
    responses=documented(200, "The mapping as stored", CouponMapping, *BODY_ERRORS),
)
def put_coupon(tenant: TenantId, code: CouponCode, body: Annotated[CouponRequest, Body()]) -> Response[CouponMapping]:
    """Create or replace a coupon mapping."""
    mapping = CouponMapping(code=code, creator=body.creator, link_id=body.link_id)
    services.repository().put_coupon(tenant, mapping)
    return json_response(200, mapping)


@router.delete(
    "/v1/<tenant>/coupons/<code>",
    summary="Remove a coupon mapping",
    tags=["config"],
    operation_id="delete_coupon",
    responses=documented(204, "Removed", None, *TEAM_ERRORS, 404),
)
def delete_coupon(tenant: TenantId, code: CouponCode) -> Response[None]:
    """Delete a coupon mapping (404 when there is none)."""
    if not services.repository().delete_coupon(tenant, code):
        raise NotFound(f"coupon {code.upper()} is not mapped", field="code", code="coupon_not_found")
    return Response(status_code=204)

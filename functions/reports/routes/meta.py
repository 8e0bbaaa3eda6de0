"""Routes tagged `meta`: this API's OpenAPI document, served as committed (no key needed)."""

from __future__ import annotations

from importlib import resources

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()


@router.get(
    "/v1/openapi.json", summary="This API as OpenAPI 3", tags=["meta"], operation_id="get_openapi_document", include_in_schema=False
)
def get_openapi_document() -> Response[str]:
    """Serve the committed OpenAPI document, generated from the handlers."""
    text = resources.files("ordertrail.api").joinpath("openapi.json").read_text()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=text)

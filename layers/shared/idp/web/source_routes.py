"""Identity sources in the admin API (contract section 10): POST|GET /admin/sources, GET|DELETE
/admin/sources/{id} and POST /admin/sources/{id}/token. A token appears once, in the answer that made it."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.bootstrap import container
from idp.directory.sources import SourceService, source_view
from idp.kernel.audit import API_ADMIN
from idp.web import api_models as api
from idp.web.api_models import Cursor, Limit, ok
from idp.web.auth import admin_middleware
from idp.web.http import json_body, page_limit
from idp.web.request import WebRequest, current_request

router = Router()
router.use([admin_middleware])
router.typed = True


def _doc(summary: str, responses: dict) -> dict:
    return {"tags": ["sources"], "summary": summary, "responses": responses, "security": api.SECURITY}


def _request() -> WebRequest:
    return current_request(router, with_form=False)


def sources() -> SourceService:
    """The source service, recording changes as the bearer-token admin from this request's client."""
    request = _request()
    return container().sources.acting_as(
        container().directory.acting_as(API_ADMIN, request.client_ip, request.headers.get("user-agent")))


@router.post("/admin/sources", **_doc("Add an identity source (its SCIM token is shown once)",
                                       ok(201, api.SourceCreated, "the source, its token and the SCIM base URL", 400, 413)))
def create_source(body: api.SourceCreateBody):
    created = sources().create(json_body(_request()), _request().base_url)
    return Response(status_code=201, content_type="application/json", body=created)


@router.get("/admin/sources", **_doc("List identity sources", ok(200, api.SourcePage, "a page of sources", 400)))
def list_sources(limit: Limit = None, cursor: Cursor = None):
    items, next_cursor = sources().list(page_limit(_request()), _request().query.get("cursor"))
    return {"items": items, "next_cursor": next_cursor}


@router.get("/admin/sources/<source_id>", **_doc("Get an identity source (never its token)", ok(200, api.SourceView, "the source", 404)))
def get_source(source_id: str):
    return source_view(sources().get(source_id))


@router.post("/admin/sources/<source_id>/token", **_doc("Issue a new token (shown once); the old one stops working",
                                                         ok(200, api.SourceToken, "the new token", 404)))
def rotate_token(source_id: str):
    return sources().rotate(source_id)


@router.delete("/admin/sources/<source_id>", **_doc("Delete an identity source: its token stops working, its users stay",
                                                     ok(204, None, "deleted", 404)))
def delete_source(source_id: str):
    sources().delete(source_id)
    return Response(status_code=204, content_type="application/json", body="")

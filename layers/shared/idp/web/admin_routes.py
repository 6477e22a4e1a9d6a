"""Admin API routes (contract section 2): the directory (and ending a user's IdP sessions), apps,
access and provisioning settings."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.bootstrap import container
from idp.directory.apps import AppService, app_view
from idp.directory.service import DirectoryService
from idp.web.auth import admin_middleware
from idp.web.http import json_body, page_limit
from idp.web.request import WebRequest, current_request

router = Router()
router.use([admin_middleware])


def directory() -> DirectoryService:
    return container().directory


def apps() -> AppService:
    return container().apps


def _created(body: dict) -> Response:
    return Response(status_code=201, content_type="application/json", body=body)


def _no_content() -> Response:
    return Response(status_code=204, content_type="application/json", body="")


def _page(items_and_cursor) -> dict:
    items, cursor = items_and_cursor
    return {"items": items, "next_cursor": cursor}


def _request() -> WebRequest:
    return current_request(router, with_form=False)


# ---------- users ----------
@router.post("/admin/users")
def create_user():
    return _created(directory().create_user(json_body(_request())))


@router.get("/admin/users")
def list_users():
    return _page(directory().store.list_users(page_limit(_request()), _request().query.get("cursor")))


@router.get("/admin/users/<user_id>")
def get_user(user_id: str):
    return directory().get_user(user_id)


@router.patch("/admin/users/<user_id>")
def patch_user(user_id: str):
    return directory().update_user(user_id, json_body(_request()))


@router.delete("/admin/users/<user_id>")
def delete_user(user_id: str):
    directory().delete_user(user_id)
    return _no_content()


@router.post("/admin/users/<user_id>/sessions/revoke")
def revoke_sessions(user_id: str):
    directory().revoke_sessions(user_id)
    return _no_content()


# ---------- groups ----------
@router.post("/admin/groups")
def create_group():
    return _created(directory().create_group(json_body(_request())))


@router.get("/admin/groups")
def list_groups():
    return _page(directory().store.list_groups(page_limit(_request()), _request().query.get("cursor")))


@router.get("/admin/groups/<group_id>")
def get_group(group_id: str):
    return directory().get_group(group_id)


@router.patch("/admin/groups/<group_id>")
def patch_group(group_id: str):
    return directory().update_group(group_id, json_body(_request()))


@router.delete("/admin/groups/<group_id>")
def delete_group(group_id: str):
    directory().delete_group(group_id)
    return _no_content()


@router.get("/admin/groups/<group_id>/members")
def list_members(group_id: str):
    return _page(directory().list_members(group_id, page_limit(_request()), _request().query.get("cursor")))


@router.put("/admin/groups/<group_id>/members/<user_id>")
def add_member(group_id: str, user_id: str):
    directory().add_member(group_id, user_id)
    return _no_content()


@router.delete("/admin/groups/<group_id>/members/<user_id>")
def remove_member(group_id: str, user_id: str):
    directory().remove_member(group_id, user_id)
    return _no_content()


# ---------- apps ----------
@router.post("/admin/apps")
def create_app():
    return _created(app_view(apps().create(json_body(_request())), _request().base_url))


@router.get("/admin/apps")
def list_apps():
    items, cursor = directory().store.list_apps(page_limit(_request()), _request().query.get("cursor"))
    return {"items": [app_view(a, _request().base_url) for a in items], "next_cursor": cursor}


@router.get("/admin/apps/<slug>")
def get_app(slug: str):
    return app_view(apps().get(slug), _request().base_url)


@router.patch("/admin/apps/<slug>")
def patch_app(slug: str):
    return app_view(apps().update(slug, json_body(_request())), _request().base_url)


@router.delete("/admin/apps/<slug>")
def delete_app(slug: str):
    apps().delete(slug)
    return _no_content()


# ---------- access ----------
@router.put("/admin/apps/<slug>/users/<user_id>")
def bind_user(slug: str, user_id: str):
    directory().bind_user(slug, user_id, bind=True)
    return _no_content()


@router.delete("/admin/apps/<slug>/users/<user_id>")
def unbind_user(slug: str, user_id: str):
    directory().bind_user(slug, user_id, bind=False)
    return _no_content()


@router.put("/admin/apps/<slug>/groups/<group_id>")
def bind_group(slug: str, group_id: str):
    directory().bind_group(slug, group_id, bind=True)
    return _no_content()


@router.delete("/admin/apps/<slug>/groups/<group_id>")
def unbind_group(slug: str, group_id: str):
    directory().bind_group(slug, group_id, bind=False)
    return _no_content()


# ---------- signing key rotation ----------
@router.get("/admin/apps/<slug>/keys")
def list_keys(slug: str):
    return {"items": app_view(apps().get(slug), _request().base_url)["signing_keys"], "next_cursor": None}


@router.post("/admin/apps/<slug>/keys")
def add_key(slug: str):
    return _created(app_view(apps().add_next_key(slug), _request().base_url))


@router.post("/admin/apps/<slug>/keys/<kid>/activate")
def activate_key(slug: str, kid: str):
    return app_view(apps().activate_key(slug, kid), _request().base_url)


@router.delete("/admin/apps/<slug>/keys/<kid>")
def retire_key(slug: str, kid: str):
    return app_view(apps().retire_key(slug, kid), _request().base_url)


# ---------- provisioning settings ----------
@router.put("/admin/apps/<slug>/provisioning")
def put_provisioning(slug: str):
    return app_view(apps().put_provisioning(slug, json_body(_request())), _request().base_url)

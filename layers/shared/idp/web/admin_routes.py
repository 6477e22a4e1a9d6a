"""Admin API routes (contract section 2): the directory (and ending a user's IdP sessions), apps,
access and provisioning settings."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.app.acting import Acting
from idp.app.user_admin import UserAdmin
from idp.bootstrap import container
from idp.directory.apps import AppService, app_view
from idp.directory.service import DirectoryService
from idp.kernel.audit import API_ADMIN
from idp.kernel.clock import iso_time
from idp.web import api_models as api
from idp.web.api_models import Cursor, Limit, ok
from idp.web.auth import admin_middleware
from idp.web.http import json_body, page_limit
from idp.web.request import WebRequest, current_request

router = Router()
router.use([admin_middleware])
router.typed = True  # lambda_app(): a resolver mounting it validates (so powertools hands routes their parameters)


def doc(tag: str, summary: str, responses: dict) -> dict:
    """The OpenAPI facts of a route: its tag, summary, answers and the bearer scheme."""
    return {"tags": [tag], "summary": summary, "responses": responses, "security": api.SECURITY}


def directory() -> DirectoryService:
    """The directory service, recording changes as the bearer-token admin from this request's client."""
    request = _request()
    return container().directory.acting_as(API_ADMIN, request.client_ip, request.headers.get("user-agent"))


def acting() -> Acting:
    """The bearer-token admin from this request's client: whom a use case records a change as done by."""
    request = _request()
    return Acting(API_ADMIN, request.client_ip, request.headers.get("user-agent"))


def users() -> UserAdmin:
    """Users as an administrator sees and changes them (idp.app.user_admin), the console's use case too."""
    return container().user_admin


def apps() -> AppService:
    request = _request()
    return container().apps.acting_as(API_ADMIN, request.client_ip, request.headers.get("user-agent"))


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
@router.post("/admin/users", **doc("users", "Create a user", ok(201, api.UserView, "the user, with its id", 400, 409, 413)))
def create_user(body: api.UserCreateBody):
    fields = json_body(_request())
    activate = isinstance(fields, dict) and fields.get("send_activation") is True
    return _created(users().create(fields, acting(), activation_base_url=_request().base_url if activate else None))


@router.post("/admin/users/<user_id>/activation",
             **doc("users", "Email the user an activation link (single use, valid 7 days; a newer one voids it)",
                   ok(202, api.LinkSent, "the link was made and handed to the mail service", 404, 409)))
def send_activation(user_id: str):
    sent = users().send_link(user_id, _request().base_url, acting(), activation=True)
    return Response(status_code=202, content_type="application/json", body={
        "id": sent.uid, "expires_at": iso_time(sent.expires_at), "email_sent": sent.email_sent})


@router.get("/admin/users", **doc("users", "List users", ok(200, api.UserPage, "a page of users", 400)))
def list_users(limit: Limit = None, cursor: Cursor = None):
    return users().list_users(page_limit(_request()), _request().query.get("cursor")).as_json()


@router.get("/admin/users/<user_id>", **doc("users", "Get a user", ok(200, api.UserView, "the user", 404)))
def get_user(user_id: str):
    return directory().get_user(user_id)


@router.patch("/admin/users/<user_id>", **doc("users", "Change a user", ok(200, api.UserView, "the user", 400, 404, 409, 413)))
def patch_user(user_id: str, body: api.UserPatchBody):
    return directory().update_user(user_id, json_body(_request()))


@router.delete("/admin/users/<user_id>", **doc("users", "Delete a user", ok(204, None, "deleted", 404)))
def delete_user(user_id: str):
    directory().delete_user(user_id)
    return _no_content()


@router.post("/admin/users/<user_id>/sessions/revoke", **doc("users", "End every IdP session of a user", ok(204, None, "ended", 404)))
def revoke_sessions(user_id: str):
    directory().revoke_sessions(user_id)
    return _no_content()


# ---------- groups ----------
@router.post("/admin/groups", **doc("groups", "Create a group", ok(201, api.GroupView, "the group, with its id", 400, 409, 413)))
def create_group(body: api.GroupCreateBody):
    return _created(directory().create_group(json_body(_request())))


@router.get("/admin/groups", **doc("groups", "List groups", ok(200, api.GroupPage, "a page of groups", 400)))
def list_groups(limit: Limit = None, cursor: Cursor = None):
    return container().group_admin.list_groups(page_limit(_request()), _request().query.get("cursor")).as_json()


@router.get("/admin/groups/<group_id>", **doc("groups", "Get a group", ok(200, api.GroupView, "the group", 404)))
def get_group(group_id: str):
    return directory().get_group(group_id)


@router.patch("/admin/groups/<group_id>", **doc("groups", "Change a group", ok(200, api.GroupView, "the group", 400, 404, 409, 413)))
def patch_group(group_id: str, body: api.GroupPatchBody):
    return directory().update_group(group_id, json_body(_request()))


@router.delete("/admin/groups/<group_id>", **doc("groups", "Delete a group", ok(204, None, "deleted", 404)))
def delete_group(group_id: str):
    directory().delete_group(group_id)
    return _no_content()


@router.get("/admin/groups/<group_id>/members", **doc("groups", "List a group's members", ok(200, api.MemberPage, "a page of members", 400, 404)))
def list_members(group_id: str, limit: Limit = None, cursor: Cursor = None):
    return _page(directory().list_members(group_id, page_limit(_request()), _request().query.get("cursor")))


@router.put("/admin/groups/<group_id>/members/<user_id>", **doc("groups", "Add a member", ok(204, None, "added", 404)))
def add_member(group_id: str, user_id: str):
    directory().add_member(group_id, user_id)
    return _no_content()


@router.delete("/admin/groups/<group_id>/members/<user_id>", **doc("groups", "Remove a member", ok(204, None, "removed", 404)))
def remove_member(group_id: str, user_id: str):
    directory().remove_member(group_id, user_id)
    return _no_content()


# ---------- apps ----------
@router.post("/admin/apps", **doc("apps", "Connect an app", ok(201, api.AppView, "the app, with the IdP's URLs for it", 400, 409, 413)))
def create_app(body: api.AppCreateBody):
    return _created(app_view(apps().create(json_body(_request())), _request().base_url))


@router.get("/admin/apps", **doc("apps", "List apps", ok(200, api.AppPage, "a page of apps", 400)))
def list_apps(limit: Limit = None, cursor: Cursor = None):
    listed = container().app_admin.list_apps(page_limit(_request()), _request().query.get("cursor"))
    return {"items": [app_view(a, _request().base_url) for a in listed.items], "next_cursor": listed.next_cursor}


@router.get("/admin/apps/<slug>", **doc("apps", "Get an app", ok(200, api.AppView, "the app", 404)))
def get_app(slug: str):
    return app_view(apps().get(slug), _request().base_url)


@router.patch("/admin/apps/<slug>", **doc("apps", "Change an app's settings", ok(200, api.AppView, "the app", 400, 404, 409, 413)))
def patch_app(slug: str, body: api.AppPatchBody):
    return app_view(apps().update(slug, json_body(_request())), _request().base_url)


@router.delete("/admin/apps/<slug>", **doc("apps", "Delete an app", ok(204, None, "deleted", 404)))
def delete_app(slug: str):
    apps().delete(slug)
    return _no_content()


# ---------- access ----------
@router.put("/admin/apps/<slug>/users/<user_id>", **doc("access", "Give a user access", ok(204, None, "bound", 404)))
def bind_user(slug: str, user_id: str):
    directory().bind_user(slug, user_id, bind=True)
    return _no_content()


@router.delete("/admin/apps/<slug>/users/<user_id>", **doc("access", "Take a user's access away", ok(204, None, "unbound", 404)))
def unbind_user(slug: str, user_id: str):
    directory().bind_user(slug, user_id, bind=False)
    return _no_content()


@router.put("/admin/apps/<slug>/groups/<group_id>", **doc("access", "Give a group access", ok(204, None, "bound", 404)))
def bind_group(slug: str, group_id: str):
    directory().bind_group(slug, group_id, bind=True)
    return _no_content()


@router.delete("/admin/apps/<slug>/groups/<group_id>", **doc("access", "Take a group's access away", ok(204, None, "unbound", 404)))
def unbind_group(slug: str, group_id: str):
    directory().bind_group(slug, group_id, bind=False)
    return _no_content()


# ---------- signing key rotation ----------
@router.get("/admin/apps/<slug>/keys", **doc("keys", "List an app's signing keys", ok(200, api.KeyPage, "the keys", 404)))
def list_keys(slug: str):
    return {"items": app_view(apps().get(slug), _request().base_url)["signing_keys"], "next_cursor": None}


@router.post("/admin/apps/<slug>/keys", **doc("keys", "Add the next signing key (not yet active)", ok(201, api.AppView, "the app", 404, 409)))
def add_key(slug: str):
    return _created(app_view(apps().add_next_key(slug), _request().base_url))


@router.post("/admin/apps/<slug>/keys/<kid>/activate", **doc("keys", "Sign with this key from now on", ok(200, api.AppView, "the app", 404, 409)))
def activate_key(slug: str, kid: str):
    return app_view(apps().activate_key(slug, kid), _request().base_url)


@router.delete("/admin/apps/<slug>/keys/<kid>", **doc("keys", "Retire a signing key", ok(200, api.AppView, "the app", 404, 409)))
def retire_key(slug: str, kid: str):
    return app_view(apps().retire_key(slug, kid), _request().base_url)


# ---------- provisioning settings ----------
@router.put("/admin/apps/<slug>/provisioning", **doc("provisioning", "Set the SCIM provisioning settings", ok(200, api.AppView, "the app", 400, 404, 409, 413)))
def put_provisioning(slug: str, body: api.ProvisioningBody):
    return app_view(apps().put_provisioning(slug, json_body(_request())), _request().base_url)

"""The apps half of the directory store: app items, their access bindings and their revisions
(`idp.adapters.app_revisions`), mixed into `DirectoryStore` over its transaction and query helpers."""
from __future__ import annotations

from typing import Sequence

from boto3.dynamodb.conditions import Key

from idp.adapters import app_revisions as revisions
from idp.adapters.directory_keys import clean as _clean
from idp.adapters.dynamo import to_ddb
from idp.adapters.read_scope import peek
from idp.kernel.clock import now_iso
from idp.kernel.errors import not_found
from idp.kernel.events import ChangeEvent


class AppRecords:
    # ---------- apps ----------
    def create_app(self, app: dict, events_for) -> dict:
        ts = now_iso()
        item = {"pk": f"APP#{app['slug']}", "sk": "META", "gsi1pk": "APPS", "gsi1sk": app["slug"], "kind": "app",
                **to_ddb(app), "created_at": ts, "updated_at": ts, "version": 1}
        rev = {**revisions.rev_key(app["slug"]), **revisions.new_tokens(revisions.CONFIG, revisions.GROUPS)}
        self._transact(
            [{"Put": {"TableName": self.table.name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
             self._put_item(rev)]
            + self._outbox_puts(events_for(app)),
            [f"an app with slug '{app['slug']}' already exists"],
        )
        return _clean(item)

    def _revision(self, slug: str, part: str) -> str | None:
        """The app's `part` token as this request's read scope read it (None outside an SSO's scope)."""
        rev = peek(revisions.rev_key(slug))
        return rev.get(part) if rev else None

    def get_app(self, slug: str) -> dict | None:
        token = self._revision(slug, revisions.CONFIG)
        item = self.revisions.get(slug, revisions.CONFIG, token)
        if item is None:
            item = self._get(f"APP#{slug}", "META")
            if item:
                self.revisions.put(slug, revisions.CONFIG, token, item)
        return _clean(item) if item else None

    def app_label(self, slug: str) -> str | None:
        """The app's label for a page to show (the login form's "Sign in to ..."): from this container's copy
        when it holds one, unchecked, since a label decides nothing (every answer reads the app fresh, or
        checks its copy); else read."""
        copy = self.revisions.last(slug, revisions.CONFIG)
        if copy is not None:
            return copy.get("label")
        return (self.get_app(slug) or {}).get("label")

    def list_apps(self, limit=None, cursor=None):
        return self._page("APPS", limit, cursor)

    def all_app_slugs(self) -> list[str]:
        return self._gsi1_keys("APPS")

    def update_app(self, slug: str, changes: dict, events_for) -> dict:
        current = self._get(f"APP#{slug}", "META")
        if not current:
            raise not_found("app", slug)
        new, put = self._next_version(current, to_ddb(changes), drop_none=True)
        self._transact([put, revisions.bump(self.table.name, slug, revisions.CONFIG)] + self._outbox_puts(events_for(_clean(new))),
                       ["the app changed concurrently; try again"])
        return _clean(new)

    def delete_app(self, slug: str) -> None:
        related = self._query_all(KeyConditionExpression=Key("pk").eq(f"APP#{slug}"))
        if not any(r["sk"] == "META" for r in related):
            raise not_found("app", slug)
        self.table.delete_item(Key=revisions.rev_key(slug))  # first: from now on an SSO reads the app fresh, and finds it gone
        self.hot.forget(revisions.rev_key(slug))
        with self.table.batch_writer() as batch:
            for rel in related:
                if rel["sk"] == "REV":
                    continue
                batch.delete_item(Key={"pk": rel["pk"], "sk": rel["sk"]})
                if rel["sk"].startswith("BIND#USER#"):
                    batch.delete_item(Key={"pk": f"USER#{rel['sk'][10:]}", "sk": f"APP#{slug}"})
                elif rel["sk"].startswith("BIND#GROUP#"):
                    batch.delete_item(Key={"pk": f"GROUP#{rel['sk'][11:]}", "sk": f"APP#{slug}"})

    # ---------- bindings ----------
    def bind_user(self, slug: str, uid: str, events: Sequence[ChangeEvent]) -> None:
        self._edge(True, ("APP", slug, "BIND#USER", uid), ("USER", uid, "APP", slug), events)

    def unbind_user(self, slug: str, uid: str, events: Sequence[ChangeEvent]) -> None:
        self._edge(False, ("APP", slug, "BIND#USER", uid), ("USER", uid, "APP", slug), events)

    def bind_group(self, slug: str, gid: str, events: Sequence[ChangeEvent]) -> None:
        self._edge(True, ("APP", slug, "BIND#GROUP", gid), ("GROUP", gid, "APP", slug), events,
                   also=(revisions.bump(self.table.name, slug, revisions.GROUPS),))

    def unbind_group(self, slug: str, gid: str, events: Sequence[ChangeEvent]) -> None:
        self._edge(False, ("APP", slug, "BIND#GROUP", gid), ("GROUP", gid, "APP", slug), events,
                   also=(revisions.bump(self.table.name, slug, revisions.GROUPS),))

    def app_user_bindings(self, slug: str) -> list[str]:
        return self._children(f"APP#{slug}", "BIND#USER#")

    def app_group_bindings(self, slug: str) -> list[str]:
        token = self._revision(slug, revisions.GROUPS)
        held = self.revisions.get(slug, revisions.GROUPS, token)
        if held is not None:
            return list(held)
        gids = self._children(f"APP#{slug}", "BIND#GROUP#")  # read after the token: at least as new as it says
        self.revisions.put(slug, revisions.GROUPS, token, tuple(gids))
        return gids

    def apps_of_user(self, uid: str) -> list[str]:
        """Apps the user is bound to directly."""
        return self._children(f"USER#{uid}", "APP#")

    def apps_of_group(self, gid: str) -> list[str]:
        return self._children(f"GROUP#{gid}", "APP#")


"""The warm container's copies of an app (idp.adapters.app_revisions) against moto: after any sequence of
binding, membership, group and app changes made by another container, every SSO read scope decides
access and sees the app's configuration exactly as a fresh read does."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from idp.adapters.answer_reads import sso_reads
from idp.adapters.directory_store import DirectoryStore
from idp.directory.access import may_use
from idp_testing.aws import create_table

USERS = ("u-1", "u-2", "u-3")
_apps = itertools.count()


def _none(_):
    return []


@pytest.fixture(scope="module")
def table():
    with mock_aws():
        yield create_table("revisions-test")


OPS = st.lists(st.tuples(st.sampled_from(["bind_user", "unbind_user", "bind_group", "unbind_group", "add_member",
                                          "remove_member", "new_group", "delete_group", "relabel", "recreate_app"]),
                         st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=16)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_copies_never_answer_for_a_change_they_missed(table, ops):
    writer, reader = DirectoryStore(table), DirectoryStore(table)  # two containers: one changes, one answers SSOs
    slug = f"app{next(_apps)}"
    writer.create_app({"slug": slug, "label": "L0"}, _none)
    model = {"direct": set(), "bound": set(), "members": {}, "label": "L0"}
    groups = [writer.create_group({"name": f"{slug}-g{i}"}, _none)["id"] for i in range(2)]
    for gid in groups:
        model["members"][gid] = set()
    for n, (op, i, j) in enumerate(ops):
        uid, gid = USERS[i], groups[j % len(groups)] if groups else None
        if op == "bind_user":
            writer.bind_user(slug, uid, [])
            model["direct"].add(uid)
        elif op == "unbind_user":
            writer.unbind_user(slug, uid, [])
            model["direct"].discard(uid)
        elif op == "bind_group" and gid:
            writer.bind_group(slug, gid, [])
            model["bound"].add(gid)
        elif op == "unbind_group" and gid:
            writer.unbind_group(slug, gid, [])
            model["bound"].discard(gid)
        elif op == "add_member" and gid:
            writer.add_member(gid, uid, [])
            model["members"][gid].add(uid)
        elif op == "remove_member" and gid:
            writer.remove_member(gid, uid, [])
            model["members"][gid].discard(uid)
        elif op == "new_group":
            new = writer.create_group({"name": f"{slug}-n{n}"}, _none)["id"]
            groups.append(new)
            model["members"][new] = set()
        elif op == "delete_group" and gid:
            writer.delete_group(gid, _none)
            groups.remove(gid)
            model["bound"].discard(gid)
            model["members"].pop(gid)
        elif op == "relabel":
            writer.update_app(slug, {"label": f"L{n}"}, _none)
            model["label"] = f"L{n}"
        elif op == "recreate_app":
            writer.delete_app(slug)
            writer.create_app({"slug": slug, "label": f"R{n}"}, _none)
            model.update(direct=set(), bound=set(), label=f"R{n}")
        for who in USERS:  # an SSO for each user, in the reader's warm read scope
            expected = who in model["direct"] or any(who in model["members"][g] for g in model["bound"])
            with sso_reads(table, reader.revisions, slug, uid=who):
                assert may_use(reader, slug, who) is expected, (op, who, ops)
                assert reader.get_app(slug)["label"] == model["label"], (op, ops)

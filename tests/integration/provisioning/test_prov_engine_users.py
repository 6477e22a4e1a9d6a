"""Users against a real SCIM server (scim2-server on loopback) and DynamoDB (moto).
Request counts prove 'fewest requests'."""
import threading

from idp.adapters.scim_client import ScimClient
from idp.provisioning.engine import Engine
from idp.scim.protocol import ENTERPRISE_SCHEMA
from idp_testing.aws import AtomicTable
from idp_testing.provisioning_state import StoresView, stores_of

APP = "office"


def setup_app(directory, scim, **prov):
    directory.add_app(APP, scim.base_url, **prov)


def test_create_then_noop(directory, scim, engine):
    setup_app(directory, scim)
    uid = directory.add_user(email="ann@example.com", firstname="Ann", lastname="Lee", title="Engineer",
                             department="R&D", employee_id="E1", phone="+1 555 0100")
    directory.bind_user(APP, uid)

    out = engine.sync_user(APP, uid)
    assert out.outcome == "created"
    assert scim.counts() == {"GET Users": 1, "POST Users": 1}  # match first, then create
    get = scim.requests[0]
    assert get[2]["filter"] == 'userName eq "ann@example.com"'
    sp = scim.user_by_name("ann@example.com")
    assert sp["externalId"] == uid
    assert sp["active"] is True
    assert sp["name"] == {"givenName": "Ann", "familyName": "Lee"}
    assert sp["displayName"] == "Ann Lee"
    assert sp["emails"] == [{"value": "ann@example.com", "type": "work", "primary": True}]
    assert sp["title"] == "Engineer"
    assert sp[ENTERPRISE_SCHEMA] == {"department": "R&D", "employeeNumber": "E1"}
    assert sp["phoneNumbers"][0]["value"] == "+1 555 0100"

    scim.reset_counts()
    assert engine.sync_user(APP, uid).outcome == "no_change"
    assert scim.requests == []  # no-op → no request


def test_one_changed_attribute_is_one_patch_with_one_operation(directory, scim, engine):
    setup_app(directory, scim)
    uid = directory.add_user(title="Engineer")
    directory.bind_user(APP, uid)
    engine.sync_user(APP, uid)
    scim.reset_counts()

    directory.update_user(uid, title="Manager")
    assert engine.sync_user(APP, uid).outcome == "updated"
    assert scim.counts() == {"PATCH Users": 1}
    body = scim.requests[0][3]
    assert body["Operations"] == [{"op": "replace", "path": "title", "value": "Manager"}]
    assert scim.user_by_name(directory.users[uid]["email"])["title"] == "Manager"

    # department (extension), email (filtered multi-valued) and a removed phone
    scim.reset_counts()
    directory.update_user(uid, department="Ops", email="new@example.com", phone=None)
    engine.sync_user(APP, uid)
    assert scim.counts() == {"PATCH Users": 1}
    ops = {op["path"]: op for op in scim.requests[0][3]["Operations"]}
    assert ops[f"{ENTERPRISE_SCHEMA}:department"]["value"] == "Ops"
    assert ops['emails[type eq "work"].value']["value"] == "new@example.com"
    assert ops["userName"]["value"] == "new@example.com"
    sp = scim.user_by_name("new@example.com")
    assert sp[ENTERPRISE_SCHEMA]["department"] == "Ops"


def test_suspend_deactivates_and_reactivate(directory, scim, engine):
    setup_app(directory, scim)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    engine.sync_user(APP, uid)
    scim.reset_counts()

    directory.update_user(uid, state="SUSPENDED")
    assert engine.sync_user(APP, uid).outcome == "deactivated"
    assert scim.counts() == {"PATCH Users": 1}
    assert scim.requests[0][3]["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    assert scim.user_by_name(f"{uid}@example.com")["active"] is False

    scim.reset_counts()
    directory.update_user(uid, state="ACTIVE")
    assert engine.sync_user(APP, uid).outcome == "reactivated"
    assert scim.counts() == {"PATCH Users": 1}
    assert scim.user_by_name(f"{uid}@example.com")["active"] is True


def test_unbind_deactivates_rebind_reactivates(directory, scim, engine):
    setup_app(directory, scim)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    engine.sync_user(APP, uid)

    directory.unbind_user(APP, uid)
    assert engine.sync_user(APP, uid).outcome == "deactivated"
    assert scim.user_by_name(f"{uid}@example.com")["active"] is False
    directory.bind_user(APP, uid)
    assert engine.sync_user(APP, uid).outcome == "reactivated"
    assert scim.user_by_name(f"{uid}@example.com")["active"] is True


def test_never_bound_or_suspended_user_is_not_created(directory, scim, engine):
    setup_app(directory, scim)
    a = directory.add_user()
    b = directory.add_user(state="SUSPENDED")
    directory.bind_user(APP, b)
    assert engine.sync_user(APP, a).outcome == "no_change"
    assert engine.sync_user(APP, b).outcome == "no_change"
    assert scim.requests == []


def test_adopts_an_existing_sp_user(directory, scim, engine, state):
    setup_app(directory, scim)
    uid = directory.add_user(email="Bob@Example.com", title="Boss", firstname="Bob", lastname="Ray")
    existing = scim.create("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                     "userName": "bob@example.com", "title": "Old", "active": False,
                                     "name": {"givenName": "Bob", "familyName": "Ray"}})
    directory.bind_user(APP, uid)

    assert engine.sync_user(APP, uid).outcome == "adopted"
    assert scim.counts() == {"GET Users": 1, "PATCH Users": 1}  # no POST
    users = scim.list("Users")
    assert len(users) == 1 and users[0]["id"] == existing["id"]
    assert users[0]["title"] == "Boss" and users[0]["active"] is True and users[0]["externalId"] == uid
    assert state.get_map(APP, "USER", uid)["scim_id"] == existing["id"]


def test_409_on_create_looks_up_and_adopts(directory, scim, engine):
    setup_app(directory, scim)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    scim.create("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"{uid}@example.com"})
    misses = {"n": 0}

    def hide_first_match(method, path, query, body):  # the user appears between the match and the POST
        if method == "GET" and "filter" in query and misses["n"] == 0:
            misses["n"] += 1
            return ("200 OK", {"Content-Type": "application/scim+json"},
                    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0,
                     "startIndex": 1, "itemsPerPage": 0, "Resources": []})
        return None

    scim.override = hide_first_match
    assert engine.sync_user(APP, uid).outcome == "adopted"
    assert scim.counts() == {"GET Users": 2, "POST Users": 1, "PATCH Users": 1}
    assert len(scim.list("Users")) == 1


def test_404_on_update_rematches_then_creates(directory, scim, engine, state):
    setup_app(directory, scim)
    uid = directory.add_user(title="A")
    directory.bind_user(APP, uid)
    engine.sync_user(APP, uid)
    old = state.get_map(APP, "USER", uid)["scim_id"]
    scim.delete("Users", old)  # someone deleted it by hand in the SP
    scim.reset_counts()

    directory.update_user(uid, title="B")
    assert engine.sync_user(APP, uid).outcome == "created"
    assert scim.counts() == {"PATCH Users": 1, "GET Users": 1, "POST Users": 1}
    new = state.get_map(APP, "USER", uid)["scim_id"]
    assert new != old
    assert scim.get("Users", new)["title"] == "B"


def test_directory_delete_deactivates_or_deletes_per_policy(directory, scim, engine):
    setup_app(directory, scim)
    keep = directory.add_user()
    gone = directory.add_user()
    for uid in (keep, gone):
        directory.bind_user(APP, uid)
        engine.sync_user(APP, uid)
    scim.reset_counts()

    directory.delete_user(keep)
    assert engine.sync_user(APP, keep).outcome == "deactivated"
    assert scim.user_by_name(f"{keep}@example.com")["active"] is False

    directory.set_prov(APP, deprovision="delete")
    directory.delete_user(gone)
    assert engine.sync_user(APP, gone).outcome == "deleted"
    assert scim.user_by_name(f"{gone}@example.com") is None
    assert scim.counts() == {"PATCH Users": 1, "DELETE Users": 1}
    scim.reset_counts()
    assert engine.sync_user(APP, gone).outcome == "no_change"
    assert scim.requests == []


def test_entra_dialect_capitalises_ops(directory, scim, engine):
    setup_app(directory, scim, dialect="entra")
    uid = directory.add_user(title="A")
    directory.bind_user(APP, uid)
    engine.sync_user(APP, uid)
    scim.reset_counts()
    directory.update_user(uid, title="B", state="SUSPENDED")
    engine.sync_user(APP, uid)
    ops = scim.requests[0][3]["Operations"]
    assert {op["op"] for op in ops} == {"Replace"}
    assert scim.user_by_name(f"{uid}@example.com")["title"] == "B"


def test_put_mode_sends_one_put(directory, scim, engine):
    setup_app(directory, scim, dialect="put")
    uid = directory.add_user(title="A")
    directory.bind_user(APP, uid)
    engine.sync_user(APP, uid)
    scim.reset_counts()
    directory.update_user(uid, title="B")
    engine.sync_user(APP, uid)
    assert scim.counts() == {"PUT Users": 1}
    assert scim.requests[0][3]["active"] is True  # a PUT without active would suspend on some SPs
    assert scim.user_by_name(f"{uid}@example.com")["title"] == "B"


def test_matching_attribute_externalid(directory, scim, engine):
    setup_app(directory, scim, matching_attribute="externalId")
    uid = directory.add_user(email="renamed@example.com")
    existing = scim.create("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                     "userName": "old-name@example.com", "externalId": uid})
    directory.bind_user(APP, uid)
    assert engine.sync_user(APP, uid).outcome == "adopted"
    users = scim.list("Users")
    assert len(users) == 1 and users[0]["id"] == existing["id"] and users[0]["userName"] == "renamed@example.com"


def test_two_workers_creating_one_user_make_one(directory, scim, state, tokens):
    setup_app(directory, scim)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    gate = threading.Barrier(2)
    refused = threading.Event()  # the second worker found the first one's live claim
    original = scim.override

    def hold_match(method, path, query, body):
        if method == "GET":  # the claim holder's match waits until the other worker was refused the claim
            assert refused.wait(10)
        return None

    scim.override = hold_match
    results, errors = [], []

    import dataclasses

    from idp.adapters.provisioning.claims import DynamoClaims
    from idp.adapters.provisioning.stores import dynamo_stores

    class Refusals(DynamoClaims):
        def claim_create(self, *args, **kwargs):
            token = super().claim_create(*args, **kwargs)
            if token is None:
                refused.set()
            return token

    stores = dynamo_stores(AtomicTable(state.table))
    shared = StoresView(dataclasses.replace(stores, claims=Refusals(stores.claims.table, stores.claims.buffer, stores.clock)))

    def work():
        eng = Engine(directory, stores_of(shared), tokens, client_factory=ScimClient, timeout=(2, 5))
        gate.wait()
        try:
            results.append(eng.sync_user(APP, uid).outcome)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    scim.override = original
    assert not errors, errors
    assert sorted(results) == ["created", "no_change"]
    assert scim.counts()["POST Users"] == 1
    assert len(scim.list("Users")) == 1

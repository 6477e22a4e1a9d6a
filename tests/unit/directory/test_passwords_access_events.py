"""Password hashing, the access rule and event publishing, with no AWS."""
import json

from idp.adapters.event_publisher import EventPublisher
from idp.directory import access
from idp.directory.outbox import relay_outbox
from idp.directory.passwords import hash_password, verify_password
from idp.kernel.events import event, message_body


def test_password_hash_is_argon2id_and_verifies():
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


class FakeStore:
    def __init__(self, direct=(), group_bindings=(), memberships=None):
        self.direct = set(direct)
        self.group_bindings = {slug: set(g) for slug, g in dict(group_bindings).items()}
        self.memberships = memberships or {}

    def user_bound(self, slug, uid):
        return (slug, uid) in self.direct

    def app_group_bindings(self, slug):
        return sorted(self.group_bindings.get(slug, ()))

    def groups_of_user(self, uid):
        return [g for g, members in self.memberships.items() if uid in members]

    def groups_of_user_among(self, uid, gids):
        return [g for g in gids if uid in self.memberships.get(g, ())]

    def app_user_bindings(self, slug):
        return [u for s, u in self.direct if s == slug]

    def list_members(self, gid):
        return sorted(self.memberships.get(gid, ()))


def test_users_are_implicitly_denied():
    store = FakeStore(direct={("os", "u-bob")}, group_bindings={"os": {"g-eng"}},
                      memberships={"g-eng": {"u-alice"}, "g-fin": {"u-carol"}})
    assert access.may_use(store, "os", "u-bob")
    assert access.may_use(store, "os", "u-alice")
    assert not access.may_use(store, "os", "u-carol")
    assert not access.may_use(store, "other", "u-alice")
    assert access.users_of_app(store, "os") == {"u-bob", "u-alice"}


def test_event_body_follows_the_contract():
    evt = event("app.access_changed", "u-1", app="os", version=3)
    body = json.loads(message_body(evt))
    assert set(body) == {"type", "id", "app", "version", "at"}
    assert body["type"] == "app.access_changed" and body["at"].endswith("Z")


class FakeSqs:
    def __init__(self, fail_calls=0):
        self.sent, self.fail_calls = [], fail_calls

    def send_message_batch(self, QueueUrl, Entries):
        if self.fail_calls:
            self.fail_calls -= 1
            raise ConnectionError("queue unreachable")
        self.sent.extend(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


class OutboxStore:
    def __init__(self, events):
        self.items = [{"sk": f"{e['at']}#{e['event_id']}", "event": e} for e in events]

    def pending_outbox(self, limit=100):
        return self.items[:limit]

    def clear_outbox(self, sks):
        gone = set(sks)
        self.items = [i for i in self.items if i["sk"] not in gone]


def test_a_failed_publish_stays_in_the_outbox_until_the_relay_sends_it():
    events = [event("user.created", f"u-{i}") for i in range(23)]
    store, sqs = OutboxStore(events), FakeSqs(fail_calls=1)
    publisher = EventPublisher(sqs, "q")
    assert len(publisher.publish(events[:10])) == 10  # the queue was down: all ten reported failed
    assert relay_outbox(store, publisher) == 23 and store.items == []
    assert [e["MessageGroupId"] for e in sqs.sent] == [e["id"] for e in events]
    assert len({e["MessageDeduplicationId"] for e in sqs.sent}) == 23

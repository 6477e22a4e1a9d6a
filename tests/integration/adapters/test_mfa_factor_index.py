"""The factor index (`MFA#{uid}` / `INDEX`, what every sign-in reads instead of querying the factors)
against moto: after any sequence of enrolments, confirmations, removals, resets and indexes gone
missing (a user whose factors predate the index), it names exactly the user's live factors."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from idp.adapters.mfa_state import MfaState
from idp_testing.aws import create_table

UID = "u-1"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def table():
    with mock_aws():
        yield create_table("mfa-index-test")


def _clear(table) -> None:
    for item in table.scan()["Items"]:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def _live_types(store: MfaState) -> list[str]:
    return sorted(f["type"] for f in store.factors(UID))


OPS = st.lists(st.tuples(st.sampled_from(["passkey", "begin_totp", "confirm", "remove", "reset", "lose_index", "legacy_factor"]),
                         st.integers(0, 7)), max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_index_names_exactly_the_live_factors(table, ops):
    _clear(table)
    store = MfaState(table, clock=lambda: NOW)
    made = 0
    for op, pick in ops:
        ids = [f["id"] for f in store.factors(UID, include_pending=True)]
        pending = [f["id"] for f in store.factors(UID, include_pending=True) if f.get("pending")]
        made += 1
        if op == "passkey":
            store.put_factor(UID, {"id": f"pk-{made:016x}", "type": "webauthn", "name": "key", "sign_count": 0})
        elif op == "begin_totp":
            store.put_factor(UID, {"id": f"totp-{made:016x}", "type": "totp", "name": "app"}, pending_ttl=600)
        elif op == "confirm" and pending:
            assert store.confirm_factor(UID, pending[pick % len(pending)], timecode=made, now=NOW)
        elif op == "remove" and ids:
            store.delete_factor(UID, ids[pick % len(ids)])
        elif op == "reset":
            store.delete_all(UID)
        elif op == "lose_index":
            table.delete_item(Key=MfaState.index_key(UID))
        elif op == "legacy_factor":  # written as before the index existed: the factor item alone
            table.put_item(Item={"pk": f"MFA#{UID}", "sk": f"FACTOR#pk-{made:016x}", "id": f"pk-{made:016x}",
                                 "type": "webauthn", "name": "old", "sign_count": 0})
            table.delete_item(Key=MfaState.index_key(UID))
        if op not in ("lose_index", "legacy_factor"):  # reading would repair the index: the next op meets it as left
            assert store.factor_types(UID) == _live_types(store), (op, ops)
    assert store.factor_types(UID) == _live_types(store), ops


def test_a_missing_index_is_written_once_and_then_read(table):
    _clear(table)
    store = MfaState(table, clock=lambda: NOW)
    table.put_item(Item={"pk": f"MFA#{UID}", "sk": "FACTOR#totp-00000000000000aa", "id": "totp-00000000000000aa",
                         "type": "totp", "name": "app"})
    assert store.factor_types(UID) == ["totp"]
    assert table.get_item(Key=MfaState.index_key(UID))["Item"]["factors"] == {"totp-00000000000000aa"}
    # from now on the index answers: a factor item written behind its back is not seen (nothing writes one so)
    table.put_item(Item={"pk": f"MFA#{UID}", "sk": "FACTOR#pk-00000000000000bb", "id": "pk-00000000000000bb",
                         "type": "webauthn", "name": "key"})
    assert store.factor_types(UID) == ["totp"]

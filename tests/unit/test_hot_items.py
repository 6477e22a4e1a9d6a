"""A container's short-lived copies of the items every sign-in reads (idp.adapters.hot_items): what it covers,
how long a copy lasts, and that a write through the container is never hidden by a read begun before it."""
from __future__ import annotations

from idp.adapters.app_revisions import rev_key
from idp.adapters.hot_items import MFA_POLICY_KEY, TTL_SECONDS, is_sign_in_item, sign_in_items
from idp.adapters.mfa_state import MfaState


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_it_covers_an_apps_revisions_and_the_mfa_policy_only():
    assert is_sign_in_item(rev_key("officespace")) and is_sign_in_item(MfaState.POLICY_KEY)
    assert MfaState.POLICY_KEY == MFA_POLICY_KEY
    for key in ({"pk": "APP#officespace", "sk": "META"}, {"pk": "APP#officespace", "sk": "BIND#USER#u1"},
                {"pk": "USER#u1", "sk": "APP#officespace"}, {"pk": "SESSION#x", "sk": "SESSION"}, {"pk": "USER#u1", "sk": "REV"}):
        assert not is_sign_in_item(key), key


def test_a_copy_lasts_the_ttl_from_when_its_read_began():
    clock = Clock()
    hot = sign_in_items()
    hot.clock = clock
    key = rev_key("officespace")
    assert hot.held(key) == (False, None)
    hot.keep(key, {"config": "a"}, read_began=clock())
    clock.now += TTL_SECONDS * 0.99
    assert hot.held(key) == (True, {"config": "a"})
    clock.now += TTL_SECONDS * 0.01
    assert hot.held(key) == (False, None)
    hot.keep(MFA_POLICY_KEY, None, read_began=clock())  # a missing item is held as missing
    assert hot.held(MFA_POLICY_KEY) == (True, None)


def test_a_write_drops_the_copy_and_a_read_begun_before_it_is_not_kept():
    clock = Clock()
    hot = sign_in_items()
    hot.clock = clock
    key = rev_key("officespace")
    hot.keep(key, {"config": "a"}, read_began=clock())
    began = clock()
    clock.now += 0.01
    hot.forget(key)  # this container wrote it
    assert hot.held(key) == (False, None)
    hot.keep(key, {"config": "a"}, read_began=began)  # that read may have seen the item before the write
    assert hot.held(key) == (False, None)
    clock.now += 0.01
    hot.keep(key, {"config": "b"}, read_began=clock())
    assert hot.held(key) == (True, {"config": "b"})


def test_items_it_does_not_cover_are_never_kept():
    hot = sign_in_items()
    key = {"pk": "USER#u1", "sk": "APP#officespace"}
    hot.keep(key, {"pk": "x"}, read_began=hot.clock())
    assert hot.held(key) == (False, None)

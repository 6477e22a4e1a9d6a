"""The read scopes (idp.adapters.read_scope) of the requests that answer an app: which items an SSO, a
login and the answer after a sign-in read, named up front so each comes in one BatchGetItem (two when
the user is known only once a first read names them). Every access-deciding item is read in the
request; the copies a warm container keeps (app configuration, bound groups) are checked against the
revisions read with them (idp.adapters.app_revisions), and the items every sign-in reads whoever signs in
(the app's `REV`, the MFA policy) come from the container's copy while it is younger than a second
(idp.adapters.hot_items; `sign_in_items` names them).

No hot key (issue 25): every other item an answer reads is on the user's own partition key or the session's
(`USER#{uid}`: profile, direct binding, memberships; the epoch; the factor index), so one app's sign-ins spread
over its users' partitions; the direct binding is read as its mirror under the user (`USER#{uid}` /
`APP#{slug}`, written in the same transaction as `APP#{slug}` / `BIND#USER#{uid}`), not under the app."""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

from idp.adapters import app_revisions as revisions
from idp.adapters import directory_keys as keys_of
from idp.adapters.directory_store import MAX_MEMBERSHIP_READS, DirectoryStore
from idp.adapters.dynamo import from_ddb
from idp.adapters.hot_items import HotItems
from idp.adapters.mfa_state import MfaState
from idp.adapters.read_scope import in_scope, peek, request_reads
from idp.adapters.signon_state import SignonState
from idp.signon.login import client_key, source_key
from idp.signon.policy import ACCOUNT, ADDRESS, SOURCE


def app_reads(copies: revisions.RevisionCache, slug: str) -> tuple[list[dict], Callable[[str], list[dict]]]:
    """What an answer for `slug` reads: the app's revisions (its configuration too when this container
    holds no copy), and for a user their direct binding and their memberships of the groups bound to
    the app (as this container last read them: the revisions read with them say if that still holds)."""
    bound = copies.last(slug, revisions.GROUPS) or ()
    held_config = copies.last(slug, revisions.CONFIG) is not None
    app_keys = [revisions.rev_key(slug)] + ([] if held_config else [keys_of.app_key(slug)])

    def of_user(uid: str) -> list[dict]:
        memberships = [DirectoryStore.membership_key(uid, gid) for gid in bound] if len(bound) <= MAX_MEMBERSHIP_READS else []
        return [keys_of.user_binding_key(slug, uid), *memberships]

    return app_keys, of_user


def user_reads(uid: str) -> list[dict]:
    """What every answer reads of its user: the profile, the session epoch, the factor index."""
    return [keys_of.user_key(uid), SignonState.epoch_key(uid), MfaState.index_key(uid)]


def sso_reads(table, copies: revisions.RevisionCache, slug: str, session_cookie: str | None = None, uid: str | None = None,
              hot: HotItems | None = None):
    """One SSO answer: one BatchGetItem of the app's reads, the MFA policy, the session and (named by the
    cookie, checked against the session, or given as `uid`) its user's reads; a cookie without the
    user's id in front reads the user's in a second batch once the session names them."""
    app_keys, app_of_user = app_reads(copies, slug)

    def of_user(who: str) -> list[dict]:
        return user_reads(who) + app_of_user(who)

    keys = [*app_keys, dict(MfaState.POLICY_KEY)]
    if SignonState.usable(session_cookie):
        keys.append(SignonState.session_key(session_cookie))
        uid = uid or SignonState.claimed_user(session_cookie)
    if uid:
        keys.extend(of_user(uid))
    return request_reads(table, keys, on_user=of_user, hot=hot)


def after_sign_in(table, copies: revisions.RevisionCache, slug: str, uid: str, hot: HotItems | None = None):
    """The answer right after a sign-in (a password, a second step, a passkey): in the login's own scope
    when one is open (login_reads read it already), else an SSO scope for the user."""
    return nullcontext() if in_scope() else sso_reads(table, copies, slug, uid=uid, hot=hot)


def login_reads(table, copies: revisions.RevisionCache, login_id: str | None, username: str | None, client: str | None,
                hot: HotItems | None = None):
    """POST /login and the answer it resumes: one BatchGetItem of the login state, the account the typed
    name names, the address's throttle counter and the MFA policy; once the name resolves, a second of
    the account's reads (profile, epoch, factor index, its throttle counters from this address) and the
    pending app's. What the login writes meanwhile (its state, the counters) is dropped from the scope as
    it is written (read_scope.forget)."""
    address = client_key(client)
    login_key = SignonState.login_key(login_id) if SignonState.usable(login_id) else None
    keys = [dict(MfaState.POLICY_KEY), SignonState.counter_key(ADDRESS, address)]
    if login_key:
        keys.append(login_key)
    name = (username or "").strip()[:256]
    if name:
        keys.append(DirectoryStore.login_name_key(name))

    def of_user(uid: str) -> list[dict]:
        more = user_reads(uid) + [SignonState.counter_key(ACCOUNT, uid), SignonState.counter_key(SOURCE, source_key(uid, address))]
        state = peek(login_key) if login_key else None
        slug = (from_ddb(state).get("pending") or {}).get("slug") if state else None
        if slug:
            app_keys, app_of_user = app_reads(copies, slug)
            more += app_keys + app_of_user(uid)
        return more

    return request_reads(table, keys, on_user=of_user, hot=hot)


def login_page_reads(table, login_id: str | None, hot: HotItems | None = None):
    """GET /login: the pending login and the MFA policy (whether to offer passkeys) in one BatchGetItem."""
    keys = [dict(MfaState.POLICY_KEY)]
    if SignonState.usable(login_id):
        keys.append(SignonState.login_key(login_id))
    return request_reads(table, keys, hot=hot)

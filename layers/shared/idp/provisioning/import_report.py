"""The import / match report (contract section 8), pure: every user the SP holds, classified against the
directory by the app's matching attribute (``userName`` by default, ``emails`` or ``externalId``),
compared without case:

- ``matched``: exactly one directory user, not linked elsewhere, and no disagreement on the identifying
  attributes (userName, work email, externalId); a difference in other attributes is named in ``reason``
  ("will update: name.givenName"), since the next push corrects it;
- ``conflict``: several directory candidates (``several_candidates``), several SP users for one directory user
  (``several_sp_users``), the candidate already linked to another SP user (``user_linked_elsewhere``), the SP
  user linked to another directory user (``sp_user_linked_elsewhere``), or an identifying attribute that
  disagrees (``attribute_mismatch: <paths>``);
- ``unmatched``: nobody in the directory.

``to_create``: the users bound to the app that no SP user matches and that are not linked yet (the next
push creates them). Nothing here talks to the SP; the caller reads it (GETs only) and stores the report."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from idp.scim import mapping as mp

IDENTIFYING = ("userName", mp.WORK_EMAIL, "externalId")
MAX_SP_USERS = 10_000  # at most this many SP users (100 GETs of 100; then the report says it is truncated)


def _fold(value: object) -> str | None:
    return str(value).strip().casefold() if value not in (None, "") else None


def sp_email(resource: dict[str, Any]) -> str | None:
    """The SP user's work email, else its primary or first email."""
    emails = resource.get("emails")
    emails = [e for e in (emails if isinstance(emails, list) else []) if isinstance(e, dict) and isinstance(e.get("value"), str)]
    for pick in (lambda e: e.get("type") == "work", lambda e: e.get("primary") in (True, "true", "True"), lambda e: True):
        for entry in emails:
            if pick(entry):
                return str(entry["value"])
    return None


def sp_key(resource: dict[str, Any], attribute: str) -> str | None:
    if attribute == "emails":
        return _fold(sp_email(resource))
    if attribute == "externalId":
        return _fold(resource.get("externalId"))
    return _fold(resource.get("userName"))


def directory_key(uid: str, desired: dict[str, Any], attribute: str) -> str | None:
    if attribute == "emails":
        return _fold(desired.get(mp.WORK_EMAIL))
    if attribute == "externalId":
        return _fold(uid)
    return _fold(desired.get("userName"))


@dataclass
class Report:
    items: list[dict[str, Any]] = field(default_factory=list)  # what the API answers
    to_create: list[str] = field(default_factory=list)
    sp_states: dict[str, dict[str, Any]] = field(default_factory=dict)  # sp_id -> the SP user's flat state (for the link)


def classify(sp_users: Iterable[dict[str, Any]], desired: dict[str, dict[str, Any]], linked: dict[str, str], bound: set[str],
             attribute: str | None = None, paths: Iterable[str] = ()) -> Report:
    """``desired``: directory user id -> the flat state the app's mapping gives them; ``linked``: user id ->
    the SCIM id already mapped; ``bound``: the users bound to the app; ``paths``: the mapped SCIM paths."""
    attribute = attribute or "userName"
    paths = set(paths) | set(IDENTIFYING) | {"active"}
    by_key: dict[str, list[str]] = {}
    for uid, state in desired.items():
        key = directory_key(uid, state, attribute)
        if key:
            by_key.setdefault(key, []).append(uid)
    linked_to = {scim_id: uid for uid, scim_id in linked.items()}
    report = Report()
    rows: list[tuple[dict[str, Any], str | None]] = []
    for resource in sp_users:
        sp_id = resource.get("id") if isinstance(resource, dict) else None
        if not isinstance(sp_id, str) or not sp_id:
            continue  # not a resource (the client refuses these; a report never fails on one)
        report.sp_states[sp_id] = mp.flatten_resource(resource, paths)
        row: dict[str, Any] = {"sp_id": sp_id, "userName": str(resource.get("userName") or "")}
        owner = linked_to.get(sp_id)
        candidates = sorted(by_key.get(sp_key(resource, attribute) or "", []))
        if owner is not None and candidates and owner not in candidates:
            row.update(status="conflict", user_id=owner, reason="sp_user_linked_elsewhere")
        elif owner is not None:
            row.update(status="matched", user_id=owner, reason="already_linked")
        elif len(candidates) > 1:
            row.update(status="conflict", reason="several_candidates")
        elif not candidates:
            row.update(status="unmatched")
        else:
            uid = candidates[0]
            row.update(user_id=uid)
            if linked.get(uid) and linked[uid] != sp_id:
                row.update(status="conflict", reason="user_linked_elsewhere")
            else:
                row.update(_compare(uid, desired[uid], report.sp_states[sp_id]))
        rows.append((row, row.get("user_id")))
    uses = Counter(uid for row, uid in rows if uid and row["status"] == "matched" and row.get("reason") != "already_linked")
    for row, holder in rows:
        if holder and uses[holder] > 1 and row["status"] == "matched":
            row.update(status="conflict", reason="several_sp_users")
        report.items.append(row)
    claimed = {uid for _row, uid in rows if uid} | set(linked)
    report.to_create = sorted(bound - claimed)
    return report


def _compare(uid: str, desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """matched, unless an identifying attribute the SP holds disagrees with the directory."""
    disagree = []
    for path in IDENTIFYING:
        want = uid if path == "externalId" else desired.get(path)
        have = current.get(path)
        if have not in (None, "") and want not in (None, "") and _fold(have) != _fold(want):
            disagree.append(path)
    if disagree:
        return {"status": "conflict", "reason": "attribute_mismatch: " + ", ".join(disagree)}
    differs = sorted(p for p in mp.changed_paths(current, desired) if p not in IDENTIFYING and p != "active")
    return {"status": "matched", **({"reason": "will update: " + ", ".join(differs)} if differs else {})}

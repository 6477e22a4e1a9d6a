"""Benchmark: the heat table (issue 25 item 3). Which DynamoDB partition key each operation lands on, and
how many sign-ins a second one app can take before any partition passes half its limit.

The in-process local stack (`aws_calls.InProcessStack`: moto on loopback, the demo directory, the HTTP app
under uvicorn in a thread) runs four operations, each n times for n different users (so a key of the
user's own, a session, a login state, is touched by one run and a key every run touches is shared):
an SSO with a session, a full login (password, no MFA), an admin change (PATCH a user) and provisioning
(one user pushed: its events through the push function). botocore hooks on the default session see
every DynamoDB call with its keys; each call is turned into the partitions it lands on:

- reads: GetItem / BatchGetItem per key asked for (a missing item costs the minimum too), Query per
  partition key queried, on the index it names. Units: 1 per 4 KB strongly consistent, 0.5 eventually,
  2 in a transaction (DynamoDB's rules; a Query's by the bytes it returned).
- writes: Put / Update / Delete (alone, in a batch or a transaction) on the item's `pk`, 1 unit per KB of
  the item (2 in a transaction); and on each GSI whose key attributes the item carries before or after the
  write (read from the table just before the call, outside the counting; an update's new value of a GSI
  key from its expression): 1 unit per KB, one more when the key moves. A ConditionCheck is counted as a
  transactional read of its item (2 units).
- sizes: DynamoDB's item size (attribute names + values; numbers estimated as 1 byte per 2 digits + 1).

The audit log's day and app keys are sharded (`idp.adapters.audit_log.SHARDS`, the shard random per
event): each family of shards is counted as one key and divided by the shard count, the long-run load
of one shard. Limits per partition: 1,000 write units and 3,000 read units a second; the figure is at
half of them. A key that only one client address reaches (the login throttle's `THROTTLE#ip#`) is shown
but does not bound one app: its users come from many addresses (a NAT of N users divides it by N).

Longer than 400 lines because the recorder (DynamoDB's request shapes into partitions and units), the
operations and the table's rendering are one measurement, read together.
"""
from __future__ import annotations

import base64
import json
import math
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from .aws_calls import APP, InProcessStack
from .common import ROOT

PASSWORD = "Violet-Harbor-Lantern-42"
WRITE_LIMIT, READ_LIMIT = 1000.0, 3000.0  # per partition, per second
HALF = 0.5
TARGET_SIGNINS = 5000.0
AUDIT_NOTE = ("a full login writes two audit events, the login and the sso, each on one of the 16 shards: 0.125 a "
              "shard; 32 shards would give 8,000 a second at 32 queries a page of GET /admin/events")
PER_ADDRESS = ("THROTTLE#ip#",)  # keys one client address reaches, not one app
# A key one run alone reached is the run's own (its user's, session's, login's) only if it has one of these shapes;
# any other key one run reached is shared (an app's REV read once by a warm container, say).
OWN = ("USER#", "SESSION#", "SESSIONEPOCH#", "MFA#", "LOGIN#", "SAMLREQ#", "THROTTLE#account#", "THROTTLE#source#",
       "THROTTLE#mfa#", "UNIQUE#", "RELEASED#", "PWLINK#", "AUDIT#USER#", "PLOG#")
_ID = re.compile(r"\d{4}-\d\d-\d\dT[^#]*|[0-9a-z_-]{12,}|[0-9a-f]{8,}|(?<=#M#)[0-9a-f]{2}")  # ids, times, member shards
_SET = re.compile(r"(#?[A-Za-z_][\w]*)\s*=\s*(:[\w]+)")


def gsis() -> dict[str, str]:
    """The template's GSIs of the table: {index name: its partition key attribute}."""
    from idp_local.cfn import load_template

    props = load_template(ROOT / "template.yaml")["Resources"]["DirectoryTable"]["Properties"]
    return {g["IndexName"]: next(k["AttributeName"] for k in g["KeySchema"] if k["KeyType"] == "HASH")
            for g in props.get("GlobalSecondaryIndexes", [])}


def value_size(v: dict) -> int:
    (t, x), = v.items()
    if t == "S":
        return len(x.encode())
    if t == "N":
        return len(x.lstrip("-").replace(".", "")) // 2 + 1
    if t == "B":
        return len(base64.b64decode(x))
    if t in ("BOOL", "NULL"):
        return 1
    if t in ("SS", "NS", "BS"):
        return sum(value_size({t[0]: e}) for e in x)
    if t == "L":
        return 3 + sum(1 + value_size(e) for e in x)
    if t == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(e) for k, e in x.items())
    return len(json.dumps(x))


def item_size(item: dict | None) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    return (2.0 if transactional else 1.0 if consistent else 0.5) * max(1, math.ceil(size / 4096))


def write_units(size: int, transactional: bool = False) -> float:
    return (2.0 if transactional else 1.0) * max(1, math.ceil(size / 1024))


@dataclass
class Heat:
    """Units per (index, partition key): index None is the base table; which runs touched each."""
    reads: dict = field(default_factory=lambda: defaultdict(float))
    writes: dict = field(default_factory=lambda: defaultdict(float))
    runs: dict = field(default_factory=lambda: defaultdict(set))
    items: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))  # (index, pk) -> item kind -> units
    kept: dict = field(default_factory=lambda: defaultdict(float))  # reads of items a container keeps a while


class HeatRecorder:
    """botocore hooks on a session's DynamoDB calls; `run` names the operation's current run."""

    def __init__(self, session):
        self.gsis = gsis()
        self.lock = threading.Lock()
        self.heat: Heat | None = None
        self.run = 0
        self.table_name, self.raw = "", None
        session.events.register("before-call.dynamodb", self._before)  # before any client is made
        session.events.register("after-call.dynamodb", self._after)

    def attach(self, table_name: str) -> None:
        """The table to read items' GSI keys from, through another session (no hooks: not recorded)."""
        import boto3

        self.table_name, self.raw = table_name, boto3.session.Session().client("dynamodb")

    def stop(self) -> None:
        with self.lock:
            self.heat = None

    # -------------------------------------------------------------- the calls
    def _touch(self, index: str | None, pk: str, reads: float = 0.0, writes: float = 0.0, sk: str = "") -> None:
        with self.lock:
            heat = self.heat
            if heat is None:
                return
            kind = ("read " if reads else "write ") + (_ID.sub("…", sk) or "?")
            units = reads + writes
            if reads and index is None and _kept({"pk": pk, "sk": sk}):
                heat.kept[(index, pk)] += reads  # once a TTL per container, not per operation
                kind, reads = "kept " + kind, 0.0
            heat.reads[(index, pk)] += reads
            heat.writes[(index, pk)] += writes
            heat.runs[(index, pk)].add(self.run)
            heat.items[(index, pk)][kind] += units

    def _old(self, key: dict) -> dict | None:
        return self.raw.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")

    def _before(self, model, params, context, **_):
        if self.heat is None:
            return
        try:
            request = json.loads(params.get("body") or b"{}")
        except ValueError:
            return
        context["heat_request"] = request
        op = model.name
        writes = []  # (kind, key, new item or update, transactional)
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            writes.append((op, request.get("Key") or _key(request.get("Item", {})), request, False))
        elif op == "BatchWriteItem":
            for reqs in request.get("RequestItems", {}).values():
                for r in reqs:
                    if "PutRequest" in r:
                        writes.append(("PutItem", _key(r["PutRequest"]["Item"]), r["PutRequest"], False))
                    else:
                        writes.append(("DeleteItem", r["DeleteRequest"]["Key"], r["DeleteRequest"], False))
        elif op == "TransactWriteItems":
            for t in request.get("TransactItems", []):
                (kind, body), = t.items()
                if kind == "ConditionCheck":
                    self._touch(None, body["Key"]["pk"]["S"], reads=read_units(item_size(self._old(body["Key"])), True, True),
                                sk=body["Key"]["sk"]["S"])
                    continue
                name = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}[kind]
                writes.append((name, body.get("Key") or _key(body.get("Item", {})), body, True))
        for kind, key, body, tx in writes:
            self._write(kind, key, body, self._old(key), tx)

    def _write(self, kind: str, key: dict, body: dict, old: dict | None, tx: bool) -> None:
        if kind == "PutItem":
            new = body["Item"]
        elif kind == "DeleteItem":
            new = None
        else:
            new = dict(old or key)
            names = body.get("ExpressionAttributeNames", {})
            values = body.get("ExpressionAttributeValues", {})
            for name, value in _SET.findall(body.get("UpdateExpression", "")):
                if value in values:
                    new[names.get(name, name)] = values[value]
        size = max(item_size(old), item_size(new))
        sk = key["sk"]["S"]
        self._touch(None, key["pk"]["S"], writes=write_units(size, tx), sk=sk)
        for index, attr in self.gsis.items():
            before = (old or {}).get(attr, {}).get("S")
            after = (new or {}).get(attr, {}).get("S")
            for pk in {before, after} - {None}:
                self._touch(index, pk, writes=write_units(item_size(new if pk == after else old)), sk=sk)

    def _after(self, model, http_response, parsed, context, **_):
        request = context.get("heat_request")
        if request is None or self.heat is None:
            return
        op = model.name
        if op == "GetItem":
            self._touch(None, request["Key"]["pk"]["S"],
                        reads=read_units(item_size(parsed.get("Item")), bool(request.get("ConsistentRead"))),
                        sk=request["Key"]["sk"]["S"])
        elif op == "BatchGetItem":
            for table, ask in request.get("RequestItems", {}).items():
                got = {(i["pk"]["S"], i["sk"]["S"]): i for i in parsed.get("Responses", {}).get(table, [])}
                for key in ask.get("Keys", []):
                    item = got.get((key["pk"]["S"], key["sk"]["S"]))
                    self._touch(None, key["pk"]["S"], reads=read_units(item_size(item), bool(ask.get("ConsistentRead"))),
                                sk=key["sk"]["S"])
        elif op == "Query":
            index = request.get("IndexName")
            attr = self.gsis.get(index, "pk") if index else "pk"
            pk = _queried_key(request, attr)
            size = sum(item_size(i) for i in parsed.get("Items", []))
            if pk:
                self._touch(index, pk, reads=read_units(size, bool(request.get("ConsistentRead"))), sk="(query)")
        elif op == "TransactGetItems":
            for t in request.get("TransactItems", []):
                key = t["Get"]["Key"]
                self._touch(None, key["pk"]["S"], reads=read_units(item_size(self._old(key)), True, True), sk=key["sk"]["S"])


def _kept(key: dict) -> bool:
    """An item the product keeps a while per container (as it names them), so not read per operation."""
    try:
        from idp.adapters.hot_items import is_sign_in_item
    except ImportError:  # a product without the hot items: every read is per operation
        return False
    return is_sign_in_item(key)


def _key(item: dict) -> dict:
    return {"pk": item["pk"], "sk": item["sk"]}


def _queried_key(request: dict, attr: str) -> str | None:
    names = request.get("ExpressionAttributeNames", {})
    expr = request.get("KeyConditionExpression", "")
    for name, value in _SET.findall(expr):
        if names.get(name, name) == attr or name == attr:
            return request.get("ExpressionAttributeValues", {}).get(value, {}).get("S")
    return None


# ------------------------------------------------------------------ from heat to the table
def _family(pk: str) -> tuple[str, int]:
    """A sharded audit key's family and its shard count; any other key is its own family of one."""
    from idp.adapters.audit_log import SHARDS

    if pk.startswith("AUDIT#") and re.search(r"#[0-9a-f]$", pk) and not pk.startswith("AUDIT#USER#"):
        return pk[:-2] + "#{shard}", SHARDS
    return pk, 1


def hottest(heat: Heat, runs: int) -> dict:
    """Per index (None: the base table), the shared key with the most units per run, and the top keys."""
    fam_reads: dict = defaultdict(float)
    fam_writes: dict = defaultdict(float)
    fam_runs: dict = defaultdict(set)
    fam_kept: dict = defaultdict(float)
    fam_items: dict = defaultdict(lambda: defaultdict(float))
    shards: dict = {}
    for (index, pk) in set(heat.reads) | set(heat.writes):
        r = heat.reads.get((index, pk), 0.0)
        fam, n = _family(pk)
        shards[(index, fam)] = n
        fam_reads[(index, fam)] += r
        fam_kept[(index, fam)] += heat.kept.get((index, pk), 0.0)
        fam_runs[(index, fam)] |= heat.runs[(index, pk)]
        for kind, units in heat.items[(index, pk)].items():
            fam_items[(index, fam)][kind] += units
    for (index, pk), w in heat.writes.items():
        fam_writes[(index, _family(pk)[0])] += w
    rows = []
    for key, seen in fam_runs.items():
        n = shards[key]
        items = sorted(fam_items[key].items(), key=lambda kv: -kv[1])[:5]
        rows.append({"index": key[0] or "table", "pk": key[1], "shards": n, "runs": len(seen),
                     "reads": fam_reads[key] / n / runs, "writes": fam_writes[key] / n / runs,
                     "kept_reads": fam_kept[key] / n / runs,
                     "items": {kind: units / n / runs for kind, units in items},
                     "shared": len(seen) > 1 or runs == 1 or not key[1].startswith(OWN),
                     "per_address": key[1].startswith(PER_ADDRESS)})
    out: dict = {"runs": runs, "indexes": {}}
    for index in sorted({r["index"] for r in rows}, key=lambda i: (i != "table", i)):
        mine = [r for r in rows if r["index"] == index]
        shared = [r for r in mine if r["shared"] and not r["per_address"]]
        own = [r for r in mine if not r["shared"]]
        out["indexes"][index] = {
            "hot_write": max(shared, key=lambda r: r["writes"], default=None),
            "hot_read": max(shared, key=lambda r: r["reads"], default=None),
            "own_max": {"reads": max((r["reads"] * runs for r in own), default=0.0),
                        "writes": max((r["writes"] * runs for r in own), default=0.0)},
            "per_address": [r for r in mine if r["per_address"]],
            "kept": [r for r in mine if r["kept_reads"]],
            "top": sorted(shared, key=lambda r: -(r["writes"] / (WRITE_LIMIT * HALF) + r["reads"] / (READ_LIMIT * HALF)))[:4],
        }
    limits = []
    for index, d in out["indexes"].items():
        for r in d["top"]:
            if r["writes"]:
                limits.append((WRITE_LIMIT * HALF / r["writes"], index, r["pk"], "writes"))
            if r["reads"]:
                limits.append((READ_LIMIT * HALF / r["reads"], index, r["pk"], "reads"))
    out["ops_per_second"] = min(limits)[0] if limits else None
    out["bound_by"] = min(limits)[1:] if limits else None
    return out


# ------------------------------------------------------------------ the operations
def _users(stack: InProcessStack, n: int, tag: str) -> list[tuple[str, str]]:
    """n users in the demo's Engineering group (bound to the app as alice is): (id, username)."""
    groups = stack.admin("GET", "/admin/groups?limit=200").json()["items"]
    gid = next(g["id"] for g in groups if g["name"] == "Engineering")
    out = []
    for i in range(n):
        name = f"heat-{tag}-{i}"
        uid = stack.admin("POST", "/admin/users", {"username": name, "email": f"{name}@example.com", "firstname": "Heat",
                                                   "lastname": f"Tester{i}", "password": PASSWORD}).json()["id"]
        stack.admin("PUT", f"/admin/groups/{gid}/members/{uid}")
        out.append((uid, name))
    return out


def _login(base: str, username: str, password: str = PASSWORD):
    from benchmarks.sso import Browser, _hidden_fields, _is_saml_form

    b = Browser(base)
    r1 = b.get(f"/saml2/{APP}")
    r2 = b.get(r1.headers["Location"])
    r3 = b.post("/login", {**_hidden_fields(r2.text), "username": username, "password": password})
    if not _is_saml_form(r3):
        raise RuntimeError(f"login of {username} failed: {r3.status_code} {r3.text[:200]}")
    return b


def _measure(recorder: HeatRecorder, steps: list, before=None) -> dict:
    """Run each step as one run of the operation, recorded (`before(i)` first, not recorded); then the
    hottest keys per run."""
    heat = Heat()
    try:
        for i, step in enumerate(steps):
            if before is not None:
                before(i)
            recorder.run = i
            recorder.heat = heat
            step()
            recorder.stop()
    finally:
        recorder.stop()
    return hottest(heat, len(steps))


def run(n: int = 16) -> dict:
    import boto3

    from benchmarks.sso import _is_saml_form

    boto3.setup_default_session()
    recorder = HeatRecorder(boto3.DEFAULT_SESSION)
    stack = InProcessStack()
    stack.start()
    try:
        recorder.attach(stack.stack.resources.table_name)
        base = stack.base
        out: dict = {}
        _login(base, "alice", "alice-demo-Pass1")  # warm: the app's copies, the signing key, the password hasher
        users = _users(stack, n, "login")
        stack.push_pending()
        browsers: list = []
        out["full_login"] = _measure(recorder, [lambda u=u: browsers.append(_login(base, u[1])) for u in users])
        for b in browsers:  # one untimed SSO each: as a warm container
            b.get(f"/saml2/{APP}")

        def sso(b) -> None:
            if not _is_saml_form(b.get(f"/saml2/{APP}")):
                raise RuntimeError("SSO with a session did not answer the auto-POST form")

        out["sso_session"] = _measure(recorder, [lambda b=b: sso(b) for b in browsers])
        stack.push_pending()
        out["admin_change"] = _measure(recorder, [lambda u=u: stack.admin("PATCH", f"/admin/users/{u[0]}", {"title": "Heat"})
                                                  for u in users])
        stack.push_pending()
        # One user pushed: created and put in the bound group unrecorded, then the push of its events.
        out["user_pushed"] = _measure(recorder, [stack.push_pending] * n,
                                      before=lambda i: _users(stack, 1, f"push{i}"))
        return out
    finally:
        stack.stop()


# ------------------------------------------------------------------ the report
NAMES = {"sso_session": "SSO with a session", "full_login": "full login (password, no MFA)",
         "admin_change": "admin change (PATCH a user)", "user_pushed": "provisioning (one user pushed)"}


def _cell(row: dict | None, what: str) -> str:
    if not row or not row[what]:
        return "0"
    shard = f" ({row['shards']} shards: one)" if row["shards"] > 1 else ""
    return f"{row[what]:.3f} `{row['pk']}`{shard}"


def render(r: dict, out: list[str]) -> list[tuple[str, str, bool | None]]:
    """The heat table into `out`; returns the target rows (name, measured, met, missed by)."""
    out.append("Per operation, the units landing on the single hottest partition key shared by the runs (n runs, each "
               "for another user), per run: base table and each GSI. A key only one run reached (the user's, the "
               "session's, the login's own) does not grow with an app's sign-ins; its largest load is shown as \"own\". "
               "Writes in write units (1 per KB of the item, 2 in a transaction; GSI writes 1 per KB), reads in read "
               "units (strongly consistent 1 per 4 KB, as the product reads; a missing item costs the minimum).\n")
    out.append("| operation | index | hottest key: writes per op | hottest key: reads per op | own keys: max writes / reads | ops/s at half a partition's limit |")
    out.append("|---|---|---|---|---|---|")
    for key, label in NAMES.items():
        h = r.get(key)
        if not h:
            continue
        first = True
        for index, d in h["indexes"].items():
            rate = (f"**{h['ops_per_second']:,.0f}** (bound by {h['bound_by'][2]} of `{h['bound_by'][1]}` on {h['bound_by'][0]})"
                    if first and h["ops_per_second"] else "")
            out.append(f"| {label if first else ''} | {index} | {_cell(d['hot_write'], 'writes')} | {_cell(d['hot_read'], 'reads')} | "
                       f"{d['own_max']['writes']:.1f} / {d['own_max']['reads']:.1f} | {rate} |")
            first = False
    out.append("")
    out.append("What lands on the key that binds each operation (units per op, by item; `…` an id):\n")
    for key, label in NAMES.items():
        h = r.get(key)
        if not h or not h.get("bound_by"):
            continue
        index, pk, _ = h["bound_by"]
        row = next(x for x in h["indexes"][index]["top"] if x["pk"] == pk)
        out.append(f"- {label}: `{pk}` on {index}: " + ", ".join(f"{kind} {units:.2f}" for kind, units in row["items"].items()))
    out.append("")
    kept = sorted({row["pk"] for k in NAMES for d in (r.get(k) or {"indexes": {}})["indexes"].values() for row in d["kept"]})
    if kept:
        per_op = "; ".join(f"{label}: " + ", ".join(f"`{row['pk']}` {row['kept_reads']:.2f}" for row in d["kept"])
                           for k, label in NAMES.items() for d in (r.get(k) or {"indexes": {}})["indexes"].values() if d["kept"])
        out.append("Not in the figures above: the items a warm container keeps a second (`idp.adapters.hot_items`: "
                   + ", ".join(f"`{pk}`" for pk in kept) + "). Each is read at most once a second by each warm "
                   "container, whatever its rate: a partition passes half its read limit only with 1,500 warm containers "
                   "reading it, above Lambda's default regional concurrency (1,000). In this run, one container and slow "
                   f"runs, they were read per op: {per_op}.\n")
    addr = [(NAMES[k], row) for k in NAMES for d in (r.get(k) or {"indexes": {}})["indexes"].values() for row in d["per_address"]]
    if addr:
        out.append("Keys of one client address (not of one app; every login from behind one NAT shares them): "
                   + "; ".join(f"{label}: `{row['pk']}` {row['reads']:.2f} reads, {row['writes']:.2f} writes per op"
                               for label, row in addr) + ".\n")
    targets = []
    for key in ("sso_session", "full_login"):
        h = r.get(key)
        if not h or not h["ops_per_second"]:
            continue
        worst_w = max((d["hot_write"]["writes"] for d in h["indexes"].values() if d["hot_write"]), default=0.0)
        worst_r = max((d["hot_read"]["reads"] for d in h["indexes"].values() if d["hot_read"]), default=0.0)
        ok = h["ops_per_second"] >= TARGET_SIGNINS
        index, pk, what = h["bound_by"]
        by = "" if ok else f"{TARGET_SIGNINS / h['ops_per_second']:.2f}×: the {what} of `{pk}` on {index}" + (
            f" ({AUDIT_NOTE})" if pk.startswith("AUDIT#") else "")
        targets.append((f"Heat: {NAMES[key]}: ≥ {TARGET_SIGNINS:,.0f}/s for one app (hottest key ≤ 0.1 writes, ≤ 0.3 reads)",
                        f"{h['ops_per_second']:,.0f}/s ({worst_w:.3f} writes, {worst_r:.3f} reads)", ok, by))
    return targets

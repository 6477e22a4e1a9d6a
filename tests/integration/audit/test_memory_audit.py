"""The tests' in-memory audit log answers like the DynamoDB one (order, filters, pages), and a service
acting as a console administrator records that actor."""
from __future__ import annotations

from idp_testing.audit_memory import MemoryAudit


class Clock:
    def __init__(self):
        self.now = 1_796_000_000.0

    def __call__(self):
        return self.now


def _fill(log, clock):
    from idp.kernel.audit import Actor, AuditEvent

    for i in range(9):
        clock.now += 5000
        log.record(AuditEvent("sso" if i % 3 else "login", "failure" if i % 2 else "success", Actor("user", f"u-{i % 2}"),
                              user_id=f"u-{i % 2}", app="os" if i % 4 else "hr", detail={"n": i}))


def _walk(log, query, limit=2):
    seen, cursor = [], None
    while True:
        page, cursor = log.query(query, limit=limit, cursor=cursor)
        seen += [e["detail"]["n"] for e in page]
        if not cursor:
            return seen


def test_memory_and_dynamo_logs_answer_alike(aws_env):
    from idp.adapters.audit_log import DynamoAuditLog
    from idp.bootstrap import container
    from idp.kernel.audit_log import AuditQuery

    dyn_clock, mem_clock = Clock(), Clock()
    dynamo, memory = DynamoAuditLog(container().table, clock=dyn_clock), MemoryAudit(clock=mem_clock)
    _fill(dynamo, dyn_clock)
    _fill(memory, mem_clock)
    for query in (AuditQuery(), AuditQuery(type="sso"), AuditQuery(user_id="u-1", outcome="failure"), AuditQuery(app="os"), AuditQuery(type="s.*"),
                  AuditQuery(since=int((1_796_000_000 + 15000) * 1000), until=int((1_796_000_000 + 30000) * 1000))):
        assert _walk(dynamo, query) == _walk(memory, query), query
    assert _walk(memory, AuditQuery()) == [8, 7, 6, 5, 4, 3, 2, 1, 0]


def test_a_console_administrator_is_the_actor_of_their_changes(aws_env):
    from idp import bootstrap
    from idp.bootstrap import Container
    from idp.kernel.audit import Actor

    audit = MemoryAudit()
    parts = bootstrap.use(Container(bootstrap.container().settings, audit=audit))
    console = parts.directory.acting_as(Actor("admin", "u-admin"), "203.0.113.5", "Firefox")
    user = console.create_user({"username": "cy", "email": "cy@example.com", "firstname": "Cy", "lastname": "D"})
    parts.apps.acting_as(Actor("admin", "u-admin")).create(
        {"slug": "os", "label": "OS", "sp_entity_id": "acme.officespacesoftware.com",
         "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]})
    created, app = audit.of_type("admin.user")[0], audit.of_type("admin.app")[0]
    assert created.actor == Actor("admin", "u-admin") and created.ip == "203.0.113.5" and created.user_agent == "Firefox"
    assert created.user_id == user["id"] and "email" in created.changes
    assert app.actor == Actor("admin", "u-admin") and app.app == "os"
    audit.fail_writes = True  # a failing audit log never breaks the change
    parts.directory.update_user(user["id"], {"title": "Eng"})
    assert audit.write_failures == 1 and parts.directory.get_user(user["id"])["title"] == "Eng"

"""Who makes an administrator's change, and from where: the console passes ``Actor("admin", uid)``, the admin API
``API_ADMIN``, each with the request's client address and user agent; the use cases record their changes (audit
events) as done by it."""
from __future__ import annotations

from dataclasses import dataclass

from idp.kernel.audit import Actor


@dataclass(frozen=True)
class Acting:
    actor: Actor
    ip: str | None = None
    user_agent: str | None = None

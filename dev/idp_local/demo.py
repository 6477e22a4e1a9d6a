"""The demo directory `make run` seeds unless DEMO=0: users (one of them an administrator of the console),
groups, the officespace app, bindings."""
from __future__ import annotations

DEMO_USERS = [
    {"username": "alice", "email": "alice@example.com", "firstname": "Alice", "lastname": "Archer",
     "title": "Engineer", "department": "Engineering", "password": "alice-demo-Pass1", "note": "in Engineering: may use OfficeSpace"},
    {"username": "bob", "email": "bob@example.com", "firstname": "Bob", "lastname": "Baker",
     "title": "Facilities lead", "department": "Facilities", "password": "bob-demo-Pass1", "note": "bound to OfficeSpace directly"},
    {"username": "carol", "email": "carol@example.com", "firstname": "Carol", "lastname": "Clark",
     "title": "Analyst", "department": "Finance", "password": "carol-demo-Pass1", "note": "not bound: denied by OfficeSpace"},
    {"username": "admin", "email": "admin@example.com", "firstname": "Ada", "lastname": "Admin",
     "title": "IT administrator", "department": "IT", "password": "admin-demo-Pass1", "roles": ["admin"],
     "note": "administrator: signs in to the console"},
]


def seed_demo(stack) -> dict:
    """Create the demo directory through the same services the admin API uses."""
    from idp.bootstrap import container
    from idp.directory.passwords import hash_password

    directory, apps = container().directory, container().apps
    ids = {}
    for spec in DEMO_USERS:
        body = {k: v for k, v in spec.items() if k not in ("note", "password")}
        uid = ids[spec["username"]] = directory.create_user(body)["id"]
        # The demo's passwords are the ones `make run` has printed since its first release (outside scripts sign
        # in with them). They contain the username, which the default password policy refuses for a password
        # set today, so they are stored as the passwords of accounts that predate the policy: a policy holds
        # where a password is set (admin API, console, /account, activation, reset), not on stored ones.
        directory.store.update_user(uid, {}, hash_password(spec["password"]), lambda user: [])
    engineering = directory.create_group({"name": "Engineering", "description": "Product engineering"})
    directory.create_group({"name": "Finance", "description": "Finance team"})
    directory.add_member(engineering["id"], ids["alice"])

    host, standin_port = stack.config.host, stack.config.standin_port
    standin = stack.standin
    # OfficeSpace's SP entity ID is the bare host; "host:port" is no valid xs:anyURI (a scheme starts with a letter).
    sp_entity_id = getattr(standin, "sp_entity_id", host)
    acs_url = getattr(standin, "acs_url", f"http://{host}:{standin_port}/users/sign_in/saml")
    app = {"slug": "officespace", "label": "OfficeSpace", "template": "officespace",
           "sp_entity_id": sp_entity_id, "acs_urls": [acs_url]}
    if getattr(standin, "base_url", None):
        app["sp_slo_url"] = f"{standin.base_url}/saml/slo"
    apps.create(app)
    directory.bind_group("officespace", engineering["id"], bind=True)
    directory.bind_user("officespace", ids["bob"], bind=True)
    if standin is not None and getattr(standin, "scim_base_url", None):
        apps.put_provisioning("officespace", {
            "base_url": standin.scim_base_url, "token": standin.scim_token, "enabled": True, "group_management": True,
        })
    return {"users": DEMO_USERS, "ids": ids}

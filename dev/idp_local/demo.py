"""The demo directory `make run` seeds unless DEMO=0: users (one of them an administrator of the console),
groups, the officespace app, bindings."""
from __future__ import annotations

DEMO_USERS = [
    {"username": "alice", "email": "alice@example.com", "firstname": "Alice", "lastname": "Archer",
     "title": "Engineer", "department": "Engineering", "password": "sunrise-demo-Pass1", "note": "in Engineering: may use OfficeSpace"},
    {"username": "bob", "email": "bob@example.com", "firstname": "Bob", "lastname": "Baker",
     "title": "Facilities lead", "department": "Facilities", "password": "harbor-demo-Pass1", "note": "bound to OfficeSpace directly"},
    {"username": "carol", "email": "carol@example.com", "firstname": "Carol", "lastname": "Clark",
     "title": "Analyst", "department": "Finance", "password": "lantern-demo-Pass1", "note": "not bound: denied by OfficeSpace"},
    {"username": "admin", "email": "admin@example.com", "firstname": "Ada", "lastname": "Admin",
     "title": "IT administrator", "department": "IT", "password": "console-demo-Pass1", "roles": ["admin"],
     "note": "administrator: signs in to the console"},
]


def seed_demo(stack) -> dict:
    """Create the demo directory through the same services the admin API uses."""
    from idp.bootstrap import container

    directory, apps = container().directory, container().apps
    ids = {}
    for spec in DEMO_USERS:
        body = {k: v for k, v in spec.items() if k != "note"}
        ids[spec["username"]] = directory.create_user(body)["id"]
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

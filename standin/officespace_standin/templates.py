"""Jinja2 templates of the stand-in's pages (kept in Python so no package data is needed)."""
from __future__ import annotations

from jinja2 import DictLoader, Environment, StrictUndefined

BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% block head %}{% endblock %}
<title>{% block title %}OfficeSpace{% endblock %} · OfficeSpace (local stand-in)</title>
<style>
  :root { --brand:#1f6feb; --brand-dark:#174ea6; --ink:#1d2330; --muted:#5b6475; --line:#e3e7ee;
          --bg:#f5f7fb; --ok:#137333; --ok-bg:#e6f4ea; --bad:#b3261e; --bad-bg:#fce8e6; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
  header { background:#fff; border-bottom:1px solid var(--line); }
  .bar { max-width:1080px; margin:0 auto; padding:12px 24px; display:flex; align-items:center; gap:24px; }
  .logo { font-weight:700; font-size:18px; color:var(--ink); text-decoration:none; display:flex; align-items:center; gap:8px; }
  .logo .mark { width:28px; height:28px; border-radius:7px; background:var(--brand); color:#fff; display:grid; place-items:center; font-size:15px; }
  .badge { font-size:11px; font-weight:600; text-transform:uppercase; letter-spacing:.04em; color:var(--muted);
           border:1px solid var(--line); border-radius:999px; padding:2px 8px; }
  nav { display:flex; gap:16px; margin-left:auto; align-items:center; }
  nav a { color:var(--muted); text-decoration:none; font-weight:500; }
  nav a:hover, nav a.active { color:var(--brand); }
  main { max-width:1080px; margin:0 auto; padding:28px 24px 64px; }
  h1 { font-size:24px; margin:0 0 4px; } h2 { font-size:17px; margin:0 0 12px; }
  .sub { color:var(--muted); margin:0 0 24px; }
  .card { background:#fff; border:1px solid var(--line); border-radius:12px; padding:20px 24px; margin-bottom:20px; }
  .hero { text-align:center; padding:48px 24px; }
  .btn { display:inline-block; border:0; border-radius:8px; padding:10px 20px; font:inherit; font-weight:600;
         cursor:pointer; text-decoration:none; background:var(--brand); color:#fff; }
  .btn:hover { background:var(--brand-dark); }
  .btn.secondary { background:#fff; color:var(--ink); border:1px solid var(--line); }
  .btn.secondary:hover { border-color:var(--brand); color:var(--brand); }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { font-size:12px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); font-weight:600; }
  tr:last-child td { border-bottom:0; }
  code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:13px; overflow-wrap:anywhere; }
  /* names and e-mail addresses stay whole (the column grows); opaque ids and timestamps may break anywhere */
  .keep { overflow-wrap:break-word; } .nowrap { white-space:nowrap; }
  dl.kv { display:grid; grid-template-columns:180px 1fr; gap:6px 16px; margin:0; }
  dl.kv dt { color:var(--muted); } dl.kv dd { margin:0; }
  .pill { display:inline-block; font-size:12px; font-weight:600; border-radius:999px; padding:1px 9px; }
  .pill.ok { color:var(--ok); background:var(--ok-bg); } .pill.bad { color:var(--bad); background:var(--bad-bg); }
  .alert { border-radius:10px; padding:14px 18px; margin-bottom:20px; }
  .alert.ok { background:var(--ok-bg); color:var(--ok); } .alert.bad { background:var(--bad-bg); color:var(--bad); }
  .muted { color:var(--muted); } .empty { color:var(--muted); font-style:italic; padding:8px 0; }
  pre { background:#0f172a; color:#e2e8f0; padding:14px; border-radius:8px; overflow:auto; font-size:12px; max-height:420px; }
  .grid2 { display:grid; grid-template-columns:1fr 1fr; gap:20px; }
  @media (max-width: 760px) { .grid2 { grid-template-columns:1fr; } dl.kv { grid-template-columns:1fr; } }
  footer { color:var(--muted); font-size:12px; text-align:center; padding:24px; }
</style>
</head>
<body>
<header><div class="bar">
  <a class="logo" href="/"><span class="mark">OS</span>OfficeSpace</a><span class="badge">local stand-in</span>
  <nav>
    <a href="/" class="{{ 'active' if nav == 'home' }}">Home</a>
    <a href="/provisioning" class="{{ 'active' if nav == 'provisioning' }}" data-testid="nav-provisioning">Provisioning</a>
    {% if session %}
      <span class="muted" data-testid="nav-user">{{ session.nameid }}</span>
      <form method="post" action="/logout" style="margin:0"><button class="btn secondary" data-testid="sign-out-button">Sign out</button></form>
    {% endif %}
  </nav>
</div></header>
<main>
{% block main %}{% endblock %}
</main>
<footer>OfficeSpace (local stand-in) · SAML SP entity ID <code>{{ sp.sp_entity_id }}</code> · IdP metadata <code>{{ sp.metadata_url }}</code></footer>
</body>
</html>
"""

HOME = """{% extends "base" %}
{% block title %}Home{% endblock %}
{% block main %}
{% if session %}
  <h1>Welcome back{% if session.display_name %}, {{ session.display_name }}{% endif %}</h1>
  <p class="sub">You are signed in to OfficeSpace with single sign-on.</p>
  {% include "session_card" %}
{% else %}
  <div class="card hero">
    <h1>Book a desk at OfficeSpace</h1>
    <p class="sub">Find a desk, see who is in, plan your week. Your company signs you in.</p>
    <a class="btn" href="/sso/login" data-testid="sign-in-button">Sign in with SSO</a>
  </div>
{% endif %}
<div class="grid2">
  <div class="card">
    <h2>Service provider settings</h2>
    <dl class="kv">
      <dt>SP entity ID</dt><dd><code data-testid="sp-entity-id">{{ sp.sp_entity_id }}</code></dd>
      <dt>Sign-on (ACS) URL</dt><dd><code data-testid="acs-url">{{ sp.acs_url }}</code></dd>
      <dt>NameID format</dt><dd><code>{{ sp.nameid_format }}</code></dd>
      <dt>IdP metadata</dt><dd><code>{{ sp.metadata_url }}</code></dd>
      <dt>SCIM base URL</dt><dd><code data-testid="scim-base-url">{{ scim_base_url }}</code></dd>
    </dl>
  </div>
  <div class="card">
    <h2>Recent sign-ins</h2>
    {% if sign_ins %}
    <table>
      <tr><th>When (UTC)</th><th>Flow</th><th>NameID</th><th>Result</th></tr>
      {% for s in sign_ins[:10] %}
      <tr data-testid="sign-in-log-row">
        <td class="mono"><span class="nowrap">{{ s.at[:10] }}</span> <span class="nowrap">{{ s.at[11:19] }}</span></td><td class="nowrap">{{ s.flow }}</td><td class="mono keep">{{ s.nameid or "—" }}</td>
        <td>{% if s.ok %}<span class="pill ok">accepted</span>{% else %}<span class="pill bad" title="{{ s.reason }}">rejected</span>{% endif %}</td>
      </tr>
      {% endfor %}
    </table>
    {% else %}<p class="empty">No sign-in yet.</p>{% endif %}
  </div>
</div>
{% endblock %}
"""

SESSION_CARD = """<div class="card" data-testid="session-card">
  <h2>Who signed in</h2>
  <dl class="kv">
    <dt>NameID</dt><dd><code data-testid="nameid">{{ session.nameid }}</code></dd>
    <dt>NameID format</dt><dd><code data-testid="nameid-format">{{ session.nameid_format or "—" }}</code></dd>
    <dt>SessionIndex</dt><dd><code data-testid="session-index">{{ session.session_index or "—" }}</code></dd>
    <dt>Flow</dt><dd data-testid="flow">{{ "SP-initiated" if session.flow == "sp-initiated" else "IdP-initiated" }}{% if session.in_response_to %} (InResponseTo <code>{{ session.in_response_to }}</code>){% endif %}</dd>
    <dt>RelayState</dt><dd><code data-testid="relay-state">{{ session.relay_state if session.relay_state is not none else "—" }}</code></dd>
    <dt>Issuer</dt><dd><code data-testid="issuer">{{ session.issuer or "—" }}</code></dd>
    <dt>Signed in at</dt><dd class="mono">{{ session.at }}</dd>
  </dl>
  <form method="post" action="/logout" style="margin:16px 0 0"><input type="hidden" name="slo" value="1">
    <button class="btn secondary" data-testid="slo-button">Sign out here and at the IdP (SLO)</button></form>
  <h2 style="margin-top:20px">Attributes</h2>
  {% if session.attributes %}
  <table data-testid="attributes-table">
    <tr><th>Name</th><th>Value(s)</th></tr>
    {% for name, values in session.attributes.items() %}
    <tr data-testid="attribute-row" data-attribute-name="{{ name }}">
      <td class="mono keep" data-testid="attribute-name">{{ name }}</td>
      <td class="mono" data-testid="attribute-value">{{ values | join(", ") }}</td>
    </tr>
    {% endfor %}
  </table>
  {% else %}<p class="empty" data-testid="no-attributes">No attributes arrived.</p>{% endif %}
</div>
"""

SIGNED_IN = """{% extends "base" %}
{% block title %}Signed in{% endblock %}
{% block main %}
<div class="alert ok" data-testid="sign-in-ok">Signed in with SAML as <strong>{{ session.nameid }}</strong>.</div>
{% include "session_card" %}
{% if next_path %}<p><a class="btn" href="{{ next_path }}" data-testid="continue-link">Continue to {{ next_path }}</a></p>{% endif %}
{% if response_xml %}
<div class="card"><details><summary>The SAML Response as received</summary><pre>{{ response_xml }}</pre></details></div>
{% endif %}
{% endblock %}
"""

ACS_ERROR = """{% extends "base" %}
{% block title %}Sign-in failed{% endblock %}
{% block main %}
<div class="alert bad" data-testid="acs-error"><strong>Sign-in failed.</strong> OfficeSpace did not accept the SAML Response.</div>
<div class="card">
  <dl class="kv">
    <dt>Errors</dt><dd><code data-testid="acs-errors">{{ result.errors | join(", ") }}</code></dd>
    <dt>Reason</dt><dd data-testid="acs-error-reason">{{ result.reason or "—" }}</dd>
    <dt>Flow</dt><dd>{{ result.flow }}{% if result.in_response_to %} (InResponseTo <code>{{ result.in_response_to }}</code>){% endif %}</dd>
    <dt>RelayState</dt><dd><code>{{ result.relay_state if result.relay_state is not none else "—" }}</code></dd>
  </dl>
  <p style="margin-top:16px"><a class="btn secondary" href="/">Back to OfficeSpace</a></p>
</div>
{% if result.response_xml %}
<div class="card"><details><summary>The SAML Response as received</summary><pre>{{ result.response_xml }}</pre></details></div>
{% endif %}
{% endblock %}
"""

MESSAGE = """{% extends "base" %}
{% block title %}{{ heading }}{% endblock %}
{% block main %}
<div class="alert {{ kind }}" data-testid="{{ testid }}"><strong>{{ heading }}</strong>{% if detail %} {{ detail }}{% endif %}</div>
<p><a class="btn secondary" href="/">Back to OfficeSpace</a>
{% if not session and testid == "signed-out" %} <a class="btn" href="/sso/login" data-testid="sign-in-button">Sign in with SSO</a>{% endif %}</p>
{% endblock %}
"""

PROVISIONING = """{% extends "base" %}
{% block head %}<meta http-equiv="refresh" content="2">{% endblock %}
{% block title %}Provisioning{% endblock %}
{% block main %}
<h1>People and groups</h1>
<p class="sub">What SCIM provisioning has pushed into OfficeSpace (<code>{{ scim_base_url }}</code>). This page refreshes every 2 seconds.
 Last read <span class="mono nowrap" data-testid="snapshot-time">{{ now }}</span>.</p>
<div class="card">
  <h2>Users <span class="pill ok" data-testid="user-count">{{ data.users | length }}</span></h2>
  {% if data.users %}
  <table data-testid="users-table">
    <tr><th>userName</th><th>Name</th><th>Emails</th><th>Active</th><th>externalId</th><th>id</th></tr>
    {% for u in data.users %}
    <tr data-testid="provisioning-user-row" data-username="{{ u.userName }}" data-active="{{ 'true' if u.active else 'false' }}">
      <td class="mono keep" data-testid="user-username">{{ u.userName }}</td>
      <td data-testid="user-name">{{ u.name or "—" }}</td>
      <td class="mono keep" data-testid="user-emails">{{ u.emails | join(", ") or "—" }}</td>
      <td data-testid="user-active">{% if u.active %}<span class="pill ok">active</span>{% else %}<span class="pill bad">inactive</span>{% endif %}</td>
      <td class="mono" data-testid="user-external-id">{{ u.externalId or "—" }}</td>
      <td class="mono muted" data-testid="user-id">{{ u.id }}</td>
    </tr>
    {% endfor %}
  </table>
  {% else %}<p class="empty" data-testid="no-users">No users provisioned yet.</p>{% endif %}
</div>
<div class="card">
  <h2>Groups <span class="pill ok" data-testid="group-count">{{ data.groups | length }}</span></h2>
  {% if data.groups %}
  <table data-testid="groups-table">
    <tr><th>displayName</th><th>Members</th><th>externalId</th><th>id</th></tr>
    {% for g in data.groups %}
    <tr data-testid="provisioning-group-row" data-group-name="{{ g.displayName }}" data-member-count="{{ g.memberCount }}">
      <td data-testid="group-name">{{ g.displayName }}</td>
      <td data-testid="group-members"><strong>{{ g.memberCount }}</strong>{% if g.members %}: <span class="mono">{{ g.members | map(attribute="name") | join(", ") }}</span>{% endif %}</td>
      <td class="mono">{{ g.externalId or "—" }}</td>
      <td class="mono muted">{{ g.id }}</td>
    </tr>
    {% endfor %}
  </table>
  {% else %}<p class="empty" data-testid="no-groups">No groups provisioned yet.</p>{% endif %}
</div>
{% endblock %}
"""

TEMPLATES = {
    "base": BASE,
    "home": HOME,
    "session_card": SESSION_CARD,
    "signed_in": SIGNED_IN,
    "acs_error": ACS_ERROR,
    "message": MESSAGE,
    "provisioning": PROVISIONING,
}


def environment() -> Environment:
    return Environment(loader=DictLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)

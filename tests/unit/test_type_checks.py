"""The checks `make lint` runs hold what docs/ARCHITECTURE.md ("Checks") says, read through the tools' own
configuration machinery: mypy's options as it computes them for each module of `idp`, and two rules written once
(the user-is-active rule, the session forms' CSRF check) that no other module writes again."""
from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import pytest
from mypy.main import process_options
from mypy.options import PER_MODULE_OPTIONS, Options

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "idp"

STRICT = ("idp.kernel", "idp.settings", "idp.saml", "idp.scim", "idp.app", "idp.provisioning")
CHECKED = ("idp.directory", "idp.signon")
NOT_YET = ("idp.web", "idp.adapters", "idp.bootstrap")  # errors ignored for now (pyproject.toml says why)


def _options(*args: str) -> Options:
    _sources, options = process_options(list(args), stdout=io.StringIO(), stderr=io.StringIO())
    return options


def _strict_flags(empty: Path) -> dict[str, object]:
    """The per-module flags --strict changes, with the values it gives them (mypy's own list, not a copy of it)."""
    empty.write_text("[mypy]\n")
    default = _options("--config-file", str(empty), "-c", "pass")
    strict = _options("--config-file", str(empty), "--strict", "-c", "pass")
    return {k: getattr(strict, k) for k in sorted(PER_MODULE_OPTIONS)
            if hasattr(strict, k) and getattr(default, k) != getattr(strict, k)}


def _modules() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def _group(module: str) -> str | None:
    for name, roots in (("strict", STRICT), ("checked", CHECKED), ("not_yet", NOT_YET)):
        if any(module == r or module.startswith(r + ".") for r in roots):
            return name
    return None


@pytest.fixture(scope="module")
def ours() -> Options:
    return _options("--config-file", str(ROOT / "pyproject.toml"))


def test_every_module_of_idp_is_in_one_group():
    unplaced = [m for m in _modules() if m != "idp" and _group(m) is None]
    assert unplaced == [], "a new package of idp: put it in [tool.mypy]'s strict, checked or not-yet overrides"


def test_strict_packages_get_every_flag_of_strict_and_the_rest_none_of_the_strictest(ours: Options, tmp_path: Path):
    flags = _strict_flags(tmp_path / "mypy.ini")
    assert {"disallow_untyped_defs", "disallow_any_generics", "warn_return_any", "check_untyped_defs"} <= set(flags)
    for module in _modules():
        options, group = ours.clone_for_module(module), _group(module)
        if group == "strict":
            loose = {k: getattr(options, k) for k, v in flags.items() if getattr(options, k) != v}
            assert loose == {}, f"{module} is not checked strictly: {loose}"
            assert not options.ignore_errors
        elif group == "checked":
            assert options.check_untyped_defs and not options.ignore_errors, module
            assert not options.disallow_untyped_defs, f"{module}: strictness leaked out of the strict packages"
        elif group == "not_yet":
            assert options.ignore_errors, module


def test_the_whole_run_warns_of_unused_ignores_and_implicit_optional(ours: Options):
    assert ours.warn_unused_ignores and ours.warn_redundant_casts and not ours.implicit_optional
    assert ours.python_version == (3, 13)


def test_no_override_says_strict():
    """`strict = true` in a per-module section turns the flags on for every module (mypy's config parser)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert all("strict" not in section for section in config.get("overrides", []))


def test_make_lint_runs_mypy_and_the_ruff_rules():
    lint = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/mypy" in lint
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert {"BLE", "RUF100", "C901"} <= set(ruff["select"])
    assert ruff["mccabe"]["max-complexity"] == 12


_ACTIVE_WRITTEN = re.compile(r"""(==|!=)\s*["'](ACTIVE|SUSPENDED)["']|["'](ACTIVE|SUSPENDED)["']\s*(==|!=)""")
_SESSION_CSRF = re.compile(r"""same\(\s*request\.form\.get\(\s*["']csrf["']\s*\)\s*,\s*\w+\.session\.csrf\s*\)""")


def test_the_active_rule_and_the_session_csrf_check_are_written_once():
    """is_active (idp.kernel.users) and session_form_ok (idp.web.session_cookies) are the only places."""
    active, csrf = [], []
    for path in sorted((ROOT / "layers").rglob("*.py")):
        text, where = path.read_text(), str(path.relative_to(ROOT))
        if _ACTIVE_WRITTEN.search(text) and not where.endswith("idp/kernel/users.py"):
            active.append(where)
        if len(_SESSION_CSRF.findall(text)) and not where.endswith("idp/web/session_cookies.py"):
            csrf.append(where)
    assert active == [], "compare a user's state through idp.kernel.users.is_active"
    assert csrf == [], "check a session form's CSRF token with idp.web.session_cookies.session_form_ok"

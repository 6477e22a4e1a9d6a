"""The cold-start table of docs/benchmarks.md (section 2): every function of the template has a row, the ones
without a budget say so, and the largest function's import profile is shown beside those over their target.
Made-up measurements: no timing is asserted."""
from __future__ import annotations

from benchmarks.cold_start import FUNCTIONS, TARGETS_MS
from benchmarks.report import render


def _row(ms: float) -> dict:
    return {"n": 3, "median_ms": ms, "min_ms": ms, "max_ms": ms, "peak_rss_mib": 20.0,
            "no_awscrt": {"n": 3, "median_ms": ms, "min_ms": ms, "max_ms": ms, "peak_rss_mib": 20.0}}


def _profile(name: str) -> dict:
    return {"total_ms": 100.0, "by_package": [(f"pkg_of_{name}", 50.0)], "idp_modules": [("idp.web.x", 60.0)],
            "pulled_by": {f"pkg_of_{name}": "idp.web.x"}}


def test_the_scim_server_and_the_import_job_have_rows_without_a_budget_and_the_largest_is_profiled():
    assert {"scim_server", "import_job", "audit_ship"} <= set(FUNCTIONS)
    assert "scim_server" not in TARGETS_MS and "import_job" not in TARGETS_MS and "audit_ship" not in TARGETS_MS
    times = {name: 100.0 for name in FUNCTIONS}
    times.update({"admin_api": 400.0, "scim_server": 900.0})  # admin_api over its 250 ms budget; scim_server the largest
    cold = {"bare": _row(50.0), "shipped": False, **{name: _row(ms) for name, ms in times.items()},
            "import_profiles": {name: _profile(name) for name in FUNCTIONS}}
    text = render({"quick": True, "sizes": {}, "machine": {}, "versions": {}, "started": "now", "cold": cold})
    lines = text.splitlines()
    assert "| `scim_server` | 3 | 900.0 ms | 850.0 ms | none |  | 20.0 MiB | 850.0 ms | 20.0 MiB |" in lines
    assert "| `import_job` | 3 | 100.0 ms | 50.0 ms | none |  | 20.0 MiB | 50.0 ms | 20.0 MiB |" in lines
    assert "| `audit_ship` | 3 | 100.0 ms | 50.0 ms | none |  | 20.0 MiB | 50.0 ms | 20.0 MiB |" in lines
    assert "for the functions over their target and the largest:" in text
    assert "`admin_api` (import total 100 ms under importtime):" in lines
    assert "`scim_server` (import total 100 ms under importtime):" in lines
    assert "`import_job` (import total" not in text
    assert "| Cold start `admin_api` ≤ 250 ms above bare | 350 ms | **missed** | +100 ms (1.40× the budget) |" in lines
    assert not any("Cold start `scim_server`" in line for line in lines)  # no budget, no target row

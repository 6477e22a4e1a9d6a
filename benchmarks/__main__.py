"""`python -m benchmarks` (`make bench`): run every benchmark on this machine, side by side, and write
docs/benchmarks.md. BENCH_QUICK=1 runs small sizes (rough numbers, about a minute).

Options: --only saml,cold,sso,floor,load,prov,calls,converge,import,scim,heat (a subset) and --out PATH (default docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import time
import traceback

from . import aws_calls, cold_start, convergence, csv_import, heat, load, provisioning, saml_response, scim_server, sso, sso_floor
from .common import ROOT, log, machine, quick, versions
from .report import render

SECTIONS = ("saml", "cold", "sso", "floor", "load", "prov", "calls", "converge", "import", "scim", "heat")


def sizes(is_quick: bool) -> dict:
    if is_quick:
        return {"saml_ours": 100, "saml_floor": 100, "saml_pysaml2": 20, "cold_n": 3,
                "sso_roundtrip": 50, "sso_seconds": 3.0, "sso_logins": 3, "sso_clients": 4,
                "prov_users": 100, "prov_groups": 10, "rl_users": 60, "rl_groups": 1, "rl_rate": 20,
                "scale_users": 300, "scale_groups": 5, "par_users": 300, "par_groups": 5, "par_seq_users": 50, "calls_n": 3, "floor_n": 50, "load_users": 4, "load_seconds": 5,
                "converge_runs": 3, "converge_users": 50, "import_rows": 1000, "import_counted": 250,
                "scim_n": 20, "heat_n": 8}
    return {"saml_ours": 500, "saml_floor": 500, "saml_pysaml2": 200, "cold_n": 10,
            "sso_roundtrip": 300, "sso_seconds": 10.0, "sso_logins": 25, "sso_clients": 4,
            "prov_users": 1000, "prov_groups": 10, "rl_users": 300, "rl_groups": 3, "rl_rate": 30,
            "scale_users": 10_000, "scale_groups": 50, "par_users": 2_000, "par_groups": 10, "par_seq_users": 200, "calls_n": 10, "floor_n": 300, "load_users": 10, "load_seconds": 30,
            "converge_runs": 5, "converge_users": 50, "import_rows": 10_000, "import_counted": 500,
            "scim_n": 200, "heat_n": 16}


def _section(results: dict, name: str, fn) -> None:
    log(f"{name} ...")
    t0 = time.monotonic()
    try:
        results[name] = fn()
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
        results[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
        log(f"{name} FAILED: {exc}")
    results.setdefault("durations", {})[name] = time.monotonic() - t0
    log(f"{name} done in {results['durations'][name]:.1f}s")


def _quiet():
    """The provisioning metrics print EMF documents to stdout, and the engine logs every push: keep
    the console to the benchmark's own progress lines."""
    logging.disable(logging.WARNING)
    return contextlib.redirect_stdout(io.StringIO())


def _quietly(fn):
    """`fn` with the console kept to the benchmark's own progress lines (see `_quiet`)."""
    def quiet_run():
        with _quiet():
            out = fn()
        logging.disable(logging.NOTSET)
        return out

    return quiet_run


def run(only: tuple[str, ...] = SECTIONS, is_quick: bool | None = None) -> dict:
    is_quick = quick() if is_quick is None else is_quick
    sz = sizes(is_quick)
    results: dict = {"quick": is_quick, "sizes": sz, "machine": machine(), "versions": versions(),
                     "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    t0 = time.monotonic()
    if "saml" in only:
        def saml():
            out = saml_response.run(sz["saml_ours"], sz["saml_pysaml2"], sz["saml_floor"])
            out["profile"] = saml_response.profile_ours(min(200, sz["saml_ours"]))
            return out

        _section(results, "saml", saml)
    if "cold" in only:
        def cold():
            out = cold_start.bench_all(sz["cold_n"])
            out["import_profiles"] = {name: cold_start.import_profile(name) for name in cold_start.FUNCTIONS}
            return out

        _section(results, "cold", cold)
    if "sso" in only:
        _section(results, "sso", lambda: sso.run(sz["sso_roundtrip"], sz["sso_seconds"], sz["sso_logins"],
                                                  sz["sso_clients"]))
    if "floor" in only:
        _section(results, "floor", _quietly(lambda: sso_floor.run(sz["floor_n"])))
    if "load" in only:
        _section(results, "load", lambda: load.run(sz["load_users"], sz["load_seconds"]))
    if "prov" in only:
        def prov():
            with _quiet():
                out = {"sync": provisioning.bench_sync(sz["prov_users"], sz["prov_groups"])}
                out["rate_limited"] = provisioning.bench_rate_limited(sz["rl_users"], sz["rl_groups"], sz["rl_rate"])
                out["scale"] = provisioning.bench_scale(sz["scale_users"], sz["scale_groups"])
                try:
                    out["parallel"] = provisioning.bench_parallel(sz["par_users"], sz["par_groups"],
                                                                  seq_users=sz["par_seq_users"])
                except Exception as exc:  # noqa: BLE001 - one broken row must not hide the others
                    out["parallel"] = {"error": f"{type(exc).__name__}: {exc}"}
            logging.disable(logging.NOTSET)
            return out

        _section(results, "prov", prov)
    if "calls" in only:
        _section(results, "calls", _quietly(lambda: aws_calls.run(sz["calls_n"])))
    if "converge" in only:
        _section(results, "converge", lambda: convergence.run(sz["converge_runs"], sz["converge_users"]))
    if "import" in only:
        _section(results, "import", _quietly(lambda: csv_import.run(sz["import_rows"], sz["import_counted"])))
    if "scim" in only:
        _section(results, "scim", _quietly(lambda: scim_server.run(sz["scim_n"])))
    if "heat" in only:
        _section(results, "heat", _quietly(lambda: heat.run(sz["heat_n"])))
    results["total_s"] = time.monotonic() - t0
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    results = run(only)
    text = render(results)
    with open(args.out, "w") as fh:
        fh.write(text)
    log(f"wrote {args.out} ({results['total_s']:.0f}s in all)")
    print(text)
    failed = [name for name in SECTIONS if isinstance(results.get(name), dict) and "error" in results[name]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

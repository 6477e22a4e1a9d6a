"""layers/shared/requirements.txt (what the layer ships) is a lock of pyproject.toml's [project].dependencies:
each of them is in it at a version its specifier allows, every entry is pinned with sha256 hashes, and the lock
says it was resolved from today's dependency list (dev/sync_layer_requirements.py --check, run by make lint)."""
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "dev"))

import sync_layer_requirements as lock  # noqa: E402


def locked() -> dict[str, str]:
    pins = [spec.split("==") for spec in lock.entries(lock.TARGET.read_text())]
    names = [canonicalize_name(name) for name, _ in pins]
    assert len(names) == len(set(names)), f"locked twice: {sorted(n for n in names if names.count(n) > 1)}"
    return {canonicalize_name(name): version for name, version in pins}


def test_every_dependency_is_locked_at_a_version_it_allows():
    pins = locked()
    project = [Requirement(spec) for spec in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    # A dependency only in pyproject works in the venv and fails in Lambda at import time.
    missing = [str(r) for r in project if canonicalize_name(r.name) not in pins]
    assert not missing, f"not in the lock: {missing}: run `make requirements`"
    refused = [f"{r} (locked {pins[canonicalize_name(r.name)]})" for r in project
               if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)]
    assert not refused, f"locked at a version the dependency refuses: {refused}"


def test_the_lock_is_current_and_hashed():
    assert lock.problems(lock.TARGET.read_text(), lock.dependencies()) == []


def test_a_changed_dependency_list_or_an_unhashed_pin_is_caught():
    text = lock.TARGET.read_text()
    assert any("another dependency list" in p for p in lock.problems(text, lock.dependencies() + ["six>=1"]))
    assert lock.problems(text + "leftpad==1.0\n", lock.dependencies()) == ["leftpad==1.0: not pinned with sha256 hashes"]

"""layers/shared/requirements.txt (what the layer ships) lists exactly pyproject.toml's [project].dependencies."""
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def by_name(specs) -> dict:
    requirements = [Requirement(spec) for spec in specs]
    names = [canonicalize_name(r.name) for r in requirements]
    assert len(names) == len(set(names)), f"listed twice: {sorted(n for n in names if names.count(n) > 1)}"
    return dict(zip(names, requirements))


def test_layer_requirements_match_pyproject():
    lines = (line.strip() for line in (ROOT / "layers/shared/requirements.txt").read_text().splitlines())
    layer = [line.partition(" #")[0].strip() for line in lines if line and not line.startswith("#")]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    # A dependency only in pyproject works in the venv and fails in Lambda at import time.
    assert by_name(layer) == by_name(project), "run `make requirements`"

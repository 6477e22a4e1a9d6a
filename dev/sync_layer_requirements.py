"""Writes layers/shared/requirements.txt from pyproject.toml's [project].dependencies (`make requirements`)."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "layers" / "shared" / "requirements.txt"
HEADER = """\
# Runtime dependencies of the SharedLayer (sam build installs them into python/).
# Generated from [project].dependencies in pyproject.toml by `make requirements`: edit that list (the pins
# are explained there). boto3 is shipped on purpose: aws-xray-sdk brings a botocore anyway, and the runtime's
# own boto3 beside a layer botocore of another version is a mismatch waiting to happen.
"""

dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
TARGET.write_text(HEADER + "".join(f"{dep}\n" for dep in dependencies))
print(f"wrote {len(dependencies)} requirements to {TARGET.relative_to(ROOT)}")

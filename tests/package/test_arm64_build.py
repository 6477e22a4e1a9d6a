"""What `make deploy` ships (.aws-sam/build, the template's default Architecture, arm64) holds only binaries
that Lambda's python3.13 runtime on Graviton can load: every ELF file is for aarch64 and asks for at most
glibc 2.34 (Amazon Linux 2023's). This machine cannot run them (tests/package runs the x86_64 build), so
this reads their headers: ELF e_machine, and the GLIBC_x.y version names they reference."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]
ARM64_BUILD = ROOT / ".aws-sam" / "build"
X86_BUILD = ROOT / ".aws-sam" / "build-x86_64"
MACHINES = {62: "x86_64", 183: "aarch64"}
RUNTIME_GLIBC = (2, 34)  # Amazon Linux 2023, the python3.13 runtime's OS
GLIBC = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.\d+)?\x00")


def elf_files(root: Path) -> dict[Path, tuple[str, tuple[int, int] | None]]:
    """Every ELF file under `root`: its machine and the newest glibc version it names."""
    out = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as f:
            head = f.read(20)
        if head[:4] != b"\x7fELF":
            continue
        little = head[5] == 1
        (machine,) = struct.unpack("<H" if little else ">H", head[18:20])
        versions = [(int(a), int(b)) for a, b in GLIBC.findall(path.read_bytes())]
        out[path] = (MACHINES.get(machine, f"machine {machine}"), max(versions) if versions else None)
    return out


@pytest.mark.parametrize("build,machine", [(ARM64_BUILD, "aarch64"), (X86_BUILD, "x86_64")], ids=["arm64", "x86_64"])
def test_every_binary_is_for_the_build_architecture_and_the_runtime_glibc(build, machine):
    if not (build / "template.yaml").is_file():
        pytest.fail(f"{build} has no template.yaml: run `make build` first")
    found = elf_files(build)
    assert len(found) >= 10, f"only {len(found)} binaries in {build}: lxml, xmlsec, cryptography... are missing"
    other = {str(p.relative_to(build)): m for p, (m, _) in found.items() if m != machine}
    assert not other, f"binaries for another machine in {build.name}: {dict(list(other.items())[:5])}"
    too_new = {str(p.relative_to(build)): v for p, (_, v) in found.items() if v and v > RUNTIME_GLIBC}
    assert not too_new, f"binaries needing a glibc newer than {RUNTIME_GLIBC}: {dict(list(too_new.items())[:5])}"


def test_the_glibc_reader_sees_a_binarys_needs():
    """The reader above on a binary of this machine: it names its machine and some glibc version."""
    import _ssl

    found = elf_files(Path(_ssl.__file__).parent) if Path(_ssl.__file__).suffix == ".so" else {}
    machine, glibc = found[Path(_ssl.__file__)]
    assert machine in MACHINES.values() and glibc is not None and glibc >= (2, 2)

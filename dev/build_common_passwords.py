"""Rebuild layers/shared/idp/directory/common_passwords.txt (the password policy's ``block_common`` list) from
two wheels: Django's common-passwords.txt.gz (20,000 passwords from breach corpora, by Royce Williams) and
zxcvbn's ``passwords`` frequency list (30,000 from Mark Burnett's 10 million leaked passwords). Each entry
NFKC-normalised and case-folded (as ``idp.directory.password_policy`` compares), 8 characters or more
(a shorter one never passes ``min_length``), deduplicated and sorted, one per line.

    pip download --no-deps -d /tmp/wheels django==5.2.17 zxcvbn==4.5.0
    python dev/build_common_passwords.py /tmp/wheels/django-5.2.17-py3-none-any.whl \
        /tmp/wheels/zxcvbn-4.5.0-py2.py3-none-any.whl
"""
from __future__ import annotations

import ast
import gzip
import sys
import unicodedata
import zipfile
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "layers/shared/idp/directory/common_passwords.txt"
SHORTEST = 8


def django_list(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return gzip.decompress(z.read("django/contrib/auth/common-passwords.txt.gz")).decode().splitlines()


def zxcvbn_list(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        tree = ast.parse(z.read("zxcvbn/frequency_lists.py").decode())
    for node in ast.walk(tree):
        # FREQUENCY_LISTS = {"passwords": "123456,password,...".split(","), ...}: no password holds a comma.
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if (isinstance(key, ast.Constant) and key.value == "passwords" and isinstance(value, ast.Call)
                        and isinstance(value.func, ast.Attribute) and isinstance(value.func.value, ast.Constant)):
                    return str(value.func.value.value).split(",")
    raise SystemExit("the passwords list of FREQUENCY_LISTS is not in the zxcvbn wheel")


def build(django_wheel: Path, zxcvbn_wheel: Path) -> list[str]:
    words = {unicodedata.normalize("NFKC", w).casefold() for w in django_list(django_wheel) + zxcvbn_list(zxcvbn_wheel)}
    return sorted(w for w in words if len(w) >= SHORTEST and "\n" not in w and "\r" not in w)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    words = build(Path(argv[0]), Path(argv[1]))
    TARGET.write_text("".join(f"{w}\n" for w in words), encoding="utf-8")
    print(f"{TARGET}: {len(words)} passwords")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The password policy (contract section 9), pure: ``min_length`` (8..128, default 12), ``block_common``
(default on: refuse common and breached passwords) and ``block_user_info`` (default on: refuse a password
containing the user's username, email local part, first or last name). ``check_password`` is the one rule
every place that sets a password goes through (the directory service's create_user, update_user and
check_new_password: the admin API, the console, /account, activation and reset pages); a refusal is a
``DomainError(400, "weak_password", "field 'password': ... (password policy: <rule>)")`` naming the rule.

As NIST SP 800-63B (section 3.1.1.2) asks: no composition rules (no "a digit and a capital"), any
character allowed, a maximum far above 64 (the directory takes up to 1024 characters); the password is
NFKC-normalised and case-folded before it is checked (the stored hash is of the password as typed), and
its length counts the code points of the normalised text.

- ``min_length``: at least that many characters.
- ``block_common``: the password, or the password without trailing digits and punctuation (``baseball2024!``
  is ``baseball``), is on the list of common and breached passwords; or it is trivially repetitive or
  sequential (at most two distinct characters, ``abababababab``; one run up or down, ``abcdefghijkl``,
  ``987654321098``).
- ``block_user_info``: the username, the email's local part, the first name or the last name, each whole
  and each piece of it split at anything not a letter or digit (``jane.doe`` gives ``jane`` and ``doe``;
  ``Smith-Jones`` gives ``smith`` and ``jones``; of a username that is an email address, the whole and the
  pieces of its local part), is inside the password, compared case-insensitively.
  Parts shorter than 4 characters are ignored (``Al``, ``Bob``, ``Li``, ``doe``): a three-letter name is
  inside too many unrelated words (``tom`` in ``custom``, ``eve`` in ``never``, ``ann`` in ``annual``).

The list: ``common_passwords.txt`` beside this module, chosen over zxcvbn. zxcvbn 4.5.0 estimates strength
(a score from its dictionaries, keyboard patterns and dates), which is a composition rule in disguise and
not what the contract's ``block_common`` says; and its import (~800 KB of Python, frequency_lists.py) would
weigh on every cold start of the admin and console functions. The file here is the union of
two public breach-corpus lists: Django 5.2's ``common-passwords.txt.gz`` (Royce Williams' 20,000 most
common passwords from breach corpora; Django, BSD-3-Clause) and zxcvbn 4.5.0's ``passwords`` frequency
list (30,000 from Mark Burnett's 10 million leaked passwords; MIT), NFKC-normalised, case-folded,
deduplicated, and only entries of 8 characters or more (a shorter one can never pass ``min_length``):
16,293 lines, 156 KB, sorted. ``dev/build_common_passwords.py`` rebuilds it from the two wheels; the
licences are in ``common_passwords.LICENSE``. It is read on the first check that needs it, never at import.

Cost, measured on this machine (2 shared cores; best of 7 fresh processes each, `python -X importtime` and a
timing script): importing this module ~4 ms (the directory's models import it, and every function that
validates a user imports those anyway); the first check, reading the list into a set, ~2.5 ms once per process;
each later check ~0.03 ms. zxcvbn 4.5.0 for comparison: its import ~220 ms, its first estimate ~12 ms.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, TypedDict

from idp.kernel.errors import DomainError

DEFAULT_MIN_LENGTH = 12
MIN_LENGTH_FLOOR, MIN_LENGTH_CEILING = 8, 128
#: User-info parts shorter than this are not looked for in a password (see the module docstring).
SHORTEST_USER_PART = 4
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")

_SEPARATORS = re.compile(r"[\W_]+")
_TRAILING = re.compile(r"[\d\W_]+$")
#: The user's fields the user-info rule looks at, and how a refusal names each.
USER_INFO = (("username", "username"), ("firstname", "first name"), ("lastname", "last name"),
             ("email", "email address (the part before the @)"))


class PasswordPolicyView(TypedDict):
    """GET|PUT /admin/password-policy's body."""

    min_length: int
    block_common: bool
    block_user_info: bool


@dataclass(frozen=True)
class PasswordPolicy:
    """The stored policy (the defaults until an administrator sets one)."""

    min_length: int = DEFAULT_MIN_LENGTH
    block_common: bool = True
    block_user_info: bool = True

    def view(self) -> PasswordPolicyView:
        return {"min_length": self.min_length, "block_common": self.block_common,
                "block_user_info": self.block_user_info}

    def describe(self) -> str:
        """The policy in words, for a password field's hint ("at least 12 characters, not a common password ...")."""
        rules = [f"at least {self.min_length} characters"]
        rules += ["not a common password"] if self.block_common else []
        rules += ["not containing the user's name"] if self.block_user_info else []
        return ", ".join(rules)


class InMemoryPasswordPolicies:
    """A policy kept in memory, the defaults until one is set (``idp.directory.ports.PasswordPolicyRepository``):
    the directory service built without a table (unit tests); the composition root passes the DynamoDB one."""

    def __init__(self, policy: PasswordPolicy | None = None) -> None:
        self.policy = policy or PasswordPolicy()

    def get_policy(self) -> PasswordPolicy:
        return self.policy

    def put_policy(self, policy: PasswordPolicy) -> None:
        self.policy = policy


class UserInfo(TypedDict, total=False):
    """What the user-info rule reads of a user's record (any of them may be missing)."""

    username: str | None
    email: str | None
    firstname: str | None
    lastname: str | None


def normalised(text: str) -> str:
    """NFKC, then case-folded: how a password and the user's fields are compared."""
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The list of common and breached passwords (normalised, 8+ characters), read once per process."""
    return frozenset(COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines())


def _refused(rule: str, why: str) -> DomainError:
    return DomainError(400, "weak_password", f"field 'password': {why} (password policy: {rule})")


def _trivial(text: str) -> bool:
    """At most two distinct characters, or one run of consecutive code points up or down (digits wrap 9 to 0)."""
    if len(set(text)) <= 2:
        return True
    steps = {1 if (a == "9" and b == "0") else -1 if (a == "0" and b == "9") else ord(b) - ord(a)
             for a, b in zip(text, text[1:])}
    return steps in ({1}, {-1})


def is_common(password: str) -> bool:
    """The (normalised) password is common, breached, or trivially repetitive or sequential."""
    if password in common_passwords() or _trivial(password):
        return True
    stem = _TRAILING.sub("", password)
    return stem != password and len(stem) >= MIN_LENGTH_FLOOR and stem in common_passwords()


def user_parts(user: UserInfo | Mapping[str, object]) -> list[tuple[str, str]]:
    """(normalised part, what it is) of the user's fields the password may not contain, longest first."""
    parts: dict[str, str] = {}
    for key, words in USER_INFO:
        value = user.get(key)
        if not isinstance(value, str) or not value:
            continue
        whole = normalised(value)
        local = whole.split("@", 1)[0]  # an email's domain (or a username's that is an email) is nobody's name
        for part in (local if key == "email" else whole, local, *_SEPARATORS.split(local)):
            if len(part) >= SHORTEST_USER_PART:
                parts.setdefault(part, words)
    return sorted(parts.items(), key=lambda item: -len(item[0]))


def check_password(policy: PasswordPolicy, user: UserInfo | Mapping[str, object], password: str) -> None:
    """Refuse ``password`` for ``user`` (their username, email, first and last name) under ``policy``: a 400
    ``weak_password`` naming the field and the rule it breaks (the first of min_length, block_common,
    block_user_info). Nothing else is checked here: the models refuse a password over 1024 characters."""
    text = normalised(password)
    if len(text) < policy.min_length:
        raise _refused("min_length", f"must be at least {policy.min_length} characters long")
    if policy.block_common and is_common(text):
        raise _refused("block_common", "is too common (on a list of common and breached passwords, or a simple "
                                       "repetition or sequence)")
    if policy.block_user_info:
        for part, words in user_parts(user):
            if part in text:
                raise _refused("block_user_info", f"must not contain the user's {words}")

"""The password policy's one rule (idp.directory.password_policy.check_password), its body's bounds, the list
it ships (contract section 9). The directory service applying it: tests/integration/directory/test_password_policy_http.py."""
from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest

from idp.directory import models
from idp.directory.password_policy import (
    COMMON_PASSWORDS,
    PasswordPolicy,
    check_password,
    common_passwords,
)
from idp.kernel.errors import DomainError

JANE = {"username": "jdoe42", "email": "jane.doe@example.com", "firstname": "Jane", "lastname": "Doe"}
STRONG = "Violet-Harbor-Lantern-42"


def refusal(password: str, policy: PasswordPolicy | None = None, user: dict | None = None) -> str | None:
    """The rule that refuses ``password`` (None: accepted), checking the message names the field and the rule."""
    try:
        check_password(policy or PasswordPolicy(), JANE if user is None else user, password)
    except DomainError as exc:
        assert exc.status == 400 and exc.code == "weak_password", exc.body()
        assert exc.message.startswith("field 'password': ") and exc.message.endswith(")"), exc.message
        return exc.message.rsplit("(password policy: ", 1)[1].rstrip(")")
    return None


def test_the_defaults_are_twelve_characters_and_both_blocks_on():
    assert PasswordPolicy().view() == {"min_length": 12, "block_common": True, "block_user_info": True}
    assert models.parse(models.PasswordPolicySettings, {}).model_dump() == PasswordPolicy().view()
    assert refusal(STRONG) is None


def test_min_length_counts_characters_and_nothing_else_is_asked_for():
    assert refusal("Harbor-Lamp") == "min_length"  # 11
    assert refusal("harborlampxy") is None  # 12, lowercase letters only: no composition rules (NIST SP 800-63B)
    assert refusal("Harbor-La", PasswordPolicy(min_length=8)) is None
    assert refusal("Harbor-Lantern-Violet-42", PasswordPolicy(min_length=25)) == "min_length"
    assert refusal("x" * 1024 + "Violet-Harbor", PasswordPolicy(block_common=False)) is None  # long ones are fine
    # code points of the NFKC form: "ﬀ" (U+FB00) is two letters, a combining accent is one character
    assert refusal("\ufb00" * 6, PasswordPolicy(block_common=False)) is None
    assert refusal("e\u0301" * 5 + "x", PasswordPolicy(block_common=False)) == "min_length"  # 11 code points
    with pytest.raises(DomainError) as refused:
        check_password(PasswordPolicy(), JANE, "short")
    assert "at least 12 characters" in refused.value.message


@pytest.mark.parametrize("password", [
    "password1234", "PASSWORD1234", "Password1234", "qwertyuiop123", "iloveyou2024", "1q2w3e4r5t6y",
    "baseball2024!!", "Football-1234",  # a listed password with digits and punctuation added at the end
    "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14",  # full-width "password1234" (NFKC)
    "aaaaaaaaaaaaaa", "abababababab", "abcdefghijklmn", "nmlkjihgfedcba", "123456789012345", "987654321098",
])
def test_common_breached_repetitive_and_sequential_passwords_are_refused(password):
    assert refusal(password) == "block_common"
    assert refusal(password, PasswordPolicy(block_common=False)) is None


@pytest.mark.parametrize(("password", "what"), [
    ("jdoe42-Violet-Harbor", "username"),
    ("Violet-JDOE42-Harbor", "username"),  # case-insensitively
    ("Violet-Jane.Doe-Harbor", "email address"),  # the email's local part (never the domain)
    ("Violet-Harbor-jane-2024", "first name"),
    ("Violet-Harbor-JANE-2024", "first name"),
])
def test_the_users_own_names_are_refused_case_insensitively_naming_which(password, what):
    with pytest.raises(DomainError) as refused:
        check_password(PasswordPolicy(), JANE, password)
    assert refused.value.code == "weak_password" and f"must not contain the user's {what}" in refused.value.message
    assert refusal(password, PasswordPolicy(block_user_info=False)) is None


def test_user_info_parts_shorter_than_four_characters_are_ignored_and_longer_ones_split_at_separators():
    assert refusal("Doe-Violet-Harbor-42") is None  # "doe": three letters (inside "does", "doesn't" ...)
    assert refusal("example-Violet-Harbor") is None  # the email's domain is no part of the rule
    al = {"username": "al", "email": "al@example.com", "firstname": "Al", "lastname": "Li"}
    assert refusal("Al-Li-Violet-Harbor-42", user=al) is None
    hyphenated = {"username": "msj", "email": "m.smith-jones@example.com", "firstname": "Mary Ann",
                  "lastname": "Smith-Jones"}
    assert refusal("Violet-Harbor-Jones-42", user=hyphenated) == "block_user_info"  # a piece of the last name
    assert refusal("Violet-Harbor-mary-42", user=hyphenated) == "block_user_info"  # a piece of the first name
    assert refusal(STRONG, user={}) is None  # no record (a password checked before the user is known)
    as_email = {"username": "river.song@example.com", "email": "river.song@example.com"}
    assert refusal("Violet-Example-Harbor-42", user=as_email) is None  # the domain is nobody's name
    assert refusal("Violet-Song-River-Harbor", user=as_email) == "block_user_info"  # "river"


def test_unicode_passwords_and_names_are_normalised_before_the_checks():
    assert refusal("Жёлтый-Лимон-Самолёт") is None  # any script; no ASCII needed
    assert refusal("密码是紫色的港口灯笼四十二") is None
    cyrillic = {"username": "ezhikov", "email": "ezhikov@example.com", "firstname": "Ёжик", "lastname": "Туманов"}
    assert refusal("ЁЖИК-Violet-Harbor-42", user=cyrillic) == "block_user_info"
    assert refusal("Violet-Harbor-туманов", user=cyrillic) == "block_user_info"
    fullwidth = {"username": "ｊｄｏｅ４２", "email": "x@example.com", "firstname": "Ｊａｎｅ", "lastname": "Ｄｏｅ"}
    assert refusal("Violet-JANE-Harbor-42", user=fullwidth) == "block_user_info"  # NFKC on both sides
    decomposed = {**JANE, "firstname": "Chloe\u0308"}  # "Chloë" with a combining diaeresis
    assert refusal("Violet-Harbor-Chlo\u00eb-2024", user=decomposed) == "block_user_info"  # typed composed: NFKC
    assert refusal("Violet-Harbor-Chloe-2024", user=decomposed) is None  # another letter


def test_the_rules_apply_in_order_length_then_common_then_user_info():
    assert refusal("jdoe42") == "min_length"
    assert refusal("password-jdoe42") == "block_user_info"
    assert refusal("password1234") == "block_common"


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"min_length": 7}, "min_length", "greater than or equal to 8"),
    ({"min_length": 129}, "min_length", "less than or equal to 128"),
    ({"min_length": "12"}, "min_length", "valid integer"),
    ({"min_length": 12.5}, "min_length", "valid integer"),
    ({"min_length": True}, "min_length", "valid integer"),
    ({"block_common": "yes"}, "block_common", "valid boolean"),
    ({"block_common": 1}, "block_common", "valid boolean"),
    ({"block_user_info": None}, "block_user_info", "valid boolean"),
    ({"max_length": 64}, "max_length", "unknown field"),
])
def test_the_policy_body_is_refused_outside_its_bounds_naming_the_field(body, field, words):
    with pytest.raises(DomainError) as refused:
        models.parse(models.PasswordPolicySettings, body)
    assert refused.value.status == 400 and f"'{field}'" in refused.value.message and words in refused.value.message


@pytest.mark.parametrize("length", [8, 12, 64, 128])
def test_the_policy_body_takes_min_length_from_8_to_128(length):
    assert models.parse(models.PasswordPolicySettings, {"min_length": length, "block_common": False}).model_dump() == {
        "min_length": length, "block_common": False, "block_user_info": True}


def test_the_shipped_list_is_normalised_sorted_and_of_passwords_long_enough_to_matter():
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 15000 and lines == sorted(set(lines))
    assert all(len(w) >= 8 and unicodedata.normalize("NFKC", w).casefold() == w for w in lines)
    assert {"password1234", "iloveyou", "qwertyuiop", "baseball"} <= common_passwords()
    assert COMMON_PASSWORDS.stat().st_size < 200_000


def test_the_list_is_read_on_the_first_check_not_at_import():
    probe = ("import idp.directory.service, idp.directory.models, idp.directory.password_policy as p;"
             "print(p.common_passwords.cache_info().currsize);"
             "p.check_password(p.PasswordPolicy(), {}, 'Violet-Harbor-Lantern-42');"
             "print(p.common_passwords.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "1"]

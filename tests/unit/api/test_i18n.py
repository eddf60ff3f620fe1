"""The UI string catalogs (api/locales/en.yaml, ko.yaml): the same groups, keys and
placeholders in both languages, no empty text, every key that the templates, the Python code and
the page scripts use is there, and no key that nothing uses."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import get_args

import pytest

import api
from api.console_pages import TABS
from api.i18n import catalog, group_strings, messages, read_catalog, translator
from api.schemas.learner import LevelSource
from tutor.accounts.users import ROLES
from tutor.learning.analytics.types import StuckKind
from tutor.review.types import CaseStatus, Verdict

API = Path(api.__file__).parent
TEMPLATES = sorted((API / "templates").glob("*.html"))
SCRIPTS = sorted((API / "static").glob("*.js"))
PYTHON = sorted(p for p in API.rglob("*.py") if p.name != "i18n.py")

# The string table each page script gets: its page renders group_strings(lang, <group>).
SCRIPT_GROUPS = {
    "chat.js": "chat",
    "learn.js": "learn",
    "review.js": "review",
    "console_kb.js": "kb",
    "console_exercises.js": "authoring",
}

# Keys built from a value at run time ('review_verdict_' ~ r.verdict, S["kb_source_" + x]):
# the values each prefix takes.
DYNAMIC = {
    "role_": ROLES,
    "console_tab_": tuple(key for key, _ in TABS),
    "learn_source_": get_args(LevelSource),
    "review_verdict_": get_args(Verdict),
    "review_status_": get_args(CaseStatus),
    "cohort_kind_": get_args(StuckKind),
    "cohort_msg_": ("user", "assistant"),  # the template shows any other role as it is
    "console_gaps_src_": ("not_covered", "low_confidence", "thumbs_down"),
    "console_gaps_status_": ("answered", "out_of_scope"),
    "kb_source_": ("upload", "folder", "console"),
    "kb_reason_": ("replaced", "edited", "deleted", "restored_over", "removed_by_resync"),
    "kb_action_": (
        "upload", "replace", "edit", "hide", "unhide", "delete", "restore", "resync", "repair",
        "upload_rejected", "upload_duplicate", "upload_failed",
    ),
}  # fmt: skip

KEY = r"[a-z][a-z0-9_]*"


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


# --- what the sources use -------------------------------------------------------------------------
def template_uses() -> tuple[set[str], set[str]]:
    """The keys the templates name, and the prefixes of the keys they build."""
    keys, prefixes = set(), set()
    for path in TEMPLATES:
        for arg in re.findall(r"\bt\(([^)]*)\)", path.read_text(encoding="utf-8")):
            if literal := re.fullmatch(rf"'({KEY})'|\"({KEY})\"", arg.strip()):
                keys.add(literal[1] or literal[2])
            elif built := re.fullmatch(rf"'({KEY}_)' ~ [\w.]+", arg.strip()):
                prefixes.add(built[1])
            else:
                pytest.fail(f"{path.name}: t({arg}) names no key a test can read")
    return keys, prefixes


def python_uses() -> set[str]:
    """The keys api/ code asks a translator for: t("key") or translator(lang)("key")."""
    keys = set()
    for path in PYTHON:
        keys |= {m[1] for m in re.finditer(rf"(?:\bt|\))\(['\"]({KEY})['\"]\)", path.read_text())}
    return keys


def script_uses(path: Path) -> tuple[set[str], set[str]]:
    """The keys a page script reads from its table S (S.key, fmt("key"), S["key"]) and the
    prefixes of the keys it builds (S["prefix_" + value])."""
    code = path.read_text(encoding="utf-8")
    keys = set(re.findall(rf"\bS\.({KEY})", code))
    keys |= set(re.findall(rf"\bfmt\(\"({KEY})\"", code))
    keys |= set(re.findall(rf"\bS\[\"({KEY})\"\]", code))
    prefixes = set(re.findall(rf"\bS\[\"({KEY}_)\" \+ [\w.]+\]", code))
    lookups = len(re.findall(r"\bS\[", code))
    assert lookups == len(re.findall(rf"\bS\[\"{KEY}\"(?:\]| \+ [\w.]+\])", code)), (
        f"{path.name}: an S[...] lookup names no key a test can read"
    )
    assert len(re.findall(r"\bfmt\(", code)) == len(re.findall(rf"\bfmt\(\"{KEY}\"", code)), (
        f"{path.name}: a fmt(...) call names no key a test can read"
    )
    return keys, prefixes


# --- the catalogs -------------------------------------------------------------------------------
def test_both_languages_have_the_same_groups_and_keys() -> None:
    en, ko = catalog("en"), catalog("ko")

    assert list(en) == list(ko)
    for group in en:
        assert sorted(en[group]) == sorted(ko[group]), group
    assert len(messages("en")) > 400


def test_a_key_has_the_same_placeholders_in_both_languages() -> None:
    en, ko = messages("en"), messages("ko")

    mismatched = [k for k in en if placeholders(en[k]) != placeholders(ko[k])]

    assert not mismatched
    assert placeholders(en["kb_done"]) == {"chunks", "kind", "lang", "seconds"}


def test_every_text_is_written_and_formats() -> None:
    for lang in ("en", "ko"):
        for key, text in messages(lang).items():
            assert text.strip(), f"{lang}: {key} is empty"
            list(string.Formatter().parse(text))  # a stray { or } would break .format()


def test_the_translator_reads_the_catalog_of_its_language() -> None:
    assert translator("en")("nav_chat") == "Chat"
    assert translator("ko")("nav_chat") == "채팅"
    assert translator("ko")("no_such_key") == "no_such_key"  # shows, and the tests here catch it
    assert group_strings("en", "chat")["chat_send"] == "Send"
    with pytest.raises(ValueError, match="unknown UI language 'fr'"):
        translator("fr")


# --- every key used is there, and every key there is used ----------------------------------------
def test_every_key_the_templates_use_is_in_the_catalogs() -> None:
    keys, prefixes = template_uses()

    assert len(keys) > 250
    assert sorted(keys - set(messages("en"))) == []
    assert prefixes <= set(DYNAMIC), "a template builds keys with a prefix DYNAMIC lacks"


def test_every_key_the_python_code_uses_is_in_the_catalogs() -> None:
    keys = python_uses()

    assert {"login_failed", "chat_source_n", "chart_heatmap"} <= keys
    assert sorted(keys - set(messages("en"))) == []


@pytest.mark.parametrize("script", sorted(SCRIPT_GROUPS))
def test_every_key_a_page_script_uses_is_in_the_table_its_page_sends(script: str) -> None:
    keys, prefixes = script_uses(API / "static" / script)
    table = set(group_strings("en", SCRIPT_GROUPS[script]))

    assert keys, script
    assert sorted(keys - table) == []
    assert prefixes <= set(DYNAMIC), f"{script} builds keys with a prefix DYNAMIC lacks"
    for prefix in prefixes:
        assert {prefix + value for value in DYNAMIC[prefix]} <= table, prefix


def test_only_the_scripts_with_a_table_read_strings() -> None:
    readers = {p.name for p in SCRIPTS if re.search(r'readJson\("[a-z]+-strings"\)', p.read_text())}

    assert readers == set(SCRIPT_GROUPS)


def test_every_value_of_a_built_key_has_its_text() -> None:
    keys = set(messages("en"))

    missing = [p + v for p, values in DYNAMIC.items() for v in values if p + v not in keys]

    assert missing == []


def test_no_key_is_unused() -> None:
    used = template_uses()[0] | python_uses()
    for script in SCRIPT_GROUPS:
        used |= script_uses(API / "static" / script)[0]
    used |= {prefix + value for prefix, values in DYNAMIC.items() for value in values}

    assert sorted(set(messages("en")) - used) == []


# --- the loader ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("chat:\n  chat_send: Send\n  chat_send: Go\n", "duplicate key 'chat_send'"),
        ("chat:\n  chat_send: Send\nkb:\n  chat_send: Go\n", "'chat_send' is in both"),
        ("chat:\n  chat_send: [Send]\n", "'chat_send' in 'chat' is not a string"),
        ("chat: Send\n", "group 'chat' is not a mapping"),
        ("- chat\n", "expected groups of strings"),
        ("chat: {chat_send: 'Send}\n", "chat.yaml"),
    ],
)
def test_a_malformed_catalog_is_refused_with_what_is_wrong(
    tmp_path: Path, text: str, error: str
) -> None:
    path = tmp_path / "chat.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValueError, match=re.escape(error)):
        read_catalog(path)


def test_a_catalog_reads_as_groups_of_keyed_texts(tmp_path: Path) -> None:
    path = tmp_path / "en.yaml"
    path.write_text("# c\nchat:\n  chat_send: Send {n}\nkb:\n  kb_save: Save\n", encoding="utf-8")

    assert read_catalog(path) == {"chat": {"chat_send": "Send {n}"}, "kb": {"kb_save": "Save"}}

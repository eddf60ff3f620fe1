"""Every prompt template renders from the inputs its header declares, and only from those."""

from __future__ import annotations

import re

import jinja2
import pytest
from jinja2 import meta

import prompts
from prompts import _ROOT, render

HEADER = re.compile(r"\A\{#-?\s*inputs:(?P<inputs>[^#]*?)-?#\}")

# Sample values by input name; a name missing here renders as a plain string.
SAMPLES: dict[str, object] = {
    "question": "How do I sort a list from largest to smallest?",
    "passages": [
        {"n": 1, "title": "Lists", "heading": "Sorting lists", "text": "Use reverse=True."},
        {"n": 2, "title": "Loops", "heading": "", "text": "A for loop runs once per item."},
    ],
    "contexts": ["sorted() returns a new list."],
    "lang": "en",
    "level": 1,
    "unmastered": ("lists", "sorting"),
    "exercise": "ex-squares",
    "nearest_topics": ("Lists", "Loops"),
    "history": [
        {"role": "user", "content": "What does sort do?"},
        {"role": "assistant", "content": "It sorts a list in place [1]."},
    ],
    "kind": "unavailable",
    # code review
    "files": [{"name": "solution.py", "lines": ["def f(xs):", "    return xs[0]"]}],
    "tests": {
        "verdict": "failed",
        "passed": 1,
        "total": 2,
        "message": "",
        "summary": "1 of 2 pass",
        "first_failure": {
            "name": "case 2",
            "status": "failed",
            "input": "f([])",
            "expected": "None",
            "actual": None,
            "error": "IndexError: list index out of range (line 2)",
        },
        "cases": [
            {
                "name": "case 2",
                "status": "failed",
                "input": "f([])",
                "expected": "None",
                "actual": None,
                "error": "IndexError (line 2)",
            }
        ],
    },
    "findings": [
        {
            "line": 2,
            "severity": "warning",
            "category": "bug",
            "title": "Unused name",
            "explanation": "x is never used.",
            "folded": 0,
        }
    ],
    "hidden_count": 2,
    "suspicious": [
        {
            "file": "solution.py",
            "line": 2,
            "code": "return xs[0]",
            "question": "What happens when the list is empty?",
        }
    ],
    "links": [{"n": 1, "title": "Lists", "heading": "Indexing", "text": "xs[0] is the first."}],
    # the OpenAI-compatible API's source list
    "sources": [
        {"n": 1, "title": "Lists", "heading": "Sorting lists"},
        {"n": 3, "title": "Loops", "heading": ""},
    ],
}


def declared_inputs(name: str) -> list[str]:
    source = (_ROOT / f"{name}.j2").read_text(encoding="utf-8")
    match = HEADER.match(source)
    assert match, f"{name}.j2 must open with {{# inputs: ... #}}"
    return [v.strip() for v in match.group("inputs").split(",") if v.strip()]


def sample_inputs(name: str) -> dict[str, object]:
    return {var: SAMPLES.get(var, f"sample {var}") for var in declared_inputs(name)}


TEMPLATES = prompts.names()


def test_templates_exist() -> None:
    assert {"tutor/answer.system", "tutor/answer.human", "tutor/hint.system"} <= set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_renders_with_sample_inputs(name: str) -> None:
    text = render(name, **sample_inputs(name))

    assert text.strip()
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("name", TEMPLATES)
def test_header_declares_every_variable_the_template_uses(name: str) -> None:
    env = prompts._env()
    source = (_ROOT / f"{name}.j2").read_text(encoding="utf-8")
    ast = env.parse(source)
    declared = set(declared_inputs(name))

    assert meta.find_undeclared_variables(ast) <= declared
    for included in meta.find_referenced_templates(ast):
        assert included, f"{name}: dynamic includes cannot be checked"
        assert set(declared_inputs(included.removesuffix(".j2"))) <= declared


def test_missing_variable_raises() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("tutor/answer.human", question="What is a list?")


@pytest.mark.parametrize(
    "name", [n for n in TEMPLATES if n.startswith("tutor/") and declared_inputs(n)]
)
def test_dropping_any_declared_input_raises(name: str) -> None:
    full = sample_inputs(name)
    for var in full:
        partial = {k: v for k, v in full.items() if k != var}
        with pytest.raises(jinja2.UndefinedError):
            render(name, **partial)


def test_level_instructions_differ_as_designed() -> None:
    lv1 = render("tutor/answer.system", lang="en", level=1, unmastered=("lists",))
    lv4 = render("tutor/answer.system", lang="en", level=4, unmastered=())

    assert "worked example" in lv1 and "Define every technical term" in lv1 and "lists" in lv1
    assert "concise" in lv4.lower() and "deeper" in lv4
    assert "worked example" not in lv4


def test_answer_language_follows_the_request() -> None:
    assert "Korean" in render("tutor/answer.system", lang="ko", level=2, unmastered=())
    assert "English" in render(
        "tutor/hint.system", lang="en", level=2, unmastered=(), exercise=None
    )


def test_passages_are_numbered_with_title_and_heading() -> None:
    text = render("tutor/answer.human", **sample_inputs("tutor/answer.human"))

    assert "[1] Lists › Sorting lists\nUse reverse=True." in text
    assert "[2] Loops\nA for loop" in text
    assert text.endswith("Question: How do I sort a list from largest to smallest?")


def test_notices_exist_in_both_languages() -> None:
    for kind in ("unavailable", "rejected", "interrupted", "withheld", "withheld_marker"):
        en = render("tutor/llm_notice.text", kind=kind, lang="en")
        ko = render("tutor/llm_notice.text", kind=kind, lang="ko")
        assert en and ko and en != ko
    assert render("tutor/llm_notice.text", kind="unavailable", lang="en") == (
        "The AI model is unavailable right now; this answer quotes the course material directly."
    )


def test_api_sources_list_numbers_titles_and_headings() -> None:
    sources = SAMPLES["sources"]
    assert render("api/sources.text", sources=sources, lang="en") == (
        "Sources:\n[1] Lists › Sorting lists\n[3] Loops"
    )
    assert render("api/sources.text", sources=sources, lang="ko").startswith("출처:\n[1] Lists")

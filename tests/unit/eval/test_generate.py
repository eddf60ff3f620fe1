"""Drafted eval questions from the real sample course (offline), and the LLM reply parser."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from eval.datasets import read_eval_dataset, write_ragas_jsonl
from eval.generate import (
    BLANK,
    generate_questions,
    generate_with_llm,
    has_final_consonant,
    parse_generated,
    with_particle,
)
from knowledge.chunking import chunk_document
from knowledge.loaders import load_document
from knowledge.types import Chunk

ROOT = Path(__file__).resolve().parents[3]
COURSE = ROOT / "courses" / "python-basics"
LESSON_DIRS = {"en": COURSE / "lessons", "ko": COURSE / "lessons-ko"}


def _chunks(paths: list[Path]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for path in paths:
        doc = load_document(path, course_root=COURSE, course="python-basics", max_bytes=10**6)
        chunks.extend(chunk_document(doc, chunk_size=900))
    return chunks


@pytest.fixture(scope="module")
def lesson_chunks() -> list[Chunk]:
    return _chunks(sorted(LESSON_DIRS["en"].glob("*.md")) + sorted(LESSON_DIRS["ko"].glob("*.md")))


@pytest.fixture(scope="module")
def exercise_chunks() -> list[Chunk]:
    """Exercise statements and solutions (Markdown and Python): never a source of drafts."""
    paths = [p for p in sorted((COURSE / "exercises").rglob("*")) if p.suffix in (".md", ".py")]
    chunks = _chunks(paths)
    assert {c.kind for c in chunks} == {"exercise", "solution"}
    return chunks


@pytest.fixture(scope="module")
def drafts(lesson_chunks, exercise_chunks) -> list[dict]:
    return generate_questions([*exercise_chunks, *lesson_chunks])


def _lesson_text(draft: dict) -> str:
    (gold,) = draft["gold_sources"]
    return (LESSON_DIRS[draft["lang"]] / f"{gold}.md").read_text(encoding="utf-8")


def test_every_lesson_gets_both_kinds_in_both_languages(drafts) -> None:
    lessons = sorted(p.stem for p in LESSON_DIRS["en"].glob("*.md"))
    per_lesson = Counter((d["gold_sources"][0], d["lang"]) for d in drafts)
    assert set(per_lesson) == {(lesson, lang) for lesson in lessons for lang in ("en", "ko")}
    assert max(per_lesson.values()) <= 5
    kinds = Counter((d["lang"], d["tags"][1]) for d in drafts)
    for lang in ("en", "ko"):
        assert kinds[(lang, "definition")] >= len(lessons)
        assert kinds[(lang, "cloze")] >= len(lessons)
    assert len({d["id"] for d in drafts}) == len(drafts)


def test_gold_source_is_the_lesson_and_the_reference_is_quoted_from_it(drafts) -> None:
    for draft in drafts:
        (gold,) = draft["gold_sources"]
        assert draft["id"].startswith(f"gen-{gold}-{draft['lang']}-")
        assert draft["source"]["doc_id"].endswith(f"/{gold}.md")
        assert draft["reference"] in _lesson_text(draft), draft["id"]
        assert draft["draft"] is True and draft["expect"] == "answer"
        assert draft["tags"][0] == "generated" and draft["tags"][1] in ("definition", "cloze")
        assert draft["level"] in (1, 2, 3, 4)


def test_cloze_blanks_the_right_option(drafts) -> None:
    clozes = [d for d in drafts if "cloze" in d["tags"]]
    assert clozes
    for draft in clozes:
        options, right = draft["options"], draft["options"][draft["answer_index"]]
        assert len(options) == 4 and len(set(options)) == 4
        assert draft["question"].count(BLANK) == 1
        assert draft["question"].replace(BLANK, right).endswith(draft["reference"])
        for wrong in options:  # a distractor is not already in the sentence
            if wrong != right:
                assert wrong.casefold() not in draft["reference"].casefold()


def test_definition_questions_from_the_key_terms(drafts) -> None:
    by_question = {d["question"]: d for d in drafts if "definition" in d["tags"]}
    lists = by_question["What is a list?"]
    assert lists["reference"] == (
        "an ordered, changeable collection of values written in square brackets."
    )
    assert lists["gold_sources"] == ["05-lists"] and lists["level"] == 2
    ko = by_question["리스트(list)란 무엇인가요?"]
    assert ko["reference"] == "대괄호 안에 값을 나열한, 순서가 있고 변경할 수 있는 자료 모음입니다."
    assert ko["lang"] == "ko" and ko["gold_sources"] == ["05-lists"]
    # 이란 after a final consonant, 란 after a vowel
    assert "문자열(string)이란 무엇인가요?" in by_question
    assert "인덱스(index)란 무엇인가요?" in by_question
    assert "모듈(module)이란 무엇인가요?" in by_question


@pytest.mark.parametrize(
    ("word", "final"),
    [
        ("리스트", False),
        ("파일", True),  # ㄹ
        ("문자열", True),
        ("함수", False),
        ("모듈", True),
        ("리스트(list)", False),  # the gloss is skipped
        ("객체(object)", False),
        ("클래스(class)", False),
        ("상속(inheritance)", True),
        ("KeyError", False),  # 키에러
        ("file", True),  # 파일
        ("string", True),  # 스트링
        ("NumPy", False),
        ("3", True),  # 삼
        ("2", False),  # 이
    ],
)
def test_final_consonant(word: str, final: bool) -> None:
    assert has_final_consonant(word) is final


def test_particles_follow_the_final_consonant() -> None:
    assert with_particle("리스트", "이란", "란") == "리스트란"
    assert with_particle("파일", "이란", "란") == "파일이란"
    assert with_particle("변수", "은", "는") == "변수는"
    assert with_particle("모듈", "은", "는") == "모듈은"
    assert with_particle("딕셔너리(dictionary)", "이", "가") == "딕셔너리(dictionary)가"


def test_korean_cloze_distractors_agree_with_the_particle_after_the_blank(drafts) -> None:
    pairs = {"은": True, "는": False, "을": True, "를": False}
    checked = 0
    for draft in drafts:
        if draft["lang"] != "ko" or "cloze" not in draft["tags"]:
            continue
        after = draft["question"].split(BLANK, 1)[1][:2]
        if after[:1] in pairs and not after[1:].strip("., "):
            want = pairs[after[:1]]
            right = draft["options"][draft["answer_index"]]
            hangul = [o for o in draft["options"] if "가" <= o[-1] <= "힣"]  # exact rule
            assert all(has_final_consonant(o) == want for o in hangul if o != right), draft
            checked += 1
    assert checked


def test_no_exercise_or_solution_material_is_used(drafts, exercise_chunks) -> None:
    assert generate_questions(exercise_chunks) == []
    # the same material presented as a lesson would give drafts: the kind is what keeps it out
    assert generate_questions([replace(c, kind="lesson") for c in exercise_chunks])
    exercise_ids = {c.exercise for c in exercise_chunks}
    for draft in drafts:
        assert not set(draft["gold_sources"]) & exercise_ids
        assert "/exercises/" not in draft["source"]["doc_id"]


def test_output_is_deterministic_whatever_the_input_order(lesson_chunks, drafts) -> None:
    shuffled = list(lesson_chunks)
    random.Random(7).shuffle(shuffled)
    assert generate_questions(shuffled) == drafts
    other_seed = generate_questions(lesson_chunks, seed=1)
    assert [d["question"] for d in other_seed if "definition" in d["tags"]] == [
        d["question"] for d in drafts if "definition" in d["tags"]
    ]


def test_cap_and_languages(lesson_chunks) -> None:
    two = generate_questions(lesson_chunks, per_lesson=2, langs=("ko",))
    assert {d["lang"] for d in two} == {"ko"}
    assert max(Counter(d["gold_sources"][0] for d in two).values()) == 2
    assert [d["tags"][1] for d in two[:2]] == ["definition", "cloze"]
    assert generate_questions(lesson_chunks, per_lesson=0) == []


def test_near_duplicates_and_repeated_questions_are_dropped() -> None:
    text = (
        "# Sets\n\nA set is an unordered collection of unique values written in curly braces."
        "\n\nA set is an unordered collection of unique values, written in curly braces.\n\n"
        "## Key terms\n\n- **set**: an unordered collection of unique values.\n"
        "- **tuple**: an immutable sequence of values.\n"
    )
    base = Chunk(
        id="c#0", doc_id="demo/lessons/sets.md", index=0, text=text, heading_path=("Sets",),
        line_start=1, line_end=9, course="demo", title="Sets", kind="lesson", lang="en",
        level=2, lesson_id="sets",
    )  # fmt: skip
    twin = replace(base, id="c#1", doc_id="demo/lessons/sets-again.md", lesson_id="sets-again")
    drafts = generate_questions([base, twin])
    questions = [d["question"] for d in drafts]
    assert len(questions) == len(set(questions))
    assert questions.count("What is a set?") == 1
    assert not any(d["reference"].startswith("A set is an unordered") for d in drafts)


def test_drafts_load_with_the_eval_dataset_loader(drafts, tmp_path) -> None:
    path = tmp_path / "drafts.jsonl"
    write_ragas_jsonl(path, drafts)  # the atomic JSONL writer
    dataset = read_eval_dataset(path)
    assert dataset.problems == []
    assert [item.id for item in dataset.items] == [d["id"] for d in drafts]
    cloze = next(item for item in dataset.items if "cloze" in item.tags)
    assert cloze.is_mcq and BLANK in cloze.question
    first = dataset.items[0]
    assert first.is_gold(lesson_id=first.gold_sources[0]) and first.reference


def test_real_tokenizer_gives_valid_drafts(lesson_chunks) -> None:
    from knowledge.lexical import Tokenizer

    with_kiwi = generate_questions(lesson_chunks, tokenizer=Tokenizer().tokenize)
    assert len(with_kiwi) >= 100
    assert all(d["reference"] in _lesson_text(d) for d in with_kiwi)


# ------------------------------------------------------------------------------ parser

GOOD_DEF = {"kind": "definition", "question": "What is a list?", "reference": "A list is..."}
GOOD_MCQ = {
    "kind": "cloze",
    "question": "A ____ is ordered.",
    "options": ["list", "set", "dict", "int"],
    "answer_index": 0,
    "reference": "A list is ordered.",
}


def test_parse_generated_keeps_valid_lines_and_skips_the_rest() -> None:
    reply = "\n".join(
        [
            "Here are the questions:",
            "```json",
            json.dumps(GOOD_DEF),
            "1. " + json.dumps(GOOD_MCQ, ensure_ascii=False) + ",",
            '{"question": "broken", ',
            json.dumps({"question": "", "reference": "x"}),
            json.dumps({**GOOD_MCQ, "answer_index": 4}),
            json.dumps({**GOOD_MCQ, "options": ["a", "a", "b", "c"]}),
            json.dumps({**GOOD_MCQ, "options": "abcd"}),
            json.dumps({**GOOD_MCQ, "answer_index": True}),
            json.dumps({"question": "리스트란?", "reference": 3}),
            json.dumps(["not", "an", "object"]),
            json.dumps({"question": "Why copy?", "kind": "weird"}),
            "```",
        ]
    )
    parsed = parse_generated(reply)
    assert [p["question"] for p in parsed] == ["What is a list?", "A ____ is ordered.", "Why copy?"]
    assert parsed[0] == {
        "question": "What is a list?",
        "reference": "A list is...",
        "options": [],
        "answer_index": None,
        "kind": "definition",
    }
    assert parsed[1]["options"] == GOOD_MCQ["options"] and parsed[1]["answer_index"] == 0
    assert parsed[2]["kind"] == "concept" and parsed[2]["reference"] is None


def test_parse_generated_reads_a_json_array_and_survives_garbage() -> None:
    assert len(parse_generated(json.dumps([GOOD_DEF, GOOD_MCQ, {"nope": 1}]))) == 2
    assert parse_generated("") == []
    assert parse_generated("I cannot help with that.") == []


class ScriptedChat:
    """A chat model that returns scripted replies and records the prompts it got."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def invoke(self, messages):
        self.prompts.append(messages[-1][1])
        return type("Reply", (), {"content": self.replies.pop(0)})()


def test_generate_with_llm_shapes_records_and_never_sends_solutions(
    lesson_chunks, exercise_chunks
) -> None:
    lists = [c for c in lesson_chunks if c.lesson_id == "05-lists"]
    chat = ScriptedChat([json.dumps(GOOD_DEF) + "\nnot json\n" + json.dumps(GOOD_MCQ)] * 2)
    records = generate_with_llm([*exercise_chunks, *lists], chat, per_lesson=5)
    assert len(chat.prompts) == 2  # one lesson, two languages
    assert "A list is an ordered" in chat.prompts[0] and "Lists" in chat.prompts[0]
    assert all("def sum_evens" not in p and "Solution" not in p for p in chat.prompts)
    assert [r["id"] for r in records] == [
        "gen-05-lists-en-llm1", "gen-05-lists-en-llm2", "gen-05-lists-ko-llm1",
        "gen-05-lists-ko-llm2",
    ]  # fmt: skip
    assert records[1]["options"] == GOOD_MCQ["options"] and records[1]["answer_index"] == 0
    assert records[0]["gold_sources"] == ["05-lists"] and records[0]["level"] == 2
    assert records[0]["tags"] == ["generated", "llm", "definition"] and records[0]["draft"]

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.datasets import (
    EvalItem,
    gold_matches,
    load_dataset,
    read_eval_dataset,
    read_ragas_jsonl,
    to_ragas_records,
    write_eval_dataset,
    write_ragas_jsonl,
)
from knowledge.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "eval" / "datasets" / "python-basics.jsonl"
COURSE = ROOT / "courses" / "python-basics"
ML_BENCH = ROOT.parent / "shared" / "bench" / "courses" / "ML-For-Beginners"


def _write(path: Path, *lines: object) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def _ok(n: int, **extra: object) -> dict[str, object]:
    return {"id": f"q{n}", "question": f"What is item {n}?", **extra}


# ------------------------------------------------------------------- our JSONL format


def test_full_line_loads_every_field(tmp_path: Path) -> None:
    line = {
        "id": "pb-001",
        "question": "  What does `[1, 2] * 2` give?  ",
        "lang": "en",
        "options": ["[2, 4]", "[1, 2, 1, 2]"],
        "answer_index": 1,
        "reference": "A list repeats.",
        "gold_sources": ["05-lists"],
        "level": 2,
        "exercise_id": None,
        "tags": ["lists"],
        "expect": "answer",
        "unknown_key": {"ignored": True},
    }
    data = read_eval_dataset(_write(tmp_path / "set.jsonl", line))

    assert data.name == "set"
    assert data.problems == []
    assert data.items == [
        EvalItem(
            id="pb-001",
            question="What does `[1, 2] * 2` give?",
            lang="en",
            options=("[2, 4]", "[1, 2, 1, 2]"),
            answer_index=1,
            reference="A list repeats.",
            gold_sources=("05-lists",),
            level=2,
            tags=("lists",),
        )
    ]
    assert data.items[0].is_mcq


def test_defaults_detect_lang_and_number_missing_ids(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.jsonl", {"question": "리스트를 정렬하는 방법은?"}, {"question": "How?"}
    )

    first, second = read_eval_dataset(path).items

    assert (first.id, first.lang, first.expect) == ("d-1", "ko", "answer")
    assert (second.id, second.lang) == ("d-2", "en")
    assert not first.is_mcq and first.gold_sources == () and first.level is None


def test_malformed_lines_are_reported_with_line_numbers_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "mixed.jsonl",
        _ok(1),
        "{not json",
        "[1, 2]",
        "",
        {"id": "q5", "question": "   "},
        _ok(6, lang="fr"),
        _ok(7, level=5),
        _ok(8, tags="lists"),
        _ok(9, gold_sources=["05-lists", 3]),
        _ok(10, expect="refuse"),
        _ok(11, level=True),
        _ok(12, lang="ko"),
    )

    data = read_eval_dataset(path)

    assert [item.id for item in data.items] == ["q1", "q12"]
    assert [p.split(": ", 1)[0] for p in data.problems] == [
        f"mixed.jsonl:{n}" for n in (2, 3, 5, 6, 7, 8, 9, 10, 11)
    ]
    text = "\n".join(data.problems)
    for reason in ("invalid JSON", "not a JSON object", "question", "lang", "level", "tags",
                   "gold_sources", "expect"):
        assert reason in text


def test_answer_index_must_fit_the_options(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mcq.jsonl",
        _ok(1, options=["a", "b"], answer_index=2),
        _ok(2, options=["a", "b"], answer_index=-1),
        _ok(3, answer_index=0),
        _ok(4, options=["a", "b"], answer_index="1"),
        _ok(5, options=["a", "b"], answer_index=1),
        _ok(6, options=[1, 2.5], answer_index=0),
    )

    data = read_eval_dataset(path)

    assert [item.id for item in data.items] == ["q5", "q6"]
    assert data.items[1].options == ("1", "2.5")
    assert len(data.problems) == 4
    assert "mcq.jsonl:1: answer_index 2 out of range for 2 option(s)" in data.problems
    assert any(p.startswith("mcq.jsonl:4: answer_index must be an integer") for p in data.problems)


def test_duplicate_ids_are_reported_and_the_first_one_kept(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "dup.jsonl", _ok(1), _ok(2), {"id": "q1", "question": "Again?"}
    )

    data = read_eval_dataset(path)

    assert [item.question for item in data.items] == ["What is item 1?", "What is item 2?"]
    assert data.problems == ["dup.jsonl:3: duplicate id 'q1' (first on line 1); line skipped"]


def test_empty_file_raises_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.jsonl", "", "   ")

    with pytest.raises(InvalidInputError, match="empty"):
        read_eval_dataset(path)


def test_file_without_a_valid_item_names_the_first_problem(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", "nope", {"question": ""})

    with pytest.raises(InvalidInputError, match=r"no valid eval item .*bad\.jsonl:1"):
        read_eval_dataset(path)


def test_missing_file_and_wrong_suffix_are_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_dataset(tmp_path / "missing.jsonl")
    with pytest.raises(InvalidInputError, match=".jsonl"):
        load_dataset(_write(tmp_path / "set.csv", "a,b"))


def test_gold_matches_lesson_id_doc_id_or_doc_stem() -> None:
    item = EvalItem(id="x", question="q", gold_sources=("05-lists",))

    assert item.is_gold(lesson_id="05-lists")
    assert item.is_gold(doc_id="python-basics/lessons-ko/05-lists.md")
    assert item.is_gold(doc_id="05-lists.ko.md")
    assert not item.is_gold(lesson_id="04-loops", doc_id="python-basics/lessons/04-loops.md")
    assert gold_matches("python-basics/lessons/05-lists.md",
                        doc_id="python-basics/lessons/05-lists.md")
    assert not gold_matches("", lesson_id="")


def test_write_eval_dataset_round_trips(tmp_path: Path) -> None:
    items = [
        EvalItem(id="a", question="정답 코드 보여줘", lang="ko", exercise_id="ex-sum-evens",
                 expect="hint", tags=("exercise",), level=1, gold_sources=("04-loops",)),
        EvalItem(id="b", question="Which?", options=("x", "y"), answer_index=0, reference="x"),
    ]
    path = tmp_path / "out.jsonl"

    write_eval_dataset(path, items)

    assert read_eval_dataset(path).items == items
    assert "정답" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes


# ------------------------------------------------------------------------ course folders


def _course(tmp_path: Path, *quiz_lines: object) -> Path:
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    (root / "lessons" / "01-intro.md").write_text(
        "---\ntitle: Intro\nlevel: 1\n---\n# Intro\n", encoding="utf-8"
    )
    (root / "lessons" / "02-more.md").write_text("# More\n", encoding="utf-8")
    (root / "exercises" / "ex-one").mkdir(parents=True)
    _write(root / "quiz.jsonl", *quiz_lines)
    return root


def test_course_folder_quiz_becomes_items_with_lesson_gold(tmp_path: Path) -> None:
    root = _course(
        tmp_path,
        {"id": "c1", "lesson_id": "01-intro", "question": "Q1?", "options": ["a", "b"],
         "answer_index": 1, "lang": "en", "skills": ["intro"], "explanation": "Because b."},
        {"id": "c2", "lesson_id": "02-more", "question": "두 번째?", "options": ["a", "b"],
         "answer_index": 0},
    )

    data = load_dataset(root)

    assert data.name == "course" and data.path == root and data.problems == []
    first, second = data.items
    assert first.gold_sources == ("01-intro",) and first.tags == ("intro",)
    assert first.level == 1  # from the lesson's front matter
    assert first.reference == "Because b."
    assert (second.lang, second.level) == ("ko", None)


def test_unknown_lesson_id_is_a_warning_and_the_item_is_kept(tmp_path: Path) -> None:
    root = _course(
        tmp_path,
        {"id": "c1", "lesson_id": "01-intro", "question": "Q1?"},
        {"id": "c2", "lesson_id": "99-missing", "question": "Q2?"},
    )

    data = load_dataset(root)

    assert [item.id for item in data.items] == ["c1", "c2"]
    assert len(data.problems) == 1
    assert data.problems[0].startswith("quiz.jsonl:2: warning: unknown lesson id '99-missing'")


def test_folder_with_eval_jsonl_uses_it_and_checks_sources(tmp_path: Path) -> None:
    root = _course(tmp_path, {"id": "c1", "lesson_id": "01-intro", "question": "Quiz?"})
    _write(
        root / "eval.jsonl",
        _ok(1, gold_sources=["01-intro", "course/lessons/02-more.md"], exercise_id="ex-one"),
        _ok(2, gold_sources=["03-nowhere"], exercise_id="ex-two"),
    )

    data = load_dataset(root)

    assert [item.id for item in data.items] == ["q1", "q2"]
    assert len(data.problems) == 2
    assert "eval.jsonl:2: warning: unknown lesson id '03-nowhere'" in data.problems[0]
    assert "unknown exercise id 'ex-two'" in data.problems[1]


def test_folder_without_dataset_files_is_invalid(tmp_path: Path) -> None:
    (tmp_path / "lessons").mkdir()

    with pytest.raises(InvalidInputError, match="quiz.jsonl"):
        load_dataset(tmp_path)


@pytest.mark.skipif(not ML_BENCH.is_dir(), reason=f"benchmark not found at {ML_BENCH}")
def test_ml_for_beginners_benchmark_folder_loads_by_path() -> None:
    data = load_dataset(ML_BENCH)

    assert len(data.items) == 156
    assert all(item.gold_sources for item in data.items)
    assert data.problems == []
    assert sum(item.is_mcq for item in data.items) == 156


def test_shipped_course_folder_loads_its_quiz() -> None:
    data = load_dataset(COURSE)

    assert len(data.items) >= 50 and data.problems == []
    assert {item.level for item in data.items} == {1, 2, 3, 4}


# ---------------------------------------------------------------------------------- RAGAS


def test_ragas_round_trip(tmp_path: Path) -> None:
    items = [
        EvalItem(id="a", question="What is a list?", reference="An ordered collection."),
        EvalItem(id="b", question="리스트란 무엇인가요?", lang="ko"),
        EvalItem(id="c", question="Not answered?"),
    ]
    answers = {
        "a": ("A list is ordered [1].", ["Lists store ordered items.", "Lists are mutable."]),
        "b": ("순서가 있는 자료 모음입니다.", []),
    }
    records = to_ragas_records(items, answers)
    path = tmp_path / "ragas.jsonl"

    write_ragas_jsonl(path, records)
    data = read_ragas_jsonl(path)

    assert [set(r) for r in records] == [
        {"user_input", "retrieved_contexts", "response", "reference"}
    ] * 2
    assert records[1]["reference"] is None
    assert [(i.question, i.reference, i.lang) for i in data.items] == [
        ("What is a list?", "An ordered collection.", "en"),
        ("리스트란 무엇인가요?", None, "ko"),
    ]
    first, second = (data.ragas[item.id] for item in data.items)
    assert first.response == "A list is ordered [1]."
    assert first.retrieved_contexts == ("Lists store ordered items.", "Lists are mutable.")
    assert second.retrieved_contexts == ()
    assert load_dataset(path).items == data.items  # detected as RAGAS by its keys


def test_ragas_reader_reports_bad_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "r.jsonl",
        {"user_input": "Fine?", "response": "yes"},
        {"user_input": [{"content": "multi"}]},
        {"user_input": "Bad contexts", "retrieved_contexts": "one string"},
    )

    data = read_ragas_jsonl(path)

    assert [item.id for item in data.items] == ["r-1"]
    assert data.problems[0].startswith("r.jsonl:2: user_input is a list")
    assert data.problems[1].startswith("r.jsonl:3: retrieved_contexts must be a list")


def test_writes_are_atomic_and_leave_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old content\n", encoding="utf-8")

    with pytest.raises(TypeError):
        write_ragas_jsonl(path, [{"user_input": object()}])
    assert path.read_text(encoding="utf-8") == "old content\n"

    write_ragas_jsonl(path, [{"user_input": "q", "retrieved_contexts": [], "response": "r",
                              "reference": None}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    assert json.loads(path.read_text(encoding="utf-8"))["user_input"] == "q"


def test_a_failed_write_removes_its_temp_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "out.jsonl"

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("tutor.atomic_write.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_ragas_jsonl(path, [{"user_input": "q"}])
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------- the shipped sample set


def test_python_basics_sample_set_is_valid_and_covers_the_course() -> None:
    data = load_dataset(SAMPLE)
    items = data.items
    lessons = {p.stem for p in (COURSE / "lessons").glob("*.md")}
    exercises = {p.name for p in (COURSE / "exercises").iterdir() if p.is_dir()}

    assert data.problems == []
    assert len(items) >= 64
    langs = Counter(item.lang for item in items)
    assert set(langs) == {"en", "ko"} and min(langs.values()) >= len(items) * 0.4
    assert {item.level for item in items} == {1, 2, 3, 4}
    assert sum(item.is_mcq for item in items) >= 18
    positions = Counter(item.answer_index for item in items if item.is_mcq)
    assert len(positions) >= 3  # the right option is not always in the same place

    hints = [item for item in items if item.expect == "hint"]
    assert len(hints) >= 8
    assert all(item.exercise_id in exercises for item in hints)
    assert {item.lang for item in hints} == {"en", "ko"}
    assert sum("solution-request" in item.tags for item in hints) >= 4

    not_covered = [item for item in items if item.expect == "not_covered"]
    assert len(not_covered) >= 8
    assert {item.lang for item in not_covered} == {"en", "ko"}
    assert all(not item.gold_sources and "out-of-scope" in item.tags for item in not_covered)

    answers = [item for item in items if item.expect == "answer"]
    assert all(item.gold_sources and item.reference for item in answers)
    gold = {g for item in items for g in item.gold_sources}
    assert gold <= lessons, gold - lessons
    assert gold == lessons  # every lesson is asked about
    assert any("follow-up" in item.tags for item in items)

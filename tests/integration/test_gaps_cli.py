"""``kdt-tutor gaps group``: a subprocess on the tiny course, as a script would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

QUESTIONS = [
    {"id": "q1", "question": "Why does sort() return None on my list?"},
    {"id": "q2", "question": "리스트를 정렬하는 방법이 궁금해요"},
    {"id": "q3", "question": "How do I look up a key in a dictionary without a KeyError?"},
    {"id": "q4", "question": "How do I get both key and value when I loop over a dictionary?"},
    {"id": 5, "question": "What is the difference between the sorted function and sort?"},
]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, course_files, write_course, cli_env, run_cli):
    root = tmp_path_factory.mktemp("gaps-cli")
    course = write_course(root / "tiny", course_files["tiny"])
    data = root / "data"
    result = run_cli("ingest", str(course), env=cli_env(data), cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"root": root, "data": data}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _questions(path: Path, items: list[dict]) -> Path:
    return _write(path, [json.dumps(i, ensure_ascii=False) for i in items])


def test_groups_to_stdout_by_the_lessons_of_the_course(ingested, cli_env, run_cli, tmp_path):
    questions = _questions(tmp_path / "questions.jsonl", QUESTIONS)

    result = run_cli(
        "gaps", "group", str(questions), "--course", "tiny",
        env=cli_env(ingested["data"]), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    groups = json.loads(result.stdout)["groups"]
    assert set(groups) == {"q1", "q2", "q3", "q4", "5"}  # a numeric id is read as text
    assert groups["q1"] == groups["q2"] == groups["5"] == "Lists"
    assert groups["q3"] == groups["q4"] == "Dictionaries"
    assert "5 question(s) in 2 group(s), grouped against course tiny" in result.stderr


def test_json_out_writes_the_file_and_nothing_to_stdout(ingested, cli_env, run_cli, tmp_path):
    questions = _questions(tmp_path / "questions.jsonl", QUESTIONS[:2])
    out = tmp_path / "out" / "groups.json"

    result = run_cli(
        "gaps", "group", str(questions), "--json", str(out),
        env=cli_env(ingested["data"]), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8")) == {"groups": {"q1": "Lists", "q2": "Lists"}}
    assert f"wrote {out}" in result.stderr
    assert not list(out.parent.glob("*.tmp"))


def test_an_empty_file_gives_no_groups(ingested, cli_env, run_cli, tmp_path):
    questions = _write(tmp_path / "empty.jsonl", [""])

    result = run_cli(
        "gaps", "group", str(questions), "--course", "tiny",
        env=cli_env(ingested["data"]), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"groups": {}}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "question": "ok"}', '{"id": "b", "question": '], ":2: not valid JSON"),
        (['["a", "question"]'], ':1: expected an object {"id", "question"}'),
        (['{"question": "no id here"}'], ':1: missing "id"'),
        (['{"id": "a"}'], ':1: missing "question"'),
        (['{"id": "a", "question": "   "}'], ':1: missing "question"'),
        (
            ['{"id": "a", "question": "one"}', "", '{"id": "a", "question": "two"}'],
            ":3: duplicate id 'a' (first on line 1)",
        ),
    ],
)
def test_bad_lines_are_named_and_exit_1(ingested, cli_env, run_cli, tmp_path, lines, message):
    questions = _write(tmp_path / "bad.jsonl", lines)
    out = tmp_path / "groups.json"

    result = run_cli(
        "gaps", "group", str(questions), "--json", str(out),
        env=cli_env(ingested["data"]), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert f"bad.jsonl{message}" in result.stderr
    assert not out.exists()


def test_a_missing_file_exits_1(ingested, cli_env, run_cli, tmp_path):
    result = run_cli(
        "gaps", "group", str(tmp_path / "nope.jsonl"),
        env=cli_env(ingested["data"]), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 1
    assert "nope.jsonl: no such file" in result.stderr
    assert result.stdout == ""


def test_an_unknown_course_exits_1_and_lists_the_known_ones(ingested, cli_env, run_cli, tmp_path):
    questions = _questions(tmp_path / "questions.jsonl", QUESTIONS[:1])

    result = run_cli(
        "gaps", "group", str(questions), "--course", "no-such-course",
        env=cli_env(ingested["data"]), cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 1
    assert "unknown course 'no-such-course' (known: tiny)" in result.stderr
    assert result.stdout == ""

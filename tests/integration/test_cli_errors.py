"""How ``kdt-tutor`` reports each branch of the error tree: ``error: <message>`` on stderr,
no traceback, exit 2 (a command stopped by an error); exit 1 only where a command ran and
found failures (a bad input line of ``gaps group``, an exercise folder that fails)."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stopped(result, message: str, code: int = 2) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert f"error: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_input_exits_2(tmp_path, cli_env, run_cli) -> None:
    result = run_cli("learner", "fit", "nocourse", env=cli_env(tmp_path / "data"), cwd=tmp_path)
    _stopped(result, "course 'nocourse' has no evidence yet")


def test_not_found_exits_2(tmp_path, cli_env, run_cli) -> None:
    result = run_cli("learner", "show", "nobody", env=cli_env(tmp_path / "data"), cwd=tmp_path)
    _stopped(result, "no user 'nobody'")


def test_a_course_without_material_exits_2_naming_the_command_that_loads_it(
    tmp_path, cli_env, run_cli
) -> None:
    env = cli_env(tmp_path / "data")
    added = run_cli(
        "user", "add", "alice", "--role", "trainee", "--course", "never-ingested",
        "--password", "password-123", env=env, cwd=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    result = run_cli("learner", "show", "alice", env=env, cwd=tmp_path)
    _stopped(result, "course 'never-ingested' has no material in the knowledge base")
    assert "kdt-tutor ingest" in result.stderr


def test_a_setting_that_cannot_work_exits_2(tmp_path, cli_env, run_cli) -> None:
    env = cli_env(tmp_path / "data", KDT_EMBEDDING="-x")
    _stopped(run_cli("search", "what is a list", env=env, cwd=tmp_path), "unknown embedding '-x'")


def test_an_unreachable_backend_exits_2(tmp_path, cli_env, run_cli) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    env = cli_env(tmp_path / "data", KDT_CHROMA_URL=url)
    result = run_cli("search", "what is a list", env=env, cwd=tmp_path)
    _stopped(result, f"cannot reach Chroma at {url}")


def test_gaps_group_exits_1_for_bad_input_only(tmp_path, cli_env, run_cli) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "1", "question": "what is a list?"}\n{"id": "1"}\n')
    bad_line = run_cli("gaps", "group", str(questions), env=cli_env(tmp_path / "a"), cwd=tmp_path)
    _stopped(bad_line, f"{questions}:2:", code=1)
    # A broken setting is not the questions' fault: it stops the command like anywhere else
    # (it used to be caught with the bad input and exit 1).
    questions.write_text('{"id": "1", "question": "what is a list?"}\n')
    env = cli_env(tmp_path / "b", KDT_EMBEDDING="-x")
    _stopped(run_cli("gaps", "group", str(questions), env=env, cwd=tmp_path), "unknown embedding")


def test_exercise_check_fails_a_folder_for_its_files_and_goes_on(
    tmp_path, cli_env, run_cli
) -> None:
    broken = tmp_path / "no-solution"
    broken.mkdir()
    (broken / "tests.json").write_text('{"function": "f", "cases": []}')
    result = run_cli("exercise", "check", str(broken), env=cli_env(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL {broken}: {broken}: no solution.py" in result.stdout
    assert "Traceback" not in result.stderr

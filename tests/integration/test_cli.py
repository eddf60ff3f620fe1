"""``kdt-tutor`` as a user runs it: a subprocess with its environment, on a tiny course."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, course_files, write_course, cli_env, run_cli):
    """One CLI ingest of the tiny course; tests that change the KB work on a copy."""
    root = tmp_path_factory.mktemp("cli")
    course = write_course(root / "tiny", course_files["tiny"])
    data = root / "data"
    result = run_cli("ingest", str(course), env=cli_env(data), cwd=root)
    docs = sorted(f"tiny/{rel}" for rel in course_files["tiny"] if rel.endswith(".md"))
    return {"result": result, "data": data, "docs": docs, "course": course}


@pytest.fixture
def data_copy(ingested, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(ingested["data"], data)
    return data


def test_ingest_prints_the_summary_and_exits_0(ingested) -> None:
    result = ingested["result"]

    assert result.returncode == 0, result.stdout + result.stderr
    n = len(ingested["docs"])
    assert result.stdout.startswith(
        f"course tiny: {n} added, 0 updated, 0 unchanged, 0 removed, 0 failed, 1 skipped"
    )
    assert "failed " not in result.stdout


def test_ingest_with_a_bad_file_exits_1_and_prints_the_reason(
    tmp_path, write_course, cli_env, run_cli
) -> None:
    course = write_course(
        tmp_path / "mixed",
        {"good.md": "# Good\n\nA good lesson about sets.\n", "bad.md": b"\x00\x01\x02binary\xff"},
    )

    result = run_cli("ingest", str(course), env=cli_env(tmp_path / "data"), cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 added" in result.stdout
    assert "1 failed" in result.stdout
    assert f"failed  {course / 'bad.md'}: not a text file" in result.stdout


def test_ingest_of_a_missing_path_exits_2_with_an_error(tmp_path, cli_env, run_cli) -> None:
    result = run_cli("ingest", "no-such-folder", env=cli_env(tmp_path / "data"), cwd=tmp_path)

    assert result.returncode == 2
    assert "error: no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_search_json_returns_hits_with_provenance(ingested, data_copy, cli_env, run_cli) -> None:
    result = run_cli(
        "search", "sort method changes the list in place", "--k", "3", "--json",
        env=cli_env(data_copy), cwd=data_copy.parent,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert 1 <= len(hits) <= 3
    keys = {
        "score", "ranks", "chunk_id", "doc_id", "title", "heading_path", "line_start",
        "line_end", "course", "kind", "level", "lang", "text",
    }  # fmt: skip
    for hit in hits:
        assert set(hit) == keys
        assert hit["doc_id"] in ingested["docs"]
        assert hit["kind"] != "solution"
        source = ingested["course"] / hit["doc_id"].removeprefix("tiny/")
        lines = source.read_text(encoding="utf-8").split("\n")
        span = lines[hit["line_start"] - 1 : hit["line_end"]]
        assert " ".join("\n".join(span).split()) == " ".join(hit["text"].split())
    sorting = [h for h in hits if "sort method changes the list in place" in h["text"]]
    assert sorting, "the passage that answers the query must be among the hits"
    assert sorting[0]["doc_id"] == "tiny/lessons/01-lists.md"
    assert sorting[0]["heading_path"][0] == "Lists"


def test_kb_list_shows_every_document(ingested, cli_env, run_cli) -> None:
    result = run_cli("kb", "list", env=cli_env(ingested["data"]), cwd=ingested["data"].parent)

    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert listed == ingested["docs"]
    assert all(line.rstrip().endswith("ready") for line in result.stdout.splitlines() if line)


def test_kb_show_prints_the_document_and_its_chunks(ingested, cli_env, run_cli) -> None:
    result = run_cli(
        "kb", "show", "tiny/lessons/01-lists.md",
        env=cli_env(ingested["data"]), cwd=ingested["data"].parent,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "doc_id: tiny/lessons/01-lists.md" in result.stdout
    assert "title: Lists" in result.stdout
    assert "--- chunk 0  lines " in result.stdout
    assert "Lists grow with append and shrink with pop." in result.stdout


def test_kb_check_reports_consistent(ingested, cli_env, run_cli) -> None:
    result = run_cli("kb", "check", env=cli_env(ingested["data"]), cwd=ingested["data"].parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"consistent: {len(ingested['docs'])} documents")


def test_kb_remove_then_show_is_not_found(
    data_copy, cli_env, run_cli, kb_config, make_kb
) -> None:
    env, cwd = cli_env(data_copy), data_copy.parent
    doc = "tiny/lessons/02-loops.md"

    removed = run_cli("kb", "remove", doc, env=env, cwd=cwd)

    assert removed.returncode == 0, removed.stderr
    assert f"removed {doc}" in removed.stdout
    shown = run_cli("kb", "show", doc, env=env, cwd=cwd)
    assert shown.returncode == 2
    assert "no document" in shown.stderr
    kb = make_kb(kb_config(data_copy))
    assert doc not in {r.doc_id for r in kb.registry.list()}
    assert doc not in set(kb.vectors.ids().values())
    assert not any(c.startswith(f"{doc}#") for c in kb.lexical.chunk_ids())
    assert kb.check() == []


def test_search_on_an_empty_knowledge_base_prints_no_results(tmp_path, cli_env, run_cli) -> None:
    result = run_cli("search", "list comprehension", env=cli_env(tmp_path / "data"), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no results"


def _lesson(title: str, skills: str, prerequisites: str = "[]") -> str:
    return (
        f"---\ntitle: {title}\nkind: lesson\nlevel: 1\nskills: {skills}\n"
        f"prerequisites: {prerequisites}\n---\n\n# {title}\n\nSome text about {title}.\n"
    )


def test_ingest_reports_a_prerequisite_cycle_and_exits_1(
    tmp_path, write_course, cli_env, run_cli
) -> None:
    course = write_course(
        tmp_path / "loopy",
        {
            "a.md": _lesson("Alpha", "[alpha]", "[beta]"),
            "b.md": _lesson("Beta", "[beta]", "[alpha]"),
        },
    )

    result = run_cli("ingest", str(course), env=cli_env(tmp_path / "data"), cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 added" in result.stdout  # the material itself is indexed
    assert "skill map invalid: " in result.stdout
    assert "prerequisite cycle" in result.stdout
    assert "alpha" in result.stdout and "beta" in result.stdout


def test_ingest_reports_an_unknown_skill_in_course_yaml_as_json(
    tmp_path, write_course, cli_env, run_cli
) -> None:
    course = write_course(
        tmp_path / "declared",
        {
            "course.yaml": "id: declared\nskills:\n  alpha: {name: Alpha, level: 1}\n",
            "a.md": _lesson("Alpha", "[alpha, gamma]"),
        },
    )

    result = run_cli(
        "ingest", str(course), "--json", env=cli_env(tmp_path / "data"), cwd=tmp_path
    )

    assert result.returncode == 1, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["skill_map"]["ok"] is False
    assert "unknown skill 'gamma'" in body["skill_map"]["error"]


def test_ingest_of_a_valid_course_reports_its_skill_map(
    tmp_path, write_course, cli_env, run_cli
) -> None:
    course = write_course(
        tmp_path / "fine",
        {"a.md": _lesson("Alpha", "[alpha]"), "b.md": _lesson("Beta", "[beta]", "[alpha]")},
    )

    result = run_cli("ingest", str(course), env=cli_env(tmp_path / "data"), cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "skill map: 2 skills, 0 quiz items" in result.stdout

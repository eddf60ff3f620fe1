"""The search page in real Chromium against a real server, in Korean and English."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, serving, write_dicts_lessons

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    course = root / "mini"
    write_dicts_lessons(course)
    with serving(root / "var", course) as url:
        yield url


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

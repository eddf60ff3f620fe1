"""The chat page in real Chromium against a real server: log in, ask in Korean and English,
open a citation, reload into the history, give feedback."""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    add_user,
    ask_in_chat,
    log_in,
    serving,
    write_dicts_lessons,
)

pytestmark = pytest.mark.browser

COURSE_ID = "mini-chat"
USERNAME = "trainee1"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("chat")
    course = root / COURSE_ID
    write_dicts_lessons(course)
    data_dir = root / "var"
    add_user(data_dir, USERNAME, password=PASSWORD, course=COURSE_ID, name="Kim Minji")
    with serving(data_dir, course) as url:
        yield url


def _log_in(page, server: str, lang: str) -> None:
    log_in(page, server, (USERNAME, PASSWORD), f"/chat?lang={lang}")  # the chat needs a login


def _ask(page, question: str):
    """Send ``question`` and wait until the streamed answer is done; return the answer."""
    answer = ask_in_chat(page, question)
    assert page.locator("[data-testid=chat-send]").is_enabled()
    assert page.locator("[data-testid=chat-error]").is_hidden()
    return answer


def test_chat_in_korean_then_english(server: str, page) -> None:
    _log_in(page, server, "ko")
    assert page.locator("h1.chat-head-title").inner_text() == "튜터에게 질문하기"
    badge = page.locator("[data-testid=level-badge]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=level-badge]').textContent !== 'Lv?'"
    )
    assert badge.inner_text() in {"Lv1", "Lv2", "Lv3", "Lv4"}
    assert COURSE_ID in page.locator("[data-testid=course-name]").inner_text()

    answer = _ask(page, "딕셔너리의 키와 값을 같이 반복하려면 어떻게 하나요?")
    assert page.locator("[data-testid=message-user]").first.inner_text().startswith("나")
    text = answer.locator("[data-testid=answer-text]").inner_text()
    assert "items()" in text
    assert "딕셔너리" in text or "반복" in text
    chips = answer.locator("[data-testid=citation-chip]")
    assert chips.count() >= 1

    chips.first.click()
    panel = page.locator("[data-testid=citation-panel]")
    panel.wait_for(state="visible")
    assert "items()" in panel.locator("pre").inner_text()
    assert "dicts" in panel.inner_text()  # the doc id
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-ko.png"))

    # English UI, same login; a new conversation in English.
    page.goto(f"{server}/chat?lang=en")
    assert page.locator("h1.chat-head-title").inner_text() == "Ask the tutor"
    page.click("[data-testid=chat-new]")
    answer = _ask(page, "How do I loop over keys and values of a dictionary?")
    text = answer.locator("[data-testid=answer-text]").inner_text()
    assert "items()" in text
    assert answer.locator("[data-testid=citation-chip]").count() >= 1
    assert answer.locator("[data-testid=source-item]").count() >= 1

    # Reload: both conversations are in the sidebar, and the open one comes back.
    page.reload()
    items = page.locator("[data-testid=conversation-item]")
    items.first.wait_for()
    assert items.count() == 2
    assert "loop over keys" in items.first.inner_text()
    page.locator("[data-testid=message-assistant]").first.wait_for()

    # Thumbs up on the answer is saved (and survives a reload).
    page.locator("[data-testid=feedback-up]").first.click()
    status = page.locator("[data-testid=feedback-status]").first
    page.wait_for_function(
        "() => document.querySelector('[data-testid=feedback-status]').textContent.length > 0"
    )
    assert "saved" in status.inner_text()
    page.screenshot(path=str(ARTIFACTS / "chat-en.png"))
    page.reload()
    page.locator("[data-testid=feedback-up].selected").wait_for()

    # The older Korean conversation opens from the sidebar with its citations.
    page.locator("[data-testid=conversation-item]").nth(1).locator("button").first.click()
    page.locator("[data-testid=message-user]", has_text="딕셔너리").wait_for()
    assert page.locator("[data-testid=citation-chip]").count() >= 1


def test_too_long_message_shows_the_server_error(server: str, page) -> None:
    _log_in(page, server, "en")
    page.fill("[data-testid=chat-input]", "x" * 4500)
    page.click("[data-testid=chat-send]")
    error = page.locator("[data-testid=chat-error]")
    error.wait_for(state="visible")
    assert "limit is 4000" in error.inner_text()
    # The question comes back to the box so it can be shortened.
    assert len(page.locator("[data-testid=chat-input]").input_value()) == 4500
    assert page.locator("[data-testid=message-user]").count() == 0


def test_chat_needs_login(server: str, page) -> None:
    page.goto(server + "/chat")
    assert "/login?next=%2Fchat" in page.url

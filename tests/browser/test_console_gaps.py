"""Content gaps in real Chromium against a real server (issue 7, item 7): a trainee's
question the course cannot answer reaches the instructor's gaps page, the instructor answers
it with an FAQ, and the trainee's repeated question is then answered with a citation."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, add_user, ask_in_chat, log_in, serving

pytestmark = pytest.mark.browser

COURSE_ID = "mini-gaps"
TRAINEE = ("trainee1", "trainee password 1")
INSTRUCTOR = ("teacher1", "teacher password 1")
QUESTION = "최종 프로젝트 발표는 언제인가요?"

LESSON_KO = """---
title: 리스트
kind: lesson
level: 1
lang: ko
---
# 리스트

## 항목 추가하기

리스트의 끝에 항목 하나를 추가하려면 `append` 메서드를 사용합니다: `scores.append(90)`.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("gaps")
    course = root / COURSE_ID
    (course / "lessons-ko").mkdir(parents=True)
    (course / "lessons-ko" / "lists.md").write_text(LESSON_KO, encoding="utf-8")
    data_dir = root / "var"
    for (username, password), role in ((TRAINEE, "trainee"), (INSTRUCTOR, "instructor")):
        add_user(data_dir, username, password=password, course=COURSE_ID, role=role)
    with serving(data_dir, course) as url:
        yield url


def test_an_faq_written_from_a_gap_answers_the_repeated_question(server: str, browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    trainee = browser.new_context(locale="ko-KR", viewport={"width": 1200, "height": 900})
    instructor = browser.new_context(locale="ko-KR", viewport={"width": 1200, "height": 900})
    try:
        chat = trainee.new_page()
        log_in(chat, server, TRAINEE, "/chat?lang=ko")
        first = ask_in_chat(chat, QUESTION)
        assert first.locator("[data-testid=citation-chip]").count() == 0

        console = instructor.new_page()
        log_in(console, server, INSTRUCTOR, "/console/gaps?lang=ko")
        group = console.locator("[data-testid=gap-group]", has_text=QUESTION)
        group.wait_for()
        assert group.locator("[data-testid=gap-count]").inner_text() == "1"
        console.screenshot(path=str(ARTIFACTS / "console-gaps-open.png"), full_page=True)

        group.locator("[data-testid=gap-answer-open]").click()
        group.locator("input[name=title]").fill("최종 프로젝트 발표 일정")
        group.locator("[data-testid=gap-faq-answer]").fill(
            "최종 프로젝트 발표는 12주차 금요일입니다. 팀마다 10분 동안 발표하고 질문에 답합니다."
        )
        group.locator("[data-testid=gap-faq-save]").click()
        resolved = console.locator("[data-testid=gap-resolved]", has_text="최종 프로젝트 발표 일정")
        resolved.wait_for(timeout=60_000)
        assert resolved.get_attribute("data-status") == "answered"
        assert console.locator("[data-testid=gap-group]", has_text=QUESTION).count() == 0
        console.screenshot(path=str(ARTIFACTS / "console-gaps-resolved.png"), full_page=True)

        chat.click("[data-testid=chat-new]")
        again = ask_in_chat(chat, QUESTION)
        text = again.locator("[data-testid=answer-text]").inner_text()
        assert "12주차 금요일" in text
        chips = again.locator("[data-testid=citation-chip]")
        assert chips.count() >= 1
        chips.first.click()
        panel = chat.locator("[data-testid=citation-panel]")
        panel.wait_for(state="visible")
        assert "faq-" in panel.inner_text()  # the FAQ document's id
        chat.screenshot(path=str(ARTIFACTS / "chat-faq-answer.png"))
    finally:
        trainee.close()
        instructor.close()

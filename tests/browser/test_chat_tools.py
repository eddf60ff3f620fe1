"""The chat page's tools in real Chromium against a real server whose LLM is the scripted
OpenAI-compatible server: highlighted code and copy buttons, citation chips, stop, answer
again, rename and search, at 1366 px and at 390 px (a phone), in English and Korean."""

from __future__ import annotations

import pytest

from api.i18n import messages
from tests.browser.conftest import (
    ARTIFACTS,
    add_user,
    ask_in_chat,
    log_in,
    serving,
    write_dicts_lessons,
)
from tests.fakes.openai_server import ScriptClient

pytestmark = pytest.mark.browser

COURSE_ID = "mini-tools"
PASSWORD = "correct horse battery"
# One trainee per (width, language) run, so each run starts with an empty history.
USERS = [f"trainee-{lang}-{width}" for width in (1366, 390) for lang in ("en", "ko")]


# A document without sections: its citations have no heading path beyond the title.
HOURS_EN = """---
title: Office hours
kind: lesson
lang: en
---
# Office hours

Office hours with the instructors are every Thursday at 3 pm in room 204.
"""

HOURS_KO = """---
title: 상담 시간
kind: lesson
lang: ko
---
# 상담 시간

강사 상담 시간은 매주 목요일 오후 3시, 204호입니다.
"""

CODE = "for key, value in scores.items():\n    print(key, value)"
LONG_LINE = 'message = "' + "a" * 220 + '"'
ANSWER = (
    "Use the `items()` method [1]; a quokka would approve.\n\n"
    f"```python\n{CODE}\n```\n\n"
    "A long line scrolls inside its own box:\n\n"
    f"```python\n{LONG_LINE}\n```"
)
SECOND_ANSWER = "Second version: `dict.items()` gives (key, value) pairs [1]."
SLOW_ANSWER = "Loop with items() [1]. " + " ".join(f"step{i}" for i in range(80))
QUESTION = {
    "en": "How do I loop over keys and values of a dictionary?",
    "ko": "딕셔너리의 키와 값을 같이 반복하려면 어떻게 하나요?",
}
HOURS_QUESTION = {"en": "When are the office hours?", "ko": "강사 상담 시간은 언제인가요?"}
HOURS_TITLE = {"en": "Office hours", "ko": "상담 시간"}


def t(lang: str, key: str) -> str:
    return messages(lang)[key]


@pytest.fixture(scope="module")
def llm(llm_server: str) -> tuple[ScriptClient, str]:
    return ScriptClient(llm_server), llm_server


@pytest.fixture(scope="module")
def server(tmp_path_factory, llm):
    root = tmp_path_factory.mktemp("chat-tools")
    course = root / COURSE_ID
    write_dicts_lessons(course)
    (course / "lessons" / "hours.md").write_text(HOURS_EN, encoding="utf-8")
    (course / "lessons-ko" / "hours.md").write_text(HOURS_KO, encoding="utf-8")
    data_dir = root / "var"
    for username in USERS:
        add_user(data_dir, username, password=PASSWORD, course=COURSE_ID, name="Lee Jiwoo")
    llm_env = {
        "KDT_ANSWERER": "openai",
        "KDT_LLM_BASE_URL": llm[1],
        "KDT_LLM_MODEL": "scripted-model",
        "KDT_LLM_TIMEOUT_S": "20",
    }
    with serving(data_dir, course, env_extra=llm_env) as url:
        yield url


def _page(browser, server: str, *, width: int, lang: str):
    """A logged-in chat page at ``width`` px in ``lang``, allowed to read the clipboard."""
    context = browser.new_context(
        locale="ko-KR" if lang == "ko" else "en-US",
        viewport={"width": width, "height": 844 if width < 600 else 900},
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    log_in(page, server, (f"trainee-{lang}-{width}", PASSWORD), f"/chat?lang={lang}")
    return page


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("innerWidth"), f"the page is {width} px wide"


def _fully_visible(page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    view = page.viewport_size
    assert box is not None, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= view["width"], (selector, box)
    assert box["y"] + box["height"] <= view["height"], (selector, box)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def _stored_roles(page, conversation_id: str) -> list[str]:
    body = page.evaluate(
        "id => fetch('/api/conversations/' + id).then(r => r.json())", conversation_id
    )
    return [m["role"] for m in body["messages"]]


def _conversation_id(page) -> str:
    return page.evaluate("new URL(location.href).searchParams.get('c')")


def _open_list(page) -> None:
    """At phone width the conversation list is a drawer: open it."""
    toggle = page.locator("[data-testid=history-toggle]")
    if toggle.is_visible():
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        page.wait_for_function(  # slid in all the way
            "() => document.getElementById('chat-sidebar').getBoundingClientRect().left >= 0"
        )
    page.locator("[data-testid=conversation-search]").wait_for(state="visible")


def _close_list(page) -> None:
    if page.locator("[data-testid=history-toggle]").is_visible():
        page.keyboard.press("Escape")
        page.locator("[data-testid=chat-sidebar]").wait_for(state="hidden")


def _wait_answered(page) -> None:
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=chat-send]').disabled", timeout=60_000
    )


@pytest.mark.parametrize(("width", "lang"), [(1366, "en"), (390, "ko")])
def test_answer_tools_stop_regenerate_rename_search(server, llm, browser, width, lang) -> None:
    script = llm[0]
    page = _page(browser, server, width=width, lang=lang)
    name = f"chat-tools-{lang}-{width}"
    _no_sideways_scroll(page)
    _fully_visible(page, "[data-testid=chat-send]")
    _fully_visible(page, "[data-testid=chat-input]")
    if width < 600:
        assert page.locator("[data-testid=chat-sidebar]").is_hidden()  # a drawer, closed

    # An answer with code: highlighted, each block with its copy button; [1] is a chip.
    script.reset()
    script.script({"content": ANSWER})
    answer = ask_in_chat(page, QUESTION[lang])
    first_id = _conversation_id(page)
    body = answer.locator("[data-testid=answer-text]")
    assert body.locator("pre.code").count() == 2
    assert body.locator("pre.code .k", has_text="for").count() >= 1  # a highlighted keyword
    assert page.evaluate(
        "() => getComputedStyle(document.querySelector('pre.code .k')).color"
    ) != page.evaluate("() => getComputedStyle(document.querySelector('pre.code')).color")
    long_block = body.locator("pre.code").nth(1)
    assert long_block.evaluate("e => e.scrollWidth > e.clientWidth")  # it scrolls, not the page
    _no_sideways_scroll(page)
    _shot(page, f"{name}-answer")

    copy_code = answer.locator("[data-testid=copy-code]").first
    assert copy_code.get_attribute("aria-label") == t(lang, "chat_copy_code")
    copy_code.click()
    page.wait_for_function("() => document.querySelector('[data-testid=copy-code]')"
                           ".dataset.copied === 'true'")  # fmt: skip
    assert _clipboard(page) == CODE
    assert t(lang, "chat_copied") in copy_code.inner_text()
    answer.locator("[data-testid=copy-answer]").click()
    page.wait_for_function("() => document.querySelector('[data-testid=copy-answer]')"
                           ".dataset.copied === 'true'")  # fmt: skip
    assert _clipboard(page) == ANSWER

    chip = body.locator("[data-testid=citation-chip]")
    assert chip.count() == 1
    assert chip.get_attribute("aria-label") == t(lang, "chat_source_n").replace("{n}", "1")
    chip.click()
    panel = page.locator("[data-testid=citation-panel]")
    panel.wait_for(state="visible")
    assert "items()" in panel.locator("pre").inner_text()
    _no_sideways_scroll(page)
    _fully_visible(page, "[data-testid=citation-close]")
    _shot(page, f"{name}-citation")
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")

    # Answer again: the answer is replaced in place, the question is stored once.
    script.script({"content": SECOND_ANSWER})
    regenerate = answer.locator("[data-testid=regenerate]")
    assert regenerate.get_attribute("aria-label") == t(lang, "chat_regenerate_label")
    regenerate.click()
    page.locator("[data-testid=answer-text]", has_text="Second version").wait_for()
    _wait_answered(page)
    assert page.locator("[data-testid=message-user]").count() == 1
    assert page.locator("[data-testid=message-assistant]").count() == 1
    assert "quokka" not in page.locator("[data-testid=chat-messages]").inner_text()
    assert _stored_roles(page, first_id) == ["user", "assistant"]

    # Stop: a slow answer is stopped part way; the page says so and stays usable.
    if width < 600:
        _open_list(page)
    page.click("[data-testid=chat-new]")
    script.script({"content": SLOW_ANSWER, "chunk_delay_s": 0.15})
    page.fill("[data-testid=chat-input]", QUESTION[lang])
    page.press("[data-testid=chat-input]", "Enter")
    stop = page.locator("[data-testid=chat-stop]")
    stop.wait_for(state="visible")
    assert page.locator("[data-testid=chat-send]").is_hidden()
    _fully_visible(page, "[data-testid=chat-stop]")
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=answer-text]') || {}).textContent"
        "?.includes('step3')"
    )
    _shot(page, f"{name}-streaming")
    stop.click()
    stopped = page.locator("[data-testid=answer-stopped]")
    stopped.wait_for()
    assert stopped.inner_text() == t(lang, "chat_stopped")
    assert stop.is_hidden() and page.locator("[data-testid=chat-send]").is_enabled()
    assert page.locator("[data-testid=chat-input]").is_enabled()
    assert page.locator("[data-testid=chat-error]").is_hidden()
    partial = page.locator("[data-testid=answer-text]").inner_text()
    assert "step3" in partial and "step79" not in partial
    _shot(page, f"{name}-stopped")
    stopped_id = _conversation_id(page)
    assert stopped_id and stopped_id != first_id
    page.wait_for_timeout(1500)  # the server had its chance to store more; it must not
    assert _stored_roles(page, stopped_id) == ["user"]

    # After a reload the question shows without an answer, and can be answered again.
    page.reload()
    page.locator("[data-testid=message-user]").wait_for()
    assert page.locator("[data-testid=answer-stopped]").inner_text() == t(lang, "chat_unanswered")
    script.script({"content": SECOND_ANSWER})
    page.locator("[data-testid=regenerate]").click()
    page.locator("[data-testid=answer-text]", has_text="Second version").wait_for()
    _wait_answered(page)
    assert page.locator("[data-testid=answer-stopped]").count() == 0
    assert _stored_roles(page, stopped_id) == ["user", "assistant"]

    # Rename the first conversation (HTML in a title is text), refuse an empty title.
    _open_list(page)
    item = page.locator(f"[data-testid=conversation-item][data-id='{first_id}']")
    item.locator("[data-testid=conversation-rename]").click()
    field = page.locator("[data-testid=rename-input]")
    assert field.get_attribute("aria-label") == t(lang, "chat_rename_label")
    field.fill("<b>Dict</b> loops")
    field.press("Enter")
    title = item.locator("[data-testid=conversation-title]")
    page.wait_for_function(
        "id => document.querySelector(`[data-id='${id}'] [data-testid=conversation-title]`)"
        "?.textContent === '<b>Dict</b> loops'",
        arg=first_id,
    )
    assert item.locator("b").count() == 0
    item.locator("[data-testid=conversation-rename]").click()
    field.fill("   ")
    field.press("Enter")
    assert page.locator("[data-testid=rename-error]").inner_text() == t(lang, "chat_rename_empty")
    field.press("Escape")
    assert title.inner_text() == "<b>Dict</b> loops"
    _no_sideways_scroll(page)
    _shot(page, f"{name}-list")

    # Search: a word only in the first conversation's first answer... which was replaced;
    # the second answer's words are in both conversations, the new title in one.
    search = page.locator("[data-testid=conversation-search]")
    search.fill("dict</b>")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=conversation-item]').length === 1"
    )
    assert page.locator("[data-testid=conversation-item]").get_attribute("data-id") == first_id
    search.fill("second VERSION")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=conversation-match]').length === 2"
    )
    assert "Second version" in page.locator("[data-testid=conversation-match]").first.inner_text()
    search.fill("no such words anywhere")
    empty = page.locator("[data-testid=conversation-empty]")
    empty.wait_for(state="visible")
    assert "no such words anywhere" in empty.inner_text()
    assert page.locator("[data-testid=conversation-item]").count() == 0
    search.fill("")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=conversation-item]').length === 2"
    )
    _close_list(page)
    _no_sideways_scroll(page)
    page.context.close()


@pytest.mark.parametrize(("width", "lang"), [(390, "en"), (1366, "ko")])
def test_layout_in_the_other_language(server, llm, browser, width, lang) -> None:
    """The same page at the other width per language: no sideways scroll, Send visible, the
    list a drawer on the phone, the citation panel usable."""
    script = llm[0]
    page = _page(browser, server, width=width, lang=lang)
    script.reset()
    script.script({"content": ANSWER})
    answer = ask_in_chat(page, HOURS_QUESTION[lang])  # the answer is scripted; [1] is hours
    assert answer.locator("pre.code .k").count() >= 1
    _no_sideways_scroll(page)
    _fully_visible(page, "[data-testid=chat-send]")
    answer.locator("[data-testid=citation-chip]").click()
    panel = page.locator("[data-testid=citation-panel]")
    panel.wait_for(state="visible")
    assert panel.locator("#citation-title").inner_text() == HOURS_TITLE[lang]  # no "null"
    assert "204" in panel.locator("pre").inner_text()
    _fully_visible(page, "[data-testid=citation-close]")
    _no_sideways_scroll(page)
    _shot(page, f"chat-tools-{lang}-{width}-citation")
    page.click("[data-testid=citation-close]")
    _open_list(page)
    assert page.locator("[data-testid=conversation-item]").count() >= 1
    _no_sideways_scroll(page)
    _shot(page, f"chat-tools-{lang}-{width}-list")
    page.context.close()

"""Browser fixtures: a real `kdt-tutor serve` process and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, course: Path, env_extra: dict | None = None):
    """Ingest ``course`` with the CLI, then start `kdt-tutor serve`; returns (process, url)."""
    env = {
        **os.environ,
        "KDT_DATA_DIR": str(data_dir),
        "KDT_EMBEDDING": "usem3",
        "HF_HUB_OFFLINE": "1",
        **(env_extra or {}),
    }
    cli = [sys.executable, "-m", "kdt_tutor"]
    subprocess.run([*cli, "ingest", str(course)], env=env, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not become healthy in 120 s")


@contextmanager
def serving(data_dir: Path, course: Path, env_extra: dict | None = None) -> Iterator[str]:
    """Ingest ``course`` and serve it (``start_server``) for the ``with`` block; gives the url."""
    proc, url = start_server(data_dir, course, env_extra)
    try:
        yield url
    finally:
        stop_server(proc)


def add_user(
    data_dir: Path,
    username: str,
    *,
    password: str,
    course: str,
    role: str = "trainee",
    name: str | None = None,
) -> None:
    """Create an account in ``data_dir`` with the CLI (`kdt-tutor user add`)."""
    env = {**os.environ, "KDT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "kdt_tutor", "user", "add", username, "--role", role,
               "--course", course, "--password", password]  # fmt: skip
    if name:
        command += ["--name", name]
    subprocess.run(command, env=env, check=True, capture_output=True)


DICTS_LESSON_EN = """---
title: Dictionaries
kind: lesson
level: 2
lang: en
---
# Dictionaries

## Looping over a dictionary

To loop over keys and values together, use the `items()` method.

```python
for key, value in scores.items():
    print(key, value)
```
"""

DICTS_LESSON_KO = """---
title: 딕셔너리
kind: lesson
level: 2
lang: ko
---
# 딕셔너리

## 딕셔너리 반복하기

딕셔너리의 키와 값을 함께 반복하려면 `items()` 메서드를 사용합니다.

```python
for key, value in scores.items():
    print(key, value)
```
"""


def write_dicts_lessons(course: Path) -> None:
    """The dictionaries lesson in English and Korean: ``lessons/`` and ``lessons-ko/dicts.md``."""
    for folder, text in (("lessons", DICTS_LESSON_EN), ("lessons-ko", DICTS_LESSON_KO)):
        (course / folder).mkdir(parents=True, exist_ok=True)
        (course / folder / "dicts.md").write_text(text, encoding="utf-8")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def log_in(page, server: str, who: tuple[str, str], target: str) -> None:
    """Open ``target``, get sent to the login page, log in as ``who`` (username, password)
    and land back on ``target``."""
    page.goto(f"{server}{target}")
    page.wait_for_url("**/login**")
    page.fill("#username", who[0])
    page.fill("#password", who[1])
    page.click("form[data-testid=login-form] button[type=submit]")
    page.wait_for_url(f"**{target.split('?')[0]}**")


def ask_in_chat(page, question: str):
    """Send ``question`` on the chat page and wait for the whole answer; its element."""
    answers = page.locator("[data-testid=message-assistant]")
    before = answers.count()
    page.fill("[data-testid=chat-input]", question)
    page.press("[data-testid=chat-input]", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=message-assistant]').length > n", arg=before
    )
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=chat-send]').disabled", timeout=60_000
    )
    return answers.nth(before)


@pytest.fixture(scope="session")
def browser():
    assert CHROMIUM.exists(), (
        "Debian chromium is required for the browser tests (/usr/bin/chromium): "
        "apt-get install chromium fonts-nanum (.ci/run installs them); they are never skipped"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ko-KR", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()

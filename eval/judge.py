"""LLM-judged metrics: faithfulness, relevance and correctness, scored by a chat model.

The adapter for the eval harness's judge: LangChain ``ChatOpenAI`` on any OpenAI-compatible
URL (``KDT_JUDGE_BASE_URL``, ``KDT_JUDGE_MODEL``, ``KDT_JUDGE_API_KEY``). LangChain and the
``openai`` SDK are imported inside this module only; callers see ``Score``s.

For one item, ``LLMJudge.judge`` returns exactly the keys of ``JUDGE_METRICS`` in
``eval/metrics/catalog.py``:

- ``judge_faithfulness``: every claim of the answer is supported by the numbered passages
  (``prompts/eval/faithfulness.text.j2``);
- ``judge_relevance``: the answer addresses the question (``relevance.text.j2``);
- ``judge_correctness``: the answer agrees with the reference answer
  (``correctness.text.j2``); not applicable (value ``None``) when the item has no reference.

Each metric is asked ``trials`` times at temperature 0, one call after the other
(faithfulness, then relevance, then correctness). The value is the mean of the trials that
gave a valid judgement; ``details`` lists every trial and reports the ``spread`` (max - min)
and ``std`` (sample standard deviation, 0 for a single valid trial) of the valid scores:
temperature 0 does not make hosted models deterministic, and the spread shows how much a
judged score can be trusted.

Failure policy (the run must complete): a call that fails (HTTP error, timeout, connection
error) or a reply that is not a valid judgement is a failed trial, logged as a warning with
a log-safe detail (``HTTP 500``, ``timeout``, ``connection error``; never the key or the
prompt). The SDK retries a failed call once. When every trial of a metric fails, its
``Score`` has value ``None``, reason ``"judge failed: <error>"`` and ``details["error"]``.
When every trial failed at the endpoint (not in parsing), the item's remaining metrics are
marked failed with the same error (``details["skipped"]``) without calling again, so a dead
endpoint costs ``trials`` calls per item, not ``3 * trials``. ``judge`` never raises for
endpoint errors.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from eval.metrics.score import Score, not_applicable
from prompts import render
from tutor.errors import ConfigError

if TYPE_CHECKING:
    from tutor.settings import Settings

log = logging.getLogger("kdt.eval.judge")

FAITHFULNESS = "judge_faithfulness"
RELEVANCE = "judge_relevance"
CORRECTNESS = "judge_correctness"
METRIC_KEYS = (FAITHFULNESS, RELEVANCE, CORRECTNESS)
_PROMPTS = {
    FAITHFULNESS: "eval/faithfulness.text",
    RELEVANCE: "eval/relevance.text",
    CORRECTNESS: "eval/correctness.text",
}
MAX_TRIALS = 10
MAX_REPLY_CHARS = 20_000  # longer replies are cut before parsing
_SCORE_TOLERANCE = 1e-6  # a score this far outside [0, 1] is rounding noise and is clamped


# --- configuration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class JudgeConfig:
    """Where and how to call the judge. ``api_key`` ``None`` sends ``"EMPTY"`` (keyless local
    servers such as vLLM or Ollama accept any value)."""

    base_url: str
    model: str
    api_key: SecretStr | None = None
    trials: int = 3
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.base_url:
            raise ConfigError("the judge needs a base URL: set KDT_JUDGE_BASE_URL")
        if not self.model:
            raise ConfigError("the judge needs a model name: set KDT_JUDGE_MODEL")
        if not 1 <= self.trials <= MAX_TRIALS:
            raise ConfigError(f"judge trials must be 1..{MAX_TRIALS}, got {self.trials}")
        if not self.timeout_s > 0:
            raise ConfigError(f"judge timeout must be positive, got {self.timeout_s}")

    def to_json(self) -> dict[str, Any]:
        """What ``report.json``'s ``config.judge`` records (never the key)."""
        return {
            "base_url": self.base_url,
            "model": self.model,
            "trials": self.trials,
            "temperature": 0,
            "timeout_s": self.timeout_s,
        }


def judge_config_from(settings: Settings, *, timeout_s: float | None = None) -> JudgeConfig | None:
    """The judge configuration of ``settings``, or ``None`` when no judge URL is set.

    The timeout is ``settings.llm_timeout_s`` unless ``timeout_s`` is given. The judge's key
    is ``KDT_JUDGE_API_KEY`` only: the answerer's key is never sent to another endpoint.
    """
    if not settings.judge_base_url:
        return None
    return JudgeConfig(
        base_url=settings.judge_base_url,
        model=settings.judge_model,
        api_key=settings.judge_api_key,
        trials=settings.judge_trials,
        timeout_s=timeout_s if timeout_s is not None else settings.llm_timeout_s,
    )


# --- parsing a judgement (pure) ---------------------------------------------------------------
class JudgementError(ValueError):
    """A reply that is not a valid judgement; the message says why (log-safe, short)."""


_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCED = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)```", re.S | re.I)
_DECODER = json.JSONDecoder()


def _objects(text: str):
    """Every JSON object that starts at a ``{`` of ``text``, in order."""
    pos = text.find("{")
    while pos != -1:
        try:
            value, _ = _DECODER.raw_decode(text, pos)
        except ValueError:
            value = None
        if isinstance(value, dict):
            yield value
        pos = text.find("{", pos + 1)


def _score_of(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise JudgementError(f"score is not a number: {json.dumps(raw)[:40]}")
    try:
        value = float(raw)
    except ValueError:
        raise JudgementError(f"score is not a number: {json.dumps(raw)[:40]}") from None
    if not math.isfinite(value):
        raise JudgementError(f"score is not finite: {raw}")
    if not -_SCORE_TOLERANCE <= value <= 1 + _SCORE_TOLERANCE:
        raise JudgementError(f"score {value:g} outside [0, 1]")
    return min(1.0, max(0.0, value))


def _reason_of(raw: Any) -> str:
    if raw is None:
        return ""
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    return " ".join(text.split())


def read_judgement(text: str) -> tuple[float, str]:
    """``(score, reason)`` from a judge's reply, or ``JudgementError`` saying what is wrong.

    The reply is a JSON object ``{"score": <0..1>, "reason": "..."}``, possibly inside a
    ```` ```json ```` fence, with text around it, or after a ``<think>`` block. The first
    object with a ``score`` key is the judgement. A score within 1e-6 of [0, 1] is clamped;
    one further out (a 0-10 or 1-5 scale) is rejected, not rescaled. A numeric string
    (``"0.8"``) is accepted; a boolean is not. ``reason`` may be missing (empty reason).
    """
    if not isinstance(text, str) or not text.strip():
        raise JudgementError("empty reply")
    text = _THINK.sub("", text[:MAX_REPLY_CHARS])
    candidates = [m.group(1) for m in _FENCED.finditer(text)] + [text]
    for candidate in candidates:
        for obj in _objects(candidate):
            if "score" in obj:
                return _score_of(obj["score"]), _reason_of(obj.get("reason"))
    raise JudgementError("no JSON object with a score in the reply")


def parse_judgement(text: str) -> tuple[float, str] | None:
    """``(score, reason)`` from a judge's reply, or ``None`` when it is not a valid judgement
    (``read_judgement`` says why)."""
    try:
        return read_judgement(text)
    except JudgementError:
        return None


# --- aggregating trials (pure) ----------------------------------------------------------------
@dataclass(frozen=True)
class Trial:
    """One judge call: a score and reason, or the error that made it fail.

    ``endpoint`` is True when the call itself failed (HTTP, timeout, connection), False
    when the reply came but was not a valid judgement."""

    score: float | None = None
    reason: str = ""
    error: str | None = None
    endpoint: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error}
        return {"score": self.score, "reason": self.reason}


def _failed(error: str, *, trials: Sequence[Trial] = (), skipped: bool = False) -> Score:
    details: dict[str, Any] = {"error": error}
    if trials:
        details["trials"] = [t.to_json() for t in trials]
    if skipped:
        details["skipped"] = True
    return Score(None, f"judge failed: {error}", details)


def aggregate_trials(trials: Sequence[Trial]) -> Score:
    """The metric's ``Score`` from its trials: the mean of the valid scores, their spread and
    standard deviation, and the most common reason (the first on a tie)."""
    valid = [t for t in trials if t.error is None and t.score is not None]
    failed = [t for t in trials if t.error is not None]
    if not valid:
        errors = Counter(t.error for t in failed)
        return _failed(errors.most_common(1)[0][0] if errors else "no trials", trials=trials)
    scores = [t.score for t in valid if t.score is not None]
    reasons = Counter(t.reason for t in valid if t.reason)
    reason = reasons.most_common(1)[0][0] if reasons else "(the judge gave no reason)"
    if failed:
        reason += f" ({len(failed)} of {len(trials)} trials failed: {failed[0].error})"
    details: dict[str, Any] = {
        "trials": [t.to_json() for t in trials],
        "spread": round(max(scores) - min(scores), 4),
        "std": round(statistics.stdev(scores), 4) if len(scores) > 1 else 0.0,
    }
    if failed:
        details["failed"] = len(failed)
    return Score(round(statistics.fmean(scores), 4), reason, details)


# --- the judge --------------------------------------------------------------------------------
def _failure_detail(exc: Exception) -> str:
    """A log-safe description of a failed call (``HTTP 500``, ``timeout``, ``connection
    error``, or the exception type): never the response body, the prompt or the key."""
    try:
        import openai
    except ImportError:  # pragma: no cover - installed with langchain-openai
        return type(exc).__name__
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    return type(exc).__name__


def _reply_text(reply: Any) -> str:
    content = getattr(reply, "content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(
            b if isinstance(b, str) else str(b.get("text", "")) if isinstance(b, dict) else ""
            for b in content
        )
    return ""


class LLMJudge:
    """Scores one answer at a time with a judge model; see the module docstring.

    ``chat_model`` is a LangChain chat model (``.invoke(messages)``); by default a
    ``ChatOpenAI`` on ``config.base_url`` at temperature 0 with one SDK retry.
    """

    def __init__(self, config: JudgeConfig, *, chat_model: Any = None) -> None:
        self.config = config
        self._model = chat_model if chat_model is not None else _chat_openai(config)

    def judge(
        self,
        *,
        question: str,
        answer: str,
        contexts: Sequence[str],
        reference: str | None = None,
    ) -> dict[str, Score]:
        """The three judged scores of one answer, keyed by ``METRIC_KEYS``."""
        if not answer or not answer.strip():
            return {key: not_applicable("no answer to judge") for key in METRIC_KEYS}
        prompts = {
            FAITHFULNESS: render(
                _PROMPTS[FAITHFULNESS], question=question, answer=answer, contexts=list(contexts)
            ),
            RELEVANCE: render(_PROMPTS[RELEVANCE], question=question, answer=answer),
        }
        if reference and reference.strip():
            prompts[CORRECTNESS] = render(
                _PROMPTS[CORRECTNESS], question=question, answer=answer, reference=reference
            )
        scores: dict[str, Score] = {}
        down: str | None = None  # the endpoint error once every trial of a metric hit one
        for key in METRIC_KEYS:
            if key not in prompts:
                scores[key] = not_applicable("no reference answer")
            elif down is not None:
                scores[key] = _failed(down, skipped=True)
            else:
                trials = [self._trial(key, prompts[key]) for _ in range(self.config.trials)]
                scores[key] = aggregate_trials(trials)
                failed = [t for t in trials if t.error is not None]
                if failed:
                    log.warning(
                        "%s: %d of %d judge trials failed (%s)",
                        key,
                        len(failed),
                        len(trials),
                        failed[0].error,
                    )
                if all(t.endpoint for t in trials):
                    down = scores[key].details.get("error")
        return scores

    def _trial(self, key: str, prompt: str) -> Trial:
        try:
            reply = self._model.invoke([("human", prompt)])
        except Exception as exc:  # noqa: BLE001 - a failed call is a failed trial, never fatal
            return Trial(error=_failure_detail(exc), endpoint=True)
        try:
            score, reason = read_judgement(_reply_text(reply))
        except JudgementError as exc:
            return Trial(error=f"unparsable reply: {exc}")
        return Trial(score=score, reason=reason)


def _chat_openai(config: JudgeConfig) -> Any:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - a core dependency today
        raise ConfigError(
            "the LLM judge needs langchain-openai: pip install langchain-openai"
        ) from exc
    return ChatOpenAI(
        base_url=config.base_url,
        api_key=config.api_key if config.api_key is not None else SecretStr("EMPTY"),
        model=config.model,
        temperature=0,
        timeout=config.timeout_s,
        max_retries=1,
    )

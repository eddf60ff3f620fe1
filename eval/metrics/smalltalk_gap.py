"""Small talk recorded as a content gap: counted, and the target is zero.

The chat records a content gap for instructors when a reply's mode is ``not_covered``, or
``answer`` below the clear-match confidence (``ChatService.stream``). A greeting or a
"thanks!" is not a question about the course, so it must never land in that list. For a
turn expected as small talk: 1.0 (one gap) when its reply would be recorded as a gap, else
0.0; other turns are not scored. The summary is the count.
"""

from __future__ import annotations

from eval.metrics.score import Score, not_applicable


def _compute_score(*, mode: str, low_confidence: bool) -> float:
    return 1.0 if mode == "not_covered" or (mode == "answer" and low_confidence) else 0.0


def smalltalk_gap(*, expect: str, mode: str, low_confidence: bool) -> Score:
    """``low_confidence``: the reply's best passage is below the clear-match threshold."""
    if expect != "smalltalk":
        return not_applicable("not small talk")
    value = _compute_score(mode=mode, low_confidence=low_confidence)
    if not value:
        return Score(value, f"not a gap (mode {mode})")
    why = "not covered" if mode == "not_covered" else "answered below the clear-match confidence"
    return Score(value, f"recorded as a content gap: {why}", {"mode": mode})

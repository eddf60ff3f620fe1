"""Expected mode: did the reply take the mode the turn expects?

Modes (``tutor/chat/service.py``): ``answer`` from the course, ``hint`` for a graded exercise,
``not_covered`` when the course does not cover the question, ``smalltalk`` for greetings,
thanks and questions about the tutor. 1.0 when the reply's mode is exactly the expected
one, else 0.0 (an in-course question answered with hints is as wrong as one answered "not
covered").
"""

from __future__ import annotations

from eval.metrics.score import Score


def _compute_score(*, expect: str, mode: str) -> float:
    return 1.0 if mode == expect else 0.0


def expected_mode(*, expect: str, mode: str) -> Score:
    value = _compute_score(expect=expect, mode=mode)
    if value:
        return Score(value, f"mode {mode} as expected")
    return Score(value, f"mode {mode}; expected {expect}", {"mode": mode, "expect": expect})

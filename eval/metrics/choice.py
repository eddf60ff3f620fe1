"""Multiple-choice accuracy: did the tutor pick the keyed option?

``choice_accuracy`` is 1.0 when the picked option index equals ``answer_index``, 0.0 when
it differs, is out of range, or nothing was picked ("no option picked": a failure, not a
missing value). It does not apply to items without options or without an answer key.
``chance`` is the accuracy a uniform random pick would get, ``1 / n_options``: the report
shows it beside the accuracy so a score can be read against guessing.
Options are named by letter and 0-based index in reasons: ``B (1)``.
"""

from __future__ import annotations

from eval.metrics.score import Score, not_applicable


def _name(index: int) -> str:
    letter = chr(ord("A") + index) if 0 <= index < 26 else "?"
    return f"{letter} ({index})"


def choice_accuracy(picked: int | None, answer_index: int | None, n_options: int) -> Score:
    """1.0 when ``picked == answer_index``; see the module doc for the other cases."""
    if n_options <= 0:
        return not_applicable("no options")
    if answer_index is None:
        return not_applicable("no answer key")
    if not 0 <= answer_index < n_options:
        return not_applicable(f"answer key {answer_index} outside the {n_options} options")
    details = {"picked": picked, "answer_index": answer_index}
    if picked is None:
        return Score(0.0, "no option picked", details)
    if not 0 <= picked < n_options:
        return Score(0.0, f"picked {picked}, outside the {n_options} options", details)
    if picked == answer_index:
        return Score(1.0, f"picked {_name(picked)}, the right option", details)
    return Score(0.0, f"picked {_name(picked)}; the answer is {_name(answer_index)}", details)


def chance(n_options: int) -> Score:
    """The expected accuracy of a uniform random pick, ``1 / n_options``."""
    if n_options <= 0:
        return not_applicable("no options")
    return Score(1.0 / n_options, f"1 / {n_options} options")

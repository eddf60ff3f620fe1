"""The "not covered" rule: dense similarity backed by term coverage (pure, no model)."""

from __future__ import annotations

import pytest

from tutor.chat.service import CoverageRule, coverage_rule
from tutor.settings import Settings

RULE = CoverageRule(threshold=0.4, floor=0.25, terms=0.9)


@pytest.mark.parametrize(
    ("dense", "term_coverage", "covered"),
    [
        (0.60, 0.0, True),  # clearly close to a passage: words do not matter
        (0.40, 0.0, True),  # the threshold itself counts as close
        (0.30, 1.0, True),  # loosely close, and every word is in the course
        (0.30, 0.9, True),
        (0.30, 0.5, False),  # loosely close, but words the course never uses
        (0.25, 0.95, True),  # the floor itself still counts
        (0.20, 1.0, False),  # below the floor nothing is covered
        (0.0, 1.0, False),
    ],
)
def test_covers(dense: float, term_coverage: float, covered: bool) -> None:
    assert RULE.covers(dense=dense, term_coverage=term_coverage) is covered


def test_the_configured_defaults_are_ordered() -> None:
    rule = coverage_rule(Settings(_env_file=None))
    assert 0 < rule.floor < rule.threshold < 1
    assert 0 < rule.terms <= 1


def test_a_threshold_below_the_floor_makes_one_dense_threshold() -> None:
    # The old single-threshold setting: KDT_COVERAGE_THRESHOLD=0.2 with the default floor.
    rule = coverage_rule(Settings(_env_file=None, coverage_threshold=0.2))

    assert (rule.threshold, rule.floor) == (0.2, 0.2)
    assert rule.covers(dense=0.2, term_coverage=0.0)
    assert not rule.covers(dense=0.19, term_coverage=1.0)

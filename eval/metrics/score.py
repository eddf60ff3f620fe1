"""What every metric returns for one item: a value and the reason for it.

``value`` is ``None`` when the metric does not apply to the item (a question without
options has no multiple-choice score); such items are left out of the metric's aggregate.
``details`` carries what a reader of the report needs to see why (e.g. the unsupported
sentences, the leaked lines), always JSON-ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Cosine similarity matrix of two lists of texts: shape (len(a), len(b)), values in [-1, 1].
# Metrics take it as a parameter so they stay pure; the runner passes a multilingual model.
Similarity = Callable[[list[str], list[str]], np.ndarray]


@dataclass(frozen=True)
class Score:
    value: float | None
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "reason": self.reason}
        if self.details:
            out["details"] = self.details
        return out


def not_applicable(reason: str) -> Score:
    return Score(None, reason)

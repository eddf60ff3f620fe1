"""A deterministic stand-in for a sentence-embedding similarity (metric unit tests).

Cosine of bag-of-words counts (lowercased ``\\w+`` tokens): exact, fast, and easy to reason
about by hand. Tests that need real multilingual similarity use the ``embeddings`` fixture.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np


def bow_similarity(a: list[str], b: list[str]) -> np.ndarray:
    def vec(text: str) -> Counter:
        return Counter(re.findall(r"\w+", text.lower()))

    out = np.zeros((len(a), len(b)))
    for i, x in enumerate(map(vec, a)):
        for j, y in enumerate(map(vec, b)):
            dot = sum(x[t] * y[t] for t in x)
            norm = math.sqrt(sum(v * v for v in x.values()) * sum(v * v for v in y.values()))
            out[i, j] = dot / norm if norm else 0.0
    return out

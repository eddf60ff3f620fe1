"""Calibrate the "not covered" decision: ``python -m bench.coverage``.

The tutor says "the course does not cover this" (and logs a content gap) when retrieval
finds nothing close enough. This script measures candidate signals for that decision on
two real knowledge bases and prints, per rule and threshold, how many in-course questions
still get answered and how many out-of-scope questions get flagged.

Knowledge bases (built the way ``eval/quiz_check.py`` does: a temp dir, the default
settings, so the ``hybrid`` embedding, ``ingest_path``):

- **ml**: ``ML-For-Beginners/lessons`` (English), course id = the folder name. In-course:
  its ``quiz.jsonl`` (156 questions, often terse quiz stems such as "Matplotlib is a").
- **pb**: ``courses/python-basics`` (the whole folder, English + Korean). In-course: its
  ``quiz.jsonl`` plus the ``expect: answer`` items of ``eval/datasets/python-basics.jsonl``.
- **pb-en** (a cross-language check, not used to choose): ``python-basics/lessons`` only,
  asked the *Korean* in-course questions: a Korean trainee on an English-only course.

Out-of-scope, for every KB: ``eval/datasets/off-topic.jsonl`` (everyday topics and
near-miss technical topics, English and Korean) plus the ``expect: not_covered`` items of
``eval/datasets/python-basics.jsonl``.

Signals per question, from ``kb.search(question, k=8, where=SearchFilter(course=...))``:

- ``dense``: the best passage's dense cosine (``hit.signals["dense"]``), the old signal;
- ``lex``: the best passage's BM25 score, and ``lex_norm``: that score over the question's
  summed IDF (a rough "share of the question matched by one passage");
- ``cov``: **term coverage**, ``kb.term_coverage`` (the product's): the IDF-weighted share
  of the question's content tokens that occur anywhere in the course (a token the course
  never uses weighs the most; Korean tokens are not judged on a course without Korean
  material); ``cov_all``: the same with Korean tokens always judged; ``cov_top``: the share
  counted in the top 5 passages only.

The rule family ``dense >= threshold or (dense >= floor and cov >= terms)`` is grid-searched
on a seeded half of each KB's in-course and out-of-scope questions ("fit": maximise the
worst of the four rates, ml and pb, then their sum) and reported on the other half
("check") and on all of them. The row marked default is the product's rule with its
configured values (``tutor.chat.service.coverage_rule(Settings())``), applied to the product's
signals. The raw signals are saved to ``bench/out/coverage.json``; ``--reuse`` reads them
back instead of rebuilding the knowledge bases (several minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.common import ML_COURSE, OUT_DIR, REPO, SAMPLE_COURSE, load_average, log, machine_info
from eval.datasets import read_eval_dataset, read_quiz
from knowledge.embeddings import build_embeddings
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import KnowledgeBase, build_knowledge_base
from knowledge.types import SearchFilter
from tutor.chat.topics import QUESTION_WORDS
from tutor.settings import Settings

K = 8  # what ChatService.decide retrieves (k + 3)
TOP_PASSAGES = 5
SEED = 0
OFF_TOPIC = REPO / "eval" / "datasets" / "off-topic.jsonl"
SAMPLE_EVAL = REPO / "eval" / "datasets" / "python-basics.jsonl"
SIGNALS_JSON = OUT_DIR / "coverage.json"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    lang: str
    in_course: bool
    tags: tuple[str, ...] = ()


# --- question sets --------------------------------------------------------------------------
def out_of_scope() -> list[Question]:
    items = read_eval_dataset(OFF_TOPIC).items + [
        i for i in read_eval_dataset(SAMPLE_EVAL).items if i.expect == "not_covered"
    ]
    return [Question(i.id, i.question, i.lang, False, i.tags) for i in items]


def ml_in_course() -> list[Question]:
    items, _ = read_quiz(ML_COURSE / "quiz.jsonl")
    return [Question(q.id, q.question, q.lang, True) for q in items]


def pb_in_course() -> list[Question]:
    quiz, _ = read_quiz(SAMPLE_COURSE / "quiz.jsonl")
    answer = [i for i in read_eval_dataset(SAMPLE_EVAL).items if i.expect == "answer"]
    return [Question(q.id, q.question, q.lang, True) for q in quiz] + [
        Question(i.id, i.question, i.lang, True, i.tags) for i in answer
    ]


# --- signals --------------------------------------------------------------------------------
def build_kb(tmp: Path, name: str, embeddings) -> KnowledgeBase:
    config = replace(
        Settings().knowledge_config(),
        data_dir=tmp / name,
        database_url=f"sqlite:///{tmp / name / 'kb.db'}",
        chroma_url=None,
    )
    return build_knowledge_base(config, embeddings=embeddings)


def measure(kb: KnowledgeBase, course: str, q: Question) -> dict:
    where = SearchFilter(course=course)
    hits = kb.search(q.text, k=K, where=where)
    tokens = list(dict.fromkeys(kb.tokenizer.tokenize(q.text)))
    counts, total = kb.lexical.document_frequencies(tokens, where=where)
    idf = {t: _idf(counts[t], total) for t in tokens}
    top: set[str] = set()
    for hit in hits[:TOP_PASSAGES]:
        top.update(kb.tokenizer.tokenize(hit.chunk.index_text))
    weight = sum(idf.values())
    lex = max((h.signals.get("lexical", 0.0) for h in hits), default=0.0)
    return {
        "id": q.id,
        "lang": q.lang,
        "in_course": q.in_course,
        "tags": list(q.tags),
        "tokens": len(tokens),
        "dense": max((h.signals.get("dense", 0.0) for h in hits), default=0.0),
        "dense_top5": max((h.signals.get("dense", 0.0) for h in hits[:5]), default=0.0),
        "sentence": max((h.signals.get("sentences", 0.0) for h in hits), default=0.0),
        "lex": lex,
        "lex_norm": lex / (weight * 2.2) if weight else 0.0,  # 2.2 = k1 + 1 of the BM25
        "cov": kb.term_coverage(q.text, where=where, ignore=QUESTION_WORDS),
        "cov_top": sum(v for t, v in idf.items() if t in top) / weight if weight else 1.0,
        "absent": [t for t in tokens if counts[t] == 0],
        "terms": [[t, counts[t]] for t in tokens],
        "chunks": total,
    }


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def collect() -> dict:
    off = out_of_scope()
    pb_in = pb_in_course()
    plans = [
        ("ml", ML_COURSE / "lessons", ML_COURSE.name, ml_in_course() + off),
        ("pb", SAMPLE_COURSE, "python-basics", pb_in + off),
        ("pb-en", SAMPLE_COURSE / "lessons", "python-basics",
         [q for q in pb_in if q.lang == "ko"] + [q for q in off if q.lang == "ko"]),
    ]
    log("loading the embedding model")
    embeddings = build_embeddings(Settings().embedding)
    out: dict = {"kbs": {}}
    with tempfile.TemporaryDirectory(prefix="kdt-coverage-") as tmp:
        for name, source, course, questions in plans:
            started = time.perf_counter()
            kb = build_kb(Path(tmp), name, embeddings)
            report = ingest_path(kb, source, course=course)
            chunks = sum(r.chunk_count for r in kb.registry.list())
            log(f"{name}: {len(kb.registry.list())} documents, {chunks} chunks "
                f"in {time.perf_counter() - started:.0f} s; {len(questions)} questions")
            if report.failed:
                log(f"{name}: {len(report.failed)} file(s) failed: {report.failed[0]}")
            kb.search("warm up", k=K, where=SearchFilter(course=course))
            rows = [measure(kb, course, q) for q in questions]
            langs = kb.lexical.languages(where=SearchFilter(course=course))
            out["kbs"][name] = {"source": str(source), "course": course, "chunks": chunks,
                                "languages": langs, "rows": rows}
    return out


# --- rules ----------------------------------------------------------------------------------
KBS = ("ml", "pb")  # the rule is chosen on these; pb-en is a check of the language guard
COLUMNS = ("ml", "pb", "pb-en")
T1_GRID = [round(0.10 + 0.01 * i, 2) for i in range(26)]  # 0.10 .. 0.35
T2_GRID = [round(0.30 + 0.01 * i, 2) for i in range(30)]  # 0.30 .. 0.59
C_GRID = [round(0.30 + 0.05 * i, 2) for i in range(15)]  # 0.30 .. 1.00


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """A seeded half of each KB's in-course and out-of-scope questions ("fit"), and the rest."""
    fit, check = [], []
    for flag in (True, False):
        group = sorted((r for r in rows if r["in_course"] is flag), key=lambda r: r["id"])
        random.Random(f"{SEED}-{flag}").shuffle(group)
        half = len(group) // 2
        fit += group[:half]
        check += group[half:]
    return fit, check


def unguarded_coverage(row: dict) -> float:
    """Term coverage counting every token, Korean ones on an English-only course included."""
    n = row["chunks"]
    weights = [(math.log(1 + (n - df + 0.5) / (df + 0.5)), df) for _, df in row["terms"]]
    total = sum(w for w, _ in weights)
    return sum(w for w, df in weights if df > 0) / total if total else 1.0


def two_step(t1: float, t2: float, c: float, key: str = "cov"):
    """Covered when dense >= t2, or dense >= t1 and the signal ``key`` >= c."""
    return lambda r: r["dense"] >= t2 or (r["dense"] >= t1 and r[key] >= c)


def rates(rows: list[dict], covered) -> tuple[float, float]:
    """(in-course answered, out-of-scope flagged) of a rule over rows."""
    ins = [covered(r) for r in rows if r["in_course"]]
    outs = [not covered(r) for r in rows if not r["in_course"]]
    return (sum(ins) / len(ins) if ins else math.nan, sum(outs) / len(outs) if outs else math.nan)


def choose(data: dict, key: str = "cov") -> dict:
    """Grid search of ``two_step`` on the fit halves of ml and pb.

    Objective: the worst of the four rates (in-course answered and out-of-scope flagged, on
    both KBs), then their sum. Returns the best score and every grid point that reaches it.
    """
    fits = {name: split(data["kbs"][name]["rows"])[0] for name in KBS}
    best: tuple[float, float] = (-1.0, -1.0)
    ties: list[tuple[float, float, float]] = []
    for t1 in T1_GRID:
        for t2 in (t for t in T2_GRID if t >= t1):
            for c in C_GRID:
                rule = two_step(t1, t2, c, key)
                values = [v for name in KBS for v in rates(fits[name], rule)]
                score = (round(min(values), 6), round(sum(values), 6))
                if score > best:
                    best, ties = score, []
                if score == best:
                    ties.append((t1, t2, c))
    return {"worst": best[0], "sum": best[1], "ties": ties}


def table_rows(data: dict) -> list[tuple[str, object]]:
    from tutor.chat.service import coverage_rule

    product = coverage_rule(Settings())
    t1, t2, c = product.floor, product.threshold, product.terms
    chosen = f"dense ≥ {t2} or (dense ≥ {t1} and cov ≥ {c})"
    rows: list[tuple[str, object]] = [
        (f"dense ≥ {t}" + (" (previous default)" if t == 0.35 else ""),
         lambda r, t=t: r["dense"] >= t)
        for t in (0.25, 0.30, 0.35, 0.40)
    ]
    rows += [(f"cov ≥ {x}", lambda r, x=x: r["cov"] >= x) for x in (0.7, 0.9)]
    rows += [(f"lex_norm ≥ {x}", lambda r, x=x: r["lex_norm"] >= x) for x in (0.08, 0.1)]
    rows.append((f"**{chosen} (default)**",
                 lambda r: product.covers(dense=r["dense"], term_coverage=r["cov"])))
    rows += [
        (f"  same, cov_top (top {TOP_PASSAGES} passages) for cov", two_step(t1, t2, c, "cov_top")),
        ("  same, Korean tokens counted on an English-only course", two_step(t1, t2, c, "cov_all")),
        ("  same, Korean tokens counted, floor 0.17 (its grid optimum)",
         two_step(0.17, t2, c, "cov_all")),
        ("  lex_norm ≥ 0.09 in place of cov, floor 0.14 (its grid optimum)",
         two_step(0.14, t2, 0.09, "lex_norm")),
    ]
    for a in (0.20, 0.22, 0.26, 0.28):
        rows.append((f"  floor {a}", two_step(a, t2, c)))
    for b in (0.38, 0.40, 0.44, 0.50):
        rows.append((f"  threshold {b}", two_step(t1, b, c)))
    for x in (0.6, 0.8, 1.0):
        rows.append((f"  terms {x}", two_step(t1, t2, x)))
    return rows


def report(data: dict) -> str:
    from tutor.chat.service import coverage_rule

    for kb in data["kbs"].values():
        for r in kb["rows"]:
            r["cov_all"] = unguarded_coverage(r)
    kbs = data["kbs"]
    lines = []
    counts = "; ".join(
        f"{name}: {kb['chunks']} chunks, {sum(r['in_course'] for r in kb['rows'])} in-course / "
        f"{sum(not r['in_course'] for r in kb['rows'])} out-of-scope"
        for name, kb in kbs.items()
    )
    lines.append(f"knowledge bases: {counts}")
    lines.append("cells: in-course answered / out-of-scope flagged, all questions")
    header = "| rule | " + " | ".join(f"{n} answered | {n} flagged" for n in COLUMNS) + " |"
    lines += [header, "|---" * (1 + 2 * len(COLUMNS)) + "|"]
    for label, rule in table_rows(data):
        cells = []
        for name in COLUMNS:
            a, f = rates(kbs[name]["rows"], rule)
            cells += [f"{a:.3f}", f"{f:.3f}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    product = coverage_rule(Settings())

    def rule(r):
        return product.covers(dense=r["dense"], term_coverage=r["cov"])

    lines.append("")
    lines.append("default rule on the seeded halves (fit = chosen on, check = held out):")
    for name in COLUMNS:
        fit, check = split(kbs[name]["rows"])
        (fa, ff), (ca, cf) = rates(fit, rule), rates(check, rule)
        lines.append(f"  {name:6s} fit {fa:.3f} / {ff:.3f}   check {ca:.3f} / {cf:.3f}")
    best = choose(data)
    ties = best["ties"]
    lines.append(
        f"grid search on the fit halves of ml + pb (worst of the 4 rates {best['worst']:.3f}): "
        f"{len(ties)} tied point(s), floor {sorted({t[0] for t in ties})}, threshold "
        f"{sorted({t[1] for t in ties})}, terms {sorted({t[2] for t in ties})}"
    )
    lines.append("out-of-scope flagged by group (default rule):")
    for tag in ("everyday", "near-miss", "sample-eval"):
        for lang in ("en", "ko"):
            cells = []
            for name in COLUMNS:
                group = [
                    r for r in kbs[name]["rows"]
                    if not r["in_course"] and r["lang"] == lang and _group(r) == tag
                ]
                if group:
                    cells.append(f"{name} {rates(group, rule)[1]:.3f} (n={len(group)})")
            lines.append(f"  {tag:11s} {lang}: " + ", ".join(cells))
    return "\n".join(lines)


def _group(row: dict) -> str:
    """off-topic.jsonl tags its items ``everyday`` or ``near-miss``; the rest come from the
    sample course's eval set."""
    return next((t for t in ("everyday", "near-miss") if t in row["tags"]), "sample-eval")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coverage", description=__doc__)
    parser.add_argument("--reuse", action="store_true", help=f"read {SIGNALS_JSON}")
    args = parser.parse_args(argv)
    if args.reuse:
        data = json.loads(SIGNALS_JSON.read_text(encoding="utf-8"))
    else:
        before = load_average()
        data = collect()
        data["machine"] = machine_info()
        data["load_average"] = {"before": before, "after": load_average()}
        SIGNALS_JSON.parent.mkdir(parents=True, exist_ok=True)
        SIGNALS_JSON.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        log(f"signals saved to {SIGNALS_JSON}")
    print(report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""gaps-grouping: grouping trainee questions by meaning (content gaps), scored by ARI.

``python -m bench.gaps_grouping [--json OUT]`` (or ``python -m bench.run --only
gaps-grouping``). One temporary data dir with the default settings (``Settings``: hybrid
embedding, chunk size 900) holds two courses: ``courses/python-basics`` (as shipped,
English and Korean lessons) and the ``lessons/`` of ML-For-Beginners from shared/bench
(course ``ML-For-Beginners``). Then:

(a) ML-For-Beginners' quiz questions with a ``lesson_id`` (156) are the trainee questions,
    grouped with ``kdt-tutor gaps group --course ML-For-Beginners`` (the real command, a
    subprocess on the same data dir) and, in-process, with the same function
    (``tutor.curation.question_groups``, for stage timings). Score: adjusted Rand index against
    ``lesson_id``.
(b) The same for python-basics' quiz (59 questions, English and Korean) against its course.
(c) The seeded set of 500 Korean and English questions on 20 topics
    (``eval/gaps_dataset.py``, default seed), scored against its topics. Four of the topics
    (git, SQL, matplotlib, neural-network training) are in neither course and several share
    one lesson, so there is no course whose lessons are its topics. The headline row groups
    it with no course, i.e. against all the material of the knowledge base (both courses);
    extra rows group it with ``--course python-basics`` and with question similarity only
    (a course without material), and score the 320 written questions apart from the 180
    repeats (a written question in a conversational frame), which are easier.

Baseline, in the same run: naive k-means (``n_init=10``, seed 0) on all-MiniLM-L6-v2
embeddings of the questions, told the true number of groups (ours is not). Timing: the
in-process grouping split into embedding the questions (USE), searching, and clustering
with labelling; plus a run on 200 of the seeded questions, which is what the content-gaps
page asks for at most.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ML_COURSE, OUT_DIR, SAMPLE_COURSE, format_table, log, row

NAME = "gaps-grouping"
ML_ID = "ML-For-Beginners"
PB_ID = "python-basics"
TARGET_ML = 0.50
TARGET_SEEDED = 0.70


def ari(gold: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return round(float(adjusted_rand_score(gold, predicted)), 4)


def kmeans_baseline(texts: list[str], gold: list[str], minilm) -> float:
    """k-means on normalised all-MiniLM-L6-v2 embeddings with the true number of groups."""
    from sklearn.cluster import KMeans

    vectors = minilm.embed_array(texts)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    k = len(set(gold))
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)
    return ari(gold, [str(x) for x in labels])


def quiz_questions(path: Path) -> list[dict]:
    """Quiz lines with a lesson_id and a question."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if item.get("lesson_id") and item.get("question"):
                out.append(item)
    return out


def cli_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KDT_")}
    env.update(KDT_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.update(ANONYMIZED_TELEMETRY="False")
    return env


def group_with_cli(items: list[dict], *, data_dir: Path, course: str, tmp: Path) -> dict:
    """``kdt-tutor gaps group QUESTIONS.jsonl --course ID --json OUT``: its groups and time."""
    questions = tmp / f"questions-{course}.jsonl"
    questions.write_text(
        "".join(
            json.dumps({"id": i["id"], "question": i["question"]}, ensure_ascii=False) + "\n"
            for i in items
        ),
        encoding="utf-8",
    )
    out = tmp / f"groups-{course}.json"
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kdt_tutor",
            "gaps",
            "group",
            str(questions),
            "--course",
            course,
            "--json",
            str(out),
        ],
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"gaps group failed ({done.returncode}): {done.stderr[-500:]}")
    return {"groups": json.loads(out.read_text(encoding="utf-8"))["groups"], "seconds": seconds}


def run(json_out: str | None = None) -> dict:
    from threadpoolctl import threadpool_limits

    from eval.gaps_dataset import seeded_questions
    from knowledge.embeddings import minilm_embedding
    from knowledge.ingest import ingest_path
    from tutor.curation.question_groups import build_question_grouper
    from tutor.services import build_services
    from tutor.settings import Settings

    rows: list[dict] = []
    notes: list[str] = []
    raw: dict = {}
    with (
        threadpool_limits(limits=1, user_api="blas"),
        tempfile.TemporaryDirectory(prefix="kdt-bench-gaps-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        kb = build_services(Settings(data_dir=data_dir)).kb
        log("gaps-grouping: ingesting python-basics and ML-For-Beginners")
        started = time.perf_counter()
        reports = [
            ingest_path(kb, SAMPLE_COURSE, course=PB_ID),
            ingest_path(kb, ML_COURSE / "lessons", course=ML_ID),
        ]
        ingest_s = time.perf_counter() - started
        failed = [f for r in reports for f in r.failed]
        if failed:
            raise RuntimeError(f"ingest failed: {failed[:3]}")
        grouper = build_question_grouper(kb)
        minilm = minilm_embedding(kb.embeddings)
        kb.search("warm up", k=1)
        kb.search("한국어 준비", k=1)

        def ours(items: list[tuple[str, str]], course: str | None) -> tuple[dict, dict]:
            timings: dict[str, float] = {}
            groups = grouper.groups(items, course=course, timings=timings)
            labels = {i: g.label for g in groups for i in g.ids}
            return labels, {k: round(v, 3) for k, v in timings.items()} | {"groups": len(groups)}

        # (a) ML-For-Beginners, through the command and in-process.
        ml = quiz_questions(ML_COURSE / "quiz.jsonl")
        ml_gold = [q["lesson_id"] for q in ml]
        log(f"gaps-grouping: ML-For-Beginners, {len(ml)} questions (kdt-tutor gaps group)")
        cli = group_with_cli(ml, data_dir=data_dir, course=ML_ID, tmp=tmp)
        ml_cli = ari(ml_gold, [cli["groups"][q["id"]] for q in ml])
        ml_labels, ml_t = ours([(q["id"], q["question"]) for q in ml], ML_ID)
        ml_ours = ari(ml_gold, [ml_labels[q["id"]] for q in ml])
        ml_base = kmeans_baseline([q["question"] for q in ml], ml_gold, minilm)
        same = all(cli["groups"][q["id"]] == ml_labels[q["id"]] for q in ml)
        rows.append(
            row(
                f"ARI ML-For-Beginners ({len(ml)} q, {len(set(ml_gold))} lessons), "
                "gaps group --course",
                ml_cli,
                ml_base,
                target=f">= {TARGET_ML}",
            )
        )
        rows.append(
            row(
                "  groups found (baseline told the true k)",
                len(set(cli["groups"].values())),
                len(set(ml_gold)),
            )
        )
        notes.append(
            f"ML-For-Beginners: the command's groups {'equal' if same else 'DIFFER from'} "
            f"the in-process run's (ARI {ml_ours}); the command took "
            f"{cli['seconds']:.1f} s with model loading"
        )
        raw["ml"] = {
            "cli_ari": ml_cli,
            "inprocess_ari": ml_ours,
            "baseline": ml_base,
            "timings": ml_t,
            "cli_seconds": round(cli["seconds"], 1),
        }

        # (b) python-basics.
        pb = quiz_questions(SAMPLE_COURSE / "quiz.jsonl")
        pb_gold = [q["lesson_id"] for q in pb]
        log(f"gaps-grouping: python-basics, {len(pb)} questions")
        pb_labels, pb_t = ours([(q["id"], q["question"]) for q in pb], PB_ID)
        pb_ours = ari(pb_gold, [pb_labels[q["id"]] for q in pb])
        pb_base = kmeans_baseline([q["question"] for q in pb], pb_gold, minilm)
        rows.append(
            row(f"ARI python-basics ({len(pb)} q, {len(set(pb_gold))} lessons)", pb_ours, pb_base)
        )
        raw["python_basics"] = {"ari": pb_ours, "baseline": pb_base, "timings": pb_t}

        # (c) the seeded set.
        seeded = seeded_questions()
        s_items = [(q.id, q.question) for q in seeded]
        s_gold = [q.topic for q in seeded]
        s_base = kmeans_baseline([q.question for q in seeded], s_gold, minilm)
        written = {q.id for q in seeded if _is_written(q.question, q.topic)}
        log(f"gaps-grouping: seeded set, {len(seeded)} questions, three ways")
        variants = [
            ("no course (all material)", None),
            (f"--course {PB_ID}", PB_ID),
            ("similarity only (course without material)", "no-such-course"),
        ]
        raw["seeded"] = {"baseline": s_base}
        for title, course in variants:
            labels, timing = ours(s_items, course)
            score = ari(s_gold, [labels[q.id] for q in seeded])
            sub = [q for q in seeded if q.id in written]
            score_written = ari([q.topic for q in sub], [labels[q.id] for q in sub])
            first = course is None
            rows.append(
                row(
                    f"ARI seeded 500 ko+en, 20 topics, {title}",
                    score,
                    s_base,
                    target=f">= {TARGET_SEEDED}" if first else "",
                )
            )
            rows.append(row(f"  of it: the {len(sub)} written questions only", score_written))
            raw["seeded"][title] = {"ari": score, "ari_written": score_written, "timings": timing}

        # Timing: 200 questions, what the content-gaps page groups at most, with a fresh
        # grouper (no remembered searches); then again with one question more, as when a
        # new gap question arrives (only that one is searched).
        grouper = build_question_grouper(kb)
        _, t200 = ours(s_items[:200], PB_ID)
        _, t201 = ours(s_items[:201], PB_ID)
        rows.append(row("200 questions: embed (USE) [s]", t200["embed_s"]))
        rows.append(row("200 questions: searches [s]", t200["search_s"]))
        rows.append(
            row(
                "200 questions: clustering + labels [s]",
                t200["cluster_s"],
                target="<= 1 (beyond searches)",
            )
        )
        warm = round(t201["embed_s"] + t201["search_s"] + t201["cluster_s"], 3)
        rows.append(row("  again with 1 new question, total [s]", warm))
        raw["timing_200"] = t200
        raw["timing_201_warm"] = t201
        notes.append(
            f"ingest of both courses: {ingest_s:.0f} s; baseline = k-means on "
            "all-MiniLM-L6-v2 told the true number of groups"
        )

    result = {
        "name": NAME,
        "title": "grouping questions by meaning (adjusted Rand index vs gold groups)",
        "baseline_name": "k-means(MiniLM, true k)",
        "baseline_desc": "naive k-means on all-MiniLM-L6-v2 embeddings, given the true k",
        "rows": rows,
        "notes": notes,
        "raw": raw,
    }
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    return result


def _is_written(question: str, topic: str) -> bool:
    from eval.gaps_dataset import TOPICS

    english, korean = TOPICS[topic]
    return question in english or question in korean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gaps_grouping", description=__doc__)
    parser.add_argument("--json", default=str(OUT_DIR / "gaps-grouping.json"))
    args = parser.parse_args(argv)
    print(format_table(run(json_out=args.json)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

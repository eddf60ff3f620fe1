"""analytics: the cohort analytics API and the console's cohort pages from a real server.

``python -m bench.analytics [--skills 200] [--trainees 30] [--observations 10000]
[--rounds 20] [--seed 0] [--json OUT]`` (or ``python -m bench.run --only analytics``)

*Data* (seeded): the synthetic course of ``bench.learner_api`` (``--skills`` skills over
four levels, a lesson per skill, three quiz items per skill) plus ten exercises, ingested
with ``kdt-tutor ingest`` into a temporary data dir (default settings); ``--trainees``
trainees and one instructor of the course; placements and quiz answers through
``LearnerService`` until the evidence log holds ``--observations`` rows, spread over the
last four weeks (levels are reached on the way: achievements); per trainee 8 conversations
of 3 questions whose answers cite one or two lessons' sections, 20 complete code reviews of
the exercises (verdicts, static findings, five named tests), and 60 content gaps.

*Measured*: ``kdt-tutor serve`` as a subprocess; the instructor's bearer token. After one
cold request per endpoint (the first builds the course's skill map and the replay; its time
is a row), ``--rounds`` rounds of one request to each endpoint (JSON, CSV and SVG of the
heatmap, levels, achievements, topics, reviews, stuck, a trainee's drill-down and one of
their conversations, ``/console/cohort`` and a trainee's console page; trainees rotate),
interleaved with ``GET /api/health``. Rows: p95 (p50 in the label) per endpoint, target
p95 <= 300 ms. Then the same number of rounds where one new quiz answer is recorded
(``LearnerService.record_answer`` on the same SQLite file, as a trainee's answer would be)
before ``GET /console/cohort`` and ``GET /api/analytics/heatmap``: the replay is rebuilt
each time, which is what a live class costs.

*Baseline* (**health**): ``GET /api/health`` on the same server, interleaved.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import (
    free_port,
    log,
    percentiles_ms,
    row,
    run_and_report,
)
from bench.learner_api import COURSE, cohort_parser, fill_evidence, write_course
from bench.serve_memory import _env, _kdt_tutor, stop, wait_healthy
from knowledge.registry import make_engine
from tutor.accounts.users import AccountService
from tutor.chat.answering import Citation
from tutor.chat.conversations import ConversationStore
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import load_course
from tutor.review.review_store import ReviewStore
from tutor.review.types import SourceFile

NAME = "analytics"
EXERCISES = 10
TARGET_MS = 300.0
FINDINGS = [("B006", "Mutable default argument"), ("F841", "Unused local variable"),
            ("E501", "Line too long"), ("F401", "Unused import"), ("C901", "Too complex"),
            ("B007", "Unused loop variable"), ("E711", "Comparison to None"),
            ("S307", "Use of eval")]  # fmt: skip
VERDICTS = ["passed"] * 5 + ["failed"] * 4 + ["error", "timeout"]


def write_exercises(course_dir: Path, skills: list[str], *, rng: random.Random) -> list[str]:
    ids = []
    for n in range(EXERCISES):
        eid = f"ex-{n:02d}"
        skill = rng.choice(skills)
        folder = course_dir / "exercises" / eid
        folder.mkdir(parents=True)
        (folder / "exercise.md").write_text(
            f"---\ntitle: Exercise {n}\nkind: exercise\nlevel: 1\nskills: [{skill}]\n"
            f"exercise: {eid}\nlang: en\n---\n# Exercise {n}\n\nWrite f{n}(x).\n",
            encoding="utf-8",
        )
        ids.append(eid)
    return ids


def seed_activity(
    *, database_url: str, trainees: list[int], skills: list[str], exercises: list[str],
    rng: random.Random,
) -> dict[str, int]:  # fmt: skip
    """Conversations with cited answers, code reviews and content gaps; counts."""
    chats = ConversationStore(make_engine(database_url))
    reviews = ReviewStore(make_engine(database_url))
    stems = {s: f"{i:03d}-{s}" for i, s in enumerate(skills)}
    conversations, messages, done = [], 0, 0
    for uid in trainees:
        for c in range(8):
            conv = chats.create(user_id=uid, course=COURSE, title=f"질문 묶음 {c}")
            conversations.append((uid, conv.id))
            for q in range(3):
                skill = rng.choice(skills[: max(8, len(skills) // 4)])  # most ask about early ones
                chats.add_message(conv.id, role="user", content=f"How does skill {skill} work? {q}")
                doc = f"{COURSE}/lessons/{stems[skill]}.md"
                title = f"Lesson {skill[1:]}"
                cites = tuple(
                    Citation(n, f"{doc}#{n}", doc, title,
                             (title, rng.choice(["Worked example", "Common mistakes"])), 1, 4,
                             "quoted text")
                    for n in range(1, rng.choice((2, 3)))
                )  # fmt: skip
                chats.add_message(conv.id, role="assistant", content="See [1].", citations=cites)
                messages += 2
    for uid in trainees:
        for _ in range(20):
            eid = rng.choice(exercises)
            picked = rng.sample(FINDINGS, rng.randrange(3))
            static = {"findings": [{"code": c, "title": t, "line": 3} for c, t in picked],
                      "hidden": []}  # fmt: skip
            record = reviews.create(
                user_id=uid, course=COURSE, exercise_id=eid,
                files=(SourceFile("solution.py", "def f(x):\n    return x\n"),), level=1,
                lang="en", static=static, timings={},
            )  # fmt: skip
            verdict = rng.choice(VERDICTS)
            cases = [
                {"name": f"test_case_{k}",
                 "status": "passed" if verdict == "passed" or rng.random() < 0.6 else "failed"}
                for k in range(5)
            ]  # fmt: skip
            reviews.complete(
                record.id, verdict=verdict, tests={"verdict": verdict, "cases": cases},
                suspicious=[], narrative="", notices=[], timings={},
            )  # fmt: skip
            done += 1
    for n in range(60):
        chats.record_gap(course=COURSE, user_id=rng.choice(trainees),
                         question=f"Unanswered question {n}", lang="en", confidence=0.1,
                         retrieved=[])  # fmt: skip
    return {"conversations": len(conversations), "messages": messages, "reviews": done,
            "gaps": 60, "first_conversation": conversations}  # fmt: skip


def _timed(client: httpx.Client, url: str, headers: dict) -> tuple[float | None, int]:
    t = time.perf_counter()
    response = client.get(url, headers=headers, timeout=120)
    elapsed = time.perf_counter() - t
    return (elapsed if response.status_code == 200 else None), len(response.content)


def run(
    skills: int = 200,
    trainees: int = 30,
    observations: int = 10_000,
    rounds: int = 20,
    seed: int = 0,
) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="kdt-bench-analytics-") as tmp_name:
        tmp = Path(tmp_name)
        course_dir = tmp / COURSE
        level_of = write_course(course_dir, skills=skills, rng=rng)
        exercises = write_exercises(course_dir, list(level_of), rng=rng)
        data_dir = tmp / "data"
        env = _env(data_dir)
        cli = _kdt_tutor()
        log(f"ingesting a synthetic course of {skills} skills and {EXERCISES} exercises")
        t0 = time.perf_counter()
        subprocess.run([cli, "ingest", str(course_dir)], env=env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, timeout=3600)  # fmt: skip
        ingest_s = time.perf_counter() - t0
        database_url = f"sqlite:///{(data_dir / 'kdt.db').as_posix()}"
        accounts = AccountService(make_engine(database_url))
        users = []
        for n in range(trainees):
            user = accounts.create_user(f"trainee{n:02d}", "bench-password-1", role="trainee",
                                        course=COURSE, display_name=f"수강생 {n:02d}")  # fmt: skip
            users.append(user.id)
        instructor = accounts.create_user("teacher", "bench-password-1", role="instructor",
                                          course=COURSE)  # fmt: skip
        auth = {"Authorization": f"Bearer {accounts.create_token(instructor, 'bench')}"}
        log(f"recording {observations} observations for {trainees} trainees")
        filled = fill_evidence(database_url=database_url, course_dir=course_dir,
                               trainees=users, observations=observations, seed=seed)  # fmt: skip
        log("seeding conversations, code reviews and content gaps")
        activity = seed_activity(database_url=database_url, trainees=users,
                                 skills=list(level_of), exercises=exercises, rng=rng)  # fmt: skip
        convs = activity.pop("first_conversation")
        conv_of = {}
        for uid, cid in convs:
            conv_of.setdefault(uid, cid)
        skill_map, items = load_course(course_dir)
        learner = LearnerService(make_engine(database_url), skill_maps=lambda _c: skill_map,
                                 items=lambda _c: items)  # fmt: skip

        def trainee_of(k: int) -> int:
            return users[k % len(users)]

        endpoints: list[tuple[str, object]] = [
            ("GET /api/analytics/heatmap", "/api/analytics/heatmap"),
            ("GET /api/analytics/heatmap?format=csv", "/api/analytics/heatmap?format=csv"),
            ("GET /api/analytics/heatmap.svg", "/api/analytics/heatmap.svg"),
            ("GET /api/analytics/levels", "/api/analytics/levels"),
            ("GET /api/analytics/levels.svg", "/api/analytics/levels.svg"),
            ("GET /api/analytics/achievements.svg", "/api/analytics/achievements.svg"),
            ("GET /api/analytics/topics", "/api/analytics/topics"),
            ("GET /api/analytics/topics.svg", "/api/analytics/topics.svg"),
            ("GET /api/analytics/reviews", "/api/analytics/reviews"),
            ("GET /api/analytics/stuck", "/api/analytics/stuck"),
            ("GET /api/analytics/trainees/{id}",
             lambda k: f"/api/analytics/trainees/{trainee_of(k)}"),
            ("GET /api/analytics/trainees/{id}/conversations/{c}",
             lambda k: f"/api/analytics/trainees/{trainee_of(k)}/conversations/"
                       f"{conv_of[trainee_of(k)]}"),
            ("GET /console/cohort", "/console/cohort?lang=ko"),
            ("GET /console/cohort/trainee/{id}",
             lambda k: f"/console/cohort/trainee/{trainee_of(k)}?lang=ko"),
        ]  # fmt: skip

        def url_of(target, k: int) -> str:
            return target(k) if callable(target) else str(target)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        times: dict[str, list[float]] = {label: [] for label, _ in endpoints}
        sizes: dict[str, int] = {}
        cold: dict[str, float] = {}
        health: list[float] = []
        live: dict[str, list[float]] = {"page": [], "heatmap": []}
        errors = 0
        with log_path.open("wb") as out:
            proc = subprocess.Popen([cli, "serve", "--port", str(port)], env=env, cwd=tmp,
                                    stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
            try:
                wait_healthy(proc, f"{base}/api/health", log_path)
                with httpx.Client() as client:
                    for label, target in endpoints:
                        t = time.perf_counter()
                        response = client.get(base + url_of(target, 0), headers=auth, timeout=300)
                        cold[label] = time.perf_counter() - t
                        if response.status_code != 200:
                            raise RuntimeError(f"{label} answered {response.status_code}: "
                                               f"{response.text[:300]}")  # fmt: skip
                        sizes[label] = len(response.content)
                    log(f"{rounds} rounds x {len(endpoints)} endpoints, interleaved with health")
                    for k in range(rounds):
                        for label, target in endpoints:
                            elapsed, _ = _timed(client, base + url_of(target, k + 1), auth)
                            if elapsed is None:
                                errors += 1
                            else:
                                times[label].append(elapsed)
                            elapsed, _ = _timed(client, f"{base}/api/health", {})
                            if elapsed is not None:
                                health.append(elapsed)
                    log(f"{2 * rounds} rounds of a new answer, then the page or the heatmap")
                    items_of = [it for it in items if it.skills]
                    fresh = {"page": "/console/cohort?lang=ko", "heatmap": "/api/analytics/heatmap"}
                    for k in range(2 * rounds):
                        item = rng.choice(items_of)
                        learner.record_answer(trainee_of(k), COURSE, item_id=item.id,
                                              chosen_index=item.answer_index,
                                              submission_id=f"live-{k}")  # fmt: skip
                        key = ("page", "heatmap")[k % 2]  # the first request after the answer
                        elapsed, _ = _timed(client, base + fresh[key], auth)
                        if elapsed is None:
                            errors += 1
                        else:
                            live[key].append(elapsed)
            finally:
                stop(proc)

    stats = {label: percentiles_ms(ts) for label, ts in times.items()}
    base_p = percentiles_ms(health)
    live_p = {key: percentiles_ms(ts) for key, ts in live.items()}
    rows = [
        row(f"{label} p95 (p50 {stats[label]['p50']:.1f})", stats[label]["p95"], base_p["p95"],
            unit="ms", target=f"<= {TARGET_MS:g}")
        for label, _ in endpoints
    ]  # fmt: skip
    rows += [
        row(f"after a new answer: GET /console/cohort p95 (p50 {live_p['page']['p50']:.1f})",
            live_p["page"]["p95"], base_p["p95"], unit="ms", target=f"<= {TARGET_MS:g}"),
        row(f"after a new answer: GET /api/analytics/heatmap p95 "
            f"(p50 {live_p['heatmap']['p50']:.1f})", live_p["heatmap"]["p95"], base_p["p95"],
            unit="ms", target=f"<= {TARGET_MS:g}"),
        row("first request (skill map + replay), heatmap",
            round(cold[endpoints[0][0]] * 1000, 1), None, unit="ms"),
        row("/console/cohort page size", round(sizes["GET /console/cohort"] / 1024, 1), None,
            unit="KB"),
        row("errors", errors, None, target="0"),
    ]  # fmt: skip
    worst = max(stats.values(), key=lambda s: s["p95"])
    return {
        "name": NAME,
        "title": (f"cohort analytics from a real server: {skills} skills, {trainees} trainees, "
                  f"{filled['rows']:,} observations, {activity['reviews']} reviews, "
                  f"{activity['messages']:,} messages (SQLite)"),
        "baseline_name": "health",
        "baseline_desc": "GET /api/health on the same server, interleaved request by request",
        "rows": rows,
        "notes": [
            f"{rounds} timed requests per endpoint after one cold request each; kdt-tutor serve "
            f"(uvicorn, default settings) as a subprocess; worst p95 {worst['p95']:.1f} ms",
            f"evidence: {filled['placements']} placement quizzes + {filled['answers']:,} quiz "
            f"answers through LearnerService in {filled['seconds']} s; ingest {ingest_s:.0f} s",
            f"activity: {activity['conversations']} conversations, {activity['messages']:,} "
            f"messages, {activity['reviews']} code reviews, {activity['gaps']} content gaps",
        ],
        "details": {"endpoints": stats, "health": base_p, "after_new_answer": live_p,
                    "cold_ms": {k: round(v * 1000, 1) for k, v in cold.items()},
                    "sizes": sizes, "evidence": filled, "activity": activity,
                    "ingest_s": round(ingest_s, 1)},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = cohort_parser(
        prog="python -m bench.analytics", description=__doc__, rounds=20, out="analytics.json"
    ).parse_args(argv)
    return run_and_report(
        lambda: run(skills=args.skills, trainees=args.trainees, observations=args.observations,
                    rounds=args.rounds, seed=args.seed),  # fmt: skip
        name=NAME,
        out=args.json,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())

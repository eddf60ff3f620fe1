"""learner-api: the trainee dashboard (GET /api/learner/me) from a real ``kdt-tutor serve``.

``python -m bench.learner_api [--skills 200] [--trainees 30] [--observations 10000]
[--rounds 10] [--seed 0] [--json OUT]``

*Course* (synthetic, seeded): ``--skills`` skills over four levels (a quarter each), each
building on one or two earlier skills (at most 60 back, so the map is a deep DAG), declared
in ``course.yaml`` with English and Korean names; one lesson per skill (front matter:
level, skill, prerequisites) and three 4-option quiz items per skill with explanations
(``quiz.jsonl``, every fifth in Korean). It is ingested with ``kdt-tutor ingest`` into a
temporary data dir with default settings, so the server builds the skill map from the
registry (+ ``course.yaml``) exactly as in production.

*Trainees and evidence*: ``--trainees`` trainee accounts with API tokens, each of a
seeded true state 0..4 ("knows the skills of levels <= s"). Every third takes the
adaptive placement quiz first; then quiz answers fill the evidence log up to
``--observations`` rows in total, all through ``LearnerService`` (``answer_placement``,
``record_answer``) on the same SQLite file: each answer is on a skill of a level <= s + 1,
right with probability 0.9 if its level <= s, else 0.3, one answer every few minutes of a
fake clock over the last four weeks (so FSRS reviews are due).

*Measured*: ``kdt-tutor serve`` as a subprocess. After one warm-up request per trainee
(the first request builds the course's skill map and items; its time is noted), ``--rounds``
rounds of one ``GET /api/learner/me`` per trainee (bearer token, keep-alive), each followed
by a ``GET /api/health``. Rows: p50/p95/p99; target p95 <= 100 ms. Also: the same
dashboard with 5 clients at once, and ``LearnerService.dashboard`` alone in this process
(no HTTP, no JSON) for the same trainees, to show what the service costs.

*Baseline* (**health**): ``GET /api/health`` (two small registry queries) on the same
server, interleaved with the dashboard requests, so both see the same load.
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.common import (
    OUT_DIR,
    bench_parser,
    free_port,
    log,
    percentiles_ms,
    row,
    run_and_report,
)
from bench.serve_memory import _env, _kdt_tutor, stop, wait_healthy
from knowledge.registry import make_engine
from tutor.accounts.users import AccountService
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import load_course

NAME = "learner-api"
COURSE = "bench-course"
LEVELS = 4


# --- the synthetic course ---------------------------------------------------------------------
def write_course(root: Path, *, skills: int, rng: random.Random) -> dict[str, int]:
    """Write the course folder; returns skill id -> level."""
    per_level = max(1, skills // LEVELS)
    level_of = {f"s{i:03d}": min(LEVELS, i // per_level + 1) for i in range(skills)}
    ids = list(level_of)
    prerequisites: dict[str, list[str]] = {}
    for i, sid in enumerate(ids):
        window = ids[max(0, i - 60) : i]
        prerequisites[sid] = sorted(rng.sample(window, min(len(window), rng.choice((1, 2)))))
    lines = [f"id: {COURSE}", "title: Synthetic course", "mastery_threshold: 0.95", "skills:"]
    for sid in ids:
        pre = ", ".join(prerequisites[sid])
        lines.append(
            f"  {sid}: {{name: Skill {sid[1:]}, name_ko: 기술 {sid[1:]}, "
            f"level: {level_of[sid]}, prerequisites: [{pre}]}}"
        )
    lines.append("levels:")
    for lv in range(1, LEVELS + 1):
        lines.append(f"  {lv}: [{', '.join(s for s in ids if level_of[s] == lv)}]")
    (root / "lessons").mkdir(parents=True)
    (root / "course.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = []
    for i, sid in enumerate(ids):
        stem = f"{i:03d}-{sid}"
        (root / "lessons" / f"{stem}.md").write_text(
            f"---\ntitle: Lesson {sid[1:]}\nkind: lesson\nlevel: {level_of[sid]}\n"
            f"skills: [{sid}]\nprerequisites: [{', '.join(prerequisites[sid])}]\nlang: en\n"
            f"---\n# Lesson {sid[1:]}\n\nThis lesson teaches skill {sid[1:]} with one short "
            f"worked example and a list of common mistakes.\n",
            encoding="utf-8",
        )
        for k in range(3):
            answer = rng.randrange(4)
            items.append(
                {
                    "id": f"{sid}-q{k}",
                    "lesson_id": stem,
                    "skills": [sid],
                    "question": f"Question {k} on skill {sid[1:]}: which option is right?",
                    "options": [f"option {o}" for o in "ABCD"],
                    "answer_index": answer,
                    "lang": "ko" if (i * 3 + k) % 5 == 0 else "en",
                    "explanation": f"Option {'ABCD'[answer]} follows from lesson {sid[1:]}.",
                }
            )
    (root / "quiz.jsonl").write_text(
        "\n".join(json.dumps(it, ensure_ascii=False) for it in items) + "\n", encoding="utf-8"
    )
    return level_of


class _Clock:
    """Fake time: one answer every ``step`` (the service reads it several times per answer)."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += self.step


def fill_evidence(
    *, database_url: str, course_dir: Path, trainees: list[int], observations: int, seed: int
) -> dict:
    """Placements and quiz answers through LearnerService until the log holds
    ``observations`` rows; returns counts and how long it took."""
    rng = random.Random(seed)
    skill_map, items = load_course(course_dir)
    by_skill: dict[str, list] = {}
    for it in items:
        by_skill.setdefault(it.skills[0], []).append(it)
    start = datetime.now(UTC) - timedelta(days=28)
    clock = _Clock(start, timedelta(days=28) / max(observations, 1))
    engine = make_engine(database_url)
    service = LearnerService(
        engine, skill_maps=lambda _c: skill_map, items=lambda _c: items, clock=clock
    )
    state = {u: u % (LEVELS + 1) for u in trainees}  # true state 0..4, spread evenly
    level = {s: skill_map.skills[s].level or 1 for s in skill_map.skills}

    def right(skill: str, s: int) -> bool:
        return rng.random() < (0.9 if level[skill] <= s else 0.3)

    rows = placed = 0
    t0 = time.perf_counter()
    for n, user in enumerate(trainees):
        if n % 3:
            continue
        view = service.start_placement(user, COURSE, lang="en")
        while view.status == "active":
            item = view.item
            ok = right(item.skills[0], state[user])
            view = service.answer_placement(
                user, COURSE, session_id=view.session_id, item_id=item.id, correct=ok
            )
            clock.tick()
            rows += 1
        placed += 1
    answers = 0
    while rows < observations:
        user = trainees[answers % len(trainees)]
        s = state[user]
        frontier = [sk for sk in skill_map.skills if level[sk] <= min(s + 1, LEVELS)]
        item = rng.choice(by_skill[rng.choice(frontier)])
        ok = right(item.skills[0], s)
        chosen = item.answer_index if ok else (item.answer_index + 1 + rng.randrange(3)) % 4
        service.record_answer(
            user, COURSE, item_id=item.id, chosen_index=chosen, submission_id=f"bench-{answers}"
        )
        clock.tick()
        answers += 1
        rows += 1
        if answers % 2000 == 0:
            log(f"  {rows} observations ({time.perf_counter() - t0:.0f} s)")
    seconds = time.perf_counter() - t0
    timings = []
    for _ in range(3):
        for user in trainees:
            t = time.perf_counter()
            service.dashboard(user, COURSE)
            timings.append(time.perf_counter() - t)
    engine.dispose()
    return {
        "rows": rows,
        "placements": placed,
        "answers": answers,
        "record_ms_mean": round(seconds * 1000 / max(rows, 1), 2),
        "seconds": round(seconds, 1),
        "service_dashboard": percentiles_ms(timings),
    }


# --- the measurement ----------------------------------------------------------------------------
def _timed_get(client: httpx.Client, url: str, headers: dict | None = None) -> float | None:
    t = time.perf_counter()
    response = client.get(url, headers=headers, timeout=60)
    elapsed = time.perf_counter() - t
    return elapsed if response.status_code == 200 else None


def run(
    skills: int = 200,
    trainees: int = 30,
    observations: int = 10_000,
    rounds: int = 10,
    seed: int = 0,
) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="kdt-bench-learner-") as tmp_name:
        tmp = Path(tmp_name)
        course_dir = tmp / COURSE
        write_course(course_dir, skills=skills, rng=rng)
        data_dir = tmp / "data"
        env = _env(data_dir)
        cli = _kdt_tutor()
        log(f"ingesting a synthetic course of {skills} skills")
        t0 = time.perf_counter()
        subprocess.run(
            [cli, "ingest", str(course_dir)],
            env=env,
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=3600,
        )
        ingest_s = time.perf_counter() - t0
        database_url = f"sqlite:///{(data_dir / 'kdt.db').as_posix()}"
        accounts = AccountService(make_engine(database_url))
        users, tokens = [], {}
        for n in range(trainees):
            user = accounts.create_user(
                f"trainee{n:02d}", "bench-password-1", role="trainee", course=COURSE
            )
            users.append(user.id)
            tokens[user.id] = accounts.create_token(user, "bench")
        log(f"recording {observations} observations for {trainees} trainees")
        filled = fill_evidence(
            database_url=database_url,
            course_dir=course_dir,
            trainees=users,
            observations=observations,
            seed=seed,
        )

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        errors = {"me": 0, "health": 0}
        me_times: list[float] = []
        health_times: list[float] = []
        concurrent: list[float] = []
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [cli, "serve", "--port", str(port)],
                env=env,
                cwd=tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_healthy(proc, f"{base}/api/health", log_path)
                with httpx.Client() as client:
                    auth = {u: {"Authorization": f"Bearer {tokens[u]}"} for u in users}
                    t = time.perf_counter()
                    first = client.get(
                        f"{base}/api/learner/me", headers=auth[users[0]], timeout=120
                    )
                    first_s = time.perf_counter() - t
                    if first.status_code != 200:
                        raise RuntimeError(
                            f"/api/learner/me answered {first.status_code}: {first.text[:300]}"
                        )
                    body = first.json()
                    payload_kb = round(len(first.content) / 1024, 1)
                    for u in users[1:]:
                        client.get(f"{base}/api/learner/me", headers=auth[u], timeout=120)
                    log(f"{rounds} rounds x {trainees} trainees: /api/learner/me and /api/health")
                    for _ in range(rounds):
                        for u in users:
                            me = _timed_get(client, f"{base}/api/learner/me", auth[u])
                            health = _timed_get(client, f"{base}/api/health")
                            if me is None:
                                errors["me"] += 1
                            else:
                                me_times.append(me)
                            if health is None:
                                errors["health"] += 1
                            else:
                                health_times.append(health)
                lock = threading.Lock()

                def worker(k: int) -> None:
                    with httpx.Client() as c:
                        for i in range(len(users)):
                            u = users[(k * 7 + i) % len(users)]
                            elapsed = _timed_get(c, f"{base}/api/learner/me", auth[u])
                            with lock:
                                if elapsed is None:
                                    errors["me"] += 1
                                else:
                                    concurrent.append(elapsed)

                log("5 clients at once")
                threads = [threading.Thread(target=worker, args=(k,)) for k in range(5)]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
            finally:
                stop(proc)

    me, health, many = (percentiles_ms(x) for x in (me_times, health_times, concurrent))
    service = filled["service_dashboard"]
    rows = [
        row("GET /api/learner/me p50", me["p50"], health["p50"], unit="ms"),
        row("GET /api/learner/me p95", me["p95"], health["p95"], unit="ms", target="<= 100"),
        row("GET /api/learner/me p99", me["p99"], health["p99"], unit="ms"),
        row("5 clients at once: p95", many["p95"], None, unit="ms"),
        row("LearnerService.dashboard alone p95", service["p95"], None, unit="ms"),
        row("first request (builds the course)", round(first_s * 1000, 1), None, unit="ms"),
        row("response size", payload_kb, None, unit="KB"),
        row("errors", errors["me"], errors["health"], target="0"),
    ]
    return {
        "name": NAME,
        "title": (
            f"trainee dashboard from a real server: {skills} skills, {trainees} trainees, "
            f"{filled['rows']:,} observations (SQLite)"
        ),
        "baseline_name": "health",
        "baseline_desc": "GET /api/health on the same server, interleaved request by request",
        "rows": rows,
        "notes": [
            f"{len(me_times)} dashboard + {len(health_times)} health requests after one warm-up "
            f"per trainee; kdt-tutor serve (uvicorn, default settings) as a subprocess",
            f"evidence: {filled['placements']} placement quizzes + {filled['answers']:,} quiz "
            f"answers through LearnerService in {filled['seconds']} s "
            f"({filled['record_ms_mean']} ms per observation, end to end)",
            f"dashboard payload: {len(body['skills'])} skills, {len(body['practice'])} practice "
            f"items, {body['reviews']['due']} due reviews listed; ingest {ingest_s:.0f} s",
        ],
        "details": {
            "me": me,
            "health": health,
            "concurrent": many,
            "service": service,
            "evidence": filled,
            "ingest_s": round(ingest_s, 1),
        },
    }


def cohort_parser(*, prog: str, description: str | None, rounds: int, out: str):
    """The options of the benchmarks on a seeded cohort (this one and ``bench.analytics``)."""
    parser = bench_parser(prog, description)
    parser.add_argument("--skills", type=int, default=200)
    parser.add_argument("--trainees", type=int, default=30)
    parser.add_argument("--observations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="OUT", default=str(OUT_DIR / out))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = cohort_parser(
        prog="python -m bench.learner_api", description=__doc__, rounds=10, out="learner-api.json"
    ).parse_args(argv)
    return run_and_report(
        lambda: run(
            skills=args.skills,
            trainees=args.trainees,
            observations=args.observations,
            rounds=args.rounds,
            seed=args.seed,
        ),
        name=NAME,
        out=args.json,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())

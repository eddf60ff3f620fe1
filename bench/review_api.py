"""review-api: code reviews with tests through a real ``kdt-tutor serve``, one at a time and
20 at once, and whether the API stays responsive meanwhile.

``python -m bench.review_api [--reviews 20] [--rounds 3] [--poll-ms 600] [--json OUT]
[--server-env KDT_REVIEW_CONCURRENCY=1 ...]``

*Course*: the shipped sample course ``courses/python-basics``, ingested with
``kdt-tutor ingest`` into a temporary data dir (default settings). Its exercises
(``exercises/*``: ``tests.json`` + a pytest file each) are listed through
``GET /api/reviews/exercises``; the submissions are each exercise's ``starter.py`` (as the
API hands it out: it fails every test, so fault localization runs too) and the course's own
``solution.py`` (passes every test).

*Server*: ``kdt-tutor serve`` as a subprocess with default settings (``KDT_SANDBOX=auto``,
so bubblewrap here; ``KDT_REVIEW_CONCURRENCY=2`` test runs at once; ``--server-env``
overrides a setting for an experiment). ``--reviews`` trainee accounts with API tokens
(``AccountService`` on the same SQLite file). Before measuring, one static review and one
review of each starter warm the server up (bandit import, ruff's rule docs, the first
sandbox); the first one's time is a row.

*Measured*, with ``POST /api/reviews`` (``{"files": [{"name": "solution.py", "content"}],
"exercise_id", "lang": "en"}``; 202 + ``status: running``) and ``GET /api/reviews/{id}``
until ``status`` is ``complete``:

1. *One review at a time*: ``--rounds`` rounds of every exercise's starter and solution,
   one after another (polled every 20 ms). A review's time is submit -> the server's
   ``completed_at`` (same host clock), so the polling interval does not count. "Tests' own
   time" is the sum of the cases' ``duration_ms`` (each test's time inside the sandbox);
   overhead = total - tests' own time. Target: overhead p95 <= 1,000 ms. The review's
   ``timings`` (``static_ms``, ``tests_ms``, ``localize_ms``, ``narrative_ms``) show where
   the time goes.
2. *``--reviews`` at once*: per round, ``GET /api/health`` is first sampled idle for 5 s,
   then ``--reviews`` trainees (threads, one httpx client each) submit at the same instant
   (a barrier) and poll every ``--poll-ms`` (600 ms, as the review page does) until all are
   complete, while another thread sends ``GET /api/health`` every 50 ms (the next one at
   once when one takes longer). Rows: health p50/p95 during the bursts vs idle, the time
   until all are complete, per-review time, the ``POST`` (static review) time, queueing.
   Target: health p95 <= 100 ms during the burst.

*Diagnosis* (same run): health samples split by phase (while the ``POST``\\ s are in flight,
i.e. static reviews in request threads, vs while only the test jobs run); a burst of
``--reviews`` static-only reviews at once (no tests: the request threads alone); the server
process's own CPU time vs its children's (sandboxes, ruff) over the bursts; the most
sandboxes seen at once; this client's own CPU (it shares the 2 cores).

*Baseline*: a static-only review (no ``exercise_id``: ``POST`` answers 201 complete) of the
same solution files, one at a time, for the review rows; idle ``GET /api/health`` (measured
just before each burst) for the health rows.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from bench.common import (
    OUT_DIR,
    SAMPLE_COURSE,
    format_table,
    free_port,
    load_average,
    log,
    percentiles_ms,
    row,
    write_report,
)
from bench.serve_memory import _env, _kdt_tutor, stop, wait_healthy
from knowledge.registry import make_engine
from tutor.accounts.users import AccountService
from tutor.review.exercise_tests import ExerciseTests, load_exercise_tests
from tutor.review.sandbox import SandboxLimits, build_sandbox
from tutor.review.types import SourceFile

NAME = "review-api"
COURSE = "python-basics"
HEALTH_EVERY_S = 0.05
IDLE_S = 5.0
SINGLE_POLL_S = 0.02
REVIEW_TIMEOUT_S = 180.0
STEPS = ("static_ms", "tests_ms", "localize_ms", "narrative_ms")
KINDS = ("starter", "buggy", "solution")
# A one-line bug a trainee might make in each sample solution (written for this benchmark):
# it fails some tests, not all, so localization has mutants to run (the starters, a bare
# ``pass``, fail every test and leave it nothing to mutate).
BUGS = {
    "ex-sum-evens": ("n % 2 == 0", "n % 2 == 1"),
    "ex-list-squares": ("n > 0", "n >= 0"),
    "ex-word-count": ("raw_word.lower()", "raw_word"),
    "ex-grade-report": ("counts.get(name, 0) + 1", "counts.get(name, 1) + 1"),
}


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# --- one review -------------------------------------------------------------------------------
@dataclass
class Review:
    """One submission as the client saw it (seconds, wall clock of this host)."""

    kind: str  # one of KINDS, or "static"
    exercise_id: str | None
    submitted: float = 0.0  # time.time() just before the POST
    post_s: float = 0.0  # POST round trip (the static review is done inside it)
    seen_s: float = 0.0  # submit -> the poll that saw it complete
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def total_s(self) -> float:
        """Submit -> ``completed_at`` (the server's clock; falls back to the poll)."""
        done = self.body.get("completed_at")
        if done:
            return max(_at(done) - self.submitted, self.post_s)
        return self.seen_s

    @property
    def queued_s(self) -> float:
        """Stored as running -> the job started (``completed_at`` minus the job's steps)."""
        created, done = self.body.get("created_at"), self.body.get("completed_at")
        if not (created and done):
            return 0.0
        timings = self.body.get("timings") or {}
        job_s = sum(float(timings.get(k, 0.0)) for k in STEPS[1:]) / 1000
        span = _at(done) - _at(created)
        return max(0.0, span - job_s)

    @property
    def tests_own_s(self) -> float:
        cases = (self.body.get("tests") or {}).get("cases") or []
        return sum(float(c.get("duration_ms") or 0.0) for c in cases) / 1000


def submit(
    client: httpx.Client,
    base: str,
    *,
    token: str,
    review: Review,
    code: str,
    poll_s: float,
) -> Review:
    """POST the code, poll until complete (or failed); fills ``review``."""
    headers = {"Authorization": f"Bearer {token}"}
    payload: dict[str, Any] = {
        "files": [{"name": "solution.py", "content": code}],
        "lang": "en",
    }
    if review.exercise_id:
        payload["exercise_id"] = review.exercise_id
    review.submitted = time.time()
    started = time.perf_counter()
    response = client.post(f"{base}/api/reviews", json=payload, headers=headers, timeout=120)
    review.post_s = time.perf_counter() - started
    if response.status_code not in (201, 202):
        review.error = f"POST {response.status_code}: {response.text[:200]}"
        return review
    body = response.json()
    while body.get("status") == "running":
        if time.perf_counter() - started > REVIEW_TIMEOUT_S:
            review.error = f"still running after {REVIEW_TIMEOUT_S:g} s"
            return review
        time.sleep(poll_s)
        got = client.get(f"{base}/api/reviews/{body['id']}", headers=headers, timeout=120)
        if got.status_code != 200:
            review.error = f"GET {got.status_code}: {got.text[:200]}"
            return review
        body = got.json()
    review.seen_s = time.perf_counter() - started
    review.body = body
    if body.get("status") != "complete":
        review.error = f"status {body.get('status')}: {body.get('error')}"
    return review


# --- health probe and process sampler ---------------------------------------------------------
class HealthProbe(threading.Thread):
    """``GET /api/health`` every ``every_s`` (the next at once when one takes longer);
    samples are (start time, seconds or None for an error)."""

    def __init__(self, url: str, every_s: float = HEALTH_EVERY_S) -> None:
        super().__init__(daemon=True)
        self.url, self.every_s = url, every_s
        self.samples: list[tuple[float, float | None]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        with httpx.Client() as client:
            due = time.perf_counter()
            while not self._halt.is_set():
                at, t = time.time(), time.perf_counter()
                try:
                    ok = client.get(self.url, timeout=30).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.samples.append((at, time.perf_counter() - t if ok else None))
                due = max(due + self.every_s, time.perf_counter())
                self._halt.wait(max(0.0, due - time.perf_counter()))

    def stop(self) -> list[tuple[float, float | None]]:
        self._halt.set()
        self.join()
        return self.samples


class ProcessSampler(threading.Thread):
    """Every 100 ms: how many sandboxes (``bwrap`` children of the server) and ruff
    processes run, the server's thread count, the server's CPU use (100 = one core) and the
    whole machine's (100 = every core busy, whoever uses them)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.server = psutil.Process(pid)
        self.samples: list[dict[str, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        self.server.cpu_percent(None)
        psutil.cpu_percent(None)
        while not self._halt.wait(0.1):
            sample = {"at": time.time(), "sandboxes": 0, "ruff": 0, "threads": 0}
            try:
                sample["server_cpu"] = self.server.cpu_percent(None)
                sample["machine_cpu"] = psutil.cpu_percent(None)
                sample["threads"] = self.server.num_threads()
                for child in self.server.children(recursive=False):
                    name = child.name()
                    if name == "bwrap":
                        sample["sandboxes"] += 1
                    elif name.startswith("ruff"):
                        sample["ruff"] += 1
            except psutil.Error:
                continue
            self.samples.append(sample)

    def stop(self) -> list[dict[str, float]]:
        self._halt.set()
        self.join()
        return self.samples


def _cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far: the server process's own, and the machine's (all cores, busy)."""
    t = psutil.Process(pid).cpu_times()
    machine = psutil.cpu_times()
    return {"server": t.user + t.system, "machine": sum(machine) - machine.idle - machine.iowait}


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def idle_health(base: str, seconds: float = IDLE_S) -> list[float]:
    probe = HealthProbe(f"{base}/api/health")
    probe.start()
    time.sleep(seconds)
    return [s for _, s in probe.stop() if s is not None]


# --- the measurement --------------------------------------------------------------------------
@dataclass
class Burst:
    reviews: list[Review]
    health: list[tuple[float, float | None]]
    posts_done: float  # time.time() when the last POST answered
    started: float
    cpu: dict[str, float]
    client_cpu_s: float
    load: list[dict[str, float]]

    @property
    def peaks(self) -> dict[str, int]:
        keys = ("sandboxes", "ruff", "threads")
        return {k: int(max((s[k] for s in self.load), default=0)) for k in keys}

    def mean_cpu(self, key: str, *, posts: bool) -> list[float]:
        """``key`` samples while the POSTs were in flight (``posts``) or after, until done."""
        end = self.started + self.all_done_s
        return [
            s[key]
            for s in self.load
            if key in s and self.started <= s["at"] <= end and (s["at"] <= self.posts_done) == posts
        ]

    @property
    def all_done_s(self) -> float:
        ends = [r.submitted + r.total_s for r in self.reviews if r.error is None]
        return max(ends) - self.started if ends else float("nan")


def burst(
    base: str,
    *,
    pid: int,
    jobs: list[tuple[str, Review, str]],
    poll_s: float,
) -> Burst:
    """``jobs`` (token, review, code) submitted at the same instant, each by its own thread
    and client, with the health probe running from 1 s before to the last completion."""
    barrier = threading.Barrier(len(jobs))

    def worker(token: str, review: Review, code: str) -> None:
        with httpx.Client() as client:
            barrier.wait()
            try:
                submit(client, base, token=token, review=review, code=code, poll_s=poll_s)
            except httpx.HTTPError as exc:
                review.error = f"{type(exc).__name__}: {exc}"

    probe = HealthProbe(f"{base}/api/health")
    sampler = ProcessSampler(pid)
    probe.start()
    sampler.start()
    time.sleep(1.0)
    cpu0, client0 = _cpu(pid), _client_cpu()
    started = time.time()
    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    cpu1, client1 = _cpu(pid), _client_cpu()
    load = sampler.stop()
    samples = probe.stop()
    reviews = [job[1] for job in jobs]
    return Burst(
        reviews=reviews,
        health=samples,
        posts_done=max(r.submitted + r.post_s for r in reviews),
        started=started,
        cpu={k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
        client_cpu_s=round(client1 - client0, 2),
        load=load,
    )


def _exercises(client: httpx.Client, base: str, token: str) -> dict[str, dict[str, str]]:
    """Exercise id -> starter (from the API) and solution (the course's ``solution.py``)."""
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get(f"{base}/api/reviews/exercises", headers=headers, timeout=60)
    listed.raise_for_status()
    codes: dict[str, dict[str, str]] = {}
    for item in listed.json():
        one = client.get(f"{base}/api/reviews/exercises/{item['id']}", headers=headers, timeout=60)
        one.raise_for_status()
        solution = SAMPLE_COURSE / "exercises" / item["id"] / "solution.py"
        starter = one.json().get("starter")
        if not (starter and solution.exists()):
            continue
        text = solution.read_text(encoding="utf-8")
        right, wrong = BUGS.get(item["id"], ("", ""))
        if not right or text.count(right) != 1:
            raise RuntimeError(f"no one-line bug for {item['id']}: update BUGS")
        codes[item["id"]] = {
            "starter": starter,
            "buggy": text.replace(right, wrong),
            "solution": text,
        }
    if not codes:
        raise RuntimeError("the sample course lists no exercise with a starter and a solution")
    return codes


def _trainees(data_dir: Path, count: int) -> list[str]:
    accounts = AccountService(make_engine(f"sqlite:///{(data_dir / 'kdt.db').as_posix()}"))
    tokens = []
    for n in range(count):
        user = accounts.create_user(
            f"trainee{n:02d}", "bench-password-1", role="trainee", course=COURSE
        )
        tokens.append(accounts.create_token(user, "bench"))
    return tokens


def _ms(values: list[float]) -> dict[str, float]:
    return (
        percentiles_ms(values)
        if values
        else {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None}
    )


def _phase_health(bursts: list[Burst]) -> dict[str, list[float]]:
    """Health latencies split by what the server was doing when the request started."""
    split: dict[str, list[float]] = {"all": [], "posts": [], "jobs": [], "errors": []}
    for b in bursts:
        end = b.started + b.all_done_s
        for at, seconds in b.health:
            if not b.started <= at <= end:
                continue
            if seconds is None:
                split["errors"].append(0.0)
                continue
            split["all"].append(seconds)
            split["posts" if at <= b.posts_done else "jobs"].append(seconds)
    return split


def _single_rounds(
    client: httpx.Client, base: str, *, token: str, codes: dict[str, dict[str, str]], rounds: int
) -> tuple[list[Review], list[Review]]:
    with_tests: list[Review] = []
    static: list[Review] = []
    for r in range(rounds):
        log(f"one at a time: round {r + 1}/{rounds}")
        for ex, code in codes.items():
            static.append(
                submit(
                    client,
                    base,
                    token=token,
                    review=Review("static", None),
                    code=code["solution"],
                    poll_s=SINGLE_POLL_S,
                )
            )
            for kind in KINDS:
                with_tests.append(
                    submit(
                        client,
                        base,
                        token=token,
                        review=Review(kind, ex),
                        code=code[kind],
                        poll_s=SINGLE_POLL_S,
                    )
                )
    return with_tests, static


def run(
    reviews: int = 20,
    rounds: int = 3,
    poll_ms: int = 600,
    server_env: dict[str, str] | None = None,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="kdt-bench-review-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        env = {**_env(data_dir), **(server_env or {})}
        cli = _kdt_tutor()
        log("ingesting the sample course")
        subprocess.run(
            [cli, "ingest", str(SAMPLE_COURSE)],
            env=env,
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=3600,
        )
        tokens = _trainees(data_dir, max(reviews, 1))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
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
                measured = _measure(
                    base, pid=proc.pid, tokens=tokens, rounds=rounds, poll_s=poll_ms / 1000
                )
            finally:
                stop(proc)
    log("the sandbox alone, in this process")
    measured["sandbox"] = sandbox_alone(measured["codes"], rounds=rounds)
    return _result(
        measured, reviews=reviews, rounds=rounds, poll_ms=poll_ms, server_env=server_env or {}
    )


def _measure(base: str, *, pid: int, tokens: list[str], rounds: int, poll_s: float) -> dict:
    with httpx.Client() as client:
        codes = _exercises(client, base, tokens[0])
        log(f"warm-up: {len(codes)} exercises ({', '.join(codes)})")
        first_static = submit(
            client,
            base,
            token=tokens[0],
            review=Review("static", None),
            code=next(iter(codes.values()))["solution"],
            poll_s=SINGLE_POLL_S,
        )
        warm = [
            submit(
                client,
                base,
                token=tokens[0],
                review=Review("starter", ex),
                code=code["starter"],
                poll_s=SINGLE_POLL_S,
            )
            for ex, code in codes.items()
        ]
        with_tests, static = _single_rounds(
            client, base, token=tokens[0], codes=codes, rounds=rounds
        )
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        get_review = []
        for r in with_tests[: 4 * len(codes)]:
            if r.body.get("id"):
                t = time.perf_counter()
                client.get(f"{base}/api/reviews/{r.body['id']}", headers=headers, timeout=60)
                get_review.append(time.perf_counter() - t)
    ids = list(codes)
    idle: list[float] = []
    bursts: list[Burst] = []
    static_bursts: list[Burst] = []
    for r in range(rounds):
        log(
            f"idle health {IDLE_S:g} s, then {len(tokens)} reviews at once (round {r + 1}/{rounds})"
        )
        idle += idle_health(base)
        jobs = []
        for n, token in enumerate(tokens):
            ex = ids[n % len(ids)]
            kind = KINDS[(n // len(ids) + r) % len(KINDS)]
            jobs.append((token, Review(kind, ex), codes[ex][kind]))
        bursts.append(burst(base, pid=pid, jobs=jobs, poll_s=poll_s))
        log(
            f"  all complete after {bursts[-1].all_done_s:.1f} s; "
            f"{len(tokens)} static-only reviews at once"
        )
        static_jobs = [
            (token, Review("static", None), codes[ids[n % len(ids)]]["solution"])
            for n, token in enumerate(tokens)
        ]
        static_bursts.append(burst(base, pid=pid, jobs=static_jobs, poll_s=poll_s))
    return {
        "codes": codes,
        "first_static": first_static,
        "warm": warm,
        "with_tests": with_tests,
        "static": static,
        "get_review": get_review,
        "idle": idle,
        "bursts": bursts,
        "static_bursts": static_bursts,
    }


def sandbox_alone(codes: dict[str, dict[str, str]], *, rounds: int) -> dict[str, Any]:
    """Each solution in the product's sandbox, in this process (no server, no HTTP), with
    the exercise's whole tests, its ``tests.json`` alone and its pytest file alone; and a
    bare Python start (and one importing pytest) on the host, for reference."""
    sandbox = build_sandbox("auto", allow_unsafe=False)
    limits = SandboxLimits()
    runs: dict[str, list[float]] = {
        "tests.json + pytest": [],
        "tests.json only": [],
        "pytest file only": [],
    }
    for _ in range(rounds):
        for ex, code in codes.items():
            tests = load_exercise_tests(SAMPLE_COURSE / "exercises" / ex)
            variants = {
                "tests.json + pytest": tests,
                "tests.json only": ExerciseTests(json_spec=tests.json_spec),
                "pytest file only": ExerciseTests(pytest_files=tests.pytest_files),
            }
            for name, variant in variants.items():
                started = time.perf_counter()
                sandbox.run(
                    files=(SourceFile("solution.py", code["solution"]),),
                    tests=variant,
                    limits=limits,
                    trace=True,
                )
                runs[name].append(time.perf_counter() - started)
    host: dict[str, list[float]] = {"python": [], "pytest": []}
    for _ in range(rounds * len(codes)):
        for name, code in (("python", "pass"), ("pytest", "import pytest")):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-I", "-S", "-B", "-c", code]
                if name == "python"
                else [sys.executable, "-I", "-B", "-c", code],
                check=True,
            )
            host[name].append(time.perf_counter() - started)
    return {
        "name": getattr(sandbox, "label", type(sandbox).__name__),
        "runs": {k: _ms(v) for k, v in runs.items()},
        **{k: _ms(v) for k, v in host.items()},
    }


# --- the result -------------------------------------------------------------------------------
def _pair(stats: dict[str, float]) -> str:
    return f"{stats['p50']:,.0f} / {stats['p95']:,.0f}" if stats["n"] else "-"


def _result(m: dict, *, reviews: int, rounds: int, poll_ms: int, server_env: dict) -> dict:
    ok = [r for r in m["with_tests"] if r.error is None]
    static = [r for r in m["static"] if r.error is None]
    errors = [r.error for r in (*m["with_tests"], *m["static"]) if r.error]
    total = _ms([r.total_s for r in ok])
    static_ms = _ms([r.total_s for r in static])
    own = _ms([r.tests_own_s for r in ok])
    overhead = _ms([r.total_s - r.tests_own_s for r in ok])
    by_kind = {k: _ms([r.total_s - r.tests_own_s for r in ok if r.kind == k]) for k in KINDS}
    steps = {
        s: _ms(
            [float(r.body["timings"][s]) / 1000 for r in ok if s in (r.body.get("timings") or {})]
        )
        for s in STEPS
    }
    unaccounted = _ms(
        [
            r.total_s - sum(float(v) for k, v in r.body["timings"].items() if k in STEPS) / 1000
            for r in ok
        ]
    )
    verdicts = sorted({f"{r.kind}: {r.body.get('verdict')}" for r in ok})
    sandbox = sorted({(r.body.get("tests") or {}).get("sandbox", "") for r in ok})

    burst_reviews = [r for b in m["bursts"] for r in b.reviews]
    burst_ok = [r for r in burst_reviews if r.error is None]
    errors += [r.error for b in (*m["bursts"], *m["static_bursts"]) for r in b.reviews if r.error]
    idle = _ms(m["idle"])
    phase = _phase_health(m["bursts"])
    static_phase = _phase_health(m["static_bursts"])
    health = _ms(phase["all"])
    posts, jobs_only, during_static = (
        _ms(phase["posts"]),
        _ms(phase["jobs"]),
        _ms(static_phase["all"]),
    )
    health_errors = len(phase["errors"]) + len(static_phase["errors"])
    per_review = _ms([r.total_s for r in burst_ok])
    post_burst = _ms([r.post_s for r in burst_ok])
    queued = _ms([r.queued_s for r in burst_ok])
    burst_own = _ms([r.tests_own_s for r in burst_ok])
    done_s = [round(b.all_done_s, 2) for b in m["bursts"]]
    static_done = [round(b.all_done_s, 2) for b in m["static_bursts"]]
    cpu = {k: round(sum(b.cpu[k] for b in m["bursts"]), 1) for k in ("server", "machine")}
    phase_cpu = {
        f"{key}_{name}": round(
            float(np.mean([v for b in m["bursts"] for v in b.mean_cpu(key, posts=posts)] or [0])),
            1,
        )
        for key in ("server_cpu", "machine_cpu")
        for name, posts in (("posts", True), ("jobs", False))
    }
    busy_s = sum(b.all_done_s for b in m["bursts"])
    peaks = {k: max(b.peaks[k] for b in m["bursts"]) for k in ("sandboxes", "ruff", "threads")}
    client_cpu = round(sum(b.client_cpu_s for b in m["bursts"]), 1)
    get_review = _ms(m["get_review"])
    warm = [r for r in m["warm"] if r.error is None]
    rows = [
        row("one review with tests: total p50", total["p50"], static_ms["p50"], unit="ms"),
        row("one review with tests: total p95", total["p95"], static_ms["p95"], unit="ms"),
        row("  tests' own time (sum of cases) p50 / p95", _pair(own), None, unit="ms"),
        row("  overhead = total - tests' own, p50", overhead["p50"], static_ms["p50"], unit="ms"),
        row("  overhead p95", overhead["p95"], static_ms["p95"], unit="ms", target="<= 1000"),
        *[
            row(
                f"  overhead p95, {label}",
                by_kind[k]["p95"],
                static_ms["p95"],
                unit="ms",
                target="<= 1000",
            )
            for k, label in (
                ("solution", "passing (solution)"),
                ("starter", "failing all (starter)"),
                ("buggy", "one-line bug (+ mutants)"),
            )
        ],
        *[row(f"  step {s} p50 / p95", _pair(steps[s]), None, unit="ms") for s in STEPS],
        row("  not in a step (HTTP, DB, queue) p50 / p95", _pair(unaccounted), None, unit="ms"),
        row(f"{reviews} at once: health p50", health["p50"], idle["p50"], unit="ms"),
        row(
            f"{reviews} at once: health p95", health["p95"], idle["p95"], unit="ms", target="<= 100"
        ),
        row(
            "  health p95 while the POSTs (static reviews) run",
            posts["p95"],
            idle["p95"],
            unit="ms",
            target="<= 100",
        ),
        row(
            "  health p95 while only test jobs run",
            jobs_only["p95"],
            idle["p95"],
            unit="ms",
            target="<= 100",
        ),
        row(
            "  health max during the bursts",
            round(max(phase["all"]) * 1000, 1) if phase["all"] else None,
            round(max(m["idle"]) * 1000, 1) if m["idle"] else None,
            unit="ms",
        ),
        row(
            "  server CPU while POSTs run / while jobs run",
            f"{phase_cpu['server_cpu_posts']:.0f} / {phase_cpu['server_cpu_jobs']:.0f}",
            None,
            unit="% of a core",
        ),
        row(
            "  machine CPU while POSTs run / while jobs run",
            f"{phase_cpu['machine_cpu_posts']:.0f} / {phase_cpu['machine_cpu_jobs']:.0f}",
            None,
            unit="% of 2 cores",
        ),
        row(
            f"  {reviews} static-only at once: health p95",
            during_static["p95"],
            idle["p95"],
            unit="ms",
            target="<= 100",
        ),
        row(
            f"{reviews} at once: until all complete (mean)",
            round(float(np.mean(done_s)), 2),
            None,
            unit="s",
        ),
        row(f"{reviews} at once: per review p95", per_review["p95"], total["p95"], unit="ms"),
        row("  POST (static review) p95", post_burst["p95"], static_ms["p95"], unit="ms"),
        row("  waiting for a job slot p50 / p95", _pair(queued), None, unit="ms"),
        *[
            row(f"sandbox alone, {name}: run p50 / p95", _pair(stats), None, unit="ms")
            for name, stats in m["sandbox"]["runs"].items()
        ],
        row(
            "  python start / + import pytest (host, no sandbox) p50",
            f"{m['sandbox']['python']['p50']:,.0f} / {m['sandbox']['pytest']['p50']:,.0f}",
            None,
            unit="ms",
        ),
        row(
            "first review after start (static only)",
            round(m["first_static"].total_s * 1000, 1),
            static_ms["p50"],
            unit="ms",
        ),
        row("errors (reviews, health)", f"{len(errors)}, {health_errors}", None, target="0"),
    ]
    concurrency = server_env.get("KDT_REVIEW_CONCURRENCY", "2 (default)")
    notes = [
        f"{len(ok)} reviews with tests one at a time ({rounds} rounds x {len(ok) // max(rounds, 1)}"
        f"; {', '.join(verdicts)}); sandbox: {', '.join(sandbox)}; "
        f"KDT_REVIEW_CONCURRENCY={concurrency}"
        + (f"; server env {server_env}" if server_env else ""),
        "total = submit -> the server's completed_at (same host clock); p50 / p95 cells in ms",
        f"bursts: {rounds} x {reviews} reviews (starters, buggy, solutions in turn), polled "
        f"every {poll_ms} ms like the review page; all complete after {done_s} s; "
        f"{len(phase['all'])} health samples during them, {len(m['idle'])} idle",
        f"health by phase: POSTs in flight p50 {posts['p50']} / p95 {posts['p95']} ms (n "
        f"{posts['n']}), test jobs only p50 {jobs_only['p50']} / p95 {jobs_only['p95']} ms "
        f"(n {jobs_only['n']}); static-only bursts done after {static_done} s",
        f"CPU over the bursts ({busy_s:.0f} s): server process {cpu['server']} s, the machine "
        f"(both cores, everyone) {cpu['machine']} s, this client {client_cpu} s; at most "
        f"{peaks['sandboxes']} sandboxes and {peaks['ruff']} ruff processes at once, "
        f"{peaks['threads']} server threads",
        f"tests' own time during the bursts p50 {burst_own['p50']} / p95 {burst_own['p95']} ms; "
        f"GET /api/reviews/{{id}} alone p50 {get_review['p50']} / p95 {get_review['p95']} ms",
        f"warm-up: first static review {m['first_static'].total_s * 1000:.0f} ms, first starter "
        f"reviews {[round(r.total_s * 1000) for r in warm]} ms",
    ]
    if errors:
        notes.append(f"errors: {errors[:5]}")
    return {
        "name": NAME,
        "title": (
            f"code reviews with tests from a real server: {COURSE} exercises, one at a "
            f"time and {reviews} at once"
        ),
        "baseline_name": "static/idle",
        "baseline_desc": (
            "review rows: a static-only review (no exercise_id) of the same "
            "solution files; health rows: GET /api/health idle, just before "
            "each burst"
        ),
        "rows": rows,
        "notes": notes,
        "details": {
            "single": {
                "total": total,
                "static_only": static_ms,
                "tests_own": own,
                "overhead": overhead,
                "overhead_by_kind": by_kind,
                "steps": steps,
                "unaccounted": unaccounted,
                "get_review": get_review,
            },
            "burst": {
                "health": health,
                "idle": idle,
                "health_posts": posts,
                "health_jobs": jobs_only,
                "health_static_burst": during_static,
                "health_errors": health_errors,
                "per_review": per_review,
                "post": post_burst,
                "queued": queued,
                "tests_own": burst_own,
                "all_done_s": done_s,
                "static_all_done_s": static_done,
                "cpu_s": cpu,
                "client_cpu_s": client_cpu,
                "peaks": peaks,
                "phase_cpu": phase_cpu,
            },
            "sandbox_alone": m["sandbox"],
            "errors": errors,
            "server_env": server_env,
            "reviews": [_raw(r) for r in (*m["with_tests"], *burst_reviews)],
        },
    }


def _raw(r: Review) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "exercise_id": r.exercise_id,
        "total_ms": round(r.total_s * 1000, 1),
        "post_ms": round(r.post_s * 1000, 1),
        "tests_own_ms": round(r.tests_own_s * 1000, 1),
        "queued_ms": round(r.queued_s * 1000, 1),
        "verdict": r.body.get("verdict"),
        "timings": r.body.get("timings"),
        "error": r.error,
    }


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.review_api",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reviews", type=int, default=20, help="reviews at once (trainees)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--poll-ms",
        type=int,
        default=600,
        help="how often each trainee polls during the bursts (the page: 600)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KDT_X=VALUE",
        help="a setting for the server (an experiment; repeatable)",
    )
    parser.add_argument("--json", metavar="OUT", default=str(OUT_DIR / "review-api.json"))
    args = parser.parse_args(argv)
    server_env = dict(item.split("=", 1) for item in args.server_env)
    before, uptime_before = load_average(), _uptime()
    result = run(
        reviews=args.reviews, rounds=args.rounds, poll_ms=args.poll_ms, server_env=server_env
    )
    result["load_average"] = {"before": before, "after": load_average()}
    result["uptime"] = {"before": uptime_before, "after": _uptime()}
    print(format_table(result))
    write_report(args.json, name=NAME, result=result, argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

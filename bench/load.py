"""load: 50 trainees chatting over SSE while 10 trainees get code reviews, on one real server.

``python -m bench.load [--chats 50] [--reviews 10] [--duration-s 60] [--think-s 0]
[--json OUT]`` (also ``python -m bench.run --only load``).

*Server*: ``kdt-tutor serve`` as a subprocess with default settings (offline extractive
answerer, ``KDT_CHAT_PER_MINUTE=20``, ``KDT_REVIEW_CONCURRENCY=2``, ``KDT_REVIEW_RATE=10``,
``KDT_SANDBOX=auto``) on a temporary data dir with the sample course ingested
(``kdt-tutor ingest``). ``--chats`` + ``--reviews`` trainee accounts, each with its own API
token, so the per-user limits apply per user as in production.

*Load*: each chat user (a thread with its own HTTP client) holds a ``POST /api/chat`` SSE
stream open until ``done``, then asks the next quiz question of the sample course (English
and Korean, each user from its own offset) in the same conversation, after ``--think-s``
seconds (default 0: at once), for ``--duration-s``. A 429 is a rate-limited answer, not a
server error: it is counted apart and the user waits its ``Retry-After``. Each reviewer
submits ``POST /api/reviews`` for the course's exercises in turn, the starter (fails every
test), a one-line bug and the solution (``bench.review_api``'s submissions), polls
``GET /api/reviews/{id}`` every 600 ms (as the review page does) until complete, then
submits the next; 429 and 503 ``reviews_busy`` are counted apart and waited out. A thread
sends ``GET /api/health`` every 250 ms (the next at once when one takes longer), each
followed by a ``GET`` of an unknown ``/api`` path (a 404 answered on the event loop, where
health needs a thread-pool slot: the pair says where health waits), another
samples the memory of the server and its children (sandboxes, ruff; the sum of their PSS)
every 250 ms; the server's own peak RSS is its ``VmHWM`` at the end.

*Phases* (same server, one after another, after a warm-up that asks every quiz question
once and reviews each solution once): the health poller alone for 5 s (**idle**); chats and
reviews together (**both**, the measured load); the chats alone (**chats**); the reviews
alone (**reviews**). The table's *ours* is **both**; its baseline is the same part of the
load alone: chat rows against **chats**, review rows against **reviews**, health and memory
rows against **idle**.

*Errors* are 5xx answers, transport errors (connection, timeout), any other unexpected
status, an ``error`` event or a stream without ``done``, and a review that ends ``failed``.
Also counted: reviews whose verdict is not what the submission deserves (the solution
``passed``, the starter and the bug not).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
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
from bench.review_api import _exercises
from bench.serve_memory import _env, _kdt_tutor, stop, wait_healthy
from eval.datasets import read_quiz
from knowledge.registry import make_engine
from tutor.accounts.users import AccountService

NAME = "load"
COURSE = "python-basics"
IDLE_S = 5.0
HEALTH_EVERY_S = 0.25
MEMORY_EVERY_S = 0.25
REVIEW_POLL_S = 0.6
# A 404 is answered by an async handler on the event loop, without a thread-pool slot; the
# health route is a plain ``def`` (a slot). The two side by side say where health waits.
NO_ROUTE = "/api/no-such-route"
TIMEOUT_S = 120.0
KINDS = ("starter", "buggy", "solution")  # the solution passes, the others must not
MAX_REASONS = 5
WARM_USERS = 4  # the warm-up's questions spread over them: under their rate limit


# --- what the clients saw ---------------------------------------------------------------------
@dataclass
class Tally:
    """Requests of one kind in one phase: outcomes, reasons of errors, durations (s)."""

    requests: int = 0
    ok: int = 0
    rate_limited: int = 0  # 429
    busy: int = 0  # 503 reviews_busy
    errors: int = 0
    reasons: Counter = field(default_factory=Counter)

    def add(self, outcome: str, reason: str = "") -> None:
        self.requests += 1
        if outcome == "error":
            self.errors += 1
            self.reasons[reason] += 1
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "rate_limited": self.rate_limited,
            "busy": self.busy,
            "errors": self.errors,
            "reasons": dict(self.reasons.most_common(MAX_REASONS)),
        }


@dataclass
class Phase:
    name: str
    tallies: dict[str, Tally] = field(default_factory=dict)
    first_token: list[float] = field(default_factory=list)
    chat_total: list[float] = field(default_factory=list)
    verdict_s: list[float] = field(default_factory=list)
    wrong_verdicts: list[str] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    no_route: list[float] = field(default_factory=list)  # the 404 probe
    memory_mb: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    load: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str, outcome: str, reason: str = "") -> None:
        with self.lock:
            self.tallies.setdefault(kind, Tally()).add(outcome, reason)

    def tally(self, kind: str) -> Tally:
        return self.tallies.get(kind, Tally())

    def total_errors(self) -> int:
        return sum(t.errors for t in self.tallies.values())


def _classify(status: int, body: str) -> tuple[str, str]:
    """A non-success answer: ``rate_limited`` (429), ``busy`` (503 reviews_busy) or an
    ``error`` with its reason."""
    if status == 429:
        return "rate_limited", ""
    if status == 503 and "reviews_busy" in body:
        return "busy", ""
    return "error", f"HTTP {status}: {body[:120]}"


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.5, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _sleep_until(seconds: float, deadline: float) -> None:
    time.sleep(max(0.0, min(seconds, deadline - time.monotonic())))


# --- one chat user ----------------------------------------------------------------------------
def ask(
    client: httpx.Client, base: str, *, token: str, payload: dict, deadline: float, phase: Phase
) -> str | None:
    """One question read as SSE to its end; the conversation's id (None when it failed). A
    refused question waits its ``Retry-After`` (at most until ``deadline``)."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    first_token = None
    event, done, failed = None, False, ""
    try:
        with client.stream("POST", f"{base}/api/chat", json=payload, headers=headers) as response:
            if response.status_code != 200:
                body = response.read().decode(errors="replace")
                phase.count("chat", *_classify(response.status_code, body))
                _sleep_until(_retry_after(response), deadline)
                return None
            conversation = response.headers.get("X-Conversation-Id")
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "token" and first_token is None:
                        first_token = time.perf_counter() - started
                    elif event == "done":
                        done = True
                elif line.startswith("data: ") and event == "error":
                    failed = f"error event: {line[6:120]}"
    except httpx.HTTPError as exc:
        phase.count("chat", "error", type(exc).__name__)
        return None
    total = time.perf_counter() - started
    if failed or not done:
        phase.count("chat", "error", failed or "stream ended without done")
        return None
    phase.count("chat", "ok")
    with phase.lock:
        phase.chat_total.append(total)
        phase.first_token.append(first_token if first_token is not None else total)
    return conversation


def chat_user(
    base: str, *, token: str, questions: list[str], offset: int, think_s: float,
    deadline: float, phase: Phase,
) -> None:  # fmt: skip
    """Ask question after question in one conversation until ``deadline``."""
    conversation: str | None = None
    n = offset
    with httpx.Client(timeout=TIMEOUT_S) as client:
        while time.monotonic() < deadline:
            payload: dict[str, Any] = {"message": questions[n % len(questions)]}
            if conversation:
                payload["conversation_id"] = conversation
            n += 1
            got = ask(client, base, token=token, payload=payload, deadline=deadline, phase=phase)
            conversation = got or conversation
            if got and think_s:
                _sleep_until(think_s, deadline)


# --- one reviewer -----------------------------------------------------------------------------
def review(
    client: httpx.Client, base: str, *, token: str, code: str, exercise: str, kind: str,
    deadline: float, phase: Phase,
) -> None:  # fmt: skip
    """Submit one review and poll it to completion (``kind``: which submission, to check
    the verdict). A refused submission waits its ``Retry-After`` (at most until
    ``deadline``)."""
    headers = {"Authorization": f"Bearer {token}"}
    payload = {
        "files": [{"name": "solution.py", "content": code}],
        "exercise_id": exercise,
        "lang": "en",
    }
    started = time.perf_counter()
    try:
        response = client.post(f"{base}/api/reviews", json=payload, headers=headers)
    except httpx.HTTPError as exc:
        phase.count("review POST", "error", type(exc).__name__)
        return
    if response.status_code not in (201, 202):
        phase.count("review POST", *_classify(response.status_code, response.text))
        _sleep_until(_retry_after(response), deadline)
        return
    phase.count("review POST", "ok")
    body = response.json()
    while body.get("status") == "running":
        if time.perf_counter() - started > TIMEOUT_S:
            phase.count("review", "error", f"still running after {TIMEOUT_S:g} s")
            return
        time.sleep(REVIEW_POLL_S)
        try:
            got = client.get(f"{base}/api/reviews/{body['id']}", headers=headers)
        except httpx.HTTPError as exc:
            phase.count("review GET", "error", type(exc).__name__)
            continue
        if got.status_code != 200:
            phase.count("review GET", *_classify(got.status_code, got.text))
            continue
        phase.count("review GET", "ok")
        body = got.json()
    seen = time.perf_counter() - started
    if body.get("status") != "complete":
        phase.count("review", "error", f"status {body.get('status')}: {body.get('error')}")
        return
    phase.count("review", "ok")
    verdict = body.get("verdict")
    with phase.lock:
        phase.verdict_s.append(seen)
        if (verdict == "passed") != (kind == "solution"):
            phase.wrong_verdicts.append(f"{exercise} {kind}: {verdict}")


def reviewer(
    base: str, *, token: str, codes: dict[str, dict[str, str]], offset: int, deadline: float,
    phase: Phase,
) -> None:  # fmt: skip
    """Submit reviews one after another until ``deadline``: each exercise's starter, bug
    and solution in turn."""
    jobs = [(ex, kind) for ex in codes for kind in KINDS]
    n = offset
    with httpx.Client(timeout=TIMEOUT_S) as client:
        while time.monotonic() < deadline:
            ex, kind = jobs[n % len(jobs)]
            n += 1
            review(client, base, token=token, code=codes[ex][kind], exercise=ex, kind=kind,
                   deadline=deadline, phase=phase)  # fmt: skip


# --- health and memory ------------------------------------------------------------------------
class Sampler(threading.Thread):
    """``GET /api/health`` every ``HEALTH_EVERY_S`` (or at once when one took longer), each
    followed by a ``GET`` of an unknown path (``NO_ROUTE``), and, in a second thread, the
    memory of the server and its children."""

    def __init__(self, base: str, *, pid: int, phase: Phase) -> None:
        super().__init__(daemon=True)
        self.base, self.pid, self.phase = base, pid, phase
        self._halt = threading.Event()
        self._memory = threading.Thread(target=self._sample_memory, daemon=True)

    def run(self) -> None:
        self._memory.start()
        with httpx.Client(timeout=30) as client:
            due = time.perf_counter()
            while not self._halt.is_set():
                self._probe(client, "health", "/api/health", expect=200, into=self.phase.health)
                self._probe(client, "404", NO_ROUTE, expect=404, into=self.phase.no_route)
                due = max(due + HEALTH_EVERY_S, time.perf_counter())
                self._halt.wait(max(0.0, due - time.perf_counter()))

    def _probe(
        self, client: httpx.Client, kind: str, path: str, *, expect: int, into: list[float]
    ) -> None:
        started = time.perf_counter()
        try:
            response = client.get(f"{self.base}{path}")
        except httpx.HTTPError as exc:
            self.phase.count(kind, "error", type(exc).__name__)
            return
        if response.status_code == expect:
            self.phase.count(kind, "ok")
            into.append(time.perf_counter() - started)
        else:
            self.phase.count(kind, *_classify(response.status_code, response.text))

    def _sample_memory(self) -> None:
        while not self._halt.wait(MEMORY_EVERY_S):
            self.phase.memory_mb.append(memory_tree_mb(self.pid))

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self._memory.join()


def _proc_kb(pid: int, key: str, *, file: str = "status") -> int:
    """A field of ``/proc/<pid>/<file>`` in kB (``status``: ``VmRSS``, ``VmHWM``;
    ``smaps_rollup``: ``Pss``); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_tree_mb(pid: int) -> float:
    """The memory of the server and all its children (sandboxes, ruff), in MB: the sum of
    their PSS, so pages they share count once. A child still running the server's command
    line is a fork (or vfork, which shares the very memory) not yet exec'd: skipped."""
    pids = [pid]
    try:
        server = psutil.Process(pid)
        own, children = server.cmdline(), server.children(recursive=True)
    except psutil.Error:
        own, children = [], []
    for child in children:
        try:
            if child.cmdline() != own:
                pids.append(child.pid)
        except psutil.Error:  # gone meanwhile
            pass
    return round(sum(_proc_kb(p, "Pss", file="smaps_rollup") for p in pids) / 1024, 1)


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system + t.children_user + t.children_system


# --- the run ----------------------------------------------------------------------------------
def run_phase(
    name: str, base: str, *, pid: int, duration_s: float, chats: list[dict], reviews: list[dict]
) -> Phase:
    """The sampler and the given users for ``duration_s``; returns when every user's last
    request has finished (those started before the deadline run to their end)."""
    phase = Phase(name)
    log(f"phase {name}: {len(chats)} chat users, {len(reviews)} reviewers, {duration_s:g} s")
    load_before = load_average()
    cpu0, server0 = _client_cpu(), _server_cpu(pid)
    sampler = Sampler(base, pid=pid, phase=phase)
    sampler.start()
    started = time.monotonic()
    deadline = started + duration_s
    threads = [
        threading.Thread(target=chat_user, args=(base,), kwargs={**c, "deadline": deadline,
                                                                  "phase": phase})
        for c in chats
    ] + [
        threading.Thread(target=reviewer, args=(base,), kwargs={**r, "deadline": deadline,
                                                                "phase": phase})
        for r in reviews
    ]  # fmt: skip
    for t in threads:
        t.start()
    if not threads:
        time.sleep(duration_s)
    for t in threads:
        t.join()
    phase.wall_s = round(time.monotonic() - started, 1)
    sampler.stop()
    phase.client_cpu_s = round(_client_cpu() - cpu0, 1)
    phase.server_cpu_s = round(_server_cpu(pid) - server0, 1)
    phase.load = {"before": load_before, "after": load_average()}
    log(
        f"  done in {phase.wall_s} s: "
        + ", ".join(f"{k} {t.requests} ({t.errors} errors)" for k, t in phase.tallies.items())
    )
    return phase


def _trainees(data_dir: Path, count: int, *, prefix: str) -> list[str]:
    """API tokens of ``count`` new trainees of the sample course, named ``<prefix>NNN``."""
    accounts = AccountService(make_engine(f"sqlite:///{(data_dir / 'kdt.db').as_posix()}"))
    tokens = []
    for n in range(count):
        user = accounts.create_user(
            f"{prefix}{n:03d}", "bench-password-1", role="trainee", course=COURSE
        )
        tokens.append(accounts.create_token(user, "bench"))
    return tokens


def run(
    chats: int = 50,
    reviews: int = 10,
    duration_s: float = 60.0,
    think_s: float = 0.0,
    server_env: dict[str, str] | None = None,
) -> dict:
    items, _ = read_quiz(SAMPLE_COURSE / "quiz.jsonl")
    questions = [q.question for q in items]
    with tempfile.TemporaryDirectory(prefix="kdt-bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        env = {**_env(data_dir), **(server_env or {})}
        cli = _kdt_tutor()
        log("ingesting the sample course")
        subprocess.run([cli, "ingest", str(SAMPLE_COURSE)], env=env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, timeout=3600)  # fmt: skip
        # fresh users in each phase: a user's rate-limit window must not carry over
        warm_tokens = _trainees(data_dir, WARM_USERS, prefix="warm")
        pools = {name: _trainees(data_dir, n, prefix=name) for name, n in (
            ("both", chats + reviews), ("chats", chats), ("reviews", reviews))}  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen([cli, "serve", "--port", str(port)], env=env, cwd=tmp,
                                    stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
            try:
                wait_healthy(proc, f"{base}/api/health", log_path)
                with httpx.Client() as client:
                    codes = _exercises(client, base, warm_tokens[0])
                _warm_up(base, tokens=warm_tokens, questions=questions, codes=codes)
                rss_start = round(_proc_kb(proc.pid, "VmRSS") / 1024, 1)
                phases = _phases(base, pid=proc.pid, pools=pools, questions=questions,
                                 codes=codes, duration_s=duration_s, think_s=think_s)  # fmt: skip
                hwm_mb = round(_proc_kb(proc.pid, "VmHWM") / 1024, 1)
                server_errors = _server_log_errors(log_path)
            finally:
                stop(proc)
    return _result(
        phases,
        chats=chats,
        reviews=reviews,
        duration_s=duration_s,
        think_s=think_s,
        rss_start=rss_start,
        hwm_mb=hwm_mb,
        server_errors=server_errors,
        server_env=server_env or {},
    )


def _phases(
    base: str, *, pid: int, pools: dict[str, list[str]], questions: list[str],
    codes: dict[str, dict[str, str]], duration_s: float, think_s: float,
) -> dict[str, Phase]:  # fmt: skip
    """idle, both, chats, reviews: one after another, each with its own users (``pools``)."""
    chats = len(pools["chats"])

    def chat_users(tokens: list[str]) -> list[dict]:
        return [
            {"token": t, "questions": questions, "offset": 7 * i, "think_s": think_s}
            for i, t in enumerate(tokens)
        ]

    def reviewers(tokens: list[str]) -> list[dict]:
        return [{"token": t, "codes": codes, "offset": i} for i, t in enumerate(tokens)]

    return {
        "idle": run_phase("idle", base, pid=pid, duration_s=IDLE_S, chats=[], reviews=[]),
        "both": run_phase("both", base, pid=pid, duration_s=duration_s,
                          chats=chat_users(pools["both"][:chats]),
                          reviews=reviewers(pools["both"][chats:])),
        "chats": run_phase("chats", base, pid=pid, duration_s=duration_s,
                           chats=chat_users(pools["chats"]), reviews=[]),
        "reviews": run_phase("reviews", base, pid=pid, duration_s=duration_s,
                             chats=[], reviews=reviewers(pools["reviews"])),
    }  # fmt: skip


def _warm_up(
    base: str, *, tokens: list[str], questions: list[str], codes: dict[str, dict[str, str]]
) -> None:
    """Every quiz question once (models loaded, the answer's caches filled), each by one of
    the warm-up users in turn (their own rate limits), and each exercise's solution
    reviewed once (the first sandbox, ruff, bandit)."""
    log(f"warm-up: {len(questions)} questions, {len(codes)} reviews")
    phase = Phase("warm-up")
    deadline = time.monotonic() + 600
    with httpx.Client(timeout=TIMEOUT_S) as client:
        for n, q in enumerate(questions):
            token = tokens[n % len(tokens)]
            ask(client, base, token=token, payload={"message": q}, deadline=deadline,
                phase=phase)  # fmt: skip
        for n, (ex, code) in enumerate(codes.items()):
            review(client, base, token=tokens[n % len(tokens)], code=code["solution"],
                   exercise=ex, kind="solution", deadline=deadline, phase=phase)  # fmt: skip
    if phase.total_errors() or phase.wrong_verdicts:
        raise RuntimeError(
            f"warm-up failed: { {k: t.as_dict() for k, t in phase.tallies.items()} } "
            f"{phase.wrong_verdicts}"
        )


def _server_log_errors(log_path: Path) -> list[str]:
    """Lines of the server's log that report an error or a traceback (the first few)."""
    lines = log_path.read_text(errors="replace").splitlines()
    bad = [x for x in lines if "Traceback" in x or " 500 " in x or "ERROR" in x]
    return bad[:MAX_REASONS] + ([f"... {len(bad)} in all"] if len(bad) > MAX_REASONS else [])


# --- the result -------------------------------------------------------------------------------
def _ms(values: list[float]) -> dict[str, Any]:
    return percentiles_ms(values) if values else {"n": 0, "p50": None, "p95": None, "mean": None}


def _max_ms(values: list[float]) -> float | None:
    return round(max(values) * 1000, 1) if values else None


def _phase_json(ph: Phase) -> dict[str, Any]:
    return {
        "wall_s": ph.wall_s,
        "load_average": ph.load,
        "client_cpu_s": ph.client_cpu_s,
        "server_cpu_s": ph.server_cpu_s,
        "requests": {k: t.as_dict() for k, t in ph.tallies.items()},
        "chat_first_token": _ms(ph.first_token),
        "chat_total": _ms(ph.chat_total),
        "review_verdict": _ms(ph.verdict_s),
        "wrong_verdicts": ph.wrong_verdicts,
        "health": {**_ms(ph.health), "max": _max_ms(ph.health)},
        "no_route_404": {**_ms(ph.no_route), "max": _max_ms(ph.no_route)},
        "memory_peak_mb": max(ph.memory_mb, default=None),
    }


def _result(phases: dict[str, Phase], *, chats: int, reviews: int, duration_s: float,
            think_s: float, rss_start: float, hwm_mb: float, server_errors: list[str],
            server_env: dict[str, str]) -> dict:  # fmt: skip
    both, alone_c, alone_r, idle = (phases[k] for k in ("both", "chats", "reviews", "idle"))
    ft, ft0 = _ms(both.first_token), _ms(alone_c.first_token)
    tot, tot0 = _ms(both.chat_total), _ms(alone_c.chat_total)
    ver, ver0 = _ms(both.verdict_s), _ms(alone_r.verdict_s)
    hb, hi = _ms(both.health), _ms(idle.health)

    def review_errors(ph: Phase) -> int:
        return sum(ph.tally(k).errors for k in ("review POST", "review GET", "review"))

    def refused(ph: Phase) -> str:
        post = ph.tally("review POST")
        return f"{post.rate_limited} / {post.busy}"

    def requests(*some: Phase) -> str:
        kinds = ("chat", "review POST", "review GET", "health")
        return " / ".join(str(sum(ph.tally(k).requests for ph in some)) for k in kinds)

    c, c0 = both.tally("chat"), alone_c.tally("chat")
    rows = [
        row(f"chat: answers ({chats} users, {duration_s:g} s)", c.ok, c0.ok),
        row("chat: rate-limited (429; not errors)", c.rate_limited, c0.rate_limited),
        row("chat: errors", c.errors, c0.errors, target="0"),
        row("chat: first token p50", ft["p50"], ft0["p50"], unit="ms"),
        row("chat: first token p95", ft["p95"], ft0["p95"], unit="ms"),
        row("chat: answer (done) p50", tot["p50"], tot0["p50"], unit="ms"),
        row("chat: answer (done) p95", tot["p95"], tot0["p95"], unit="ms"),
        row(f"review: verdicts ({reviews} reviewers)", both.tally("review").ok,
            alone_r.tally("review").ok),
        row("review: refused 429 / 503 reviews_busy (not errors)", refused(both),
            refused(alone_r)),
        row("review: errors (POST, polls, failed)", review_errors(both), review_errors(alone_r),
            target="0"),
        row("review: wrong verdicts", len(both.wrong_verdicts), len(alone_r.wrong_verdicts),
            target="0"),
        row("review: time to verdict p50", ver["p50"], ver0["p50"], unit="ms"),
        row("review: time to verdict p95", ver["p95"], ver0["p95"], unit="ms"),
        row("health: p50", hb["p50"], hi["p50"], unit="ms"),
        row("health: p95", hb["p95"], hi["p95"], unit="ms"),
        row("health: max", _max_ms(both.health), _max_ms(idle.health), unit="ms"),
        row("health: errors", both.tally("health").errors, idle.tally("health").errors,
            target="0"),
        row("  404 on the event loop (no thread) p50", _ms(both.no_route)["p50"],
            _ms(idle.no_route)["p50"], unit="ms"),
        row("  404 on the event loop (no thread) p95", _ms(both.no_route)["p95"],
            _ms(idle.no_route)["p95"], unit="ms"),
        row("memory peak, server + children (PSS, sampled)", max(both.memory_mb, default=None),
            max(idle.memory_mb, default=None), unit="MB"),
        row("server VmHWM (whole run) / VmRSS after warm-up", hwm_mb, rss_start, unit="MB"),
        row("requests: chat / review POST / review GET / health", requests(both),
            requests(alone_c, alone_r)),
        row("errors, all kinds", both.total_errors(),
            alone_c.total_errors() + alone_r.total_errors() + idle.total_errors(), target="0"),
    ]  # fmt: skip
    notes = [
        f"{chats} chat users (think time {think_s:g} s) + {reviews} reviewers, each its own "
        f"trainee and token; limits: KDT_CHAT_PER_MINUTE="
        f"{server_env.get('KDT_CHAT_PER_MINUTE', '20 (default)')}, KDT_REVIEW_RATE="
        f"{server_env.get('KDT_REVIEW_RATE', '10 (default)')}, KDT_REVIEW_CONCURRENCY="
        f"{server_env.get('KDT_REVIEW_CONCURRENCY', '2 (default)')}"
        + (f"; server env {server_env}" if server_env else ""),
        "review time to verdict: POST -> the poll (every 600 ms) that saw it complete",
        f"health p50 / p95 / max ms: chats alone {_ms(alone_c.health)['p50']} / "
        f"{_ms(alone_c.health)['p95']} / {_max_ms(alone_c.health)}, reviews alone "
        f"{_ms(alone_r.health)['p50']} / {_ms(alone_r.health)['p95']} / "
        f"{_max_ms(alone_r.health)}; memory peak chats alone {max(alone_c.memory_mb, default=None)}"
        f" MB, reviews alone {max(alone_r.memory_mb, default=None)} MB",
    ]
    for ph in phases.values():
        notes.append(
            f"phase {ph.name}: {ph.wall_s} s, load average {ph.load['before']} -> "
            f"{ph.load['after']}, CPU s: server (+ children) {ph.server_cpu_s}, this client "
            f"{ph.client_cpu_s}"
        )
        for kind, t in ph.tallies.items():
            if t.errors:
                notes.append(f"  {ph.name} {kind} errors: {dict(t.reasons.most_common(3))}")
        if ph.wrong_verdicts:
            notes.append(f"  {ph.name} wrong verdicts: {ph.wrong_verdicts[:MAX_REASONS]}")
    if server_errors:
        notes.append(f"server log: {server_errors}")
    return {
        "name": NAME,
        "title": (
            f"{chats} SSE chats + {reviews} code reviews at once for {duration_s:g} s on a real "
            "server (sample course)"
        ),
        "baseline_name": "alone",
        "baseline_desc": (
            "the same part of the load alone, same run and server: chat rows = the chats "
            "without reviews, review rows = the reviews without chats, health and memory rows "
            "= the idle server (5 s); requests: chats alone + reviews alone"
        ),
        "rows": rows,
        "notes": notes,
        "details": {name: _phase_json(ph) for name, ph in phases.items()}
        | {"vm_hwm_mb": hwm_mb, "vm_rss_after_warm_up_mb": rss_start, "server_log": server_errors},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--chats", type=int, default=50, help="chat users at once")
    parser.add_argument("--reviews", type=int, default=10, help="reviewers at once")
    parser.add_argument("--duration-s", type=float, default=60.0, help="seconds per phase")
    parser.add_argument(
        "--think-s",
        type=float,
        default=0.0,
        help="a chat user's pause after an answer (default 0: asks at once)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KDT_X=VALUE",
        help="a setting for the server (an experiment; repeatable)",
    )
    parser.add_argument("--json", metavar="OUT", default=str(OUT_DIR / "load.json"))
    args = parser.parse_args(argv)  # fmt: skip
    server_env = dict(item.split("=", 1) for item in args.server_env)
    before = load_average()
    result = run(chats=args.chats, reviews=args.reviews, duration_s=args.duration_s,
                 think_s=args.think_s, server_env=server_env)  # fmt: skip
    result["load_average"] = {"before": before, "after": load_average()}
    print(format_table(result))
    write_report(args.json, name=NAME, result=result, argv=argv)
    return 1 if any(r["metric"] == "errors, all kinds" and r["ours"] for r in result["rows"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``ReviewService``: takes a trainee's submission, reviews it, stores it, feeds the learner.

The review itself is ``tutor.review.pipeline`` (the same steps ``kdt-tutor eval review``
measures); what this service adds is its own: validating and storing submissions, the job
queue, links to the course, the narrative, learner evidence.

The flow of one submission:

1. ``submit`` validates the files (``submission``), finds the exercise and its tests, runs
   the pipeline's static step (fast, synchronous), links findings to the course passages
   that teach them, and stores the review as ``running``. Without tests it is completed
   right away.
2. With tests, the pipeline's test step runs as a job on a small thread pool: the tests in
   the sandbox and fault localization; then the narrative, and one compare-and-set write
   makes the review ``complete``. Any failure marks it ``failed`` with the reason: never
   half-complete.
3. The tests' outcome goes to the learner model as exercise evidence, through the same
   interface quiz answers use (``LearnerService.record_exercise_result``).

Callers poll ``get`` (the API) or pass ``wait=True``; ``preview`` runs the whole review
without storing it (``kdt-tutor review``).

At most ``review_concurrency`` test runs happen at once, whichever way they came: queued jobs,
``wait=True`` and ``preview`` take the same slots (one bounded semaphore). A queued job waits
for a slot as long as it takes; a waiting caller waits at most ``slot_wait_s`` (one run's wall
time by default) and is then refused with ``ReviewsBusyError`` (503 with ``Retry-After``)
before anything is stored. Each user may submit ``review_rate`` reviews a minute
(``tutor/rate_limit.py``; 429 with ``Retry-After``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine

from knowledge.errors import KdtTutorError, KnowledgeError
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import SearchFilter
from tutor.accounts.access import Access
from tutor.chat.llm_answerer import build_chat_model
from tutor.errors import InvalidInputError, NotFoundError, ProviderUnavailableError
from tutor.rate_limit import RateLimiter
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.exercises import Exercise, ExerciseCatalog
from tutor.review.narrative import (
    LLMReviewNarrator,
    OfflineReviewNarrator,
    ReviewFacts,
    numbered_lines,
)
from tutor.review.pipeline import ReviewPipeline, build_review_pipeline
from tutor.review.review_store import ReviewRecord, ReviewStore
from tutor.review.sandbox import Sandbox, SandboxLimits
from tutor.review.static_checks import StaticReview
from tutor.review.submission import files_diff, validate_submission
from tutor.review.types import Finding, SourceFile, TestRun, hide_case_details
from tutor.settings import Settings

if TYPE_CHECKING:
    from tutor.metrics import Metrics

log = logging.getLogger("kdt.tutor.review")

LINK_CACHE = 512
LINK_MIN_SCORE = 0.0  # fused scores are relative; the filter (course, lesson kinds) does the work
MAX_SUSPICIOUS_SHOWN = 3
# Verdicts that say something about the trainee's code (the others: no evidence).
EVIDENCE_VERDICTS = ("passed", "failed", "error", "timeout", "crashed")


class ReviewsBusyError(ProviderUnavailableError):
    """Every test-run slot stayed busy while a caller waited for one (HTTP 503 with
    ``Retry-After``); nothing was stored."""

    code = "reviews_busy"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "every code-review sandbox is busy; try again in a few seconds, or submit "
            "without waiting"
        )
        self.retry_after = retry_after


class Narrator(Protocol):
    name: str

    def narrate(self, facts: ReviewFacts) -> tuple[str, list[str]]: ...


class ExerciseEvidence(Protocol):
    """What the learner model takes from code review (``LearnerService`` satisfies it)."""

    def record_exercise_result(
        self,
        user_id: int,
        course: str,
        *,
        exercise_id: str,
        passed: bool,
        details: dict[str, Any] | None = None,
        submission_id: str | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class _Finished:
    """The part of a review after the static step, as stored."""

    verdict: str
    run: TestRun | None
    tests: dict[str, Any] | None
    suspicious: list[dict[str, Any]]
    narrative: str
    notices: list[str]
    timings: dict[str, float]


@dataclass(frozen=True)
class Reviewer:
    """Who submits: the user, the course they work in, and what the review adapts to."""

    user_id: int
    course: str | None
    level: int
    unmastered: tuple[str, ...] = ()


class ReviewService:
    def __init__(
        self,
        *,
        store: ReviewStore,
        exercises: ExerciseCatalog,
        kb: KnowledgeBase | None,
        pipeline: ReviewPipeline,
        narrator: Narrator,
        evidence: ExerciseEvidence | None,
        max_bytes: int,
        max_files: int,
        concurrency: int = 2,
        slot_wait_s: float = 10.0,
        rate: RateLimiter | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.exercises = exercises
        self.kb = kb
        self.pipeline = pipeline
        self.narrator = narrator
        self.evidence = evidence
        self.max_bytes = max_bytes
        self.max_files = max_files
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="review")
        # test runs at once, queued or waited for (the pool alone bounds only the queued)
        self._slots = threading.BoundedSemaphore(concurrency)
        self.slot_wait_s = slot_wait_s
        self.rate = rate
        self._jobs: dict[str, Future] = {}
        self._jobs_lock = threading.Lock()
        self._running = 0  # test runs holding a slot (queued jobs and waiting requests)
        self._queued = 0  # queued jobs waiting for a slot
        self.metrics = metrics  # finished reviews counted by verdict (``tutor/metrics.py``)
        self._links: OrderedDict[tuple, dict[str, Any] | None] = OrderedDict()
        self._links_lock = threading.Lock()

    # The pipeline's sandbox, which exercise checks in the console share (``tutor/services.py``).
    @property
    def sandbox(self) -> Sandbox | None:
        return self.pipeline.sandbox

    @property
    def limits(self) -> SandboxLimits:
        return self.pipeline.limits

    @property
    def refused_reason(self) -> str:
        return self.pipeline.refused_reason

    # -- submitting ---------------------------------------------------------------------------
    def submit(
        self,
        reviewer: Reviewer,
        files: Sequence[tuple[object, bytes | str]],
        *,
        exercise_id: str | None = None,
        lang: str = "en",
        wait: bool = False,
    ) -> ReviewRecord:
        """Review ``files``; returns the stored review (``running`` while tests run, unless
        ``wait``). Bad input raises ``InvalidInputError``/``NotFoundError``, too many
        submissions ``RateLimitedError``, and a ``wait`` that found no free slot in time
        ``ReviewsBusyError``, all before anything is stored."""
        started = time.perf_counter()
        sources = validate_submission(files, max_bytes=self.max_bytes, max_files=self.max_files)
        exercise = self._exercise(reviewer, exercise_id)
        tests, test_problem = self._tests(exercise)
        if self.rate is not None:
            self.rate.hit(reviewer.user_id)
        if wait and tests is not None:
            with self._slot(wait_s=self.slot_wait_s):
                return self._submit(
                    reviewer=reviewer,
                    sources=sources,
                    exercise=exercise,
                    tests=tests,
                    test_problem=test_problem,
                    started=started,
                    lang=lang,
                    wait=True,
                )
        return self._submit(
            reviewer=reviewer,
            sources=sources,
            exercise=exercise,
            tests=tests,
            test_problem=test_problem,
            started=started,
            lang=lang,
            wait=wait,
        )

    def _submit(
        self,
        *,
        reviewer: Reviewer,
        sources: tuple[SourceFile, ...],
        exercise: Exercise | None,
        tests: ExerciseTests | None,
        test_problem: str | None,
        started: float,
        lang: str,
        wait: bool,
    ) -> ReviewRecord:
        static = self.pipeline.static(sources, level=reviewer.level, lang=lang)
        static_json = self._static_json(static, course=reviewer.course, lang=lang)
        timings = {"static_ms": round((time.perf_counter() - started) * 1000, 1)}
        record = self.store.create(
            user_id=reviewer.user_id,
            course=reviewer.course,
            exercise_id=exercise.id if exercise else None,
            files=sources,
            level=reviewer.level,
            lang=lang,
            static=static_json,
            timings=timings,
        )
        job = (record, reviewer, static, exercise, tests, test_problem)
        if tests is None or wait:
            self._finish(*job)  # static only (or the tests' problem), or a slot is held
        else:
            with self._jobs_lock:
                self._queued += 1
            future = self._pool.submit(self._finish_queued, *job)
            with self._jobs_lock:
                self._jobs[record.id] = future
            future.add_done_callback(lambda _f, rid=record.id: self._forget(rid))
        return self.store.get(record.id) or record

    def preview(
        self,
        reviewer: Reviewer,
        files: Sequence[tuple[object, bytes | str]],
        *,
        exercise_id: str | None = None,
        lang: str = "en",
    ) -> ReviewRecord:
        """The whole review, synchronously, without storing it or recording evidence (the
        ``kdt-tutor review`` command; an instructor checking an exercise's solution)."""
        started = time.perf_counter()
        sources = validate_submission(files, max_bytes=self.max_bytes, max_files=self.max_files)
        exercise = self._exercise(reviewer, exercise_id)
        tests, test_problem = self._tests(exercise)
        static = self.pipeline.static(sources, level=reviewer.level, lang=lang)
        static_json = self._static_json(static, course=reviewer.course, lang=lang)
        timings = {"static_ms": round((time.perf_counter() - started) * 1000, 1)}
        with self._slot(wait_s=self.slot_wait_s) if tests is not None else nullcontext():
            done = self._test_and_narrate(
                files=sources,
                static=static,
                static_json=static_json,
                level=reviewer.level,
                lang=lang,
                timings=timings,
                exercise=exercise,
                tests=tests,
                test_problem=test_problem,
                unmastered=reviewer.unmastered,
            )
        return ReviewRecord(
            id="preview",
            user_id=reviewer.user_id,
            course=reviewer.course,
            exercise_id=exercise.id if exercise else None,
            attempt=0,
            level=reviewer.level,
            lang=lang,
            status="complete",
            verdict=done.verdict,
            files=sources,
            static=static_json,
            tests=done.tests,
            suspicious=done.suspicious,
            narrative=done.narrative,
            notices=done.notices,
            timings=done.timings,
        )

    def _static_json(
        self, static: StaticReview, *, course: str | None, lang: str
    ) -> dict[str, Any]:
        """The static review as stored, its shown findings linked to the course."""
        return {
            "findings": [self._linked(f, course, lang) for f in static.findings],
            "hidden": [f.to_dict() for f in static.hidden],
            "syntax_ok": static.syntax_ok,
            "complexity": static.complexity,
            "notes": list(static.notes),
        }

    def wait(self, review_id: str, timeout: float | None = None) -> None:
        """Block until the review's job (if any, in this process) is done."""
        with self._jobs_lock:
            future = self._jobs.get(review_id)
        if future is not None:
            future.exception(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    @contextmanager
    def _slot(self, *, wait_s: float | None) -> Iterator[None]:
        """One of the ``concurrency`` test-run slots, held for the block; waits ``wait_s``
        seconds for one at most (``None``: as long as it takes), then ``ReviewsBusyError``."""
        if not self._slots.acquire(timeout=wait_s):
            raise ReviewsBusyError(retry_after=max(1, math.ceil(self.slot_wait_s)))
        with self._jobs_lock:
            self._running += 1
        try:
            yield
        finally:
            with self._jobs_lock:
                self._running -= 1
            self._slots.release()

    def _finish_queued(self, *job: Any) -> None:
        """A queued job: waits its turn for a slot (on a pool thread), then runs."""
        with self._slot(wait_s=None):  # waits as long as it takes: never raises
            with self._jobs_lock:
                self._queued -= 1
            self._finish(*job)

    def queue_depth(self) -> dict[tuple[str, str], int]:
        """Test runs of this process holding a slot, and queued jobs waiting for one."""
        with self._jobs_lock:
            return {("review", "running"): self._running, ("review", "queued"): self._queued}

    def _forget(self, review_id: str) -> None:
        with self._jobs_lock:
            self._jobs.pop(review_id, None)

    def _exercise(self, reviewer: Reviewer, exercise_id: str | None) -> Exercise | None:
        if not exercise_id:
            return None
        if not reviewer.course:
            raise InvalidInputError("exercises belong to a course; this account has none")
        return self.exercises.get(reviewer.course, exercise_id)

    def _tests(self, exercise: Exercise | None) -> tuple[ExerciseTests | None, str | None]:
        """The exercise's tests, or why they cannot run (an instructor's problem, stated in the
        review as ``test_error``, never blamed on the trainee)."""
        if exercise is None:
            return None, None
        try:
            tests = self.exercises.tests(exercise)
        except KnowledgeError as exc:
            return None, f"the exercise's tests cannot be used: {exc}"
        if tests.case_count == 0 and not tests.pytest_files:
            return None, None
        return tests, None

    # -- the job ------------------------------------------------------------------------------
    def _finish(
        self,
        record: ReviewRecord,
        reviewer: Reviewer,
        static: StaticReview,
        exercise: Exercise | None,
        tests: ExerciseTests | None,
        test_problem: str | None,
    ) -> None:
        try:
            self._complete(record, reviewer, static, exercise, tests, test_problem)
        except Exception as exc:  # noqa: BLE001 - the review must end failed, never stuck
            log.exception("review %s failed", record.id)
            detail = str(exc) if isinstance(exc, KdtTutorError) else type(exc).__name__
            self.store.fail(record.id, f"the review could not be completed ({detail})")
            if self.metrics is not None:
                self.metrics.review_finished(None)

    def _complete(
        self,
        record: ReviewRecord,
        reviewer: Reviewer,
        static: StaticReview,
        exercise: Exercise | None,
        tests: ExerciseTests | None,
        test_problem: str | None,
    ) -> None:
        done = self._test_and_narrate(
            files=record.files,
            static=static,
            static_json=record.static,
            level=record.level,
            lang=record.lang,
            timings=record.timings,
            exercise=exercise,
            tests=tests,
            test_problem=test_problem,
            unmastered=reviewer.unmastered,
        )
        if not self.store.complete(
            record.id,
            verdict=done.verdict,
            tests=done.tests,
            suspicious=done.suspicious,
            narrative=done.narrative,
            notices=done.notices,
            timings=done.timings,
        ):
            return
        if self.metrics is not None:
            self.metrics.review_finished(done.verdict)
        if exercise is not None and done.run is not None and done.verdict in EVIDENCE_VERDICTS:
            self._record_evidence(record, exercise, done.run)

    def _test_and_narrate(
        self,
        *,
        files: tuple[SourceFile, ...],
        static: StaticReview,
        static_json: dict[str, Any],
        level: int,
        lang: str,
        timings: dict[str, float],
        exercise: Exercise | None,
        tests: ExerciseTests | None,
        test_problem: str | None,
        unmastered: tuple[str, ...],
    ) -> _Finished:
        """Everything after the static step: the pipeline's test step (tests, suspicious
        lines), then the narrative. ``timings`` are the service's so far (its static step)."""
        outcome = self.pipeline.test(
            files, static=static, tests=tests, lang=lang, test_problem=test_problem
        )
        timings = {**outcome.timings, **timings}
        quoted = numbered_lines(files)
        suspicious = [
            {**s.to_dict(), "code": quoted.get((s.file, s.line), "").strip()}
            for s in outcome.suspicious
        ]
        tests_json = outcome.run.to_dict() if outcome.run is not None else None
        # the narrative is the trainee's: hidden cases' details never reach it
        shown_tests = (
            {**tests_json, "cases": hide_case_details(tests_json.get("cases"))}
            if tests_json is not None
            else None
        )
        facts = ReviewFacts(
            lang=lang,
            level=level,
            files=files,
            exercise=exercise.title_for(lang) if exercise else None,
            tests=shown_tests,
            findings=static_json.get("findings", []),
            hidden_count=len(static_json.get("hidden", [])),
            suspicious=suspicious[:MAX_SUSPICIOUS_SHOWN],
            links=self._narrative_links(static_json, lang, exercise),
            unmastered=unmastered,
            withheld=(
                self.exercises.solution_texts(exercise.course, exercise.id) if exercise else ()
            ),
        )
        started = time.perf_counter()
        narrative, notices = self.narrator.narrate(facts)
        timings["narrative_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return _Finished(
            verdict=outcome.verdict,
            run=outcome.run,
            tests=tests_json,
            suspicious=suspicious,
            narrative=narrative,
            notices=notices,
            timings=timings,
        )

    def _record_evidence(self, record: ReviewRecord, exercise: Exercise, run: TestRun) -> None:
        if self.evidence is None:
            return
        try:
            self.evidence.record_exercise_result(
                record.user_id,
                exercise.course,
                exercise_id=exercise.id,
                passed=run.verdict == "passed",
                details={"passed": run.passed, "total": len(run.cases), "verdict": run.verdict},
                submission_id=f"review:{record.id}",
            )
        except (KnowledgeError, NotFoundError, InvalidInputError) as exc:
            # the course's content does not let the exercise count (no or an invalid skill
            # map, the exercise names no skill or unknown ones): the review stands
            log.warning("review %s: no learner evidence recorded: %s", record.id, exc)

    # -- course links -------------------------------------------------------------------------
    def _linked(self, finding: Finding, course: str | None, lang: str) -> dict[str, Any]:
        link = self._link(course, finding.concept, lang) if finding.concept else None
        return replace(finding, link=link).to_dict()

    def _link(self, course: str | None, concept: str, lang: str) -> dict[str, Any] | None:
        """The course passage that best teaches ``concept`` (cached: concepts recur)."""
        if self.kb is None or not course:
            return None
        key = (course, concept, lang, self.kb.registry.generation())
        with self._links_lock:
            if key in self._links:
                self._links.move_to_end(key)
                return self._links[key]
        where = SearchFilter(course=course, kinds=("lesson", "reference", "faq"))
        try:
            hits = self.kb.search(concept, k=3, where=where)
        except ProviderUnavailableError as exc:
            log.warning("no course link for %r: %s", concept, exc)
            hits = []
        hits = sorted(hits, key=lambda h: h.chunk.lang != lang)  # the trainee's language first
        link = _passage(hits[0]) if hits else None
        with self._links_lock:
            self._links[key] = link
            while len(self._links) > LINK_CACHE:
                self._links.popitem(last=False)
        return link

    def _narrative_links(
        self, static: dict[str, Any], lang: str, exercise: Exercise | None
    ) -> list[dict[str, Any]]:
        """Where to read: the passages linked from the shown findings, then (for an exercise)
        the lesson teaching its skills; numbered [1]..[n], at most three."""
        links: list[dict[str, Any]] = []
        for finding in static.get("findings", []):
            if finding.get("link"):
                links.append(finding["link"])
        if exercise is not None and self.kb is not None:
            query = " ".join([exercise.title, *exercise.skills])
            link = self._link(exercise.course, query, lang)
            if link:
                links.insert(0, link)
        unique: list[dict[str, Any]] = []
        for link in links:
            if all(link["chunk_id"] != u["chunk_id"] for u in unique):
                unique.append(link)
        return [{**link, "n": n} for n, link in enumerate(unique[:3], start=1)]

    # -- reading ------------------------------------------------------------------------------
    def get(self, access: Access, review_id: str) -> ReviewRecord:
        """A review the caller may see (``tutor/accounts/access.py``: their own; an instructor's
        course's; any for admins); any other is not found, as an unknown id is."""
        record = self.store.get(review_id) if review_id else None
        if record is None or not self._may_read(access, record):
            raise NotFoundError(f"no review {review_id!r}")
        return record

    def history(
        self,
        access: Access,
        *,
        user_id: int | None = None,
        exercise_id: str | None = None,
        limit: int = 50,
    ) -> list[ReviewRecord]:
        """The attempts of ``user_id`` (default: the caller) that the caller may see."""
        owner = access.user.id if user_id is None else user_id
        records = self.store.history(owner, exercise_id=exercise_id, limit=limit)
        return [r for r in records if self._may_read(access, r)]

    def previous(self, record: ReviewRecord) -> ReviewRecord | None:
        return self.store.previous(record)

    def diff(self, record: ReviewRecord) -> str | None:
        """A unified diff of this attempt against the previous one (None for a first one)."""
        before = self.store.previous(record)
        if before is None:
            return None
        return files_diff(before.files, record.files, before.attempt, record.attempt)

    def list_exercises(self, course: str) -> list[Exercise]:
        return self.exercises.list(course)

    def starter(self, course: str, exercise_id: str) -> str | None:
        return self.exercises.starter(self.exercises.get(course, exercise_id))

    @staticmethod
    def _may_read(access: Access, record: ReviewRecord) -> bool:
        return access.may_see("reviews", owner_id=record.user_id, course=record.course)


def _passage(hit: Any) -> dict[str, Any]:
    c = hit.chunk
    path = [p for p in c.heading_path if p != c.title]
    return {
        "chunk_id": c.id,
        "doc_id": c.doc_id,
        "title": c.title,
        "heading": " › ".join(path[-2:]),
        "line_start": c.line_start,
        "line_end": c.line_end,
        "text": c.text[:600],
    }


def build_review_service(
    settings: Settings,
    *,
    kb: KnowledgeBase,
    engine: Engine,
    evidence: Any,
    pipeline: ReviewPipeline | None = None,
    metrics: Metrics | None = None,
) -> ReviewService:
    """The review service from settings (the composition root, ``tutor/services.py``).

    ``pipeline``: the process's one pipeline (its sandbox is shared with course authoring);
    built from ``settings`` when not given. ``metrics``: where reviews are counted."""
    pipeline = pipeline or build_review_pipeline(settings)
    if settings.answerer == "openai" and settings.llm_base_url:
        narrator: Narrator = LLMReviewNarrator(
            chat_model=build_chat_model(
                base_url=settings.llm_base_url,
                api_key=settings.llm_api_key,
                model=settings.llm_model,
                timeout_s=settings.llm_timeout_s,
                streaming=False,
            )
        )
    else:
        narrator = OfflineReviewNarrator()
    store = ReviewStore(engine)
    # Reviews a stopped server left running would never finish: say so (after long enough
    # that another worker's live job cannot be one of them).
    stale = store.interrupt_stale(
        older_than=timedelta(seconds=max(600, 4 * settings.review_wall_s))
    )
    if stale:
        log.warning("code review: %d interrupted reviews marked failed", stale)
    return ReviewService(
        store=store,
        exercises=ExerciseCatalog(kb.registry),
        kb=kb,
        pipeline=pipeline,
        narrator=narrator,
        evidence=evidence,
        max_bytes=settings.review_max_kb * 1024,
        max_files=settings.review_max_files,
        concurrency=settings.review_concurrency,
        slot_wait_s=settings.review_wall_s,
        rate=RateLimiter(limit=settings.review_rate, window_s=60.0, what="code reviews"),
        metrics=metrics,
    )

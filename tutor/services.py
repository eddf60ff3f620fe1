"""The composition root: every service of the tutor, built once from ``Settings``.

``build_services(settings)`` is the one place that turns settings into objects; the web
app (``api/app.py`` keeps it on ``app.state.services``), the CLI (``kdt_tutor/*cli.py``)
and the eval runner (``eval/runner.py``) all get their services from it. One ``Services``
holds one database engine (one connection pool per process), one knowledge base, one
course catalog and one code-review sandbox, and hands them to the services it builds.

Each service is built on first use, then kept: a CLI command that lists users never loads
the embedding models, and the web app's first request for a service builds it once for
every later request. ``close()`` stops the background work (test runs, ingest jobs) and
disposes of the engine; whoever built the ``Services`` closes it (the app's lifespan).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine

from knowledge.registry import make_engine
from tutor.settings import Settings

if TYPE_CHECKING:
    from knowledge.embeddings import CachedEmbedding
    from knowledge.knowledge_base import KnowledgeBase
    from knowledge.lexical import Tokenizer
    from tutor.accounts.privacy import TraineeData
    from tutor.accounts.users import AccountService
    from tutor.chat.service import ChatService
    from tutor.course_catalog import CourseCatalog
    from tutor.curation.content_gaps import ContentGaps
    from tutor.curation.course_authoring import CourseAuthoring
    from tutor.curation.kb_admin import KnowledgeAdminService
    from tutor.health import HealthChecks
    from tutor.learning.analytics.service import AnalyticsService
    from tutor.learning.service import LearnerService
    from tutor.metrics import Metrics
    from tutor.review.pipeline import ReviewPipeline
    from tutor.review.service import ReviewService

T = TypeVar("T")


class Services:
    """The services of one process (or one test), each built on first use from
    ``settings`` over the one ``engine``. Build it with :func:`build_services`."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine,
        kb: KnowledgeBase | None = None,
        embeddings: Any = None,
        tokenizer: Tokenizer | None = None,
        query_cache: int = 0,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._kb_options = {
            "embeddings": embeddings,
            "tokenizer": tokenizer,
            "query_cache": query_cache,
        }
        # One lock for every first build: a service built while another thread asks for it
        # is built once (a build needs the ones below it: re-entrant).
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {} if kb is None else {"kb": kb}

    def _once(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    # --- knowledge ------------------------------------------------------------------------
    @property
    def kb(self) -> KnowledgeBase:
        def build() -> KnowledgeBase:
            from knowledge.knowledge_base import build_knowledge_base

            return build_knowledge_base(
                self.settings.knowledge_config(), engine=self.engine, **self._kb_options
            )

        return self._once("kb", build)

    @property
    def catalog(self) -> CourseCatalog:
        """Each course's skills and quiz items (course files + what the console wrote)."""

        def build() -> CourseCatalog:
            from tutor.course_catalog import CourseCatalog
            from tutor.curation.authored_folder import authored_root

            return CourseCatalog(
                self.kb.registry, authored_dir=authored_root(self.settings.data_dir)
            )

        return self._once("catalog", build)

    # --- accounts and privacy -----------------------------------------------------------------
    @property
    def accounts(self) -> AccountService:
        def build() -> AccountService:
            from tutor.accounts.users import AccountService

            return AccountService(self.engine, session_days=self.settings.session_days)

        return self._once("accounts", build)

    @property
    def trainee_data(self) -> TraineeData:
        def build() -> TraineeData:
            from tutor.accounts.privacy import TraineeData

            return TraineeData(self.engine)

        return self._once("trainee_data", build)

    # --- chat -----------------------------------------------------------------------------
    @property
    def chat(self) -> ChatService:
        def build() -> ChatService:
            from tutor.chat.conversations import ConversationStore
            from tutor.chat.service import build_chat_service
            from tutor.chat.solution_guard import SandboxSolutionCheck
            from tutor.review.exercises import ExerciseCatalog

            check = None
            if self.settings.answerer == "openai":  # only the LLM's hints can hold new code
                check = SandboxSolutionCheck(
                    catalog=ExerciseCatalog(self.kb.registry),
                    pipeline=self.pipeline,
                    concurrency=self.settings.review_concurrency,
                )
            return build_chat_service(
                self.settings,
                kb=self.kb,
                store=ConversationStore(self.engine),
                embed=self.answer_embedding.embed_array,
                solution_check=check,
                metrics=self.metrics,
            )

        return self._once("chat", build)

    @property
    def answer_embedding(self) -> CachedEmbedding:
        """The model the answerer embeds sentences with, with its cache (the eval runner
        scores with the same one)."""

        def build() -> CachedEmbedding:
            from knowledge.embeddings import CachedEmbedding, answer_embedding

            return CachedEmbedding(answer_embedding(self.kb.embeddings))

        return self._once("answer_embedding", build)

    @property
    def gaps(self) -> ContentGaps:
        """Content gaps, grouped per course (cached until a course's gaps change)."""

        def build() -> ContentGaps:
            from knowledge.ingest import ingest_path
            from tutor.curation.content_gaps import ContentGaps
            from tutor.curation.question_groups import build_question_grouper

            kb = self.kb
            max_bytes = self.settings.knowledge_config().max_file_bytes
            return ContentGaps(
                engine=self.engine,
                conversations=self.chat.store,
                grouper=build_question_grouper(kb),
                faq_dir=self.settings.data_dir / "faq",
                ingest_file=lambda path, course: ingest_path(
                    kb, path, course=course, max_bytes=max_bytes
                ),
            )

        return self._once("gaps", build)

    # --- the learner model ----------------------------------------------------------------------
    @property
    def learner(self) -> LearnerService:
        def build() -> LearnerService:
            from tutor.learning.params import fitted_params_for
            from tutor.learning.service import LearnerService

            catalog = self.catalog
            return LearnerService(
                self.engine,
                skill_maps=catalog.skill_map,
                items=catalog.items,
                params_for=fitted_params_for(self.settings.data_dir),
            )

        return self._once("learner", build)

    @property
    def analytics(self) -> AnalyticsService:
        def build() -> AnalyticsService:
            from tutor.learning.analytics.service import AnalyticsService

            return AnalyticsService(self.engine, learner=self.learner, accounts=self.accounts)

        return self._once("analytics", build)

    # --- code review and course authoring ----------------------------------------------------
    @property
    def pipeline(self) -> ReviewPipeline:
        """The review pipeline and its sandbox (``KDT_SANDBOX=bubblewrap`` where bubblewrap
        does not work raises ``ConfigError`` here)."""

        def build() -> ReviewPipeline:
            from tutor.review.pipeline import build_review_pipeline

            return build_review_pipeline(self.settings)

        return self._once("pipeline", build)

    @property
    def review(self) -> ReviewService:
        """Code review; it owns the pool of test jobs (``close`` waits for them)."""

        def build() -> ReviewService:
            from tutor.review.service import build_review_service

            return build_review_service(
                self.settings,
                kb=self.kb,
                engine=self.engine,
                evidence=self.learner,
                pipeline=self.pipeline,
                metrics=self.metrics,
            )

        return self._once("review", build)

    @property
    def authoring(self) -> CourseAuthoring:
        """Exercises and quiz items written in the console, checked in the review's sandbox;
        it shares the learner model's catalog, so a quiz it changes is seen at once."""

        def build() -> CourseAuthoring:
            from tutor.curation.course_authoring import build_course_authoring

            pipeline = self.pipeline
            return build_course_authoring(
                kb=self.kb,
                catalog=self.catalog,
                data_dir=self.settings.data_dir,
                sandbox=pipeline.sandbox,
                limits=pipeline.limits,
                refused_reason=pipeline.refused_reason,
                max_bytes=self.settings.knowledge_config().max_file_bytes,
            )

        return self._once("authoring", build)

    # --- knowledge base management (instructor console) ---------------------------------------
    @property
    def kb_admin(self) -> KnowledgeAdminService:
        """Uploads, edits and versions of the course material; it owns the ingest thread
        and this process's row in ``kb_workers`` (building it fails the jobs of dead
        processes: ``KnowledgeAdminService.recover``)."""

        def build() -> KnowledgeAdminService:
            from tutor.curation.kb_admin import KnowledgeAdminService
            from tutor.curation.kb_history import KbHistory

            settings = self.settings
            return KnowledgeAdminService(
                kb=self.kb,
                history=KbHistory(self.engine, versions_dir=settings.data_dir / "kb_versions"),
                data_dir=settings.data_dir,
                max_upload_bytes=int(settings.upload_max_mb * 1024 * 1024),
                max_file_bytes=settings.knowledge_config().max_file_bytes,
                test_pause_s=settings.test_job_pause_s,
            )

        return self._once("kb_admin", build)

    # --- operations: health and metrics --------------------------------------------------------
    @property
    def metrics(self) -> Metrics:
        """This process's Prometheus metrics (chats, reviews, fallbacks, queue depths); the
        web app adds request latencies and serves them at ``/metrics``."""

        def build() -> Metrics:
            from tutor.curation.kb_history import kb_job_counts
            from tutor.metrics import Metrics

            def review_queue() -> dict[tuple[str, str], int]:
                with self._lock:
                    review = self._built.get("review")  # none built: no review ran here
                if review is None:
                    return {("review", "running"): 0, ("review", "queued"): 0}
                return review.queue_depth()

            metrics = Metrics()
            metrics.watch_queues(review_queue)
            metrics.watch_queues(lambda: kb_job_counts(self.engine))
            return metrics

        return self._once("metrics", build)

    @property
    def health(self) -> HealthChecks:
        """Reachability of the database, the vector store and (``KDT_ANSWERER=openai``) the
        LLM endpoint, each checked with a short timeout and remembered for a few seconds."""

        def build() -> HealthChecks:
            from tutor.health import build_health_checks

            return build_health_checks(self.settings, engine=self.engine)

        return self._once("health", build)

    # --- the end ---------------------------------------------------------------------------------
    def built(self) -> list[str]:
        """The names of the services built so far."""
        with self._lock:
            return list(self._built)

    def close(self) -> None:
        """Let running test jobs and ingest jobs finish, then close the database pool."""
        with self._lock:
            built = dict(self._built)
        for name in ("review", "kb_admin"):
            if name in built:
                built[name].close()
        self.engine.dispose()


def build_services(
    settings: Settings,
    *,
    kb: KnowledgeBase | None = None,
    embeddings: Any = None,
    tokenizer: Tokenizer | None = None,
    query_cache: int = 0,
    upgrade_schema: bool = False,
) -> Services:
    """Every service from ``settings``, over one engine for ``KDT_DATABASE_URL``.

    ``upgrade_schema`` first brings the database to the newest migration (``tutor/schema.py``;
    one read when it is there already): the server and the CLI do, tests on a fresh
    database need not (the stores create their tables). ``kb`` hands in a knowledge base
    built elsewhere (tests); ``embeddings`` and ``tokenizer`` share loaded models with the
    knowledge base built here (tests, benchmarks); ``query_cache``: see ``KnowledgeBase``.
    """
    engine = make_engine(settings.resolved_database_url)
    if upgrade_schema:
        from tutor.schema import upgrade

        upgrade(engine)
    return Services(
        settings,
        engine=engine,
        kb=kb,
        embeddings=embeddings,
        tokenizer=tokenizer,
        query_cache=query_cache,
    )

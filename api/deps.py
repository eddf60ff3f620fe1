"""FastAPI dependencies: the web app's composition root.

Settings are read once (``get_settings``); backends are built from them once per process
and handed to routes through typed aliases. Tests swap them with
``app.dependency_overrides``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from knowledge.config import KnowledgeConfig
from knowledge.embeddings import CachedEmbedding, answer_embedding
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import KnowledgeBase, build_knowledge_base
from knowledge.registry import make_engine
from tutor.accounts import AccountService
from tutor.analytics import AnalyticsService
from tutor.answering import build_answerer
from tutor.chat import ChatService
from tutor.conversations import ConversationStore
from tutor.course_catalog import CourseCatalog
from tutor.curation.authored_folder import authored_root
from tutor.curation.content_gaps import ContentGaps
from tutor.curation.course_authoring import CourseAuthoring
from tutor.curation.kb_admin import KnowledgeAdminService
from tutor.curation.kb_history import KbHistory
from tutor.curation.question_groups import build_question_grouper
from tutor.learner import LearnerService
from tutor.learner_params import fitted_params_for
from tutor.login_throttle import LoginThrottle
from tutor.privacy import TraineeData
from tutor.review.service import ReviewService, build_review_service
from tutor.settings import Settings

log = logging.getLogger("kdt.api")


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def _knowledge_base(config: KnowledgeConfig) -> KnowledgeBase:
    # One per process and configuration: it holds the loaded models and index clients.
    return build_knowledge_base(config)


def get_knowledge_base(settings: Annotated[Settings, Depends(get_settings)]) -> KnowledgeBase:
    return _knowledge_base(settings.knowledge_config())


@lru_cache
def _account_service(database_url: str, session_days: int) -> AccountService:
    # One engine (connection pool) per process and database.
    return AccountService(make_engine(database_url), session_days=session_days)


def get_account_service(settings: Annotated[Settings, Depends(get_settings)]) -> AccountService:
    return _account_service(settings.resolved_database_url, settings.session_days)


def get_login_throttle(request: Request) -> LoginThrottle:
    # One per application: failed logins are counted in memory (tutor/login_throttle.py).
    return request.app.state.login_throttle


_CHAT_SERVICES: dict[tuple[int, int], ChatService] = {}


def _chat_service(settings: Settings, kb: KnowledgeBase) -> ChatService:
    answerer = build_answerer(
        settings.answerer,
        embed=CachedEmbedding(answer_embedding(kb.embeddings)).embed_array,
        tokenizer=kb.tokenizer,
        llm_base_url=settings.llm_base_url,
        llm_api_key=settings.llm_api_key,
        llm_model=settings.llm_model,
        llm_timeout_s=settings.llm_timeout_s,
    )
    return ChatService(
        kb=kb,
        store=ConversationStore(make_engine(settings.resolved_database_url)),
        answerer=answerer,
        coverage_threshold=settings.coverage_threshold,
        coverage_floor=settings.coverage_floor,
        coverage_terms=settings.coverage_terms,
    )


def get_chat_service(
    settings: Annotated[Settings, Depends(get_settings)],
    kb: Annotated[KnowledgeBase, Depends(get_knowledge_base)],
) -> ChatService:
    # One per process, settings object and knowledge base (Settings is not hashable).
    key = (id(settings), id(kb))
    if key not in _CHAT_SERVICES:
        _CHAT_SERVICES[key] = _chat_service(settings, kb)
    return _CHAT_SERVICES[key]


# --- the learner model ------------------------------------------------------------------
@dataclass(frozen=True)
class _Learner:
    settings: Settings
    kb: KnowledgeBase
    catalog: CourseCatalog
    service: LearnerService


_LEARNER_SERVICES: dict[tuple[int, int], _Learner] = {}
_LEARNER_LOCK = threading.Lock()


def get_learner_service(
    settings: Annotated[Settings, Depends(get_settings)],
    kb: Annotated[KnowledgeBase, Depends(get_knowledge_base)],
) -> LearnerService:
    # One per process, settings object and knowledge base; the entry keeps both alive so
    # their ids cannot be reused by other objects. Course content is checked per request.
    key = (id(settings), id(kb))
    with _LEARNER_LOCK:
        entry = _LEARNER_SERVICES.get(key)
        if entry is None or entry.settings is not settings or entry.kb is not kb:
            catalog = CourseCatalog(kb.registry, authored_dir=authored_root(settings.data_dir))
            service = LearnerService(
                make_engine(settings.resolved_database_url),
                skill_maps=catalog.skill_map,
                items=catalog.items,
                params_for=fitted_params_for(settings.data_dir),
            )
            entry = _Learner(settings, kb, catalog, service)
            _LEARNER_SERVICES[key] = entry
    entry.catalog.refresh()
    return entry.service


# --- code review ---------------------------------------------------------------------------
_REVIEW_SERVICES: dict[tuple[int, int], tuple[Settings, KnowledgeBase, ReviewService]] = {}
_REVIEW_LOCK = threading.Lock()


def get_review_service(
    settings: Annotated[Settings, Depends(get_settings)],
    kb: Annotated[KnowledgeBase, Depends(get_knowledge_base)],
    learner: Annotated[LearnerService, Depends(get_learner_service)],
) -> ReviewService:
    # One per process, settings object and knowledge base: it owns the pool of test jobs.
    key = (id(settings), id(kb))
    with _REVIEW_LOCK:
        entry = _REVIEW_SERVICES.get(key)
        if entry is None or entry[0] is not settings or entry[1] is not kb:
            service = build_review_service(
                settings,
                kb=kb,
                engine=make_engine(settings.resolved_database_url),
                evidence=learner,
            )
            entry = (settings, kb, service)
            _REVIEW_SERVICES[key] = entry
    return entry[2]


def close_review_services() -> None:
    """Wait for running test jobs and stop their pools (application shutdown)."""
    with _REVIEW_LOCK:
        entries = list(_REVIEW_SERVICES.values())
        _REVIEW_SERVICES.clear()
    for _settings, _kb, service in entries:
        service.close()


@lru_cache
def _trainee_data(database_url: str) -> TraineeData:
    return TraineeData(make_engine(database_url))


def get_trainee_data(settings: Annotated[Settings, Depends(get_settings)]) -> TraineeData:
    return _trainee_data(settings.resolved_database_url)


# --- cohort analytics ------------------------------------------------------------------------
_ANALYTICS_SERVICES: dict[int, tuple[LearnerService, AnalyticsService]] = {}
_ANALYTICS_LOCK = threading.Lock()


def get_analytics_service(
    learner: Annotated[LearnerService, Depends(get_learner_service)],
) -> AnalyticsService:
    # One per learner service (its in-memory replay cache is checked against the database
    # on every request); the entry keeps the learner service alive so its id is not reused.
    with _ANALYTICS_LOCK:
        entry = _ANALYTICS_SERVICES.get(id(learner))
        if entry is None or entry[0] is not learner:
            entry = (learner, AnalyticsService(learner.store.engine, learner=learner))
            _ANALYTICS_SERVICES[id(learner)] = entry
    return entry[1]


# --- content gaps ------------------------------------------------------------------------------
_GAPS_SERVICES: dict[tuple[int, int], tuple[Settings, KnowledgeBase, ContentGaps]] = {}
_GAPS_LOCK = threading.Lock()


def get_content_gaps(
    settings: Annotated[Settings, Depends(get_settings)],
    kb: Annotated[KnowledgeBase, Depends(get_knowledge_base)],
    chat: Annotated[ChatService, Depends(get_chat_service)],
) -> ContentGaps:
    # One per process, settings object and knowledge base: it caches each course's groups
    # until the course's gap questions or resolutions change.
    key = (id(settings), id(kb))
    with _GAPS_LOCK:
        entry = _GAPS_SERVICES.get(key)
        if entry is None or entry[0] is not settings or entry[1] is not kb:
            max_bytes = int(settings.max_file_mb * 1024 * 1024)
            service = ContentGaps(
                engine=chat.store.engine,
                conversations=chat.store,
                grouper=build_question_grouper(kb),
                faq_dir=settings.data_dir / "faq",
                ingest_file=lambda path, course: ingest_path(
                    kb, path, course=course, max_bytes=max_bytes
                ),
            )
            entry = (settings, kb, service)
            _GAPS_SERVICES[key] = entry
    return entry[2]


# --- exercise and quiz authoring ---------------------------------------------------------------
_AUTHORING_SERVICES: dict[tuple[int, int], tuple[Settings, KnowledgeBase, CourseAuthoring]] = {}
_AUTHORING_LOCK = threading.Lock()


def get_course_authoring(
    settings: Annotated[Settings, Depends(get_settings)],
    kb: Annotated[KnowledgeBase, Depends(get_knowledge_base)],
    review: Annotated[ReviewService, Depends(get_review_service)],
) -> CourseAuthoring:
    # One per process, settings object and knowledge base; it runs the exercise checks in
    # the code review's sandbox with its limits, and tells the learner model's course cache
    # when a course's quiz changed (file times alone can miss two writes in one tick).
    key = (id(settings), id(kb))
    with _AUTHORING_LOCK:
        entry = _AUTHORING_SERVICES.get(key)
        if entry is None or entry[0] is not settings or entry[1] is not kb:
            learner = _LEARNER_SERVICES.get(key)
            authored = authored_root(settings.data_dir)
            service = CourseAuthoring(
                kb=kb,
                catalog=CourseCatalog(kb.registry, authored_dir=authored),
                root=authored,
                sandbox=review.sandbox,
                limits=review.limits,
                refused_reason=review.refused_reason,
                max_bytes=int(settings.max_file_mb * 1024 * 1024),
                on_change=learner.catalog.forget if learner is not None else None,
            )
            entry = (settings, kb, service)
            _AUTHORING_SERVICES[key] = entry
    return entry[2]


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]
AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
LearnerServiceDep = Annotated[LearnerService, Depends(get_learner_service)]
ReviewServiceDep = Annotated[ReviewService, Depends(get_review_service)]
TraineeDataDep = Annotated[TraineeData, Depends(get_trainee_data)]
AnalyticsServiceDep = Annotated[AnalyticsService, Depends(get_analytics_service)]
ContentGapsDep = Annotated[ContentGaps, Depends(get_content_gaps)]
CourseAuthoringDep = Annotated[CourseAuthoring, Depends(get_course_authoring)]
# The request's user (CurrentUserDep, OptionalUserDep, PageUserDep, require_access) lives in
# api/auth.py: those dependencies need the ones above, and this module imports no route code.


# --- knowledge base management (instructor console) --------------------------------------
_KB_ADMIN_SERVICES: dict[
    tuple[int, int], tuple[Settings, KnowledgeBase, KnowledgeAdminService]
] = {}
_KB_ADMIN_LOCK = threading.Lock()


def get_kb_admin_service(
    settings: Annotated[Settings, Depends(get_settings)],
    kb: Annotated[KnowledgeBase, Depends(get_knowledge_base)],
) -> KnowledgeAdminService:
    # One per process, settings object and knowledge base: it owns the ingest thread.
    key = (id(settings), id(kb))
    with _KB_ADMIN_LOCK:
        entry = _KB_ADMIN_SERVICES.get(key)
        if entry is None or entry[0] is not settings or entry[1] is not kb:
            service = KnowledgeAdminService(
                kb=kb,
                history=KbHistory(
                    make_engine(settings.resolved_database_url),
                    versions_dir=settings.data_dir / "kb_versions",
                ),
                data_dir=settings.data_dir,
                max_upload_bytes=int(settings.upload_max_mb * 1024 * 1024),
                max_file_bytes=settings.knowledge_config().max_file_bytes,
            )
            entry = (settings, kb, service)
            _KB_ADMIN_SERVICES[key] = entry
    return entry[2]


KbAdminServiceDep = Annotated[KnowledgeAdminService, Depends(get_kb_admin_service)]

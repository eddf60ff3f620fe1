"""FastAPI dependencies: the web app's composition root.

Settings are read once (``get_settings``); backends are built from them once per process
and handed to routes through typed aliases. Tests swap them with
``app.dependency_overrides``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from knowledge.config import KnowledgeConfig
from knowledge.embeddings import CachedEmbedding, answer_embedding
from knowledge.errors import KnowledgeError, NotFoundError
from knowledge.knowledge_base import KnowledgeBase, build_knowledge_base
from knowledge.registry import DocumentRecord, DocumentRegistry, make_engine
from tutor.accounts import AccountService
from tutor.answering import build_answerer
from tutor.chat import ChatService
from tutor.conversations import ConversationStore
from tutor.learner import LearnerService
from tutor.login_throttle import LoginThrottle
from tutor.settings import Settings
from tutor.skill_map import QuizItem, SkillMap, read_quiz

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
class _CourseContent:
    """One course's skill map and quiz items (or why they could not be built), with the
    course files they were read from and those files' modification times."""

    skill_map: SkillMap | None
    items: tuple[QuizItem, ...]
    error: KnowledgeError | None
    files: tuple[tuple[Path, int | None], ...]

    def stale(self) -> bool:
        return any(_mtime(path) != seen for path, seen in self.files)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _course_root(records: list[DocumentRecord]) -> Path | None:
    """The course folder the documents were ingested from: their source path minus the
    part of the doc id (``<course>/<relative path>``) below the folder (the most common one)."""
    roots: Counter[str] = Counter()
    for r in records:
        relative = r.doc_id.split("/", 1)[1] if "/" in r.doc_id else ""
        source = r.source_path.replace("\\", "/")
        if relative and source.endswith("/" + relative):
            roots[source[: -len(relative) - 1]] += 1
    return Path(roots.most_common(1)[0][0]) if roots else None


class CourseCatalog:
    """Per-course skill maps and quiz items, built from the knowledge base.

    The registry keeps every document's front matter (skills, prerequisites, levels) and
    its source path, but not ``course.yaml`` or ``quiz.jsonl`` (ingest skips them), so
    those two are read from the course folder the documents came from. A course is built
    on first use and kept until the registry's generation changes (any ingest) or one of
    its two files changes on disk; ``refresh()`` checks that (one small query, plus a
    ``stat`` per cached file) and is called once per request by ``get_learner_service``.
    """

    def __init__(self, registry: DocumentRegistry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._courses: dict[str, _CourseContent] = {}

    def refresh(self) -> None:
        generation = self.registry.generation()
        with self._lock:
            if generation != self._generation:
                self._courses.clear()
                self._generation = generation
                return
            for course in [c for c, content in self._courses.items() if content.stale()]:
                del self._courses[course]

    def _content(self, course: str) -> _CourseContent:
        with self._lock:
            found = self._courses.get(course)
        if found is None:
            found = self._build(course)
            with self._lock:
                self._courses[course] = found
        return found

    def skill_map(self, course: str) -> SkillMap:
        content = self._content(course)
        if content.error is not None:
            raise content.error
        assert content.skill_map is not None
        return content.skill_map

    def items(self, course: str) -> tuple[QuizItem, ...]:
        content = self._content(course)
        if content.error is not None:
            raise content.error
        return content.items

    def _build(self, course: str) -> _CourseContent:
        records = [r for r in self.registry.list(course=course) if r.status == "ready"]
        root = _course_root(records)
        manifest = root / "course.yaml" if root else None
        quiz = root / "quiz.jsonl" if root else None
        files = tuple((p, _mtime(p)) for p in (manifest, quiz) if p is not None)
        try:
            if not records:
                raise NotFoundError(
                    f"course {course!r} has no material in the knowledge base; "
                    f"an instructor can load it with `kdt-tutor ingest`"
                )
            text = manifest.read_text(encoding="utf-8") if manifest and manifest.is_file() else None
            skill_map = SkillMap.from_documents(records, course=course, course_yaml=text)
            items = read_quiz(quiz) if quiz and quiz.is_file() else []
            skill_map.check_items(items)
        except KnowledgeError as exc:
            return _CourseContent(None, (), exc, files)
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read the files of course %s: %s", course, exc)
            return _CourseContent(None, (), NotFoundError(f"cannot read course {course!r}"), files)
        return _CourseContent(skill_map, tuple(items), None, files)


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
            catalog = CourseCatalog(kb.registry)
            service = LearnerService(
                make_engine(settings.resolved_database_url),
                skill_maps=catalog.skill_map,
                items=catalog.items,
            )
            entry = _Learner(settings, kb, catalog, service)
            _LEARNER_SERVICES[key] = entry
    entry.catalog.refresh()
    return entry.service


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]
AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
LearnerServiceDep = Annotated[LearnerService, Depends(get_learner_service)]
# The request's user (CurrentUserDep, OptionalUserDep, PageUserDep, require_roles) lives in
# api/auth.py: those dependencies need the ones above, and this module imports no route code.

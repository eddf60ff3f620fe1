"""The shape of the project's error tree (``knowledge/errors.py``): one root, branches that
do not catch each other, and a knowledge branch that holds course-content problems only."""

from __future__ import annotations

import itertools

import pytest

import tutor.errors
from knowledge import errors
from knowledge.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    InvalidContentError,
    InvalidInputError,
    KdtTutorError,
    KnowledgeError,
    LoadError,
    MissingContentError,
    NotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
)
from tutor.accounts.login_throttle import TooManyAttemptsError
from tutor.accounts.users import AccountDisabledError, UsernameTakenError
from tutor.curation.solution_check import SolutionCheckFailed
from tutor.learning.skill_map import SkillMapError
from tutor.learning.types import UnknownSkillError

BRANCHES = [
    InvalidInputError,
    NotFoundError,
    ConflictError,
    AuthenticationError,
    PermissionDeniedError,
    ProviderUnavailableError,
    ConfigError,
    KnowledgeError,
]


@pytest.mark.parametrize("branch", BRANCHES, ids=lambda c: c.__name__)
def test_each_branch_is_a_direct_subclass_of_the_project_root(branch) -> None:
    assert branch.__bases__ == (KdtTutorError,)


def test_no_branch_catches_another() -> None:
    for a, b in itertools.permutations(BRANCHES, 2):
        assert not issubclass(a, b), f"{a.__name__} is a {b.__name__}"


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError,
        AccountDisabledError,
        PermissionDeniedError,
        TooManyAttemptsError,
        ProviderUnavailableError,
        ConfigError,
        ConflictError,
        UsernameTakenError,
    ],
    ids=lambda c: c.__name__,
)
def test_auth_provider_and_config_errors_are_not_knowledge_errors(error) -> None:
    # ``except KnowledgeError`` ("the course is not ingested") used to swallow all of these
    assert not issubclass(error, KnowledgeError)
    assert issubclass(error, KdtTutorError)


def test_knowledge_errors_are_course_content_problems_of_a_kind() -> None:
    assert issubclass(MissingContentError, NotFoundError)
    assert issubclass(MissingContentError, KnowledgeError)
    assert issubclass(InvalidContentError, InvalidInputError)
    assert issubclass(InvalidContentError, KnowledgeError)
    assert issubclass(SkillMapError, InvalidContentError)
    for error in (MissingContentError, InvalidContentError, SkillMapError):
        assert not issubclass(error, AuthenticationError | PermissionDeniedError)


@pytest.mark.parametrize(
    "error",
    [
        InvalidInputError,
        LoadError,
        UnknownSkillError,
        SolutionCheckFailed,
        NotFoundError,
        UsernameTakenError,
    ],
    ids=lambda c: c.__name__,
)
def test_bad_requests_are_not_knowledge_errors(error) -> None:
    assert not issubclass(error, KnowledgeError)


def test_the_codes_clients_read_are_stable() -> None:
    codes = {
        KdtTutorError: "error",
        InvalidInputError: "invalid_input",
        NotFoundError: "not_found",
        ConflictError: "conflict",
        AuthenticationError: "unauthorized",
        PermissionDeniedError: "forbidden",
        ProviderUnavailableError: "provider_unavailable",
        ConfigError: "config_error",
        KnowledgeError: "knowledge_error",
        MissingContentError: "not_found",
        InvalidContentError: "invalid_input",
        SkillMapError: "invalid_skill_map",
        LoadError: "load_error",
        TooManyAttemptsError: "too_many_attempts",
    }
    assert {error: error.code for error in codes} == codes


def test_the_tutor_layer_imports_the_same_classes() -> None:
    # route guards import PermissionDeniedError and NotFoundError from tutor.errors
    for name in tutor.errors.__all__:
        assert getattr(tutor.errors, name) is getattr(errors, name)
    assert {"PermissionDeniedError", "NotFoundError", "AuthenticationError"} <= set(
        tutor.errors.__all__
    )

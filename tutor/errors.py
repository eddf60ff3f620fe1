"""Errors raised by the tutor layer.

They subclass the knowledge layer's tree, so the API maps one hierarchy once
(``api/errors.py``): NotFound -> 404, InvalidInput -> 422, Conflict -> 409,
ProviderUnavailable -> 503, Config -> 500, plus the auth errors below.
"""

from __future__ import annotations

from knowledge.errors import (
    ConfigError,
    ConflictError,
    InvalidContentError,
    InvalidInputError,
    KdtTutorError,
    KnowledgeError,
    MissingContentError,
    NotFoundError,
    ProviderUnavailableError,
)

__all__ = [
    "ConfigError",
    "ConflictError",
    "InvalidContentError",
    "InvalidInputError",
    "KdtTutorError",
    "MissingContentError",
    "NotFoundError",
    "ProviderUnavailableError",
    "TutorError",
    "AuthenticationError",
    "PermissionDeniedError",
]

TutorError = KnowledgeError


class AuthenticationError(KnowledgeError):
    """No valid session or token (HTTP 401)."""

    code = "unauthorized"


class PermissionDeniedError(KnowledgeError):
    """Authenticated, but the role does not allow this (HTTP 403)."""

    code = "forbidden"

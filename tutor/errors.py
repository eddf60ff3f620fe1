"""The project's error tree as the tutor layer raises it.

The tree lives in ``knowledge/errors.py`` (the lowest layer that raises; the tutor may
import it, not the other way round) and is re-exported here, so tutor code imports its
errors from its own layer. The API maps the tree once (``api/errors.py``).
"""

from __future__ import annotations

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

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "InvalidContentError",
    "InvalidInputError",
    "KdtTutorError",
    "KnowledgeError",
    "MissingContentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderUnavailableError",
]

"""Errors raised by the knowledge layer.

The API maps these once (``api/errors.py``); code here never raises HTTP errors.
"""

from __future__ import annotations


class KdtTutorError(Exception):
    """Root of every error the project raises on purpose; ``code`` is stable for clients."""

    code = "error"


class KnowledgeError(KdtTutorError):
    """Base class of every error the knowledge layer raises on purpose."""

    code = "knowledge_error"


class NotFoundError(KnowledgeError):
    """A document, chunk or course that does not exist."""

    code = "not_found"


class InvalidInputError(KnowledgeError):
    """Input that can never succeed as given (bad file, bad filter, bad query)."""

    code = "invalid_input"


class ConflictError(KnowledgeError):
    """A change based on a stale version (another edit landed first), or a duplicate of
    something that exists; nothing was changed."""

    code = "conflict"


class ProviderUnavailableError(KnowledgeError):
    """A backend (Chroma server, embedding model) could not be reached or loaded."""

    code = "provider_unavailable"


class ConfigError(KnowledgeError):
    """A setting names something that does not exist or cannot work."""

    code = "config_error"


class MissingContentError(NotFoundError):
    """A course with no material in the knowledge base, or whose files cannot be read (an
    instructor ingests it again)."""

    code = "not_found"


class InvalidContentError(InvalidInputError):
    """A course file that does not add up: ``course.yaml`` that is not valid YAML, a bad
    ``quiz.jsonl`` line, an installed exercise's invalid tests (an instructor fixes it)."""

    code = "invalid_input"


class LoadError(InvalidInputError):
    """A file could not be turned into a document; ``reason`` is shown in the ingest report."""

    code = "load_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

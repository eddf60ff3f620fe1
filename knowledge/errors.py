"""The project's error tree (the lowest layer that raises holds it, so every layer can).

::

    KdtTutorError                 every error the project raises on purpose
    ├── InvalidInputError         input that can never succeed as given       422 (400 /v1)
    │   └── LoadError             a file that cannot become a document
    ├── NotFoundError             no such document, course, user, ...         404
    ├── ConflictError             a stale version or a duplicate              409
    ├── AuthenticationError       no valid session or token                   401
    ├── PermissionDeniedError     signed in, but the role does not allow it   403
    ├── ProviderUnavailableError  a backend could not be reached or loaded    503
    ├── ConfigError               a setting that cannot work                  500
    └── KnowledgeError            a course's content is missing or wrong      409
        ├── MissingContentError   (also a NotFoundError)                      404
        └── InvalidContentError   (also an InvalidInputError)                 422
            └── SkillMapError     (tutor.learning.skill_map) skills that do not add up

Elsewhere: ``tutor.accounts.login_throttle.TooManyAttemptsError`` (root, 429),
``tutor.rate_limit.RateLimitedError`` (root, 429, per-user limits),
``tutor.review.service.ReviewsBusyError`` (provider unavailable, 503: every sandbox busy),
``tutor.accounts.users.AccountDisabledError`` (authentication), ``UsernameTakenError`` (input).
The statuses are ``api/errors.py``'s; the CLI's ``main`` reports any of them with exit 2.

Catch the branch you mean: ``except KnowledgeError`` is "the knowledge base cannot serve
this course as it stands" (callers that can go on without the course's content do), never
"anything went wrong"; ``except KdtTutorError`` is for the places that report any of the
project's errors (the API boundary, the CLI's ``main``, a stream's error frame).
The API maps the tree once (``api/errors.py``); code here never raises HTTP errors.
"""

from __future__ import annotations


class KdtTutorError(Exception):
    """Root of every error the project raises on purpose; ``code`` is stable for clients."""

    code = "error"


class InvalidInputError(KdtTutorError):
    """Input that can never succeed as given (bad file, bad filter, bad query)."""

    code = "invalid_input"


class NotFoundError(KdtTutorError):
    """A document, chunk or course that does not exist."""

    code = "not_found"


class ConflictError(KdtTutorError):
    """A change based on a stale version (another edit landed first), or a duplicate of
    something that exists; nothing was changed."""

    code = "conflict"


class AuthenticationError(KdtTutorError):
    """No valid session or token (HTTP 401)."""

    code = "unauthorized"


class PermissionDeniedError(KdtTutorError):
    """Authenticated, but the role does not allow this (HTTP 403)."""

    code = "forbidden"


class ProviderUnavailableError(KdtTutorError):
    """A backend (Chroma server, embedding model, the code-review sandbox) could not be
    reached, loaded or started; trying again later may work."""

    code = "provider_unavailable"


class ConfigError(KdtTutorError):
    """A setting names something that does not exist or cannot work."""

    code = "config_error"


class KnowledgeError(KdtTutorError):
    """The knowledge base cannot serve a course as it stands: its material is not ingested
    (or its files are gone), or its course files (``course.yaml``, front matter,
    ``quiz.jsonl``, an exercise's tests) do not add up. An instructor fixes it by ingesting
    or editing the course; the request itself was fine. Raise one of the two below."""

    code = "knowledge_error"


class MissingContentError(NotFoundError, KnowledgeError):
    """A course with no material in the knowledge base, or whose files cannot be read (an
    instructor ingests it again)."""

    code = "not_found"


class InvalidContentError(InvalidInputError, KnowledgeError):
    """A course file that does not add up: ``course.yaml`` that is not valid YAML, a bad
    ``quiz.jsonl`` line, an installed exercise's invalid tests (an instructor fixes it)."""

    code = "invalid_input"


class LoadError(InvalidInputError):
    """A file could not be turned into a document; ``reason`` is shown in the ingest report."""

    code = "load_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

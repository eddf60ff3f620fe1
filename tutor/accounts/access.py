"""Who may read or change what: the one access policy.

Every route, page and service asks ``Access(user)`` (``user`` is None for an anonymous
caller) instead of looking at roles itself. The rules are the table ``RULES`` below, and
``docs/access.md`` shows them as the roles table; ``tests/integration/test_access_matrix.py``
walks every route for every kind of caller against its own copy of that table.

Roles: ``anonymous`` (no login), ``trainee`` (one course), ``instructor`` (a course is
optional), ``admin`` (no course, every course). A rule gives each role a scope:

- ``OWN``: the caller's own course only. A caller without a course has no own course, so
  an instructor without one reads no trainee data and runs no knowledge base operation.
- ``ANY``: every course (admins).
- a role left out of a rule may never do it (403; 401 when not logged in).

Besides the table:

- Everyone reads and changes their own things (conversations, reviews, learner state,
  data export) whatever the table says (``may_see`` lets the owner through).
- Another user's private thing that the caller may not read is *not found* (404), as for
  an id that does not exist, so ids leak nothing; a course-level request outside the
  caller's course is 403.
- Search (``search_filter``): the *published* material of every course is open to
  everyone, anonymous callers included; that is what was ingested from a course folder.
  Material added through the console (uploads, FAQ pages written from content gaps, which
  quote trainees' questions word for word, exercises and quizzes authored in the console,
  restored versions: everything under the data dir) and solutions never are. Within their
  own course, trainees and instructors search everything but solutions; admins search
  everything but solutions in every course.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from knowledge.registry import DocumentRecord, DocumentRegistry
from knowledge.types import SearchFilter
from tutor.accounts.users import User
from tutor.errors import AuthenticationError, InvalidInputError, PermissionDeniedError

OWN = "own course"
ANY = "any course"
ANONYMOUS = "anonymous"

_STAFF = {"instructor": OWN, "admin": ANY}

# (action, resource) -> {role: scope}. Another user's conversations, reviews and learner
# state are read through these rules; one's own always (``may_see``).
RULES: dict[tuple[str, str], dict[str, str]] = {
    # course material beyond the published (chat, /v1, search in one's own course)
    ("read", "material"): {"trainee": OWN, **_STAFF},
    # other users' private things
    ("read", "conversations"): _STAFF,
    ("read", "reviews"): _STAFF,
    ("read", "learner"): _STAFF,
    # what instructors work with
    ("read", "analytics"): _STAFF,
    ("read", "gaps"): _STAFF,
    ("change", "gaps"): _STAFF,
    ("read", "kb"): _STAFF,
    ("change", "kb"): _STAFF,
    ("change", "kb_index"): {"admin": ANY},  # repairs that concern the whole index
    ("read", "exercises"): _STAFF,
    ("change", "exercises"): _STAFF,
    ("read", "console"): _STAFF,
    # accounts and other users' data exports
    ("read", "accounts"): {"admin": ANY},
    ("change", "accounts"): {"admin": ANY},
    # operations: Prometheus metrics (also open to the addresses ``may_read_metrics`` names)
    ("read", "metrics"): {"admin": ANY},
}


class NoCourseError(InvalidInputError):
    """The caller belongs to no course, and the request needs one (HTTP 422)."""

    code = "no_course"


def no_course(user: User) -> NoCourseError:
    return NoCourseError(
        f"{user.username} belongs to no course; an admin can set one with "
        f"`kdt-tutor user set-role {user.username} {user.role} --course <course>`"
    )


def is_published(record: DocumentRecord, *, data_dir: Path) -> bool:
    """Course material open to everyone: ingested from a course folder, not a solution.

    Whatever lives under the data dir came through the console (uploads, FAQ pages from
    content gaps, authored exercises and quizzes, restored versions) and is not."""
    if record.kind == "solution":
        return False
    try:
        Path(record.source_path).resolve().relative_to(data_dir.resolve())
    except ValueError:
        return True
    return False


class Access:
    """What one caller may do (``user`` None: anonymous)."""

    def __init__(self, user: User | None) -> None:
        self.user = user
        self.role = user.role if user is not None else ANONYMOUS
        self.course = user.course if user is not None else None

    def scope(self, action: str, resource: str) -> str | None:
        """``OWN``, ``ANY``, or None when the caller's role may never do this."""
        if (action, resource) not in RULES:
            raise ValueError(f"no access rule for {action} {resource}")
        return RULES[(action, resource)].get(self.role)

    def may(self, action: str, resource: str, course: str | None) -> bool:
        """May the caller do ``action`` on ``resource`` of ``course``?"""
        scope = self.scope(action, resource)
        if scope == ANY:
            return True
        return scope == OWN and course is not None and course == self.course

    def require_role(self, action: str, resource: str) -> None:
        """401 for an anonymous caller, 403 when the role may never do this (any course)."""
        if self.scope(action, resource) is not None:
            return
        if self.user is None:
            raise AuthenticationError("log in first")
        roles = list(RULES[(action, resource)])
        raise PermissionDeniedError(
            f"this needs the role {' or '.join(roles)}; you are logged in as {self.role}"
        )

    def course_for(
        self,
        requested: str | None,
        *,
        resource: str,
        action: str = "read",
        required: bool = True,
    ) -> str | None:
        """The course the caller acts in: their own (asking for another is 403), or the one
        an admin names. ``required``: a caller without a course gets 422 (``no_course``) and
        an admin who names none 422; else such a caller gets None (no course)."""
        self.require_role(action, resource)
        if self.scope(action, resource) == ANY:
            if required and not requested:
                raise InvalidInputError("choose the course with ?course=<course id>")
            return requested or None
        if requested and requested != self.course:
            where = f"course {self.course}" if self.course else "no course"
            raise PermissionDeniedError(
                f"you work in {where}, not {requested}; an admin can change that"
            )
        if self.course is None and required:
            raise no_course(self.user)
        return self.course

    def courses(self, known: Iterable[str]) -> list[str]:
        """The courses the caller may work in: an admin every known one, anyone else their
        own (the chat's courses, ``/v1/models``, the console's course picker)."""
        if self.scope("read", "material") == ANY:
            return list(known)
        return [self.course] if self.course else []

    def may_see(self, resource: str, *, owner_id: int, course: str | None) -> bool:
        """May the caller read a user's private thing (a conversation, a review, learner
        state) that belongs to ``owner_id`` in ``course``? Owners always may."""
        if self.user is not None and owner_id == self.user.id:
            return True
        return self.may("read", resource, course)

    def search_filter(
        self, where: SearchFilter, *, registry: DocumentRegistry, data_dir: Path
    ) -> SearchFilter:
        """``where`` narrowed to the documents the caller may search (``doc_ids``): admins
        all, callers searching their own course all of it, everyone else the published
        documents (and, for a trainee or instructor, those of their own course)."""
        if self.may("read", "material", where.course):
            return where
        readable = frozenset(
            d.doc_id
            for d in registry.list(course=where.course)
            if self.may("read", "material", d.course) or is_published(d, data_dir=data_dir)
        )
        if where.doc_ids is not None:
            readable &= where.doc_ids
        return replace(where, doc_ids=readable)


def metrics_address_allowed(
    address: str | None,
    *,
    allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
    forwarded: bool,
) -> bool:
    """May a scraper at ``address`` read ``/metrics`` without logging in? Yes from loopback
    (a Prometheus on the same host) and from ``KDT_METRICS_ALLOW``; everyone else needs the
    ``("read", "metrics")`` rule (admins). ``address`` is the client as
    ``KDT_TRUSTED_PROXIES`` lets us believe it; ``forwarded``: the request came through a
    proxy we do not trust (it carries ``X-Forwarded-For``/``Forwarded``), so a loopback peer is
    that proxy, not a local scraper, and does not count."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if any(ip in net for net in allowed):
        return True
    return ip.is_loopback and not forwarded


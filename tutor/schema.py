"""The database schema as a whole, and its migrations (Alembic, ``tutor/migrations/``).

Every table of kdt-tutor is a SQLAlchemy Core ``Table``: the knowledge base's on
``knowledge.registry.metadata``, the tutor's on ``tutor.store.metadata`` (defined in
``tutor/store.py``, ``tutor/learning/store.py``, ``tutor/review/review_store.py`` and
``tutor/curation/``). One Alembic environment covers both, with one history and one
``alembic_version`` row, so an operator has one revision to read and one command to run.
It lives here, in ``tutor/``, because that is the lowest layer that sees every table
(``knowledge/`` must not import the tutor's); the scripts ship inside the package, so an
installed kdt-tutor upgrades its own database.

- ``upgrade(engine)`` brings any database to the newest revision: an empty one, one made
  before migrations existed (``create_schema`` of release 0.1.0: the baseline creates only
  the tables it lacks, the next revision only the columns it lacks), or an older revision.
  On PostgreSQL it holds an advisory lock, so workers starting together upgrade once.
- ``current(engine)`` is the database's revision (None before the first upgrade).
- The composition root (``tutor/services.py``) upgrades on every start; ``kdt-tutor db
  upgrade`` does it ahead of a deploy, ``kdt-tutor db current`` tells where a database is.

Stores built straight on an engine (tests, benchmarks) still create their own tables with
``create_all`` (``tutor.store.create_schema``); a database that serves users is upgraded
first, so there ``create_all`` finds every table present and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData, inspect, text

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The key of the PostgreSQL advisory lock held while upgrading (any number unique to us).
_LOCK_KEY = 0x6B64745475746F72  # "kdtTutor"


def schema_metadata() -> list[MetaData]:
    """The MetaData of every table, knowledge base first (the tutor's refer to nothing
    there, but the order is the layers')."""
    import tutor.curation.content_gaps  # noqa: F401  (each module adds its tables)
    import tutor.curation.kb_history  # noqa: F401
    import tutor.curation.kb_workers  # noqa: F401
    import tutor.learning.store  # noqa: F401
    import tutor.review.review_store  # noqa: F401
    from knowledge.registry import metadata as knowledge_metadata
    from tutor.store import metadata as tutor_metadata

    return [knowledge_metadata, tutor_metadata]


def alembic_config(connection=None):
    """Alembic's ``Config`` for the scripts shipped here, on ``connection`` (tests, and
    developers writing a revision: ``alembic.command.revision(alembic_config(conn),
    message, autogenerate=True, rev_id="000N")`` on a database at the previous head)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision of the migration scripts."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None  # the scripts ship with the package
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision; None for an empty database or one made before
    migrations existed."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest revision; ``(revision before, revision after)``.

    A database already there is left alone (one read). An empty one gets today's tables
    from ``create_all`` and is stamped with the newest revision (Alembic's recipe for a
    new database: one statement per table instead of every revision in turn; a test keeps
    the two ways equal). Any other runs the revisions it lacks, in one transaction. On
    PostgreSQL that transaction first takes an advisory lock and only then reads where the
    database is, so of several processes upgrading at once one does the work and the others
    find it done.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    newest = head()
    if current(engine) == newest:
        return newest, newest
    with engine.begin() as conn:  # PostgreSQL: DDL is transactional, all or nothing
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = MigrationContext.configure(conn).get_current_revision()
        if before == newest:  # another process did it while this one waited
            return before, newest
        config = alembic_config(conn)
        if before is None and not inspect(conn).get_table_names():
            for metadata in schema_metadata():
                metadata.create_all(conn)
            command.stamp(config, "head")
        else:
            command.upgrade(config, "head")
    return before, newest

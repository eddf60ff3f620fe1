"""Backups of one installation: the database and the files under the data dir, with a manifest.

A backup is a folder:

```
manifest.json         what is in it: format, version, schema revision, time, every file
                      with its size and SHA-256 (written last: no manifest, no backup)
database.sqlite3      SQLite: a copy made with SQLite's online backup API
database.pgdump       PostgreSQL: ``pg_dump --format=custom``
files/...             the data dir's files, as they lie there: console uploads, FAQ
                      answers, authored exercises and quizzes, document versions, fitted
                      learner parameters, eval reports, and whatever else is kept there
```

Both database dumps are consistent while the server runs (SQLite's backup API copies a
snapshot; ``pg_dump`` one transaction). The database is dumped before the files are copied,
so every file the database names is in the backup (a file written meanwhile may be too,
harmlessly). Left out, because ``kb check --repair`` rebuilds them from the database: the
derived indexes under ``kb/`` (embedded Chroma, the BM25 cache), ``cache/`` and the upload
staging area ``uploads/.incoming/``.

Restoring verifies every checksum before it touches anything, refuses a data dir (or a
database) that holds anything unless ``force``, then writes the files and the database;
the caller (``kdt-tutor restore``) rebuilds the derived indexes.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from knowledge.registry import make_engine
from tutor.errors import ConfigError, InvalidInputError, NotFoundError

FORMAT = 1
MANIFEST = "manifest.json"
FILES = "files"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# Under the data dir, never backed up: rebuilt from the database, or transient.
DERIVED = ("kb", "cache", "uploads/.incoming")


# --- the database --------------------------------------------------------------------------
def _backend(database_url: str) -> str:
    name = make_url(database_url).get_backend_name()
    if name not in DUMPS:
        raise ConfigError(f"backups support SQLite and PostgreSQL, not {name!r}")
    return name


def _sqlite_path(database_url: str) -> Path:
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise ConfigError("an in-memory SQLite database cannot be backed up or restored")
    return Path(path)


def _pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` on PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise ConfigError(
        f"{name} is needed to back up or restore PostgreSQL and was found neither on PATH "
        "nor under /usr/lib/postgresql/*/bin: install the PostgreSQL client "
        "(Debian: apt-get install postgresql-client)"
    )


def _pg_target(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it (never on
    a command line, where ``ps`` shows it)."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], *, env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ConfigError(f"{what} failed (exit {result.returncode}): {' '.join(detail)}")


def _dump_database(database_url: str, out: Path) -> None:
    if _backend(database_url) == "sqlite":
        source = _sqlite_path(database_url)
        if not source.is_file():
            raise NotFoundError(f"no database at {source}: nothing to back up")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(out)
        try:
            with dst:
                src.backup(dst)  # a consistent snapshot, while the server keeps writing
        finally:
            dst.close()
            src.close()
        return
    target, env = _pg_target(database_url)
    command = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl"]
    _run([*command, f"--file={out}", f"--dbname={target}"], env=env, what="pg_dump")


def _database_holds_data(database_url: str) -> bool:
    if _backend(database_url) == "sqlite":
        path = _sqlite_path(database_url)
        if not path.exists() or path.stat().st_size == 0:
            return False
    engine = make_engine(database_url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _load_database(database_url: str, dump: Path) -> None:
    if _backend(database_url) == "sqlite":
        target = _sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):  # an old database's, not the backup's
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        src = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)  # replaces every page of the target
        finally:
            dst.close()
            src.close()
        return
    target, env = _pg_target(database_url)
    command = [_pg_tool("pg_restore"), "--no-owner", "--no-acl", "--clean", "--if-exists"]
    _run([*command, "--exit-on-error", f"--dbname={target}", str(dump)], env=env, what="pg_restore")


def schema_revision(database_url: str) -> str:
    """Alembic's revision of the database, or ``unversioned``."""
    from tutor.health import schema_revision as revision_of

    engine = make_engine(database_url)
    try:
        return revision_of(engine)
    finally:
        engine.dispose()


# --- files ----------------------------------------------------------------------------------
def _copy_hashed(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` to ``target``; the size and SHA-256 of the bytes written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(1 << 20):
            digest.update(block)
            size += len(block)
            dst.write(block)
    shutil.copystat(source, target)
    return size, digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _data_files(data_dir: Path, *, skip: set[Path]) -> list[Path]:
    """The data dir's files worth keeping (relative paths, sorted)."""
    derived = [data_dir / d for d in DERIVED]
    kept: list[Path] = []
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if here / d not in derived)
        for name in sorted(files):
            path = here / name
            if path.resolve() in skip or path.is_symlink() or not path.is_file():
                continue
            kept.append(path.relative_to(data_dir))
    return kept


def _database_files(database_url: str) -> set[Path]:
    if _backend(database_url) != "sqlite":
        return set()
    path = _sqlite_path(database_url).resolve()
    return {path, *(Path(f"{path}{s}") for s in ("-wal", "-shm", "-journal"))}


def _is_empty_dir(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


# --- backup ---------------------------------------------------------------------------------
def create_backup(
    out_dir: Path, *, data_dir: Path, database_url: str, version: str
) -> dict[str, Any]:
    """Write a backup of ``data_dir`` and the database into ``out_dir`` (new or empty);
    returns the manifest."""
    out_dir, data_dir = out_dir.resolve(), data_dir.resolve()
    if out_dir.is_relative_to(data_dir):
        raise InvalidInputError(f"{out_dir} is inside the data dir {data_dir}: choose another")
    if not _is_empty_dir(out_dir):
        raise InvalidInputError(f"{out_dir} is not empty: back up into a new or empty folder")
    backend = _backend(database_url)
    out_dir.mkdir(parents=True, exist_ok=True)
    dump = out_dir / DUMPS[backend]
    _dump_database(database_url, dump)  # first: every file it names is copied below
    entries = [{"path": dump.name, "bytes": dump.stat().st_size, "sha256": _sha256(dump)}]
    if data_dir.is_dir():
        for rel in _data_files(data_dir, skip=_database_files(database_url)):
            try:
                size, digest = _copy_hashed(data_dir / rel, out_dir / FILES / rel)
            except FileNotFoundError:
                continue  # removed while we walked (a finished upload's staging file)
            entries.append({"path": f"{FILES}/{rel.as_posix()}", "bytes": size, "sha256": digest})
    manifest = {
        "format": FORMAT,
        "kdt_tutor_version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_revision": schema_revision(database_url),
        "database": {"backend": backend, "file": dump.name},
        "excluded": [f"{d}/" for d in DERIVED],
        "files": entries,
    }
    tmp = out_dir / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(out_dir / MANIFEST)  # last: a backup without its manifest is incomplete
    return manifest


# --- restore --------------------------------------------------------------------------------
def read_manifest(backup_dir: Path) -> dict[str, Any]:
    path = backup_dir / MANIFEST
    if not path.is_file():
        raise InvalidInputError(
            f"{backup_dir} is not a kdt-tutor backup (no {MANIFEST}; an interrupted backup "
            "has none)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInputError(f"{path}: unknown backup format {manifest.get('format')!r}")
    return manifest


def verify_backup(backup_dir: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists (present, size, SHA-256) and that
    none of their paths leaves the backup; ``InvalidInputError`` naming what is wrong."""
    backup_dir = backup_dir.resolve()
    manifest = read_manifest(backup_dir)
    problems: list[str] = []
    files = manifest.get("files") or []
    for entry in files:
        rel = str(entry.get("path", ""))
        path = (backup_dir / rel).resolve()
        if not rel or not path.is_relative_to(backup_dir) or Path(rel).is_absolute():
            problems.append(f"{rel!r}: a path outside the backup")
        elif not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.stat().st_size != entry.get("bytes"):
            problems.append(
                f"{rel}: {path.stat().st_size} bytes, the manifest says {entry.get('bytes')}"
            )
        elif _sha256(path) != entry.get("sha256"):
            problems.append(f"{rel}: its SHA-256 differs from the manifest's")
    database = manifest.get("database") or {}
    if database.get("backend") not in DUMPS or database.get("file") not in {
        e.get("path") for e in files
    }:
        problems.append("the manifest names no database dump")
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise InvalidInputError(f"the backup in {backup_dir} is damaged: {shown}")
    return manifest


def restore_backup(
    backup_dir: Path, *, data_dir: Path, database_url: str, force: bool = False
) -> dict[str, Any]:
    """Put a backup back: verify it, refuse a data dir or database that holds anything
    (unless ``force``: then the data dir's contents are deleted and the database replaced),
    write the files and the database. Returns the manifest. The derived indexes are the
    caller's to rebuild (``KnowledgeBase.check``/``repair``)."""
    backup_dir, data_dir = backup_dir.resolve(), data_dir.resolve()
    manifest = verify_backup(backup_dir)  # before anything is touched
    backend = manifest["database"]["backend"]
    if backend != _backend(database_url):
        raise InvalidInputError(
            f"the backup holds a {backend} database and KDT_DATABASE_URL is "
            f"{_backend(database_url)}: restore into the same kind of database"
        )
    if backup_dir.is_relative_to(data_dir):
        raise InvalidInputError(f"the backup {backup_dir} is inside the data dir {data_dir}")
    if not force:
        if not _is_empty_dir(data_dir):
            raise InvalidInputError(
                f"the data dir {data_dir} is not empty: restore into an empty one, or pass "
                "--force to replace what is there"
            )
        if _database_holds_data(database_url):
            raise InvalidInputError(
                "the database already holds tables: restore into an empty one, or pass "
                "--force to replace it"
            )
    if data_dir.is_dir():
        for child in data_dir.iterdir():  # --force (or already empty)
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{FILES}/"
    for entry in manifest["files"]:
        rel = entry["path"]
        if rel.startswith(prefix):
            _copy_hashed(backup_dir / rel, data_dir / rel.removeprefix(prefix))
    _load_database(database_url, backup_dir / manifest["database"]["file"])
    return manifest

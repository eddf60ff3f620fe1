"""``kdt-tutor backup DIR`` and ``kdt-tutor restore DIR``: the operators' backups
(``tutor/backup.py`` holds what they do; this module runs them with the settings and, after
a restore, rebuilds the derived indexes as ``kb check --repair`` does)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tutor.settings import Settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kdt-tutor")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "unknown"


def cmd_backup(args: argparse.Namespace) -> int:
    from tutor.backup import create_backup

    settings = Settings()
    started = time.perf_counter()
    manifest = create_backup(
        Path(args.dir),
        data_dir=settings.data_dir,
        database_url=settings.resolved_database_url,
        version=_version(),
    )
    files = manifest["files"]
    size = sum(f["bytes"] for f in files)
    print(
        f"backed up the {manifest['database']['backend']} database (schema "
        f"{manifest['schema_revision']}) and {len(files) - 1} files, {size / 1e6:.1f} MB, "
        f"into {args.dir} ({time.perf_counter() - started:.1f} s)"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from tutor.backup import restore_backup
    from tutor.services import build_services

    settings = Settings()
    started = time.perf_counter()
    manifest = restore_backup(
        Path(args.dir),
        data_dir=settings.data_dir,
        database_url=settings.resolved_database_url,
        force=args.force,
    )
    print(
        f"restored the backup of {manifest['created_at']} (kdt-tutor "
        f"{manifest['kdt_tutor_version']}, schema {manifest['schema_revision']}): the database "
        f"and {len(manifest['files']) - 1} files into {settings.data_dir}"
    )
    print("rebuilding the search indexes from the database (vectors are embedded again)…")
    services = build_services(settings)
    try:
        kb = services.kb
        for line in kb.repair(kb.check()):
            print(f"  {line}")
        remaining = kb.check()
    finally:
        services.close()
    for problem in remaining:
        print(f"still    {problem.kind}: {problem.detail}", file=sys.stderr)
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 1 if remaining else 0


def add_backup_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backup",
        help="back up the database and the data dir's files into DIR (safe while serving)",
    )
    p.add_argument("dir", metavar="DIR", help="a new or empty folder outside the data dir")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore",
        help="restore a backup into an empty data dir and database, then rebuild the indexes",
    )
    p.add_argument("dir", metavar="DIR", help="a folder written by `kdt-tutor backup`")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a data dir and database that are not empty (their contents are deleted)",
    )
    p.set_defaults(func=cmd_restore)

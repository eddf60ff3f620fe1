"""``kdt-tutor``: the command line, one of the composition roots.

It builds ``Settings`` from the environment, builds the backends from them, and calls
the layers below. Exit codes: 0 success, 1 the command ran but something in it failed
(e.g. some files could not be ingested, ``kb check`` found problems), 2 bad usage or an
error that stopped the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from kdt_tutor.authoring_cli import add_authoring_parser
from kdt_tutor.backup_cli import add_backup_parser
from kdt_tutor.eval_cli import add_eval_parser
from kdt_tutor.gaps_cli import add_gaps_parser
from kdt_tutor.learner_cli import add_learner_parser
from knowledge.errors import KdtTutorError, KnowledgeError, NotFoundError
from knowledge.types import KINDS, SearchFilter
from tutor.accounts.users import ROLES
from tutor.settings import Settings

if TYPE_CHECKING:
    from knowledge.knowledge_base import KnowledgeBase
    from tutor.services import Services


def _settings() -> Settings:
    return Settings()


def _services() -> Services:
    """Every command's services, built from the environment (``tutor/services.py``)."""
    from tutor.services import build_services

    return build_services(_settings(), upgrade_schema=True)


def _progress_bar(total_hint: str):
    """A tqdm progress callback on stderr (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    state: dict = {}

    def update(done: int, total: int, label: str) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(
                total=total,
                desc=total_hint,
                unit="file",
                file=sys.stderr,
                leave=False,
                disable=not sys.stderr.isatty(),
            )
        bar = state["bar"]
        bar.set_postfix_str(Path(label).name[:40])
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


# --- ingest / search / kb ---------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from knowledge.ingest import ingest_path

    services = _services()
    settings, kb = services.settings, services.kb
    report = ingest_path(
        kb,
        Path(args.path),
        course=args.course,
        sync=args.sync,
        max_bytes=settings.knowledge_config().max_file_bytes,
        progress=_progress_bar("ingest"),
    )
    authored = _ingest_authored(kb, settings, Path(args.path), report.course)
    skill_map = _check_skill_map(services, report.course)
    if args.json:
        body = {**report.as_dict(), "skill_map": skill_map}
        if authored is not None:
            body["authored"] = authored.as_dict()
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(
            f"course {report.course}: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, "
            f"{len(report.failed)} failed, {len(report.skipped)} skipped "
            f"({report.seconds:.1f} s)"
        )
        for path, reason in report.failed:
            print(f"  failed  {path}: {reason}")
        for line in report.repaired:
            print(f"  repaired: {line}")
        if authored is not None:
            print(
                f"  written in the console ({authored.course}): {len(authored.added)} added, "
                f"{len(authored.updated)} updated, {len(authored.unchanged)} unchanged"
            )
        if skill_map["error"]:
            print(f"  skill map invalid: {skill_map['error']}")
        elif skill_map["skills"]:
            skills, items = skill_map["skills"], skill_map["quiz_items"]
            print(f"  skill map: {skills} skills, {items} quiz items")
    return 1 if report.failed or skill_map["error"] else 0


def _ingest_authored(kb: KnowledgeBase, settings: Settings, path: Path, course: str):
    """Exercises written in the console for this course (``<data dir>/authored/<course>``)
    are ingested after its course folder, so they stay what trainees get: the folder's own
    version of an exercise edited in the console would otherwise replace it, and ``--sync``
    would remove the console's exercises (their files are not in the folder)."""
    from knowledge.ingest import ingest_path
    from tutor.curation.authored_folder import authored_root

    folder = authored_root(settings.data_dir) / course
    if not folder.is_dir() or path.resolve().is_relative_to(folder.resolve()):
        return None
    max_bytes = settings.knowledge_config().max_file_bytes
    return ingest_path(kb, folder, course=course, max_bytes=max_bytes)


def _check_skill_map(services: Services, course: str) -> dict[str, object]:
    """Validate the course's skill map (course.yaml + front matter + quiz.jsonl) right after
    an ingest, so an unknown skill or a prerequisite cycle is reported to the instructor who
    loaded the course, not to the first trainee who opens the learning page. The documents
    stay ingested either way: the material is fine, its skill map is what needs fixing."""
    catalog = services.catalog
    try:
        skill_map = catalog.skill_map(course)
        items = catalog.items(course)
    except KnowledgeError as exc:
        return {"ok": False, "error": str(exc), "skills": 0, "quiz_items": 0}
    return {"ok": True, "error": None, "skills": len(skill_map.skills), "quiz_items": len(items)}


def _filter(args: argparse.Namespace) -> SearchFilter:
    return SearchFilter(
        course=args.course,
        kinds=tuple(args.kind) if args.kind else None,
        level_min=args.level_min,
        level_max=args.level_max,
        lang=args.lang,
        include_solutions=args.include_solutions,
    )


def cmd_search(args: argparse.Namespace) -> int:
    kb = _services().kb
    results = kb.search(args.query, k=args.k, where=_filter(args))
    if args.json:
        print(json.dumps([_hit_json(r) for r in results], ensure_ascii=False, indent=2))
        return 0
    if not results:
        print("no results")
    for n, r in enumerate(results, start=1):
        c = r.chunk
        where = " > ".join(c.heading_path) or c.title
        print(f"[{n}] {r.score:.4f}  {c.doc_id}:{c.line_start}-{c.line_end}  ({where})")
        snippet = " ".join(c.text.split())
        print(f"     {snippet[:200]}{'…' if len(snippet) > 200 else ''}")
    return 0


def _hit_json(r) -> dict:
    c = r.chunk
    return {
        "score": round(r.score, 6),
        "ranks": r.ranks,
        "chunk_id": c.id,
        "doc_id": c.doc_id,
        "title": c.title,
        "heading_path": list(c.heading_path),
        "line_start": c.line_start,
        "line_end": c.line_end,
        "course": c.course,
        "kind": c.kind,
        "level": c.level,
        "lang": c.lang,
        "text": c.text,
    }


def cmd_kb_list(args: argparse.Namespace) -> int:
    kb = _services().kb
    records = kb.registry.list(course=args.course)
    if args.json:
        print(json.dumps([r.as_json() for r in records], ensure_ascii=False, indent=2))
        return 0
    if not records:
        print("the knowledge base is empty")
    for r in records:
        level = f"Lv{r.level}" if r.level else "-"
        counts = f"{r.chunk_count:>4} chunks  {r.status}"
        print(f"{r.doc_id:<60} {r.kind:<9} {level:<4} {r.lang}  {counts}")
    return 0


def cmd_kb_show(args: argparse.Namespace) -> int:
    kb = _services().kb
    record = kb.registry.get(args.doc)
    chunks = kb.registry.document_chunks(args.doc)
    if args.json:
        body = record.as_json() | {
            "chunks": [
                {
                    "id": c.id,
                    "heading_path": list(c.heading_path),
                    "line_start": c.line_start,
                    "line_end": c.line_end,
                    "text": c.text,
                }
                for c in chunks
            ]
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    for key, value in record.as_json().items():
        print(f"{key:>14}: {value}")
    for c in chunks:
        path = " > ".join(c.heading_path)
        print(f"\n--- chunk {c.index}  lines {c.line_start}-{c.line_end}  {path}")
        print(c.text)
    return 0


def cmd_kb_remove(args: argparse.Namespace) -> int:
    kb = _services().kb
    kb.remove(args.doc)
    kb.refresh_lexical()
    print(f"removed {args.doc}")
    return 0


def cmd_kb_check(args: argparse.Namespace) -> int:
    kb = _services().kb
    problems = kb.check()
    if not problems:
        n_docs, n_chunks = kb.registry.counts()
        print(f"consistent: {n_docs} documents, {n_chunks} chunks in registry, vectors and BM25")
        return 0
    for p in problems:
        print(f"problem  {p.kind}: {p.detail}")
    if not args.repair:
        print("run `kdt-tutor kb check --repair` to fix")
        return 1
    for line in kb.repair(problems):
        print(f"repaired {line}")
    remaining = kb.check()
    for p in remaining:
        print(f"still    {p.kind}: {p.detail}")
    return 1 if remaining else 0


# --- user -------------------------------------------------------------------------------


def _password(args: argparse.Namespace) -> str | None:
    """--password, else a getpass prompt (typed twice) when stdin is a terminal."""
    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        print(
            "error: no password: pass --password or run in a terminal to be asked", file=sys.stderr
        )
        return None
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("error: the two passwords differ", file=sys.stderr)
        return None
    return first


def _user_json(u) -> dict:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "course": u.course,
        "disabled": u.disabled,
        "created_at": u.created_at.isoformat(),
    }


def cmd_user_add(args: argparse.Namespace) -> int:
    from tutor.accounts.users import UsernameTakenError

    accounts = _services().accounts
    if args.if_missing:
        try:
            existing = accounts.get_user(args.username)
        except NotFoundError:
            existing = None
        if existing is not None:  # decided before asking for a password
            print(f"user {existing.username} exists; unchanged")
            return 0
    password = _password(args)
    if password is None:
        return 2
    try:
        user = accounts.create_user(
            args.username, password, role=args.role, course=args.course, display_name=args.name
        )
    except UsernameTakenError:
        if not args.if_missing:
            raise
        print(f"user {args.username.strip().lower()} exists; unchanged")
        return 0
    course = f" in {user.course}" if user.course else ""
    print(f"added {user.role} {user.username}{course}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    users = _services().accounts.list_users(role=args.role, course=args.course)
    if args.json:
        print(json.dumps([_user_json(u) for u in users], ensure_ascii=False, indent=2))
        return 0
    if not users:
        print("no users; add one with `kdt-tutor user add USERNAME --role ROLE`")
    for u in users:
        state = "disabled" if u.disabled else "active"
        print(f"{u.username:<24} {u.role:<10} {u.course or '-':<20} {state:<8}  {u.display_name}")
    return 0


def cmd_user_set_role(args: argparse.Namespace) -> int:
    user = _services().accounts.set_role(args.username, args.role, course=args.course)
    course = f" in {user.course}" if user.course else ""
    print(f"{user.username} is now {user.role}{course}")
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    accounts = _services().accounts
    user = accounts.get_user(args.username)  # fail before prompting for an unknown user
    password = _password(args)
    if password is None:
        return 2
    accounts.set_password(user.username, password)
    print(f"password of {user.username} changed; their browser sessions were ended")
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    accounts = _services().accounts
    token = accounts.create_token(accounts.get_user(args.username), args.name)
    print(token)
    print("this token is shown once; send it as 'Authorization: Bearer <token>'", file=sys.stderr)
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    user = _services().accounts.disable(args.username)
    print(f"disabled {user.username}: logins and sessions ended, API tokens revoked")
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    user = _services().accounts.enable(args.username)
    print(f"enabled {user.username}: they can log in again (old API tokens stay revoked)")
    return 0


def cmd_user_export(args: argparse.Namespace) -> int:
    services = _services()
    user = services.accounts.get_user(args.username)
    data = services.trainee_data.export(user.id)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
        print(f"wrote everything stored about {user.username} to {out}")
    else:
        print(text)
    return 0


def cmd_user_delete(args: argparse.Namespace) -> int:
    services = _services()
    user = services.accounts.get_user(args.username)
    data = services.trainee_data
    counts = data.counts(user.id)
    listed = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    if not args.yes:
        print(
            f"would delete {user.username} ({user.role}) and: {listed or 'no other data'}; "
            "run again with --yes to delete (export first: kdt-tutor user export)",
            file=sys.stderr,
        )
        return 1
    result = data.delete(user.id)
    print(f"deleted {user.username}: {listed or 'no other data'}")
    print(result["effect"])
    return 0


# --- db ---------------------------------------------------------------------------------
def _upgrade_database(settings: Settings) -> str:
    """Bring ``KDT_DATABASE_URL`` to the newest migration; what happened, in one line."""
    from tutor.schema import upgrade
    from tutor.services import build_services

    services = build_services(settings)  # its engine only: every service is built on use
    try:
        before, after = upgrade(services.engine)
    finally:
        services.close()
    if before == after:
        return f"database at {after} (newest): nothing to do"
    return f"database upgraded from {before or 'no revision'} to {after}"


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    print(_upgrade_database(_settings()))
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from tutor.schema import current, head
    from tutor.services import build_services

    services = build_services(_settings())
    try:
        revision, newest = current(services.engine), head()
    finally:
        services.close()
    if args.json:
        print(json.dumps({"current": revision, "head": newest, "up_to_date": revision == newest}))
    elif revision == newest:
        print(f"{revision} (head)")
    else:
        print(f"{revision or 'none'} (head is {newest}: run `kdt-tutor db upgrade`)")
    return 0 if revision == newest else 1


# --- serve ------------------------------------------------------------------------------
def uvicorn_options(settings: Settings, *, host: str | None, port: int | None) -> dict:
    """How ``serve`` runs uvicorn (``uvicorn.run(create_app, **options)``)."""
    return {
        # The factory itself, and app_dir=None: uvicorn would otherwise put the working
        # directory first on sys.path, where a local "api" or "eval" folder could shadow ours.
        "factory": True,
        "app_dir": None,
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": "info",
        # The app reads X-Forwarded-For itself, from KDT_TRUSTED_PROXIES only
        # (api/client_address.py); uvicorn's own handling trusts any loopback peer.
        "proxy_headers": False,
        # On SIGTERM, open requests and chat streams get this long to finish, then are cut.
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
    }


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    from threadpoolctl import threadpool_limits

    from api.app import create_app

    # One BLAS thread per request: the server runs requests in parallel threads, and BLAS
    # workers of concurrent requests otherwise fight over the cores (bench/RESULTS.md).
    threadpool_limits(limits=1, user_api="blas")
    # Migrate here, once, before uvicorn starts any worker (each worker's app checks again
    # and finds the database at the newest revision).
    print(_upgrade_database(settings), file=sys.stderr)
    uvicorn.run(create_app, **uvicorn_options(settings, host=args.host, port=args.port))
    return 0


# --- review ------------------------------------------------------------------------------
def cmd_review(args: argparse.Namespace) -> int:
    """Review files as the web page would, print the review; nothing is stored."""
    from tutor.review.service import Reviewer

    services = _services()
    settings, kb = services.settings, services.kb
    service = services.review
    files = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise NotFoundError(f"no such file: {name}")
        files.append((path.name, path.read_bytes()))
    course = args.course or settings.default_course
    if args.exercise and not course:
        courses = sorted({r.course for r in kb.registry.list()})
        course = courses[0] if len(courses) == 1 else None
        if course is None:
            print("error: --exercise needs --course (several courses are loaded)", file=sys.stderr)
            return 2
    reviewer = Reviewer(user_id=0, course=course, level=args.level)
    try:
        record = service.preview(reviewer, files, exercise_id=args.exercise, lang=args.lang)
    finally:
        service.close()
    if args.json:
        body = {
            "verdict": record.verdict,
            "files": [f.name for f in record.files],
            "findings": record.static.get("findings", []),
            "hidden_findings": record.static.get("hidden", []),
            "complexity": record.static.get("complexity", {}),
            "tests": record.tests,
            "suspicious": record.suspicious,
            "narrative": record.narrative,
            "notices": record.notices,
            "timings": record.timings,
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        _print_review(record)
    return 0 if record.verdict in ("passed", "no_tests") else 1


def _print_review(record) -> None:
    print(f"verdict: {record.verdict}")
    tests = record.tests or {}
    for case in tests.get("cases", []):
        line = f"  {case['status']:<8} {case['name']}"
        if case["status"] != "passed":
            shown = {"input": case.get("input"), "expected": case.get("expected")}
            shown.update(actual=case.get("actual"), error=case.get("error"))
            line += "  " + "; ".join(f"{k} {v}" for k, v in shown.items() if v not in (None, ""))
        print(line)
    if tests.get("message"):
        print(f"  {tests['message']}")
    for s in record.suspicious[:3]:
        print(f"suspicious {s['file']}:{s['line']}  {s.get('code', '')}\n  {s['question']}")
    findings = record.static.get("findings", [])
    for f in findings:
        print(f"{f['file']}:{f['line']}  {f['severity']:<7} {f['code']:<6} {f['title']}")
    hidden = record.static.get("hidden", [])
    if hidden:
        print(f"... {len(hidden)} more findings (--json lists them)")
    print()
    print(record.narrative)
    for notice in record.notices:
        print(f"note: {notice}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdt-tutor", description="Adaptive grounded tutor for K-Digital Training courses."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest a course folder or a file into the knowledge base")
    p.add_argument("path")
    p.add_argument("--course", help="course id (default: course.yaml id, else the folder name)")
    p.add_argument("--sync", action="store_true", help="remove documents whose files are gone")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="hybrid search of the knowledge base")
    p.add_argument("query")
    p.add_argument("--course")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--kind", action="append", choices=KINDS, help="repeatable")
    p.add_argument("--level-min", type=int, choices=range(1, 5))
    p.add_argument("--level-max", type=int, choices=range(1, 5))
    p.add_argument("--lang", choices=("en", "ko"))
    p.add_argument("--include-solutions", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "review",
        help="review Python files (static checks; with --exercise, its tests in the sandbox)",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--exercise", help="exercise id: run its tests and localize failures")
    p.add_argument("--course", help="the exercise's course (default: KDT_DEFAULT_COURSE)")
    p.add_argument("--level", type=int, choices=range(1, 5), default=2)
    p.add_argument("--lang", choices=("en", "ko"), default="en")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_review)

    kb = sub.add_parser("kb", help="knowledge base administration").add_subparsers(
        dest="kb_command", required=True
    )
    p = kb.add_parser("list", help="list documents")
    p.add_argument("--course")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_list)
    p = kb.add_parser("show", help="show a document and its chunks")
    p.add_argument("doc")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_show)
    p = kb.add_parser("remove", help="remove a document")
    p.add_argument("doc")
    p.set_defaults(func=cmd_kb_remove)
    p = kb.add_parser("check", help="verify registry, vector index and BM25 index agree")
    p.add_argument("--repair", action="store_true")
    p.set_defaults(func=cmd_kb_check)

    add_eval_parser(sub)
    add_learner_parser(sub)
    add_authoring_parser(sub)
    add_gaps_parser(sub)
    add_backup_parser(sub)

    us = sub.add_parser("user", help="accounts: trainees, instructors, admins").add_subparsers(
        dest="user_command", required=True
    )
    p = us.add_parser("add", help="create an account")
    p.add_argument("username", help="3-40 characters: a-z 0-9 . _ -")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--course", help="course id (cohort); required for trainees, none for admins")
    p.add_argument("--name", help="display name (default: the username)")
    p.add_argument("--password", help="at least 8 characters; asked for when omitted (tty)")
    p.add_argument(
        "--if-missing", action="store_true", help="do nothing (exit 0) when the user already exists"
    )
    p.set_defaults(func=cmd_user_add)
    p = us.add_parser("list", help="list accounts")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--course")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_user_list)
    p = us.add_parser("set-role", help="change an account's role (and course)")
    p.add_argument("username")
    p.add_argument("role", choices=ROLES)
    p.add_argument("--course", help="new course id (default: keep the current one)")
    p.set_defaults(func=cmd_user_set_role)
    p = us.add_parser("passwd", help="set a new password (ends the user's sessions)")
    p.add_argument("username")
    p.add_argument("--password", help="asked for when omitted (tty)")
    p.set_defaults(func=cmd_user_passwd)
    p = us.add_parser("token", help="create an API token for scripts (printed once)")
    p.add_argument("username")
    p.add_argument("--name", default="cli", help="a label for the token (default: cli)")
    p.set_defaults(func=cmd_user_token)
    p = us.add_parser("disable", help="block an account (logins, sessions, tokens)")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_disable)
    p = us.add_parser("enable", help="let a disabled account log in again (new tokens needed)")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_enable)
    p = us.add_parser("export", help="everything stored about a user, as JSON (privacy)")
    p.add_argument("username")
    p.add_argument("--out", help="write to this file (default: print)")
    p.set_defaults(func=cmd_user_export)
    p = us.add_parser("delete", help="delete a user and their data (privacy)")
    p.add_argument("username")
    p.add_argument("--yes", action="store_true", help="really delete (else: say what would go)")
    p.set_defaults(func=cmd_user_delete)

    db = sub.add_parser("db", help="the database schema (migrations)").add_subparsers(
        dest="db_cmd", required=True
    )
    p = db.add_parser("upgrade", help="bring the database to the newest migration")
    p.set_defaults(func=cmd_db_upgrade)
    p = db.add_parser("current", help="the database's migration (exit 1 when behind)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_db_current)

    p = sub.add_parser("serve", help="run the web app and API (upgrades the database first)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as exc:
        for err in exc.errors():
            name = "KDT_" + "_".join(str(x) for x in err.get("loc", ())).upper()
            print(f"error: invalid setting {name}: {err.get('msg')}", file=sys.stderr)
        return 2
    except KdtTutorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = "interrupted; run `kdt-tutor kb check --repair` if an ingest was running"
        print(hint, file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

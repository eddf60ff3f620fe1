"""``kdt-tutor quiz import|export`` and ``kdt-tutor exercise check``: course authoring from
the command line (the same service as the console's exercises page).

- ``quiz import FILE --course ID``: every line is checked first (errors name their line
  numbers; nothing is imported then), then items are added or replaced by id.
- ``quiz export --course ID [--out FILE]``: the course's quiz as ``quiz.jsonl`` (the course
  folder's items with those written in the console).
- ``exercise check FOLDER...``: each exercise folder's tests against its ``solution.py`` in
  the sandbox (and a warning when ``starter.py`` already passes them), as saving an exercise
  in the console requires. Exit 1 when one fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.settings import Settings


def _services():
    from tutor.services import build_services

    return build_services(Settings(), upgrade_schema=True)


def _course(settings: Settings, course: str | None) -> str:
    from knowledge.errors import InvalidInputError

    course = course or settings.default_course
    if not course:
        raise InvalidInputError("which course? pass --course ID (or set KDT_DEFAULT_COURSE)")
    return course


def cmd_quiz_import(args: argparse.Namespace) -> int:
    from knowledge.errors import InvalidInputError

    services = _services()
    path = Path(args.file)
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}")
    course = _course(services.settings, args.course)
    result = services.authoring.import_quiz(course, path.read_bytes())
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(
            f"quiz: {len(result.added)} added, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged"
        )
    return 0


def cmd_quiz_export(args: argparse.Namespace) -> int:
    services = _services()
    text = services.authoring.export_quiz(_course(services.settings, args.course))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10))} items to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_exercise_check(args: argparse.Namespace) -> int:
    from knowledge.errors import InvalidInputError, NotFoundError
    from tutor.curation.solution_check import check_exercise_folder

    pipeline = _services().pipeline  # the code review's sandbox and limits
    sandbox, limits = pipeline.sandbox, pipeline.limits
    failed = 0
    reports = []
    for folder in args.folders:
        try:
            check = check_exercise_folder(Path(folder), sandbox=sandbox, limits=limits)
            report = {"folder": folder, **check.to_dict()}
        except (InvalidInputError, NotFoundError) as exc:  # the folder's files, not the sandbox
            report = {"folder": folder, "ok": False, "message": str(exc), "cases": []}
        failed += not report["ok"]
        reports.append(report)
        if not args.json:
            mark = "ok  " if report["ok"] else "FAIL"
            print(f"{mark} {folder}: {report['message']}")
            for case in report["cases"]:
                if case["status"] != "passed":
                    got = f"expected {case['expected']}, got {case['actual']}"
                    detail = case.get("error") or got
                    print(f"       {case['name']}: {case['status']} ({detail})")
            for warning in report.get("warnings", []):
                print(f"       warning: {warning}")
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    return 1 if failed else 0


def add_authoring_parser(sub) -> None:
    qp = sub.add_parser("quiz", help="quiz items: import or export quiz.jsonl").add_subparsers(
        dest="quiz_command", required=True
    )
    p = qp.add_parser("import", help="add or replace quiz items from a quiz.jsonl (all or none)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--course", help="course id (default: KDT_DEFAULT_COURSE)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_quiz_import)
    p = qp.add_parser("export", help="the course's quiz as quiz.jsonl")
    p.add_argument("--course", help="course id (default: KDT_DEFAULT_COURSE)")
    p.add_argument("--out", help="write to this file (default: print)")
    p.set_defaults(func=cmd_quiz_export)

    ep = sub.add_parser("exercise", help="exercises: check their tests").add_subparsers(
        dest="exercise_command", required=True
    )
    p = ep.add_parser("check", help="run each exercise folder's tests against its solution.py")
    p.add_argument("folders", nargs="+", metavar="FOLDER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_exercise_check)

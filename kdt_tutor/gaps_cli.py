"""``kdt-tutor gaps …``: content gaps on the command line.

- ``group QUESTIONS.jsonl [--course ID] [--json OUT]``: group questions by meaning
  (``tutor.curation.question_groups``: the course's lessons each question is nearest to,
  plus question similarity; the number of groups is not needed). Input: one
  ``{"id", "question"}`` object a line (other fields are ignored, blank lines skipped).
  Output: ``{"groups": {"<id>": "<group label>"}}`` to OUT (written whole, then moved into
  place) or stdout. A summary goes to stderr. Bad input (missing file, a malformed line, a
  missing or duplicate id, an unknown course) prints ``error: …`` and exits 1 before any
  output is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.errors import InvalidInputError
from tutor.settings import Settings


def read_questions(path: Path) -> list[tuple[str, str]]:
    """``(id, question)`` pairs of a JSONL file; ``InvalidInputError`` names the bad line."""
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read ({exc.strerror})") from exc
    items: list[tuple[str, str]] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise InvalidInputError(f'{where}: expected an object {{"id", "question"}}')
        item_id, question = record.get("id"), record.get("question")
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)
        if not isinstance(item_id, str) or not item_id.strip():
            raise InvalidInputError(f'{where}: missing "id" (a non-empty string)')
        if not isinstance(question, str) or not question.strip():
            raise InvalidInputError(f'{where}: missing "question" (non-empty text)')
        if item_id in first_line:
            raise InvalidInputError(
                f"{where}: duplicate id {item_id!r} (first on line {first_line[item_id]})"
            )
        first_line[item_id] = number
        items.append((item_id, question))
    return items


def _known_courses(kb) -> list[str]:
    return sorted({r.course for r in kb.registry.list()})


def cmd_gaps_group(args: argparse.Namespace) -> int:
    try:
        items = read_questions(Path(args.questions))
        from tutor.curation.question_groups import build_question_grouper
        from tutor.services import build_services

        kb = build_services(Settings(), upgrade_schema=True).kb
        if args.course is not None:
            known = _known_courses(kb)
            if args.course not in known:
                listed = ", ".join(known) or "none: ingest a course first"
                raise InvalidInputError(f"unknown course {args.course!r} (known: {listed})")
        groups = build_question_grouper(kb).groups(items, course=args.course)
    except InvalidInputError as exc:  # bad input exits 1; a backend's failure stops in main
        print(f"error: {exc}", file=sys.stderr)
        return 1
    body = {"groups": {i: g.label for g in groups for i in g.ids}}
    text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    if args.json:
        out = Path(args.json)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(out)
        except OSError as exc:
            print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    where = f"course {args.course}" if args.course else "the whole knowledge base"
    print(
        f"{len(items)} question(s) in {len(groups)} group(s), grouped against {where}"
        + (f"; wrote {args.json}" if args.json else ""),
        file=sys.stderr,
    )
    return 0


def add_gaps_parser(sub) -> None:
    gp = sub.add_parser("gaps", help="content gaps: group trainee questions").add_subparsers(
        dest="gaps_command", required=True
    )
    p = gp.add_parser(
        "group",
        help="group questions by meaning (JSONL of {id, question}) -> {groups: {id: label}}",
    )
    p.add_argument("questions", metavar="QUESTIONS.jsonl")
    p.add_argument(
        "--course", help="course id whose lessons structure the groups (default: all material)"
    )
    p.add_argument("--json", metavar="OUT", help="write the result here (default: stdout)")
    p.set_defaults(func=cmd_gaps_group)

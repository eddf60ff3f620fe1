"""``kdt-tutor learner …``: the learner model on the command line.

- ``fit COURSE``: fit BKT parameters per skill from the course's evidence log (pyBKT, with
  priors pooled across skills when a skill has little data) and save them to
  ``<data dir>/learner/<course>.params.json``, which the server loads at start.
- ``show USERNAME``: a trainee's level, progress and mastery per skill.
- ``recompute COURSE``: rebuild every trainee's mastery from the evidence log.
"""

from __future__ import annotations

import argparse
import json

from knowledge.errors import InvalidInputError
from tutor.settings import Settings


def _services():
    from tutor.services import build_services

    return build_services(Settings(), upgrade_schema=True)


def cmd_learner_fit(args: argparse.Namespace) -> int:
    from tutor.learning.bkt_fit import fit_learner, save_params
    from tutor.learning.params import params_path
    from tutor.learning.store import LearnerStore

    services = _services()
    settings = services.settings
    rows = LearnerStore(services.engine).course_evidence(args.course)
    if not rows:
        raise InvalidInputError(f"course {args.course!r} has no evidence yet (no answers logged)")
    observations = [(str(r.user_id), r.skill, bool(r.correct), r.id) for r in rows]
    fit = fit_learner(observations, min_observations=args.min_observations)
    target = params_path(settings.data_dir, args.course)
    path = save_params(target, fit, meta={"course": args.course})
    sources: dict[str, int] = {}
    for p in fit.params.values():
        sources[p.source] = sources.get(p.source, 0) + 1
    print(
        f"fitted {len(fit.params)} skill(s) from {len(rows)} observation(s): "
        + ", ".join(f"{n} {s}" for s, n in sorted(sources.items()))
    )
    print(f"saved {path}; restart the server to use them")
    return 0


def cmd_learner_show(args: argparse.Namespace) -> int:
    services = _services()
    service = services.learner
    user = services.accounts.get_user(args.username)  # NotFoundError when unknown
    course = args.course or user.course
    if not course:
        raise InvalidInputError(f"{user.username} belongs to no course; pass --course")
    if args.json:
        summary = service.dashboard(user.id, course, lang=args.lang)
        print(json.dumps(_plain(summary), ensure_ascii=False, indent=2, default=str))
        return 0
    progress = service.level(user.id, course)
    mastery = service.mastery(user.id, course)
    print(f"{user.username} ({course}): level {progress.level}")
    for skill, value in sorted(mastery.items(), key=lambda kv: -kv[1]):
        bar = "#" * round(value * 20)
        print(f"  {skill:<24} {value:5.2f} {bar}")
    return 0


def _plain(obj):
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) else obj


def cmd_learner_recompute(args: argparse.Namespace) -> int:
    _services().learner.recompute_course(args.course)
    print(
        f"cached mastery of course {args.course!r} dropped; it is rebuilt from the evidence "
        "log on next read"
    )
    return 0


def add_learner_parser(sub) -> None:
    lp = sub.add_parser("learner", help="the learner model: fit, show, recompute").add_subparsers(
        dest="learner_command", required=True
    )
    p = lp.add_parser("fit", help="fit BKT parameters from a course's evidence log")
    p.add_argument("course", help="course id")
    p.add_argument(
        "--min-observations",
        type=int,
        default=30,
        help="skills with fewer answers use the pooled parameters (default 30)",
    )
    p.set_defaults(func=cmd_learner_fit)
    p = lp.add_parser("show", help="a trainee's level and mastery per skill")
    p.add_argument("username")
    p.add_argument("--course", help="default: the trainee's course")
    p.add_argument("--lang", choices=("en", "ko"), default="en")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_learner_show)
    p = lp.add_parser("recompute", help="rebuild mastery from the evidence log")
    p.add_argument("course")
    p.set_defaults(func=cmd_learner_recompute)

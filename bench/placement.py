"""placement: does the adaptive placement quiz put simulated trainees at their true level?

``python -m bench.placement [COURSE_DIR] [--trainees 25] [--seed 0] [--json OUT]``
(default: the sample course ``courses/python-basics``).

*Simulated trainees* (seeded): each has a true state s in 0..4 drawn uniformly ("has
mastered the skills of levels <= s"; s = 0 is a beginner who has mastered nothing yet);
the true level is max(s, 1), as the product reports it. Per-skill knowledge is consistent
with it but noisy: a skill of a level <= s is known with probability ``--p-in`` (0.9),
a higher one with ``--p-out`` (0.1). Answering an item (all its skills known): right with
probability 1 - ``--slip`` (0.1), else a uniformly random option (so guessing succeeds
with 1 / number of options). Every trainee answers in English (``lang=en``).

*Ours*: the real placement path: ``LearnerService.start_placement`` /
``answer_placement`` on a temporary SQLite database (the session is stored and reloaded
after every answer, as for a trainee on the web), at most 12 items, stop at posterior
>= 0.85. Reported: the share placed at their true level (target >= 0.80), within one
level, mean and max items used.

*Baseline* (non-adaptive): a fixed 12-item quiz (3 English items per level, spread over
the level's skills, the same for everyone), scored by share correct: the level whose
expected share under the simulation's own parameters is nearest (bands tuned to the
simulation, so the baseline gets its best case).

*Stability*: 25 trainees is a small sample (one trainee = 4 points), so the same
comparison is also run on ``--stability`` (2000) more trainees with the pure
``PlacementSession`` (no database) and reported beside it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bench.common import OUT_DIR, SAMPLE_COURSE, format_table, load_average, log, machine_info, row
from knowledge.registry import make_engine
from tutor.learning.placement import PlacementSession
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import SkillMap, load_course
from tutor.store import create_schema, users


@dataclass(frozen=True)
class SimParams:
    p_in: float = 0.9
    p_out: float = 0.1
    slip: float = 0.1


@dataclass
class Trainee:
    name: str
    state: int  # 0..top level: has mastered the skills of levels <= state
    knows: dict[str, bool]
    rng: random.Random

    @property
    def level(self) -> int:
        return max(self.state, 1)

    def choose(self, item, skill_map: SkillMap, sim: SimParams) -> int:
        known = all(self.knows.get(s, False) for s in skill_map.item_skills(item))
        if known and self.rng.random() >= sim.slip:
            return item.answer_index
        return self.rng.randrange(len(item.options))


def make_trainees(skill_map: SkillMap, n: int, *, seed: int, sim: SimParams) -> list[Trainee]:
    rng = random.Random(seed)
    top = max(skill_map.level_numbers())
    level_of = {s: lv for lv, skills in skill_map.levels.items() for s in skills}
    out = []
    for i in range(n):
        state = rng.randint(0, top)
        knows = {
            s: rng.random() < (sim.p_in if level_of.get(s, top) <= state else sim.p_out)
            for s in skill_map.skills
        }
        out.append(Trainee(f"sim{i:03d}", state, knows, random.Random(rng.random())))
    return out


# ------------------------------------------------------------------------------ ours


def place_with_service(
    skill_map: SkillMap, items: list, trainees: list[Trainee], *, sim: SimParams, db: Path
) -> list[dict]:
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    service = LearnerService(
        engine, skill_maps=lambda _c: skill_map, items=lambda _c: items, clock=lambda: NOW
    )
    results = []
    for t in trainees:
        with engine.begin() as conn:
            user_id = conn.execute(
                insert(users).values(
                    username=t.name,
                    display_name=t.name,
                    role="trainee",
                    course=skill_map.course,
                    password_hash="-",
                    disabled=False,
                    created_at=NOW,
                )
            ).inserted_primary_key[0]
        view = service.start_placement(user_id, skill_map.course, lang="en")
        while view.status == "active":
            item = view.item
            view = service.answer_placement(
                user_id,
                skill_map.course,
                session_id=view.session_id,
                item_id=item.id,
                chosen_index=t.choose(item, skill_map, sim),
            )
        results.append({"trainee": t.name, "true": t.level, "placed": view.level,
                        "items": view.answered})  # fmt: skip
    engine.dispose()
    return results


def place_pure(skill_map: SkillMap, items: list, trainees: list[Trainee], sim: SimParams) -> list:
    results = []
    for t in trainees:
        session = PlacementSession(skill_map=skill_map, items=items, lang="en")
        while (item := session.current_item()) is not None:
            session.answer(item.id, t.choose(item, skill_map, sim) == item.answer_index)
        results.append({"true": t.level, "placed": session.result_level(),
                        "items": len(session.answers)})  # fmt: skip
    return results


# -------------------------------------------------------------------------- baseline


def fixed_quiz(skill_map: SkillMap, items: list, per_level: int = 3) -> list:
    """``per_level`` English items of each level, each from a different skill when possible."""
    chosen = []
    for lv in skill_map.level_numbers():
        pool = [
            it
            for it in items
            if it.lang == "en" and it.answer_index is not None and skill_map.item_level(it) == lv
        ]
        seen: set[str] = set()
        first_pass = []
        for it in pool:
            skills = set(skill_map.item_skills(it))
            if not skills & seen:
                first_pass.append(it)
                seen |= skills
        rest = [it for it in pool if it not in first_pass]
        chosen += (first_pass + rest)[:per_level]
    return chosen


def expected_share(skill_map: SkillMap, quiz: list, state: int, sim: SimParams) -> float:
    total = 0.0
    for it in quiz:
        guess = 1.0 / len(it.options)
        known = sim.p_in if skill_map.item_level(it) <= state else sim.p_out
        total += known * ((1 - sim.slip) + sim.slip * guess) + (1 - known) * guess
    return total / len(quiz)


def place_fixed(skill_map: SkillMap, items: list, trainees: list[Trainee], sim: SimParams) -> list:
    quiz = fixed_quiz(skill_map, items)
    top = max(skill_map.level_numbers())
    expect = {lv: expected_share(skill_map, quiz, lv, sim) for lv in skill_map.level_numbers()}
    # Level 1 covers state 0 (nothing mastered) and state 1: the mean of both.
    expect[1] = (expect[1] + expected_share(skill_map, quiz, 0, sim)) / 2
    results = []
    for t in trainees:
        right = sum(t.choose(it, skill_map, sim) == it.answer_index for it in quiz)
        share = right / len(quiz)
        placed = min(expect, key=lambda lv: (abs(expect[lv] - share), lv))
        results.append({"true": t.level, "placed": min(placed, top), "items": len(quiz)})
    return results


# --------------------------------------------------------------------------- scoring


def score(results: list[dict]) -> dict:
    n = len(results)
    exact = sum(r["placed"] == r["true"] for r in results)
    near = sum(abs(r["placed"] - r["true"]) <= 1 for r in results)
    items = [r["items"] for r in results]
    return {
        "trainees": n,
        "exact": round(exact / n, 3),
        "within_one": round(near / n, 3),
        "mean_items": round(sum(items) / n, 2),
        "max_items": max(items),
        "confusion": {
            f"{t}->{p}": c
            for (t, p), c in sorted(Counter((r["true"], r["placed"]) for r in results).items())
        },
    }


NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("course", nargs="?", default=str(SAMPLE_COURSE))
    parser.add_argument("--trainees", type=int, default=25)
    parser.add_argument("--stability", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--p-in", type=float, default=SimParams.p_in)
    parser.add_argument("--p-out", type=float, default=SimParams.p_out)
    parser.add_argument("--slip", type=float, default=SimParams.slip)
    parser.add_argument("--json", type=Path, default=OUT_DIR / "placement.json")
    args = parser.parse_args(argv)
    sim = SimParams(p_in=args.p_in, p_out=args.p_out, slip=args.slip)
    load_before = load_average()

    skill_map, items = load_course(Path(args.course))
    log(f"{skill_map.course}: {len(items)} quiz items, levels {skill_map.level_numbers()}")
    trainees = make_trainees(skill_map, args.trainees, seed=args.seed, sim=sim)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ours = place_with_service(skill_map, items, trainees, sim=sim, db=Path(tmp) / "p.db")
    ours_s = time.perf_counter() - started
    fixed = place_fixed(
        skill_map, items, make_trainees(skill_map, args.trainees, seed=args.seed, sim=sim), sim
    )
    big = make_trainees(skill_map, args.stability, seed=args.seed + 1, sim=sim)
    ours_big = place_pure(skill_map, items, big, sim)
    fixed_big = place_fixed(
        skill_map, items, make_trainees(skill_map, args.stability, seed=args.seed + 1, sim=sim), sim
    )
    s_ours, s_fixed = score(ours), score(fixed)
    s_ours_big, s_fixed_big = score(ours_big), score(fixed_big)

    n = args.trainees
    result = {
        "name": "placement",
        "title": f"adaptive placement, {n} simulated trainees ({skill_map.course})",
        "baseline_name": "fixed-12",
        "baseline_desc": "fixed 12-item quiz (3 per level), level from share correct",
        "rows": [
            row(f"placed at true level ({n})", s_ours["exact"], s_fixed["exact"], target=">= 0.80"),
            row(f"within one level ({n})", s_ours["within_one"], s_fixed["within_one"]),
            row(f"mean items ({n})", s_ours["mean_items"], s_fixed["mean_items"], target="<= 12"),
            row(f"max items ({n})", s_ours["max_items"], s_fixed["max_items"], target="<= 12"),
            row(
                f"placed at true level ({args.stability})",
                s_ours_big["exact"],
                s_fixed_big["exact"],
            ),
            row(
                f"within one level ({args.stability})",
                s_ours_big["within_one"],
                s_fixed_big["within_one"],
            ),
            row(
                f"mean items ({args.stability})",
                s_ours_big["mean_items"],
                s_fixed_big["mean_items"],
            ),
            row("time per trainee, with SQLite", round(ours_s / n * 1000, 1), None, unit="ms"),
        ],  # fmt: skip
        "notes": [
            f"simulation: p_in={sim.p_in}, p_out={sim.p_out}, slip={sim.slip}, guess=1/options; "
            f"true state uniform over 0..{max(skill_map.level_numbers())}, seed {args.seed}",
            f"confusion (true->placed), ours: {s_ours['confusion']}",
            f"confusion (true->placed), fixed-12: {s_fixed['confusion']}",
        ],
        "load_average": {"before": load_before, "after": load_average()},
        "machine": machine_info(),
        "raw": {
            "ours": s_ours,
            "fixed": s_fixed,
            "ours_stability": s_ours_big,
            "fixed_stability": s_fixed_big,
            "per_trainee": ours,
            "sim": sim.__dict__,
            "seed": args.seed,
        },
    }
    print(format_table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"wrote {args.json}")
    return 0 if s_ours["exact"] >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())

"""The cohort: a course's trainees and their mastery, and the two reports drawn from it
alone (the mastery heatmap and the levels).

Mastery comes from one replay of the course's evidence log through the learner model's own
state (``LearnerState.start`` with the latest finished placement's priors, then
``observe`` per row, with ``LearnerService.effective_params``): the figures equal what
each trainee's dashboard shows (a test holds the two equal). The replay is kept per course
in memory, keyed on what it depends on: the evidence (row count and highest id: the log is
append-only, deletions lower the count), the trainees, their latest finished placements,
the parameters in use and the skill map. Each request re-reads that key (a few small
queries), so new evidence, a new placement or an override is seen by the next request, in
every worker; nothing is shared between workers. When only evidence was added, just the new
rows are read and folded in (BKT runs forward, so the result is the same as a full replay);
any other change, or a deleted row, replays the whole log again. Mastery before the stuck
check's cut-off is kept the same way.

The cohort is a course's trainees whose account is not disabled.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tutor.accounts.users import AccountService
from tutor.learning.analytics.types import (
    Heatmap,
    LevelReport,
    SkillColumn,
    TraineeRow,
    WeekLevels,
)
from tutor.learning.bkt import SkillParams
from tutor.learning.mastery import LearnerState, params_key
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import SkillMap
from tutor.learning.store import Observation
from tutor.store import as_utc

CACHED_COURSES = 32


@dataclass(frozen=True)
class Trainee:
    id: int
    username: str
    display_name: str
    created_at: datetime


@dataclass
class Cohort:
    """One course's trainees and their replayed state, valid for ``key``."""

    key: tuple
    skill_map: SkillMap
    params: dict[str, SkillParams]
    trainees: tuple[Trainee, ...]
    placements: dict[int, tuple[str, int, dict[str, float]]]
    obs: dict[int, list[Observation]]
    learners: dict[int, LearnerState] = field(default_factory=dict)
    # (user id, m) -> mastery from the user's first m rows (see ``mastery_before``)
    before: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)
    rows: dict[int, TraineeRow] = field(default_factory=dict)  # ``row`` results, this state

    def replay(self, user_id: int, *, until: datetime | None = None) -> LearnerState:
        """The trainee's state from their evidence (before ``until`` when given), exactly as
        ``LearnerService`` folds it: priors from the latest finished placement, then one
        BKT update per row in log order; rows on skills no longer in the map are skipped."""
        placement = self.placements.get(user_id)
        learner = LearnerState.start(
            self.skill_map,
            self.params,
            priors=placement[2] if placement else {},
            placed_state=placement[1] if placement else None,
        )
        for o in self.obs.get(user_id, ()):
            if until is None or o.created_at < until:
                learner.observe(o.skill, o.correct, self.params)
        return learner

    def mastery_before(self, user_id: int, cutoff: datetime) -> dict[str, float]:
        """Mastery from the rows before ``cutoff`` (``replay(until=cutoff)``). When those rows
        are the first m of the trainee's log (the usual case: the log is in time order), the
        result is kept per m, so later requests and later answers do not replay it again."""
        obs = self.obs.get(user_id, ())
        m = sum(1 for o in obs if o.created_at < cutoff)
        if any(o.created_at >= cutoff for o in obs[:m]):  # not a prefix: replay, keep nothing
            return self.replay(user_id, until=cutoff).p
        found = self.before.get((user_id, m))
        if found is None:
            found = self.replay(user_id, until=cutoff).p
            if len(self.before) >= 8 * max(len(self.trainees), 1):
                self.before.clear()
            self.before[(user_id, m)] = found
        return found

    def extended(self, key: tuple, rows: Sequence[Observation]) -> Cohort:
        """A copy valid for ``key``: the same state with ``rows``, the log's rows after this
        state's last one, folded in. Trainees without new rows share their state with this
        copy (it is never changed in place)."""
        out = Cohort(
            key=key,
            skill_map=self.skill_map,
            params=self.params,
            trainees=self.trainees,
            placements=self.placements,
            obs=dict(self.obs),
            learners=dict(self.learners),
            before=dict(self.before),  # rows before a cut-off never change: still valid
        )
        members = {t.id for t in self.trainees}
        copied: set[int] = set()
        for o in rows:
            if o.user_id not in members:
                continue
            if o.user_id not in copied:
                copied.add(o.user_id)
                out.obs[o.user_id] = list(out.obs.get(o.user_id, ()))
                out.learners[o.user_id] = out.learners[o.user_id].copy()
            out.obs[o.user_id].append(o)
            out.learners[o.user_id].observe(o.skill, o.correct, self.params)
        return out

    def row(self, t: Trainee) -> TraineeRow:
        found = self.rows.get(t.id)
        if found is None or found.username != t.username:
            found = self.rows[t.id] = self._row(t)
        return found

    def _row(self, t: Trainee) -> TraineeRow:
        learner = self.learners[t.id]
        obs = self.obs.get(t.id, ())
        return TraineeRow(
            user_id=t.id,
            username=t.username,
            display_name=t.display_name,
            level=learner.level(),
            mastery_level=learner.mastery_level(),
            placed_level=learner.placed_level(),
            observations=sum(learner.n.values()),
            correct=sum(learner.right.values()),
            last_activity=obs[-1].created_at if obs else None,
            created_at=t.created_at,
        )


class CohortReader:
    """Reads (and keeps) each course's cohort through the stores that own the tables: the
    trainees from the accounts, the evidence and placements from the learner store."""

    def __init__(self, *, learner: LearnerService, accounts: AccountService) -> None:
        self.learner = learner
        self.accounts = accounts
        self._lock = threading.Lock()
        self._cohorts: dict[str, Cohort] = {}

    def trainees(self, course: str) -> tuple[Trainee, ...]:
        """The course's trainees whose account is not disabled, by username."""
        return tuple(
            Trainee(u.id, u.username, u.display_name, u.created_at)
            for u in self.accounts.list_users(role="trainee", course=course)
            if not u.disabled
        )

    def read(self, course: str) -> Cohort:
        store = self.learner.store
        skill_map = self.learner.skill_maps(course)
        params = self.learner.effective_params(course)
        trainees = self.trainees(course)
        ids = {t.id for t in trainees}
        count, last_id = store.evidence_extent(course)
        placements = store.finished_placements(course)
        base = (
            id(skill_map),
            params_key(params),
            trainees,
            tuple(sorted((u, pl[0]) for u, pl in placements.items())),
        )
        key = (base, count, last_id)
        with self._lock:
            cached = self._cohorts.get(course)
        if cached is not None and cached.key == key:
            return cached
        cohort = None
        if cached is not None and cached.key[0] == base and last_id > cached.key[2]:
            # The log is append-only: when every row added since is after the cached
            # state's last one and none was deleted, fold in just those rows.
            rows = store.observations(course, after_id=cached.key[2], upto_id=last_id)
            if len(rows) == count - cached.key[1]:
                cohort = cached.extended(key, rows)
        if cohort is None:
            obs: dict[int, list[Observation]] = defaultdict(list)
            for o in store.observations(course):
                if o.user_id in ids:
                    obs[o.user_id].append(o)
            cohort = Cohort(
                key=key,
                skill_map=skill_map,
                params=params,
                trainees=trainees,
                placements={u: pl for u, pl in placements.items() if u in ids},
                obs=dict(obs),
            )
            for t in trainees:
                cohort.learners[t.id] = cohort.replay(t.id)
        with self._lock:
            if len(self._cohorts) >= CACHED_COURSES and course not in self._cohorts:
                self._cohorts.pop(next(iter(self._cohorts)))
            self._cohorts[course] = cohort
        return cohort


def week_start(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week holding ``moment``."""
    day = as_utc(moment).date()
    return day - timedelta(days=day.weekday())


def heatmap(course: str, cohort: Cohort) -> Heatmap:
    """Mastery of every trainee (by username) on every skill (by level)."""
    smap = cohort.skill_map
    level_of = {s: lv for lv, skills in smap.levels.items() for s in skills}
    topo = {s: i for i, s in enumerate(smap.topological_order())}
    order = sorted(
        smap.skills,
        key=lambda s: (level_of.get(s, smap.skills[s].level) or 99, topo.get(s, 0)),
    )
    columns = tuple(
        SkillColumn(
            s,
            smap.skills[s].name,
            smap.skills[s].name_ko,
            level_of.get(s, smap.skills[s].level),
        )
        for s in order
    )
    learners = [cohort.learners[t.id] for t in cohort.trainees]
    return Heatmap(
        course=course,
        threshold=smap.mastery_threshold,
        trainees=tuple(cohort.row(t) for t in cohort.trainees),
        skills=columns,
        mastery=tuple(tuple(round(lr.p[s], 4) for s in order) for lr in learners),
        observations=tuple(tuple(lr.n[s] for s in order) for lr in learners),
    )


def level_report(
    course: str,
    cohort: Cohort,
    *,
    achieved: Sequence[tuple[int, int, datetime]],
    now: datetime,
    weeks: int,
) -> LevelReport:
    """The level distribution now, and levels reached per week over the last ``weeks``
    (``achieved``: the course's achievements as (user id, level, when))."""
    rows = tuple(cohort.row(t) for t in cohort.trainees)
    numbers = tuple(cohort.skill_map.level_numbers()) or (1,)
    distribution = dict.fromkeys(numbers, 0)
    for r in rows:
        distribution[r.level] = distribution.get(r.level, 0) + 1
    ids = {t.id for t in cohort.trainees}
    reached_at: dict[int, dict[int, datetime]] = defaultdict(dict)
    for user_id, level, at in achieved:
        if user_id in ids:
            reached_at[user_id][level] = at
    last = week_start(now)
    starts = [last - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    all_levels = sorted({*numbers, *(lv for d in reached_at.values() for lv in d)})
    series = []
    for start in starts:
        end = start + timedelta(weeks=1)
        new = dict.fromkeys(all_levels, 0)
        total = dict.fromkeys(all_levels, 0)
        for done in reached_at.values():
            for lv, at in done.items():
                day = at.date()
                if start <= day < end:
                    new[lv] += 1
                if day < end:
                    total[lv] += 1
        series.append(WeekLevels(start, new, total))
    return LevelReport(
        course=course,
        levels=numbers,
        distribution=distribution,
        weeks=tuple(series),
        trainees=rows,
        reached_at=dict(reached_at),
    )

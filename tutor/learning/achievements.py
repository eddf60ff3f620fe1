"""Achievements: a level reached by mastery (not by placement) is recorded once, with a
summary of the evidence that got the learner there."""

from __future__ import annotations

from datetime import datetime

from tutor.learning.mastery import LearnerState
from tutor.learning.store import LearnerStore
from tutor.learning.types import Achievement


class Achievements:
    def __init__(self, store: LearnerStore) -> None:
        self.store = store

    def recorded(self, user_id: int, course: str) -> list[Achievement]:
        return [
            Achievement(a.level, a.achieved_at, a.summary)
            for a in self.store.achievements(user_id, course)
        ]

    def check(
        self, user_id: int, course: str, learner: LearnerState, *, now: datetime
    ) -> list[Achievement]:
        """Record every level the learner's mastery reaches that is not recorded yet; the
        new ones."""
        reached = learner.mastery_level()
        if reached <= 0:
            return []
        have = {a.level for a in self.store.achievements(user_id, course)}
        smap = learner.skill_map
        new: list[Achievement] = []
        for lv in smap.level_numbers():
            if lv > reached:
                break
            if lv in have:
                continue
            required = smap.required_for(lv)
            summary = {
                "answers": sum(learner.n.values()),
                "correct": sum(learner.right.values()),
                "by_source": self.store.source_counts(user_id, course),
                "skills": {s: round(learner.p[s], 4) for s in smap.levels[lv]},
                "required_skills": len(required),
                "mean_mastery": round(sum(learner.p[s] for s in required) / len(required), 4)
                if required
                else 1.0,
                "through_evidence_id": learner.through_id,
            }
            if self.store.add_achievement(user_id, course, level=lv, at=now, summary=summary):
                new.append(Achievement(lv, now, summary))
        return new

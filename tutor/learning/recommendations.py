"""Recommendations: what to practise and which lesson to study next.

- ``next_items``: practice items for skills that are ready (prerequisites known) and not
  mastered, the skill closest to the threshold first, one item per skill in turn; items in
  the requested language and not answered yet (or answered longest ago) first.
- ``next_lesson``: the first lesson (course order) that teaches a skill still to learn and
  whose prerequisites are known (else the first that teaches one at all), with a one-line
  reason in English and Korean (Korean particles follow the word's last syllable).

Spaced review of answered items is ``tutor.learning.spaced_review``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tutor.learning.mastery import LearnerState, MasteryModel
from tutor.learning.skill_map import SkillMap
from tutor.learning.store import LearnerStore
from tutor.learning.types import LessonRecommendation, PracticeItem


class Recommender:
    """``items(course)`` gives the course's quiz items."""

    def __init__(
        self,
        store: LearnerStore,
        *,
        model: MasteryModel,
        items: Callable[[str], Sequence[Any]],
    ) -> None:
        self.store = store
        self.model = model
        self.items = items

    def next_items(
        self, user_id: int, course: str, *, n: int = 5, lang: str | None = None
    ) -> list[PracticeItem]:
        """Practice items for skills that are ready (prerequisites known) and not mastered,
        the skill closest to the threshold first, one item per skill in turn."""
        learner, _ = self.model.load(user_id, course)
        return self.practice(learner, user_id, course, n=n, lang=lang)

    def practice(
        self, learner: LearnerState, user_id: int, course: str, *, n: int, lang: str | None
    ) -> list[PracticeItem]:
        """``next_items`` for a state already read."""
        smap = learner.skill_map
        topo = {s: i for i, s in enumerate(smap.topological_order())}
        ready = [
            s
            for s in topo
            if not learner.mastered(s) and all(learner.known(q) for q in smap.prerequisites[s])
        ]
        ready.sort(key=lambda s: (learner.threshold - learner.p[s], topo[s]))
        if not ready or n <= 0:
            return []
        answered = self.store.answered_items(user_id, course)
        order = {}
        by_skill: dict[str, list[Any]] = {s: [] for s in ready}
        for i, item in enumerate(self.items(course)):
            if getattr(item, "answer_index", None) is None:
                continue
            order[item.id] = i
            for s in smap.item_skills(item):
                if s in by_skill:
                    by_skill[s].append(item)
        for items in by_skill.values():
            items.sort(
                key=lambda it: (
                    lang is not None and getattr(it, "lang", "en") != lang,
                    it.id in answered,
                    answered.get(it.id, 0),
                    order[it.id],
                )
            )
        queues = {s: list(items) for s, items in by_skill.items() if items}
        chosen: list[PracticeItem] = []
        taken: set[str] = set()
        while len(chosen) < n and queues:
            for s in [s for s in ready if s in queues]:
                queue = queues[s]
                while queue and queue[0].id in taken:
                    queue.pop(0)
                if not queue:
                    del queues[s]
                    continue
                item = queue.pop(0)
                taken.add(item.id)
                chosen.append(PracticeItem(item=item, skill=s, mastery=learner.p[s]))
                if len(chosen) >= n:
                    break
        return chosen

    def next_lesson(
        self, user_id: int, course: str, *, lang: str = "en"
    ) -> LessonRecommendation | None:
        """The first lesson (course order) that teaches a skill still to learn and whose
        prerequisites are known, with a one-line reason; None when all is mastered."""
        learner, _ = self.model.load(user_id, course)
        return lesson_for(learner, lang=lang)


def lesson_for(learner: LearnerState, *, lang: str) -> LessonRecommendation | None:
    """``next_lesson`` for a state already read."""
    smap = learner.skill_map
    fallback = None
    for lesson in smap.lessons:
        targets = [s for s in lesson.skills if learner.open(s)]
        if not targets:
            continue
        pres = list(lesson.prerequisites) or sorted(
            {q for s in targets for q in smap.prerequisites[s]} - set(lesson.skills)
        )
        needed = set(pres) | {
            q for s in targets for q in smap.prerequisites[s] if q not in lesson.skills
        }
        ready = all(learner.known(q) for q in needed)
        if not ready:
            fallback = fallback or (lesson, targets, pres)
            continue
        return _recommend(learner, lesson, targets, pres, ready=True, lang=lang)
    if fallback is None:
        return None
    lesson, targets, pres = fallback
    return _recommend(learner, lesson, targets, pres, ready=False, lang=lang)


def _recommend(
    learner: LearnerState, lesson, targets: list[str], pres: list[str], *, ready: bool, lang: str
) -> LessonRecommendation:
    en, ko = _reasons(
        learner.skill_map,
        lesson_title=lesson.title,
        lesson_title_ko=lesson.title_ko,
        prerequisites=pres,
        all_mastered=all(learner.mastered(q) for q in pres),
        targets=targets,
        ready=ready,
    )
    return LessonRecommendation(
        lesson_id=lesson.id,
        title=lesson.title,
        title_ko=lesson.title_ko,
        skills=tuple(targets),
        reason=ko if lang == "ko" else en,
        reason_en=en,
        reason_ko=ko,
        ready=ready,
    )


# ------------------------------------------------------------------------------ wording


def _final_consonant(word: str) -> bool | None:
    """Whether the word, read in Korean, ends in a consonant (None: cannot tell)."""
    for ch in reversed(word.strip()):
        if "가" <= ch <= "힣":
            return (ord(ch) - 0xAC00) % 28 != 0
        if ch.isdigit():
            return ch in "013678"  # 영, 일, 삼, 육, 칠, 팔
        if ch.isalpha():
            return None
    return None


def _josa(word: str, after_consonant: str, after_vowel: str) -> str:
    final = _final_consonant(word)
    if final is None:
        return f"{after_consonant}({after_vowel})"
    return after_consonant if final else after_vowel


def _join_en(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    # "Variables and assignment, and Data types and conversion": a serial comma when a name
    # holds an "and" itself.
    last = ", and " if any(" and " in name for name in names) else " and "
    return ", ".join(names[:-1]) + last + names[-1]


def _join_ko(names: list[str]) -> str:
    return ", ".join(names)


def _reasons(
    skill_map: SkillMap,
    *,
    lesson_title: str,
    lesson_title_ko: str,
    prerequisites: list[str],
    all_mastered: bool,
    targets: list[str],
    ready: bool,
) -> tuple[str, str]:
    title_ko = f"'{lesson_title_ko}'"
    if ready and prerequisites:
        en_names = [skill_map.name(s) for s in prerequisites]
        ko_names = [skill_map.name(s, "ko") for s in prerequisites]
        verb = "have mastered" if all_mastered else "already know"
        pronoun = "it" if len(en_names) == 1 else "them"
        en = f"You {verb} {_join_en(en_names)}; {lesson_title} builds on {pronoun}."
        ko_verb = "익혔으니" if all_mastered else "이미 알고 있으니"
        ko = (
            f"{_join_ko(ko_names)}{_josa(ko_names[-1], '을', '를')} {ko_verb}, "
            f"이를 바탕으로 하는 {title_ko}{_josa(lesson_title_ko, '을', '를')} 공부해 보세요."
        )
        return en, ko
    if ready:
        en = f"{lesson_title} needs no earlier lesson: a good place to start."
        ko = f"{title_ko}{_josa(lesson_title_ko, '은', '는')} 선수 학습 없이 시작할 수 있습니다."
        return en, ko
    en_names = [skill_map.name(s) for s in targets]
    ko_names = [skill_map.name(s, "ko") for s in targets]
    en = f"{lesson_title} teaches {_join_en(en_names)}, which you have not mastered yet."
    ko = (
        f"{title_ko}에서 아직 익히지 못한 {_join_ko(ko_names)}"
        f"{_josa(ko_names[-1], '을', '를')} 다룹니다."
    )
    return en, ko

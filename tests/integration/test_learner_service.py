"""The learner model end to end on SQLite: evidence, mastery, levels, what next, placement."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from knowledge.registry import make_engine
from tutor.chat.answering import LearnerContext
from tutor.errors import InvalidInputError, NotFoundError
from tutor.learning.bkt import SkillParams
from tutor.learning.placement import PlacementSession
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import QuizItem, load_course
from tutor.learning.store import evidence
from tutor.learning.types import UnknownSkillError
from tutor.store import create_schema, users

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
COURSE = "python-basics"
SKILL_MAP, ITEMS = load_course(REPO / "courses" / COURSE)
LEVEL1 = SKILL_MAP.levels[1]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'kdt.db').as_posix()}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_service(engine, clock):
    def build(items=ITEMS, **kwargs) -> LearnerService:
        return LearnerService(
            engine, skill_maps=lambda _c: SKILL_MAP, items=lambda _c: items, clock=clock, **kwargs
        )

    return build


@pytest.fixture
def service(make_service) -> LearnerService:
    return make_service()


@pytest.fixture
def new_user(engine):
    counter = iter(range(1, 1000))

    def create() -> int:
        with engine.begin() as conn:
            return conn.execute(
                insert(users).values(
                    username=f"trainee{next(counter)}",
                    display_name="T",
                    role="trainee",
                    course=COURSE,
                    password_hash="-",
                    disabled=False,
                    created_at=datetime(2025, 1, 1, tzinfo=UTC),
                )
            ).inserted_primary_key[0]

    return create


def evidence_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(evidence)).scalar_one()


def items_for(skill: str, lang: str = "en") -> list[QuizItem]:
    return [i for i in ITEMS if skill in i.skills and i.lang == lang]


def master(service: LearnerService, user: int, skills, *, clock: Clock) -> None:
    """Answer items of each skill right until it is mastered."""
    for skill in skills:
        for n in range(12):
            item = items_for(skill)[n % len(items_for(skill))]
            service.record_answer(
                user, COURSE, item_id=item.id, correct=True, submission_id=f"{skill}-{n}"
            )
            clock.advance(minutes=1)
            if service.mastery(user, COURSE)[skill] >= SKILL_MAP.mastery_threshold:
                break
        else:
            raise AssertionError(f"{skill} not mastered")


# --- evidence and mastery ---------------------------------------------------------------------
def test_mastery_rises_with_right_answers_and_falls_with_wrong_ones(service, new_user) -> None:
    user = new_user()
    start = service.mastery(user, COURSE)["loops"]

    right = service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=1)
    assert right.correct and not right.duplicate
    assert right.answer_index == 1 and "stops before" in right.explanation
    (change,) = right.skills
    assert change.skill == "loops" and change.before == pytest.approx(start)
    assert change.after > change.before

    wrong = service.record_answer(user, COURSE, item_id="pb-q04-2", chosen_index=0)
    assert not wrong.correct
    assert wrong.skills[0].before == pytest.approx(change.after)
    assert wrong.skills[0].after < wrong.skills[0].before
    assert service.mastery(user, COURSE)["loops"] == pytest.approx(wrong.skills[0].after)


def test_an_item_with_two_skills_updates_both(service, new_user) -> None:
    user = new_user()
    result = service.record_answer(user, COURSE, item_id="pb-q06-ko1", correct=True)

    assert {c.skill for c in result.skills} == {"sets", "dictionaries"}
    assert all(c.after > c.before for c in result.skills)
    assert len(result.evidence_ids) == 2


def test_a_duplicate_submission_is_recorded_once(service, new_user, engine, clock) -> None:
    user = new_user()
    first = service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=1)
    again = service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=1)

    assert again.duplicate and again.correct
    assert again.evidence_ids == first.evidence_ids
    assert again.skills[0].after == pytest.approx(first.skills[0].after)
    assert evidence_rows(engine) == 1

    # With a client submission id: the same id is the same submission, even a day later ...
    service.record_answer(user, COURSE, item_id="pb-q04-2", chosen_index=2, submission_id="s1")
    clock.advance(days=1)
    retry = service.record_answer(
        user, COURSE, item_id="pb-q04-2", chosen_index=2, submission_id="s1"
    )
    assert retry.duplicate and evidence_rows(engine) == 2
    # ... and the same id with another answer is refused.
    with pytest.raises(InvalidInputError, match="different answer"):
        service.record_answer(user, COURSE, item_id="pb-q04-2", chosen_index=0, submission_id="s1")
    # Without an id, the same answer on another day is new evidence.
    service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=1)
    assert evidence_rows(engine) == 3


def test_unknown_items_and_skills_store_nothing(make_service, new_user, engine) -> None:
    stray = QuizItem(id="x-1", question="?", options=("a", "b"), answer_index=0,
                     skills=("quantum",))  # fmt: skip
    service = make_service(items=[*ITEMS, stray])
    user = new_user()

    with pytest.raises(NotFoundError, match="no quiz item 'nope'"):
        service.record_answer(user, COURSE, item_id="nope", chosen_index=0)
    with pytest.raises(UnknownSkillError, match="quantum"):
        service.record_answer(user, COURSE, item_id="x-1", chosen_index=0)
    with pytest.raises(NotFoundError, match="no exercise"):
        service.record_exercise_result(user, COURSE, exercise_id="ex-nope", passed=True)
    with pytest.raises(InvalidInputError, match="out of range"):
        service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=7)
    with pytest.raises(InvalidInputError, match="either"):
        service.record_answer(user, COURSE, item_id="pb-q04-1")
    with pytest.raises(NotFoundError, match="no user"):
        service.record_answer(9999, COURSE, item_id="pb-q04-1", chosen_index=1)

    assert evidence_rows(engine) == 0
    assert service.mastery(user, COURSE)["loops"] == pytest.approx(0.2)


def test_exercise_results_are_evidence_for_the_exercise_skills(service, new_user) -> None:
    user = new_user()
    result = service.record_exercise_result(
        user, COURSE, exercise_id="ex-sum-evens", passed=True, details={"passed": 5, "failed": 0}
    )

    assert result.source == "exercise"
    assert {c.skill for c in result.skills} == {"loops", "conditionals"}
    assert all(c.after > c.before for c in result.skills)
    (row, _) = service.evidence(user, COURSE)
    assert row.answer == {"passed": True, "details": {"passed": 5, "failed": 0}}
    failed = service.record_exercise_result(user, COURSE, exercise_id="ex-sum-evens", passed=False)
    assert all(c.after < c.before for c in failed.skills)


def test_recompute_from_the_log_equals_the_online_state(service, new_user, clock) -> None:
    user = new_user()
    rng = random.Random(7)
    for n in range(60):
        item = rng.choice(ITEMS)
        if n % 10 == 9:
            service.record_exercise_result(
                user, COURSE, exercise_id="ex-word-count", passed=rng.random() < 0.5,
                submission_id=str(n),
            )  # fmt: skip
        else:
            service.record_answer(user, COURSE, item_id=item.id,
                                  correct=rng.random() < 0.6, submission_id=str(n))  # fmt: skip
        clock.advance(minutes=3)
    online = service.mastery(user, COURSE)

    rebuilt = service.recompute(user, COURSE)

    assert rebuilt == pytest.approx(online, abs=1e-12)
    assert rebuilt != pytest.approx(dict.fromkeys(rebuilt, 0.2))


def test_an_instructor_override_changes_mastery_and_is_validated(service, new_user) -> None:
    user = new_user()
    service.record_answer(user, COURSE, item_id="pb-q04-1", correct=True)
    before = service.mastery(user, COURSE)["loops"]

    service.set_param_override(
        COURSE, "loops", params=SkillParams(prior=0.5, learn=0.1, guess=0.1, slip=0.05), by="kim"
    )
    after = service.mastery(user, COURSE)["loops"]

    assert after != pytest.approx(before) and after > 0.9
    assert service.effective_params(COURSE)["loops"].source == "override"
    with pytest.raises(InvalidInputError, match="guess and slip"):
        service.set_param_override(COURSE, "loops", params={"guess": 0.7}, by="kim")
    with pytest.raises(UnknownSkillError):
        service.set_param_override(COURSE, "quantum", params={}, by="kim")
    assert service.clear_param_override(COURSE, "loops")
    assert service.mastery(user, COURSE)["loops"] == pytest.approx(before)


def test_params_for_plugs_in_fitted_parameters(make_service, new_user) -> None:
    fitted = SkillParams(prior=0.6, learn=0.2, guess=0.2, slip=0.1, source="fitted")
    service = make_service(params_for=lambda skill: fitted if skill == "loops" else SkillParams())
    user = new_user()

    assert service.mastery(user, COURSE)["loops"] == pytest.approx(0.6)
    assert service.mastery(user, COURSE)["lists"] == pytest.approx(0.2)


# --- levels and achievements ------------------------------------------------------------------
def test_reaching_a_level_records_one_achievement(service, new_user, clock) -> None:
    user = new_user()
    assert service.level(user, COURSE).level == 1
    assert service.level(user, COURSE).mastery_level == 0

    master(service, user, LEVEL1[:-1], clock=clock)
    assert service.achievements(user, COURSE) == []
    last = items_for(LEVEL1[-1])
    results = [
        service.record_answer(user, COURSE, item_id=last[n % len(last)].id, correct=True,
                              submission_id=f"last-{n}")
        for n in range(8)
    ]  # fmt: skip

    reached = [r for r in results if r.achievement is not None]
    assert len(reached) == 1 and reached[0].achievement.level == 1
    (achievement,) = service.achievements(user, COURSE)
    assert achievement.level == 1 and achievement.achieved_at == reached[0].achievement.achieved_at
    summary = achievement.summary
    assert set(summary["skills"]) == set(LEVEL1)
    assert summary["mean_mastery"] >= 0.95 and summary["answers"] >= 5
    assert summary["by_source"]["quiz"]["rows"] == summary["answers"]

    progress = service.level(user, COURSE)
    assert progress.level == 1 and progress.mastery_level == 1
    assert progress.next_level == 2 and progress.share_mastered == 0.0
    assert progress.blocking == ()


def test_levels_are_cumulative(service, new_user, clock) -> None:
    user = new_user()
    master(service, user, SKILL_MAP.levels[2], clock=clock)  # Lv2 skills without Lv1's

    progress = service.level(user, COURSE)

    assert progress.mastery_level == 0 and progress.level == 1
    assert set(progress.blocking) == set(LEVEL1)
    assert service.achievements(user, COURSE) == []


# --- what next --------------------------------------------------------------------------------
def test_next_items_respect_prerequisites_and_mix_skills(service, new_user, clock) -> None:
    user = new_user()

    fresh = service.next_items(user, COURSE, n=4, lang="en")
    assert {p.skill for p in fresh} == {"variables", "data_types"}  # no prerequisites
    assert fresh[0].skill != fresh[1].skill  # round robin, not all from one skill

    master(service, user, ["variables", "data_types", "conditionals"], clock=clock)
    service.record_answer(user, COURSE, item_id="pb-q04-1", correct=True)  # loops: closer
    later = service.next_items(user, COURSE, n=5, lang="en")

    skills = [p.skill for p in later]
    assert set(skills) == {"strings", "loops"}  # lists needs loops; functions needs loops
    assert skills[0] == "loops"  # the closest to the threshold first
    assert all(p.item.lang == "en" for p in later)
    assert len({p.item.id for p in later}) == len(later)


def test_next_lesson_gives_a_reason_in_english_and_korean(service, new_user, clock) -> None:
    user = new_user()

    first = service.next_lesson(user, COURSE)
    assert first.lesson_id == "01-variables" and first.ready
    assert (
        first.reason == "Variables and Data Types needs no earlier lesson: a good place to start."
    )

    master(service, user, LEVEL1, clock=clock)
    master(service, user, ["lists"], clock=clock)
    rec = service.next_lesson(user, COURSE, lang="ko")

    assert rec.lesson_id == "06-dictionaries"
    assert rec.reason_en == "You have mastered Lists and Loops; Dictionaries, Tuples, and Sets " \
        "builds on them."  # fmt: skip
    assert (
        rec.reason
        == rec.reason_ko
        == ("리스트, 반복문을 익혔으니, 이를 바탕으로 하는 '딕셔너리, 튜플, 집합'을 공부해 보세요.")
    )


def test_context_for_chat_names_the_skills_still_to_learn(service, new_user, clock) -> None:
    user = new_user()
    assert service.context_for(user, COURSE) == LearnerContext(
        level=1, unmastered=tuple(s for s in SKILL_MAP.topological_order()
                                  if s in {*LEVEL1, *SKILL_MAP.levels[2]})
    )  # fmt: skip

    master(service, user, ["variables"], clock=clock)
    context = service.context_for(user, COURSE)
    assert "variables" not in context.unmastered and "loops" in context.unmastered
    # The chat's one-load variant agrees with the two separate calls.
    assert service.context_and_level(user, COURSE) == (context, service.level(user, COURSE))


# --- reviews ----------------------------------------------------------------------------------
def test_answered_items_get_fsrs_reviews(service, new_user, clock) -> None:
    user = new_user()
    start = clock.now
    service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=0)  # wrong
    service.record_answer(user, COURSE, item_id="pb-q05-1", chosen_index=1)  # right

    assert service.due_reviews(user, COURSE, now=start) == []
    soon = service.due_reviews(user, COURSE, now=start + timedelta(minutes=2))
    assert [r.item.id for r in soon] == ["pb-q04-1"]  # "Again": due after a minute
    later = service.due_reviews(user, COURSE, now=start + timedelta(minutes=11))
    assert [r.item.id for r in later] == ["pb-q04-1", "pb-q05-1"]  # most overdue first

    clock.advance(minutes=11)
    service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=1, source="review")
    service.record_answer(user, COURSE, item_id="pb-q04-1", chosen_index=1, source="review",
                          submission_id="r2")  # fmt: skip
    due = service.due_reviews(user, COURSE, now=clock.now + timedelta(hours=1))
    assert [r.item.id for r in due] == ["pb-q05-1"]
    assert service.store.card(user, COURSE, "pb-q04-1").reviews == 3


def test_the_dashboard_reads_everything_at_once(service, new_user, clock) -> None:
    user = new_user()
    service.record_answer(user, COURSE, item_id="pb-q01-1", chosen_index=2)

    board = service.dashboard(user, COURSE, now=clock.now + timedelta(days=1), lang="ko")

    assert board.level.level == 1
    assert [s.skill for s in board.skills] == SKILL_MAP.topological_order()
    assert next(s for s in board.skills if s.skill == "data_types").observations == 1
    assert [r.item.id for r in board.due_reviews] == ["pb-q01-1"]
    assert board.next_lesson.reason.startswith("'변수와 자료형'은")
    assert board.practice and board.placement is None


# --- placement --------------------------------------------------------------------------------
def take_placement(service, user, *, knows_up_to: int, lang="en"):
    view = service.start_placement(user, COURSE, lang=lang)
    while view.status == "active":
        item = view.item
        right = SKILL_MAP.item_level(item) <= knows_up_to
        view = service.answer_placement(user, COURSE, session_id=view.session_id,
                                        item_id=item.id, correct=right)  # fmt: skip
    return view


@pytest.mark.parametrize("knows_up_to", [0, 1, 2, 3, 4])
def test_placement_converges_for_consistent_trainees(service, new_user, knows_up_to) -> None:
    user = new_user()

    view = take_placement(service, user, knows_up_to=knows_up_to)

    assert view.status == "finished" and view.answered <= 12
    assert view.level == max(knows_up_to, 1)
    assert max(view.probabilities.values()) >= 0.85
    progress = service.level(user, COURSE)
    assert progress.level == max(knows_up_to, 1) and progress.placed_level == view.level
    mastery = service.mastery(user, COURSE)
    for skill in SKILL_MAP.required_for(knows_up_to):
        assert mastery[skill] >= 0.9  # credited (answers on them only raised it)
    for skill in SKILL_MAP.skills:
        if skill not in SKILL_MAP.required_for(knows_up_to):
            assert mastery[skill] < 0.5


def test_a_strong_placement_steers_recommendations(service, new_user) -> None:
    user = new_user()
    take_placement(service, user, knows_up_to=3)

    rec = service.next_lesson(user, COURSE)
    assert rec.lesson_id == "13-classes"
    assert rec.reason_en.startswith("You already know Functions and Dictionaries")
    context = service.context_for(user, COURSE)
    assert context.level == 3
    assert set(context.unmastered) == set(SKILL_MAP.levels[4])
    assert service.achievements(user, COURSE) == []  # placement credits, mastery achieves


def test_placement_resumes_and_answers_are_idempotent(make_service, service, new_user) -> None:
    user = new_user()
    view = service.start_placement(user, COURSE)
    assert view.item is not None and SKILL_MAP.item_level(view.item) == 2  # starts at Lv2
    first = view.item

    after = service.answer_placement(user, COURSE, session_id=view.session_id,
                                     item_id=first.id, correct=True)  # fmt: skip
    again = service.answer_placement(user, COURSE, session_id=view.session_id,
                                     item_id=first.id, correct=True)  # fmt: skip
    assert after.answered == again.answered == 1
    assert again.item.id == after.item.id != first.id

    resumed = make_service().start_placement(user, COURSE)  # another worker, same database
    assert resumed.session_id == view.session_id and resumed.item.id == after.item.id
    assert make_service().placement_status(user, COURSE).answered == 1

    with pytest.raises(InvalidInputError, match="not the item to answer now"):
        service.answer_placement(user, COURSE, session_id=view.session_id,
                                 item_id="pb-q01-1", correct=True)  # fmt: skip
    with pytest.raises(NotFoundError):
        service.answer_placement(new_user(), COURSE, session_id=view.session_id,
                                 item_id=after.item.id, correct=True)  # fmt: skip

    restarted = service.start_placement(user, COURSE, restart=True)
    assert restarted.session_id != view.session_id and restarted.answered == 0


def test_placement_session_is_pure_and_serialisable() -> None:
    session = PlacementSession(skill_map=SKILL_MAP, items=ITEMS, lang="ko")
    item = session.current_item()
    assert item.lang == "ko" and SKILL_MAP.item_level(item) == 2
    session.answer(item.id, True)

    restored = PlacementSession.from_state(session.to_state(), skill_map=SKILL_MAP, items=ITEMS)

    assert restored.posterior() == session.posterior()
    assert restored.current_item().id == session.current_item().id

"""Cohort analytics as tables for CSV export (``*_table``, ``csv_text``), so the CLI can
write the same files as the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tutor.learning.analytics.types import (
    ExerciseStats,
    Heatmap,
    LevelReport,
    SectionCount,
    StuckTrainee,
    Table,
    TopicReport,
    TraineeDetail,
)
from tutor.store import as_utc


def _iso(moment: datetime | None) -> str:
    return as_utc(moment).isoformat() if moment is not None else ""


def heatmap_table(heatmap: Heatmap, *, lang: str = "en") -> Table:
    header = (
        "user_id",
        "username",
        "display_name",
        "level",
        *(f"{s.id} ({s.display(lang)})" for s in heatmap.skills),
    )
    rows = tuple(
        (t.user_id, t.username, t.display_name, t.level, *values)
        for t, values in zip(heatmap.trainees, heatmap.mastery, strict=True)
    )
    return Table(header, rows)


def levels_table(report: LevelReport) -> Table:
    header = (
        "user_id",
        "username",
        "display_name",
        "level",
        "mastery_level",
        "placed_level",
        "observations",
        "correct",
        "last_activity",
        *(f"level_{lv}_reached_at" for lv in report.levels),
    )
    rows = tuple(
        (
            t.user_id,
            t.username,
            t.display_name,
            t.level,
            t.mastery_level,
            "" if t.placed_level is None else t.placed_level,
            t.observations,
            t.correct,
            _iso(t.last_activity),
            *(_iso(report.reached_at.get(t.user_id, {}).get(lv)) for lv in report.levels),
        )
        for t in report.trainees
    )
    return Table(header, rows)


def topics_table(report: TopicReport) -> Table:
    header = ("rank", "doc_id", "title", "lesson_answers", "lesson_trainees", "section",
              "section_answers")  # fmt: skip
    rows = []
    for rank, lesson in enumerate(report.lessons, start=1):
        for section in lesson.sections or (SectionCount("", 0),):
            rows.append(
                (rank, lesson.doc_id, lesson.title, lesson.answers, lesson.trainees,
                 section.heading, section.answers)
            )  # fmt: skip
    return Table(header, tuple(rows))


def reviews_table(stats: Sequence[ExerciseStats], *, lang: str = "en") -> Table:
    header = ("exercise_id", "title", "attempts", "trainees", "tested", "passed", "pass_rate",
              "trainees_passed", "top_findings", "top_failing_tests")  # fmt: skip
    rows = tuple(
        (
            s.exercise_id or "",
            s.title_ko if lang == "ko" else s.title,
            s.attempts,
            s.trainees,
            s.tested,
            s.passed,
            "" if s.pass_rate is None else s.pass_rate,
            s.trainees_passed,
            "; ".join(f"{f.code} {f.title} ({f.count})" for f in s.findings),
            "; ".join(f"{t.name} ({t.count})" for t in s.failing_tests),
        )
        for s in stats
    )
    return Table(header, rows)


def stuck_table(stuck: Sequence[StuckTrainee], *, lang: str = "en") -> Table:
    header = ("user_id", "username", "display_name", "level", "last_activity", "kind",
              "subject", "count", "reason")  # fmt: skip
    rows = tuple(
        (
            s.trainee.user_id,
            s.trainee.username,
            s.trainee.display_name,
            s.trainee.level,
            _iso(s.trainee.last_activity),
            r.kind,
            r.subject or "",
            r.count,
            r.text(lang),
        )
        for s in stuck
        for r in s.reasons
    )
    return Table(header, rows)


def skills_table(detail: TraineeDetail, *, lang: str = "en") -> Table:
    header = ("skill", "name", "level", "mastery", "observations", "correct", "mastered",
              "credited")  # fmt: skip
    rows = tuple(
        (
            s.skill,
            s.name_ko if lang == "ko" else s.name,
            "" if s.level is None else s.level,
            round(s.mastery, 4),
            s.observations,
            s.correct,
            int(s.mastered),
            int(s.credited),
        )
        for s in detail.skills
    )
    return Table(header, rows)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A cell as written: text that a spreadsheet would run as a formula gets a leading
    apostrophe (numbers are left alone)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(table: Table) -> str:
    """The table as CSV text starting with a UTF-8 byte order mark (so Excel reads Korean),
    CRLF line ends, formulas defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in table.header])
    writer.writerows([_cell(v) for v in row] for row in table.rows)
    return "\ufeff" + buffer.getvalue()

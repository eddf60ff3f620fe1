"""Most-asked topics: the lessons and sections cited by the tutor's answers in trainees'
conversations (one count per answer and section), plus the course's content gaps."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from tutor.chat.conversations import CourseMessage
from tutor.learning.analytics.types import GapExample, LessonTopic, SectionCount, TopicReport

# (user id, role, created_at, ((doc id, title), ...), ((doc id, section), ...))
ParsedMessage = tuple[int, str, datetime, tuple, tuple]


def parsed_message(message: CourseMessage) -> ParsedMessage:
    """A message with the lessons and the sections (second level of the heading path) it
    cites (an answer's citations only)."""
    docs: dict[str, str] = {}
    heads: set[tuple[str, str]] = set()
    for cite in message.citations if message.role == "assistant" else ():
        doc = str(cite.get("doc_id", ""))
        path = cite.get("heading_path") or []
        docs.setdefault(doc, str(cite.get("title") or doc))
        heads.add((doc, str(path[1]) if len(path) > 1 else ""))
    return (
        message.user_id,
        message.role,
        message.created_at,
        tuple(docs.items()),
        tuple(heads),
    )


def topic_report(
    course: str,
    *,
    since: datetime,
    rows: Sequence[ParsedMessage],
    gaps: tuple[int, Sequence[tuple[str, str | None, datetime]]],
    limit: int,
    sections: int,
) -> TopicReport:
    """The report from the trainees' parsed messages since ``since`` and the content gaps
    (count, latest examples) recorded meanwhile."""
    questions = answers = cited = 0
    per_lesson: Counter[str] = Counter()
    titles: dict[str, str] = {}
    readers: dict[str, set[int]] = defaultdict(set)
    per_section: dict[str, Counter[str]] = defaultdict(Counter)
    for user_id, role, _at, docs, heads in rows:
        if role == "user":
            questions += 1
            continue
        if role != "assistant":
            continue
        answers += 1
        if docs:
            cited += 1
        for doc, title in docs:
            titles.setdefault(doc, title)
        for doc, _title in docs:
            per_lesson[doc] += 1
            readers[doc].add(user_id)
        for doc, heading in heads:
            per_section[doc][heading] += 1
    lessons = tuple(
        LessonTopic(
            doc_id=doc,
            title=titles[doc],
            answers=count,
            trainees=len(readers[doc]),
            sections=tuple(
                SectionCount(h, k)
                for h, k in sorted(per_section[doc].items(), key=lambda x: (-x[1], x[0]))[:sections]
            ),
        )
        for doc, count in sorted(per_lesson.items(), key=lambda x: (-x[1], titles[x[0]]))[:limit]
    )
    gap_count, gap_rows = gaps
    return TopicReport(
        course=course,
        since=since,
        questions=questions,
        answers=answers,
        cited_answers=cited,
        lessons=lessons,
        gaps=gap_count,
        gap_examples=tuple(GapExample(q, lang, at) for q, lang, at in gap_rows),
    )

"""What following a resent history costs the OpenAI-compatible API: ``python -m bench.api_history``

A chat UI resends the whole conversation on every call, as plain text. The API gives each
earlier turn its topic with ``ChatService.follow`` (ours: the offline topic rule run over
the turns without retrieval, then one search for the last topic's document) instead of
deciding each turn again as the web chat did when it was asked (the baseline: the policy's
full decision per turn, with its retrievals). Reports both times and how many of the turns
get the same topic (kind and query) both ways.

Knowledge base: ``courses/python-basics`` with the default settings in a temp dir. History:
6 exchanges of follow-ups ("What is a list?", "How do I add an item?", "And remove one?",
...), then "What is a tuple?"; median of 10.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from api.routes.openai_compat import ChatMessageIn, read_messages
from bench.common import SAMPLE_COURSE, format_table, load_average, log, row
from knowledge.ingest import ingest_path
from tutor.chat.answering import LearnerContext
from tutor.chat.service import anchor
from tutor.chat.topics import Exchange
from tutor.services import build_services
from tutor.settings import Settings

QUESTIONS = (
    "What is a list?",
    "How do I add an item?",
    "And remove one?",
    "What about dictionaries?",
    "How do I loop over its keys?",
    "Why?",
)
REPEATS = 10


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        services = build_services(Settings(data_dir=Path(tmp) / "var"))
        kb = services.kb
        log("ingesting the sample course")
        ingest_path(kb, SAMPLE_COURSE)
        service = services.chat
        course = kb.registry.courses()[0]
        messages = []
        for question in QUESTIONS:
            messages.append(ChatMessageIn(role="user", content=question))
            messages.append(ChatMessageIn(role="assistant", content="An answer about it [1]."))
        messages.append(ChatMessageIn(role="user", content="What is a tuple?"))
        history = read_messages(messages).history
        learner = LearnerContext()
        service.reply("warm up", course=course)

        def decided_again() -> tuple[Exchange, ...]:
            out: list[Exchange] = []
            for e in history:
                d = service.decide(e.question, course=course, lang=e.lang, learner=learner,
                                   history=out)  # fmt: skip
                doc = anchor(d.retrieved[0]) if d.retrieved else None
                kind = d.topic.kind if d.topic else "new"
                out.append(Exchange(e.question, e.lang, kind, d.topic.query, doc, e.answer))
            return tuple(out)

        ours_times, base_times = [], []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            ours = service.follow(history, course=course)
            t1 = time.perf_counter()
            base = decided_again()
            t2 = time.perf_counter()
            ours_times.append(t1 - t0)
            base_times.append(t2 - t1)
    same = sum((a.kind, a.query) == (b.kind, b.query) for a, b in zip(ours, base, strict=True))
    ours_ms, base_ms = statistics.median(ours_times) * 1000, statistics.median(base_times) * 1000
    return {
        "name": "api-history",
        "title": f"topics of {len(history)} resent exchanges, median of {REPEATS} (ms)",
        "baseline_name": "decided again",
        "baseline_desc": "each earlier turn decided again by the policy (its retrievals)",
        "rows": [
            row("ChatService.follow per call", round(ours_ms, 1), round(base_ms, 1), unit="ms"),
            row("turns with the same topic", same, len(history), unit="turns"),
        ],
        "kinds": [(e.kind, e.query) for e in ours],
        "baseline_kinds": [(e.kind, e.query) for e in base],
    }


def main() -> None:
    before = load_average()
    result = run()
    result["load_average"] = {"before": before, "after": load_average()}
    print(format_table(result))


if __name__ == "__main__":
    main()

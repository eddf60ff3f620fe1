"""What following a resent history costs the OpenAI-compatible API: ``python -m bench.api_history``

A chat UI resends the whole conversation on every call. The API gives each earlier turn the
topic the tutor decided for it (``api.routes.openai_compat.follow``): from the questions
stored in the caller's ``api`` conversation when they were asked (ours), or by deciding each
turn again, one retrieval each (the baseline: what a turn not asked through the API costs).

Knowledge base: ``courses/python-basics`` with the default settings in a temp dir. History:
6 exchanges of follow-ups ("What is a list?", "How do I add an item?", "And remove one?",
...), then "What is a tuple?". Both paths must give the same exchanges; median of 10.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from api.deps import get_chat_service
from api.routes.openai_compat import ChatMessageIn, follow, read_messages
from bench.common import SAMPLE_COURSE, format_table, load_average, log, row
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from tutor.answering import LearnerContext
from tutor.conversations import Message
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
        settings = Settings(data_dir=Path(tmp) / "var")
        kb = build_knowledge_base(settings.knowledge_config())
        log("ingesting the sample course")
        ingest_path(kb, SAMPLE_COURSE)
        service = get_chat_service(settings, kb)
        course = kb.registry.courses()[0]
        messages = []
        for question in QUESTIONS:
            messages.append(ChatMessageIn(role="user", content=question))
            messages.append(ChatMessageIn(role="assistant", content="An answer about it [1]."))
        messages.append(ChatMessageIn(role="user", content="What is a tuple?"))
        history = read_messages(messages).history
        learner = LearnerContext()
        service.reply("warm up", course=course)
        decided = follow(service, history, course=course, learner=learner)
        asked = [
            Message(
                id=str(i),
                conversation_id="bench",
                role="user",
                content=e.question,
                topic={"kind": e.kind, "query": e.query, "anchor": e.doc_id},
            )
            for i, e in enumerate(decided)
        ]
        again, stored = [], []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            a = follow(service, history, course=course, learner=learner)
            t1 = time.perf_counter()
            b = follow(service, history, course=course, learner=learner, asked=asked)
            t2 = time.perf_counter()
            if a != b:
                raise AssertionError("stored topics and decided ones differ")
            again.append(t1 - t0)
            stored.append(t2 - t1)
    ours, base = statistics.median(stored) * 1000, statistics.median(again) * 1000
    return {
        "name": "api-history",
        "title": f"topics of {len(history)} resent exchanges, median of {REPEATS} (ms)",
        "baseline_name": "decided again",
        "baseline_desc": "each earlier turn decided again (one retrieval each)",
        "rows": [row("follow() per call", round(ours, 3), round(base, 1), unit="ms")],
        "kinds": [(e.kind, e.query) for e in decided],
    }


def main() -> None:
    before = load_average()
    result = run()
    result["load_average"] = {"before": before, "after": load_average()}
    print(format_table(result))


if __name__ == "__main__":
    main()

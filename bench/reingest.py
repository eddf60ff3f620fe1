"""reingest: incremental ingest of the sample course (unchanged files must cost ~nothing).

A copy of ``courses/python-basics`` is ingested into a fresh temporary data dir (T1), then
again unchanged (T2), then again after one lesson's content changed (T3). Model loading
is excluded: the knowledge base is built and one text embedded before T1. The baseline
of T2 and T3 is T1, the full ingest.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import SAMPLE_COURSE, format_table, log, row
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from tutor.settings import Settings

NAME = "reingest"
TARGET_RATIO = 0.05
CHANGED_FILE = Path("lessons") / "05-lists.md"


def _timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - t0, value


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="kdt-bench-reingest-") as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(SAMPLE_COURSE, course)
        config = Settings(data_dir=Path(tmp) / "data").knowledge_config()
        kb = build_knowledge_base(config)
        log("loading models (not timed)")
        kb.embed_query("warm up")
        kb.tokenizer.tokenize("warm up 준비 운동")

        log("T1: full ingest")
        t1, first = _timed(ingest_path, kb, course, max_bytes=config.max_file_bytes)
        log("T2: unchanged")
        t2, second = _timed(ingest_path, kb, course, max_bytes=config.max_file_bytes)
        check_s, _ = _timed(kb.check)
        changed = course / CHANGED_FILE
        changed.write_text(
            changed.read_text(encoding="utf-8") + "\nOne more sentence for the benchmark.\n",
            encoding="utf-8",
        )
        log(f"T3: {CHANGED_FILE} changed")
        t3, third = _timed(ingest_path, kb, course, max_bytes=config.max_file_bytes)
        n_docs, n_chunks = kb.registry.counts()

    rows = [
        row("full ingest (T1), the baseline", round(t1, 3), unit="s"),
        row("unchanged re-ingest (T2)", round(t2, 3), round(t1, 3), unit="s",
            target=f"T2/T1 <= {TARGET_RATIO:g}"),
        row("one document updated (T3)", round(t3, 3), round(t1, 3), unit="s"),
    ]
    notes = [
        f"{n_docs} documents, {n_chunks} chunks; embedding {kb.embeddings.name}",
        f"T1: {len(first.added)} added, {len(first.failed)} failed; "
        f"T2: {len(second.unchanged)} unchanged, {len(second.added) + len(second.updated)} "
        f"written; T3: updated {third.updated}",
        f"of T2, the closing kb.check() alone takes {check_s:.3f} s",
    ]
    return {
        "name": NAME,
        "title": "incremental ingest of courses/python-basics",
        "baseline_name": "full ingest T1",
        "baseline_desc": "T1, the first ingest into an empty data dir (models already loaded)",
        "rows": rows,
        "notes": notes,
        "details": {
            "t1_s": round(t1, 3),
            "t2_s": round(t2, 3),
            "t3_s": round(t3, 3),
            "t2_over_t1": round(t2 / t1, 4),
            "t3_over_t1": round(t3 / t1, 4),
            "check_s": round(check_s, 3),
            "documents": n_docs,
            "chunks": n_chunks,
            "reports": [first.as_dict(), second.as_dict(), third.as_dict()],
        },
    }


if __name__ == "__main__":
    print(format_table(run()))

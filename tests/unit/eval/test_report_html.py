"""The self-contained HTML report and the atomic writing of report.json + report.html."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval import report_files
from eval.report_files import write_report
from eval.report_html import render_report_html

XSS = "<script>alert(1)</script>"


def item(item_id: str, *, lesson: str, level: int, mcq: float | None, answer: str,
         question: str = "What does len() return?", options: list[str] | None = None,
         picked: int | None = 1, lang: str = "en") -> dict:
    return {
        "id": item_id, "question": question, "lang": lang, "level": level,
        "gold_sources": [lesson], "tags": [], "exercise_id": None,
        "options": options if options is not None else ["a list", "a number", "a string"],
        "answer_index": 1, "expect": "answer",
        "contexts": [{"n": 1, "source": lesson, "doc_id": f"lessons/{lesson}.md",
                      "title": "Lists", "heading": "len", "text": "len(x) counts the items."}],
        "answer": answer, "mode": "answer", "picked": picked, "latency_ms": 90.0,
        "metrics": {
            "mcq": {"value": mcq, "reason": "picked B (right)" if mcq else "picked A (wrong)"},
            "citation_accuracy": {"value": 1.0, "reason": f"cited {lesson} (gold)"},
            "groundedness": {"value": 0.5, "reason": "1 of 2 sentences supported",
                             "details": {"unsupported": ["It is magic."]}},
            "latency_ms": {"value": 90.0, "reason": "answer time"},
        },
        "baselines": {"naive-langchain": {"picked": 0, "metrics": {
            "mcq": {"value": 0.0, "reason": "picked A (wrong)"}}}},
    }


def full_report() -> dict:
    return {
        "schema": 1,
        "dataset": {"name": "python-basics", "path": "bench/python-basics", "items": 3,
                    "problems": ["line 7: options missing"]},
        "config": {"answerer": "extractive", "level": 2, "embedding": "hybrid", "k": 5,
                   "course": "python-basics", "started_at": "2025-01-02T03:04:05",
                   "finished_at": "2025-01-02T03:05:00", "machine": "ci-box", "judge": None},
        "summary": {"mcq_accuracy": 0.6667, "mcq_chance": 0.333, "answer_correctness": None,
                    "citation_accuracy": 0.8412, "groundedness": 0.5, "solution_leaks": 0,
                    "p50_ms": 90.1, "p95_ms": 150.2, "retrieval_p50_ms": 12.5, "items": 3},
        "baselines": {"naive-langchain": {"description": "RecursiveCharacterTextSplitter + MiniLM",
                                          "summary": {"mcq_accuracy": 0.3333,
                                                      "citation_accuracy": 0.5}}},
        "items": [
            item("pb-001", lesson="03-lists", level=2, mcq=1.0, answer="len() gives a number [1]"),
            item("pb-002", lesson="03-lists", level=1, mcq=0.0, picked=0,
                 answer=f"Try this: {XSS} [1]"),
            item("pb-003", lesson="05-dicts", level=2, mcq=1.0, lang="ko",
                 question="딕셔너리의 키는 어떻게 얻나요?", answer="keys() 메서드를 쓰세요 [1]"),
        ],
    }


def test_summary_values_baselines_and_deltas() -> None:
    page = render_report_html(full_report())
    assert page.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in page
    assert "0.667" in page and "0.841" in page  # ours
    assert "0.333" in page and "0.500" in page  # the baseline
    assert "+0.333" in page and "+0.341" in page  # delta ours - baseline
    assert "90.1 ms" in page and "150.2 ms" in page
    assert "the cited documents include a gold source" in page  # catalog description
    assert "naive-langchain" in page and "extractive" in page and "ci-box" in page
    assert "line 7: options missing" in page
    assert "retrieval_p50_ms" in page  # a non-catalog figure is still shown


def test_answer_markup_is_escaped() -> None:
    page = render_report_html(full_report())
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()


def test_dataset_strings_are_escaped_everywhere() -> None:
    report = full_report()
    report["dataset"]["name"] = XSS
    report["dataset"]["problems"] = [XSS]
    report["items"][1]["question"] = XSS
    report["items"][1]["options"] = [XSS, "b", "c"]
    report["items"][1]["contexts"][0]["text"] = XSS
    report["items"][1]["gold_sources"] = [XSS]
    report["baselines"] = {XSS: {"summary": {"mcq_accuracy": 0.1}}}
    page = render_report_html(report)
    assert "<script" not in page.lower()


def test_charts_are_inline_svg() -> None:
    page = render_report_html(full_report())
    assert page.count("<svg") >= 4  # families + lesson + level breakdowns
    for family in ("retrieval", "answer", "grounding", "latency"):
        if family == "retrieval":
            assert f"<h3>{family}</h3>" not in page  # no retrieval metric in this report
        else:
            assert f"<h3>{family}</h3>" in page


def test_self_contained_no_external_resources() -> None:
    page = render_report_html(full_report())
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<link" not in page.lower()
    assert "@import" not in page


def test_korean_text_and_font() -> None:
    page = render_report_html(full_report())
    assert "딕셔너리의 키는 어떻게 얻나요?" in page
    assert "keys() 메서드를 쓰세요" in page
    assert '"Nanum Gothic"' in page


def test_breakdowns_by_lesson_and_level() -> None:
    page = render_report_html(full_report())
    section = page[page.index('id="breakdown"'):page.index('id="worst"')]
    assert "03-lists" in section and "05-dicts" in section
    assert "Lv1" in section and "Lv2" in section
    assert "mcq_accuracy" in section and "groundedness" in section


def test_worst_items_first_with_options_reasons_and_contexts() -> None:
    page = render_report_html(full_report())
    worst = page[page.index('id="worst"'):]
    assert worst.index("pb-002") < worst.index("pb-001")  # mcq 0 before mcq 1
    assert "✓ right" in worst
    assert '<span class="tag wrong">← ours</span>' in worst  # pb-002 picked A, wrong
    assert "90.0 ms" in worst
    assert "picked A (wrong)" in worst and "1 of 2 sentences supported" in worst
    assert "It is magic." in worst  # details
    assert "<details><summary>contexts (1)</summary>" in worst
    assert "len(x) counts the items." in worst


def test_missing_keys_are_handled() -> None:
    bare = {"summary": {"mcq_accuracy": None, "groundedness": 0.9}}
    page = render_report_html(bare)
    assert "groundedness" in page and "0.900" in page and "—" in page
    minimal = full_report()
    del minimal["baselines"]
    for it in minimal["items"]:
        it.pop("options")
        it.pop("baselines")
        it.pop("contexts")
    page = render_report_html(minimal)
    assert "Δ vs" not in page and "<svg" in page
    assert render_report_html({}).startswith("<!doctype html>")


def test_write_report_writes_both_files(tmp_path: Path) -> None:
    report = full_report()
    report["summary"]["groundedness"] = float("nan")
    json_path, html_path = write_report(tmp_path / "run", report)
    assert json_path == tmp_path / "run" / "report.json"
    assert html_path == tmp_path / "run" / "report.html"
    text = json_path.read_text(encoding="utf-8")
    assert "딕셔너리의 키는" in text  # ensure_ascii=False
    loaded = json.loads(text)
    assert loaded["summary"]["groundedness"] is None  # NaN written as null
    assert loaded["items"][0]["id"] == "pb-001"
    assert html_path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert sorted(p.name for p in json_path.parent.iterdir()) == ["report.html", "report.json"]


def test_failed_render_leaves_previous_report_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_report(tmp_path, full_report())
    before = (tmp_path / "report.json").read_bytes(), (tmp_path / "report.html").read_bytes()

    def broken(report: dict) -> str:
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(report_files, "render_report_html", broken)
    changed = full_report()
    changed["summary"]["mcq_accuracy"] = 0.0
    with pytest.raises(RuntimeError):
        write_report(tmp_path, changed)
    after = (tmp_path / "report.json").read_bytes(), (tmp_path / "report.html").read_bytes()
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_failed_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_report(tmp_path, full_report())
    before = (tmp_path / "report.json").read_bytes()
    calls: list[tuple[str, str]] = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        raise OSError("disk full")

    monkeypatch.setattr(report_files.os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_report(tmp_path, full_report())
    assert calls and Path(calls[0][0]).parent == tmp_path  # temp file in the same folder
    assert (tmp_path / "report.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def dialogue_report() -> dict:
    def turn(n: int, position: str, user: str, kind: str, metrics: dict, *, history: list[str],
             decided: str) -> dict:
        return {
            "id": f"d1#{n}", "dialogue": "d1", "turn": n, "position": position,
            "question": user, "history": history, "lang": "en", "level": 2,
            "gold_sources": ["05-lists"], "expect": "answer", "kind": kind, "answer": "A [1]",
            "mode": "answer", "cited_sources": ["05-lists"],
            "decided": {"kind": decided, "query": f"What is a list? {user}",
                        "reason": f"{XSS} reason"},
            "metrics": metrics,
        }

    ok = {"value": 1.0, "reason": "first citation 05-lists (gold)"}
    bad = {"value": 0.0, "reason": "first citation 02-strings; gold is 05-lists"}
    return {
        "schema": 1, "kind": "dialogues",
        "dataset": {"name": "talks", "items": 2, "dialogues": 1, "problems": []},
        "config": {"answerer": "extractive", "topic_rule": "evidence"},
        "summary": {"citation@turn1": 1.0, "citation@turn2": 0.0, "follow_up_on_topic": 0.0,
                    "smalltalk_gaps": 0, "items": 2, "dialogues": 1},
        "baselines": {"length-rule": {"description": "LengthRule",
                                      "summary": {"citation@turn1": 1.0,
                                                  "citation@turn2": 1.0}}},
        "items": [
            turn(1, "turn1", "What is a list?", "new", {"citation@turn1": ok}, history=[],
                 decided="new"),
            turn(2, "turn2", "How do I sort it?", "follow_up",
                 {"citation@turn2": bad, "follow_up": bad}, history=["What is a list?"],
                 decided="follow_up"),
        ],
    }


def test_dialogue_reports_show_turn_positions_kinds_and_the_decision() -> None:
    page = render_report_html(dialogue_report())
    summary = page[page.index('id="summary"'):page.index('id="families"')]
    assert "citation@turn2" in summary and "length-rule" in summary
    assert "conversation" in page[page.index('id="families"'):page.index('id="breakdown"')]
    breakdown = page[page.index('id="breakdown"'):page.index('id="worst"')]
    assert "By turn position" in breakdown and "By turn kind" in breakdown
    assert "turn2" in breakdown and "follow_up" in breakdown
    worst = page[page.index('id="worst"'):]
    assert "d1#2" in worst and "d1#1" not in worst  # full marks are not "worst"
    assert "What is a list?" in worst  # the earlier turn, for context
    assert "decided follow_up" in worst
    assert XSS not in page

"""Following a conversation: ``python -m bench.dialogues [--pairs N] [--skip-llm] [--json OUT]``.

Two benchmarks of the chat's topic rule (``tutor/chat/topics.py``), each printed as a table with
the same-run baseline ``LengthRule`` (the rule before evidence: a message of at most 30
characters or 4 words joins the previous question):

1. **The sample dialogue set** (``eval/datasets/python-basics-dialogues.jsonl`` on
   ``courses/python-basics``), every turn through ``ChatService.reply`` with the earlier
   turns as history (``eval/dialogue_runner.py``), scored with the dialogue metrics of
   ``kdt-tutor eval run``. Columns: ours (``EvidenceRule``, offline), ``length-rule``, and
   the LLM path's condensation (``LLMTopicRule`` through the real ``ChatOpenAI`` client
   against the scripted OpenAI-compatible server ``tests/fakes/openai_server.py``; answers
   stay offline and extractive, so only the condensation differs):

   - ``llm-standalone``: the model returns the dataset's ``standalone`` question (what good
     condensation buys: an upper bound for this answerer);
   - ``llm-500`` / ``llm-timeout``: every condensation call fails (HTTP 500; a reply slower
     than the client's timeout): the rule falls back to the offline one, so the figures
     must equal ours;
   - ``llm-lazy``: the model returns the question unchanged (a lazy model).

2. **Pairs of ML-For-Beginners quiz questions** (``shared/bench/courses/ML-For-Beginners``,
   gold = ``lesson_id``): for pairs of questions from different lessons, the second
   question's first-citation accuracy asked after the first vs asked alone in a new
   conversation (target: within 0.03), and an elliptical follow-up after the first ("Why?",
   "Can you give an example?", "왜요?", "예를 들어?" ...) whose first citation must stay in
   the first question's lesson (target: >= 0.9 x the first turn's accuracy). The first
   question is answered once per pair and its exchange is the history of both rules (a
   first question is "new" for every rule).

Knowledge bases are built as ``kdt-tutor eval run`` builds them (``eval.runner.prepared``:
a temporary data dir, the default settings). Progress goes to stderr, the tables to stdout,
everything to ``bench/out/dialogues.json``. Record results in ``bench/RESULTS.md`` with the
machine and the load average printed here.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ML_COURSE, OUT_DIR, REPO, SAMPLE_COURSE, load_average, log, machine_info
from eval.datasets import gold_matches, read_quiz
from eval.dialogue_datasets import Dialogue, DialogueTurn, read_dialogues
from eval.dialogue_runner import (
    BASELINE_RULE,
    by_turn,
    cited_sources,
    evaluate_dialogue,
    summarize_turns,
    with_topic_rule,
)
from eval.metrics.catalog import DIALOGUE_METRICS
from eval.runner import RunOptions, prepared
from tutor.chat.answering import LearnerContext
from tutor.chat.service import ChatService
from tutor.chat.smalltalk import strip_courtesy
from tutor.chat.topics import EvidenceRule, Exchange, LengthRule, build_topic_rule
from tutor.settings import Settings

DIALOGUES = REPO / "eval" / "datasets" / "python-basics-dialogues.jsonl"
FOLLOW_UPS = (
    "Why?",
    "Can you give an example?",
    "Can you explain that again?",
    "왜요?",
    "예를 들어?",
    "그거 다시 설명해줘",
)
CONDENSE_TIMEOUT_S = 1.0  # the client's timeout in the llm-timeout variant
SLOW_REPLY_S = 3.0  # the scripted server's delay there
TARGET_SWITCH_DELTA = 0.03
TARGET_FOLLOW_UP_RATIO = 0.9


# --- the scripted model --------------------------------------------------------------------
class ScriptedCondenser:
    """Scripts the fake server before each turn with what this variant's model replies, and
    counts the completion calls the turns made (proof that the LLM path ran)."""

    def __init__(self, client: Any, reply: Callable[[DialogueTurn], dict]) -> None:
        self.client = client
        self.reply = reply
        self.calls = 0

    def before_turn(self, dialogue: Dialogue, position: int, turn: DialogueTurn) -> None:
        self.calls += len(self.client.calls())
        self.client.reset()
        self.client.script(self.reply(turn))

    def finish(self) -> int:
        self.calls += len(self.client.calls())
        self.client.reset()
        return self.calls


def _standalone(turn: DialogueTurn) -> dict:
    return {"content": turn.standalone or strip_courtesy(turn.user)}


def _lazy(turn: DialogueTurn) -> dict:
    return {"content": strip_courtesy(turn.user)}


def _server_error(turn: DialogueTurn) -> dict:
    return {"status": 500, "error_message": "scripted failure"}


def _too_slow(turn: DialogueTurn) -> dict:
    return {"delay_s": SLOW_REPLY_S, "content": turn.standalone or turn.user}


LLM_VARIANTS: dict[str, tuple[Callable[[DialogueTurn], dict], float]] = {
    # name: (what the model replies, the client's timeout in seconds)
    "llm-standalone": (_standalone, 10.0),
    "llm-500": (_server_error, 10.0),
    "llm-timeout": (_too_slow, CONDENSE_TIMEOUT_S),
    "llm-lazy": (_lazy, 10.0),
}


# --- 1. the dialogue set ---------------------------------------------------------------------
def run_dialogue_set(*, llm: bool, limit: int | None) -> dict[str, Any]:
    dataset = read_dialogues(DIALOGUES)
    if limit:
        dataset.dialogues = dataset.dialogues[:limit]
    settings = Settings().model_copy(update={"chroma_url": None})
    with prepared(
        settings=settings,
        dataset=dataset,
        course_dir=SAMPLE_COURSE,
        course=None,
        options=RunOptions(baselines=False),
        progress=log,
    ) as setup:
        offline: ChatService = setup.service
        tokenizer = setup.kb.tokenizer
        services = {
            "ours": with_topic_rule(offline, EvidenceRule(tokenizer=tokenizer)),
            BASELINE_RULE: with_topic_rule(offline, LengthRule()),
        }
        hooks: dict[str, Callable] = {}
        condensers: dict[str, ScriptedCondenser] = {}
        server = None
        try:
            if llm:
                from tests.fakes.openai_server import ScriptClient, start_fake_openai
                from tutor.chat.llm_answerer import build_llm_answerer

                server, base_url = start_fake_openai()
                client = ScriptClient(base_url)
                for name, (reply, timeout_s) in LLM_VARIANTS.items():
                    model = build_llm_answerer(
                        base_url=base_url,
                        api_key="EMPTY",
                        model="fake-model",
                        fallback=offline.answerer,
                        timeout_s=timeout_s,
                    )
                    rule = build_topic_rule(model, tokenizer)  # the product's composition
                    services[name] = with_topic_rule(offline, rule)
                    condensers[name] = ScriptedCondenser(client, reply)
                    hooks[name] = condensers[name].before_turn
            items: list[dict[str, Any]] = []
            started = time.perf_counter()
            for n, dialogue in enumerate(dataset.dialogues, start=1):
                if n % 10 == 0:
                    log(f"dialogue {n}/{len(dataset.dialogues)}")
                items.extend(
                    evaluate_dialogue(
                        dialogue, services=services, course=setup.course, hooks=hooks
                    )
                )
            elapsed = time.perf_counter() - started
            calls = {name: c.finish() for name, c in condensers.items()}
            switches = _switch_vs_alone(items, offline, course=setup.course, names=list(services))
            elliptical = _elliptical(items, tokenizer, names=list(services))
        finally:
            if server is not None:
                from tests.fakes.openai_server import stop_fake_openai

                stop_fake_openai(server)
    names = list(services)
    summaries = {
        name: summarize_turns(items, baseline=None if name == "ours" else name) for name in names
    }
    positions = {
        name: by_turn(items, baseline=None if name == "ours" else name) for name in names
    }
    return {
        "dataset": str(DIALOGUES.relative_to(REPO)),
        "dialogues": len(dataset.dialogues),
        "turns": len(items),
        "columns": names,
        "summary": summaries,
        "by_turn": positions,
        "model_calls": calls,
        "seconds": round(elapsed, 1),
        "switch_vs_alone": switches,
        "elliptical": elliptical,
        "failures": _failures(items),
    }


def _elliptical(items: list[dict[str, Any]], tokenizer, *, names: list[str]) -> dict[str, Any]:
    """The follow-up target on the dialogue set: follow-up turns that are elliptical (no
    topic words or no noun of their own, a pronoun, or "what about X"), their first citation
    in gold, over the first turns' first-citation accuracy (each column)."""
    from tutor.chat.topics import cues

    def first_ok(fields: dict[str, Any], gold: list[str]) -> bool:
        return bool(fields["cited_sources"]) and fields["cited_sources"][0] in gold

    answered = [i for i in items if i["expect"] == "answer" and i["gold_sources"]]
    firsts = [i for i in answered if i["turn"] == 1]
    elliptic = []
    for i in answered:
        if i["kind"] != "follow_up":
            continue
        found = cues(i["question"], tokenizer)
        if not found.content or found.nounless or found.pronoun or found.substitute:
            elliptic.append(i)
    out: dict[str, Any] = {"turns": len(elliptic), "first_turns": len(firsts)}
    for name in names:
        def fields(i: dict[str, Any], name: str = name) -> dict[str, Any]:
            return i if name == "ours" else i["baselines"][name]

        first = _mean([first_ok(fields(i), i["gold_sources"]) for i in firsts])
        follow = _mean([first_ok(fields(i), i["gold_sources"]) for i in elliptic])
        out[name] = {
            "first": first,
            "elliptical": follow,
            "ratio": round(follow / first, 3) if first and follow is not None else None,
        }
    return out


def _switch_vs_alone(
    items: list[dict[str, Any]], service: ChatService, *, course: str | None, names: list[str]
) -> dict[str, Any]:
    """The topic-switch target on the dialogue set: turns that open a new topic after an
    earlier course turn, their first citation in the conversation (each column) vs the same
    question asked alone in a new conversation."""
    switches = [
        i
        for i in items
        if i["metrics"].get("topic_switch", {}).get("value") is not None
        and i["expect"] == "answer"
        and i["gold_sources"]
    ]
    alone: list[bool] = []
    after: dict[str, list[bool]] = {n: [] for n in names}
    for item in switches:
        gold = set(item["gold_sources"])
        decision, answer = service.reply(item["question"], course=course, lang=item["lang"])
        turn = DialogueTurn(
            user=item["question"], gold_sources=tuple(item["gold_sources"]), expect="answer"
        )
        cited = cited_sources(turn, decision, answer)[:1]
        alone.append(bool(cited) and cited[0] in gold)
        for name in names:
            fields = item if name == "ours" else item["baselines"][name]
            first = fields["cited_sources"][:1]
            after[name].append(bool(first) and first[0] in gold)
    return {
        "turns": len(switches),
        "alone": _mean(alone),
        "after": {n: _mean(v) for n, v in after.items()},
    }


def _failures(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ours' failing turns with the topic rule's reasons (for the lead's tuning)."""
    out = []
    for item in items:
        bad = {
            key: score["reason"]
            for key, score in item["metrics"].items()
            if score.get("value") is not None
            and (score["value"] > 0 if key == "smalltalk_gap" else score["value"] < 1)
        }
        if bad:
            out.append(
                {
                    "id": item["id"],
                    "user": item["question"],
                    "history": item["history"],
                    "kind": item["kind"],
                    "expect": item["expect"],
                    "gold": item["gold_sources"],
                    "decided": item["decided"],
                    "mode": item["mode"],
                    "cited": item["cited_sources"][:3],
                    "failed": bad,
                }
            )
    return out


def format_dialogue_table(result: dict[str, Any]) -> str:
    names = result["columns"]
    width = 24
    header = f"{'metric':<{width}}" + "".join(f"{n:>16}" for n in names)
    lines = [
        f"== dialogues: {result['dialogues']} dialogues, {result['turns']} turns "
        f"({result['dataset']}); {result['seconds']} s",
        "   baseline: length-rule (a message of <= 30 characters or <= 4 words joins the "
        "previous question)",
        "-" * len(header),
        header,
        "-" * len(header),
    ]
    for metric in DIALOGUE_METRICS:
        cells = [result["summary"][n].get(metric.key) for n in names]
        lines.append(f"{metric.key:<{width}}" + "".join(f"{_cell(c):>16}" for c in cells))
    if result["model_calls"]:
        calls = [result["model_calls"].get(n) for n in names]
        lines.append(f"{'model calls':<{width}}" + "".join(f"{_cell(c):>16}" for c in calls))
    switch = result.get("switch_vs_alone")
    if switch and switch["turns"]:
        after = [switch["after"].get(n) for n in names]
        lines.append(
            f"{'switch after / alone':<{width}}"
            + "".join(
                f"{_cell(a) + ' / ' + _cell(switch['alone']):>16}" if a is not None else f"{'':>16}"
                for a in after
            )
        )
    ell = result.get("elliptical")
    if ell and ell["turns"]:
        ratios = [ell.get(n, {}).get("ratio") for n in names]
        lines.append(
            f"{'elliptical / turn 1':<{width}}" + "".join(f"{_cell(r):>16}" for r in ratios)
        )
    lines.append("-" * len(header))
    lines.append(
        "   llm-*: LLMTopicRule through ChatOpenAI and the scripted server; standalone = the "
        "dataset's standalone question, 500/timeout = every call fails (falls back to ours), "
        "lazy = the question unchanged"
    )
    return "\n".join(lines)


# --- 2. pairs of ML quiz questions --------------------------------------------------------------
def _first_in(answer_citations, passages, gold: str) -> bool:
    """Whether the answer's first citation is from the ``gold`` lesson."""
    if not answer_citations:
        return False
    first = answer_citations[0]
    chunk = next((p.chunk for p in passages if p.chunk.id == first.chunk_id), None)
    lesson_id = (chunk.lesson_id if chunk is not None else "") or ""
    doc_id = chunk.doc_id if chunk is not None else first.doc_id
    return gold_matches(gold, lesson_id=lesson_id, doc_id=doc_id)


def run_ml_pairs(*, pairs: int, seed: int) -> dict[str, Any]:
    items, _problems = read_quiz(ML_COURSE / "quiz.jsonl")
    items = [q for q in items if q.lesson_id]
    rng = random.Random(seed)
    order = list(items)
    rng.shuffle(order)
    chosen: list[tuple[Any, Any]] = []
    for second in order[:pairs]:
        others = [q for q in items if q.lesson_id != second.lesson_id]
        chosen.append((rng.choice(others), second))
    settings = Settings().model_copy(update={"chroma_url": None})
    from eval.datasets import load_dataset

    dataset = load_dataset(ML_COURSE)
    with prepared(
        settings=settings,
        dataset=dataset,
        course_dir=None,
        course=None,
        options=RunOptions(baselines=False),
        progress=log,
    ) as setup:
        base: ChatService = setup.service
        rules = {
            "ours": with_topic_rule(base, EvidenceRule(tokenizer=setup.kb.tokenizer)),
            BASELINE_RULE: with_topic_rule(base, LengthRule()),
        }
        learner = LearnerContext(level=2)
        course = setup.course
        rows: list[dict[str, Any]] = []
        started = time.perf_counter()

        def ask(service: ChatService, question: str, history: list[Exchange]):
            setup.kb.forget_queries()
            return service.reply(question, course=course, learner=learner, history=history)

        for n, (first, second) in enumerate(chosen, start=1):
            if n % 25 == 0:
                log(f"pair {n}/{len(chosen)}")
            follow_up = FOLLOW_UPS[(n - 1) % len(FOLLOW_UPS)]
            d1, a1 = ask(rules["ours"], first.question, [])
            d2, a2 = ask(rules["ours"], second.question, [])
            history = [d1.exchange(a1)]
            row = {
                "first": first.id,
                "second": second.id,
                "follow_up": follow_up,
                "first_ok": _first_in(a1.citations, d1.request.passages, first.lesson_id),
                "alone_ok": _first_in(a2.citations, d2.request.passages, second.lesson_id),
            }
            for name, service in rules.items():
                d, a = ask(service, second.question, history)
                row[f"after_ok[{name}]"] = _first_in(a.citations, d.request.passages,
                                                     second.lesson_id)
                row[f"after_kind[{name}]"] = d.topic.kind if d.topic else "new"
                row[f"after_reason[{name}]"] = d.topic.reason if d.topic else ""
                f, fa = ask(service, follow_up, history)
                row[f"follow_ok[{name}]"] = _first_in(fa.citations, f.request.passages,
                                                      first.lesson_id)
                row[f"follow_kind[{name}]"] = f.topic.kind if f.topic else "new"
            rows.append(row)
        elapsed = time.perf_counter() - started
    return {"pairs": len(rows), "seed": seed, "seconds": round(elapsed, 1), "rows": rows,
            "summary": _pair_summary(rows, list(rules))}


def _mean(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _pair_summary(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    first = _mean([r["first_ok"] for r in rows])
    alone = _mean([r["alone_ok"] for r in rows])
    out: dict[str, Any] = {"first_turn": first, "second_alone": alone}
    for name in names:
        after = _mean([r[f"after_ok[{name}]"] for r in rows])
        follow = _mean([r[f"follow_ok[{name}]"] for r in rows])
        ko = _mean([r[f"follow_ok[{name}]"] for r in rows if _is_korean(r["follow_up"])])
        en = _mean([r[f"follow_ok[{name}]"] for r in rows if not _is_korean(r["follow_up"])])
        out[name] = {
            "second_after_first": after,
            "switch_delta": round(after - alone, 4) if after is not None and alone else None,
            "switch_decided_new": _mean([r[f"after_kind[{name}]"] == "new" for r in rows]),
            "follow_up_on_first": follow,
            "follow_up_en": en,
            "follow_up_ko": ko,
            "follow_up_ratio": round(follow / first, 4) if follow is not None and first else None,
            "follow_up_decided_follow_up": _mean(
                [r[f"follow_kind[{name}]"] == "follow_up" for r in rows]
            ),
        }
    return out


def _is_korean(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)


def format_pairs_table(result: dict[str, Any]) -> str:
    s = result["summary"]
    names = [k for k in s if isinstance(s[k], dict)]
    header = f"{'metric':<34}" + "".join(f"{n:>14}" for n in names) + "  target"
    lines = [
        f"== ml-pairs: {result['pairs']} pairs of ML-For-Beginners quiz questions from different "
        f"lessons (seed {result['seed']}); {result['seconds']} s",
        f"   first question alone: first citation in its lesson {_cell(s['first_turn'])}; "
        f"second question alone (new conversation): {_cell(s['second_alone'])}",
        "-" * len(header),
        header,
        "-" * len(header),
    ]
    rows = (
        ("second_after_first", "second q. after the first", ""),
        ("switch_delta", "  minus alone", f">= -{TARGET_SWITCH_DELTA}"),
        ("switch_decided_new", "  decided 'new'", ""),
        ("follow_up_on_first", "follow-up stays in 1st lesson", ""),
        ("follow_up_en", "  English follow-ups", ""),
        ("follow_up_ko", "  Korean follow-ups", ""),
        ("follow_up_ratio", "  / first turn's accuracy", f">= {TARGET_FOLLOW_UP_RATIO}"),
        ("follow_up_decided_follow_up", "  decided 'follow_up'", ""),
    )
    for key, label, target in rows:
        cells = "".join(f"{_cell(s[n].get(key)):>14}" for n in names)
        lines.append(f"{label:<34}{cells}  {target}")
    lines.append("-" * len(header))
    lines.append(f"   follow-ups, cycled: {', '.join(FOLLOW_UPS)}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.3f}" if value < 0 else f"{value:.3f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dialogues", description=__doc__)
    parser.add_argument("--pairs", type=int, default=156,
                        help="ML quiz pairs (default 156: every question once as the second)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="only the first N dialogues (quick try)")
    parser.add_argument("--skip-llm", action="store_true", help="no LLM condensation variants")
    parser.add_argument("--skip-pairs", action="store_true", help="no ML-For-Beginners pairs")
    parser.add_argument("--skip-set", action="store_true", help="no sample dialogue set")
    parser.add_argument("--json", default=str(OUT_DIR / "dialogues.json"))
    args = parser.parse_args(argv)
    # The failing variants fail on purpose: one warning per call says nothing new.
    logging.getLogger("kdt.tutor.llm").setLevel(logging.ERROR)

    if not args.skip_pairs and not (ML_COURSE / "quiz.jsonl").is_file():
        parser.error(f"{ML_COURSE} has no quiz.jsonl: set KDT_BENCH_SHARED to the shared/bench "
                     "folder, or pass --skip-pairs")
    machine = machine_info()
    before = load_average()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM, "
          f"Python {machine['python']}; load average {before}\n", flush=True)
    result: dict[str, Any] = {"machine": machine, "load_average": {"before": before}}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after each part, so a failure later keeps what was measured
        result["load_average"]["after"] = load_average()
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")

    if not args.skip_set:
        result["dialogues"] = run_dialogue_set(llm=not args.skip_llm, limit=args.limit)
        print(format_dialogue_table(result["dialogues"]) + "\n", flush=True)
        save()
    if not args.skip_pairs:
        result["ml_pairs"] = run_ml_pairs(pairs=args.pairs, seed=args.seed)
        print(format_pairs_table(result["ml_pairs"]) + "\n", flush=True)
        save()
    print(f"load average before {before}, after {result['load_average'].get('after')}")
    log(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

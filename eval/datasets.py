"""Evaluation data: our JSONL eval format, course folders, and the RAGAS layout.

- Eval JSONL (:func:`read_eval_dataset`): one :class:`EvalItem` a line; see
  ``docs/evaluation.md`` ("Datasets") for the fields.
- Course benchmark folder (DESIGN.md, :func:`load_course_benchmark`, :func:`load_dataset`):
  ``lessons/<lesson_id>.md``, optionally ``lessons-ko/<lesson_id>.md``, and ``quiz.jsonl``
  whose items name their ``lesson_id``. A course folder holding ``eval.jsonl`` uses that.
- RAGAS (:func:`to_ragas_records`, :func:`write_ragas_jsonl`, :func:`read_ragas_jsonl`):
  ``user_input``, ``retrieved_contexts``, ``response``, ``reference`` per line.

Malformed lines are reported as ``"<file>:<line>: <reason>"`` and skipped; the rest loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from knowledge.errors import InvalidInputError, LoadError
from knowledge.frontmatter import split_front_matter
from knowledge.loaders import detect_lang
from tutor.atomic_write import write_atomically


@dataclass(frozen=True)
class QuizItem:
    id: str
    question: str
    lesson_id: str | None
    options: tuple[str, ...] = ()
    answer_index: int | None = None
    skills: tuple[str, ...] = ()
    lang: str = "en"


@dataclass
class CourseBenchmark:
    root: Path
    lessons_dir: Path
    items: list[QuizItem]
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.root.name


def read_quiz(path: Path) -> tuple[list[QuizItem], list[str]]:
    """Parse quiz.jsonl; returns the items and one message per bad line."""
    items: list[QuizItem] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            question = raw["question"]
            if not isinstance(question, str) or not question.strip():
                raise ValueError("empty question")
            options = tuple(str(o) for o in raw.get("options") or ())
            answer = raw.get("answer_index")
            if answer is not None and not (isinstance(answer, int) and 0 <= answer < len(options)):
                raise ValueError(f"answer_index {answer!r} out of range")
            skills = raw.get("skills") or ()
            items.append(
                QuizItem(
                    id=str(raw.get("id") or f"line-{n}"),
                    question=question.strip(),
                    lesson_id=raw.get("lesson_id"),
                    options=options,
                    answer_index=answer,
                    skills=tuple(skills) if isinstance(skills, list) else (str(skills),),
                    lang=str(raw.get("lang") or "en"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path.name}:{n}: {exc}")
    return items, problems


def load_course_benchmark(root: Path, *, kb_lang: str = "en") -> CourseBenchmark:
    """Open a course benchmark folder; ``kb_lang='ko'`` uses ``lessons-ko/`` as the KB."""
    root = Path(root)
    lessons = root / ("lessons-ko" if kb_lang == "ko" else "lessons")
    if not lessons.is_dir():
        raise InvalidInputError(f"{root} has no {lessons.name}/ folder (course benchmark format)")
    quiz = root / "quiz.jsonl"
    if not quiz.is_file():
        raise InvalidInputError(f"{root} has no quiz.jsonl")
    items, problems = read_quiz(quiz)
    if not items:
        raise InvalidInputError(f"{quiz} holds no valid question")
    return CourseBenchmark(root=root, lessons_dir=lessons, items=items, problems=problems)


# ------------------------------------------------------------------------- eval items

Expect = Literal["answer", "not_covered", "hint"]
EXPECTS: tuple[str, ...] = ("answer", "not_covered", "hint")
LANGS: tuple[str, ...] = ("en", "ko")
_LESSON_DIRS = ("lessons", "lessons-ko")


@dataclass(frozen=True)
class EvalItem:
    """One evaluation question.

    ``expect`` is what a right reply does: ``answer`` from the course material, say the
    course does not cover it (``not_covered``), or ``hint`` (a graded exercise: guiding
    questions and concepts, never the solution). ``gold_sources`` are lesson ids or document
    ids (see :func:`gold_matches`); ``reference`` is a reference answer.
    """

    id: str
    question: str
    lang: str = "en"
    options: tuple[str, ...] = ()
    answer_index: int | None = None
    reference: str | None = None
    gold_sources: tuple[str, ...] = ()
    level: int | None = None
    exercise_id: str | None = None
    tags: tuple[str, ...] = ()
    expect: Expect = "answer"

    @property
    def is_mcq(self) -> bool:
        """A multiple-choice item: options and the index of the right one."""
        return bool(self.options) and self.answer_index is not None

    def is_gold(self, *, lesson_id: str = "", doc_id: str = "") -> bool:
        """Whether a retrieved chunk with these ids is one of the item's gold sources."""
        return any(gold_matches(g, lesson_id=lesson_id, doc_id=doc_id) for g in self.gold_sources)

    def to_dict(self) -> dict[str, Any]:
        """The item as one line of eval JSONL (what :func:`read_eval_dataset` reads back)."""
        return {
            "id": self.id,
            "question": self.question,
            "lang": self.lang,
            "level": self.level,
            "options": list(self.options),
            "answer_index": self.answer_index,
            "reference": self.reference,
            "gold_sources": list(self.gold_sources),
            "exercise_id": self.exercise_id,
            "tags": list(self.tags),
            "expect": self.expect,
        }


@dataclass(frozen=True)
class RagasSample:
    """What a RAGAS line holds beside the question and the reference."""

    response: str | None = None
    retrieved_contexts: tuple[str, ...] = ()


@dataclass
class EvalDataset:
    """Loaded items plus one message per skipped line or warning (``"<file>:<line>: ..."``).

    ``ragas`` is filled by :func:`read_ragas_jsonl` only: item id -> the line's ``response``
    and ``retrieved_contexts`` (answers produced elsewhere, e.g. to score them here).
    """

    name: str
    path: Path
    items: list[EvalItem]
    problems: list[str] = field(default_factory=list)
    ragas: dict[str, RagasSample] = field(default_factory=dict)


def gold_matches(gold: str, *, lesson_id: str = "", doc_id: str = "") -> bool:
    """``gold`` equals the chunk's ``lesson_id``, its ``doc_id``, or the doc id's stem.

    The stem drops folders, the extension and a ``.ko`` suffix:
    ``python-basics/lessons-ko/05-lists.md`` -> ``05-lists``.
    """
    if not gold:
        return False
    return gold in (lesson_id, doc_id) or (bool(doc_id) and gold == _source_stem(doc_id))


def read_eval_dataset(path: Path | str) -> EvalDataset:
    """Read eval JSONL: malformed lines go to ``problems`` and the rest loads.

    Raises :class:`InvalidInputError` when the file cannot be read or holds no valid item.
    """
    path = Path(path)
    numbered, problems = _parse_lines(path.name, _read_lines(path), _eval_item)
    return _dataset(path.stem, path, numbered, problems)


def load_dataset(path: Path | str) -> EvalDataset:
    """Open any dataset form the harness reads.

    - a ``.jsonl`` file: eval JSONL (:func:`read_eval_dataset`), or the RAGAS layout when
      its first line has ``user_input`` and no ``question`` (:func:`read_ragas_jsonl`);
    - a folder with ``eval.jsonl``: that file;
    - a course folder (benchmark format, or one of ours with ``course.yaml``): the items of
      its ``quiz.jsonl``, gold = the line's ``lesson_id``, level = that lesson's front matter
      ``level`` when the line has none.

    In a folder with ``lessons/``, gold sources and exercise ids that name no lesson file or
    exercise folder are reported as warnings in ``problems``; the items are kept.
    """
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if not path.is_file():
        raise InvalidInputError(f"{path} does not exist (expected a .jsonl file or a folder)")
    if path.suffix.lower() != ".jsonl":
        raise InvalidInputError(f"{path} is not a dataset: expected a .jsonl file or a folder")
    lines = _read_lines(path)
    if _is_ragas(lines):
        return _read_ragas_lines(path, lines)
    numbered, problems = _parse_lines(path.name, lines, _eval_item)
    return _dataset(path.stem, path, numbered, problems)


def write_jsonl(path: Path | str, records: Iterable[Mapping[str, Any]]) -> None:
    """Write JSON records one a line, atomically, keeping every key (drafts, feedback)."""
    _atomic_write_lines(Path(path), [dict(r) for r in records])


def write_eval_dataset(path: Path | str, items: Iterable[EvalItem]) -> None:
    """Write items as eval JSONL, atomically (temp file in the same folder, then rename)."""
    _atomic_write_lines(Path(path), [item.to_dict() for item in items])


# ------------------------------------------------------------------------------ RAGAS


def to_ragas_records(
    items: Iterable[EvalItem], answers: Mapping[str, tuple[str, Sequence[str]]]
) -> list[dict[str, Any]]:
    """RAGAS single-turn records for the items that have an answer, in item order.

    ``answers`` maps an item id to ``(response, retrieved context texts)``. Each record has
    exactly ``user_input``, ``retrieved_contexts``, ``response`` and ``reference`` (null
    when the item has none), so ``ragas.EvaluationDataset.from_list`` accepts it.
    """
    records: list[dict[str, Any]] = []
    for item in items:
        if item.id not in answers:
            continue
        response, contexts = answers[item.id]
        records.append(
            {
                "user_input": item.question,
                "retrieved_contexts": [str(text) for text in contexts],
                "response": response,
                "reference": item.reference,
            }
        )
    return records


def write_ragas_jsonl(path: Path | str, records: Iterable[Mapping[str, Any]]) -> None:
    """Write records one JSON object a line, atomically (temp file, then rename)."""
    _atomic_write_lines(Path(path), [dict(record) for record in records])


def read_ragas_jsonl(path: Path | str) -> EvalDataset:
    """Read a RAGAS JSONL file as eval items.

    ``user_input`` -> ``question``, ``reference`` -> ``reference``; ``lang`` is detected.
    Ids are the line's ``id`` if present, else ``<file stem>-<line>``. ``response`` and
    ``retrieved_contexts`` are kept in :attr:`EvalDataset.ragas`, keyed by item id.
    Multi-turn samples (a list as ``user_input``) are reported and skipped.
    """
    path = Path(path)
    return _read_ragas_lines(path, _read_lines(path))


# ---------------------------------------------------------------------------- parsing

_ItemParser = Callable[[dict[str, Any], str], EvalItem]


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc


def _parse_lines(
    name: str, lines: list[str], parse: _ItemParser
) -> tuple[list[tuple[int, EvalItem]], list[str]]:
    """``[(line number, item)]`` and one problem per bad line; later duplicate ids skipped."""
    numbered: list[tuple[int, EvalItem]] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    stem = name.rsplit(".", 1)[0]
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{name}:{n}: invalid JSON ({exc.msg}, column {exc.colno})")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{name}:{n}: not a JSON object")
            continue
        try:
            item = parse(raw, f"{stem}-{n}")
        except ValueError as exc:
            problems.append(f"{name}:{n}: {exc}")
            continue
        if item.id in first_line:
            problems.append(
                f"{name}:{n}: duplicate id {item.id!r} (first on line {first_line[item.id]});"
                " line skipped"
            )
            continue
        first_line[item.id] = n
        numbered.append((n, item))
    return numbered, problems


def _dataset(
    name: str,
    path: Path,
    numbered: list[tuple[int, EvalItem]],
    problems: list[str],
    *,
    source: Path | None = None,
) -> EvalDataset:
    if not numbered:
        where = source or path
        if not problems:
            raise InvalidInputError(f"{where} is empty: an eval dataset needs at least one item")
        raise InvalidInputError(
            f"{where} holds no valid eval item ({len(problems)} bad line(s); first: "
            f"{problems[0]})"
        )
    items = [item for _, item in numbered]
    return EvalDataset(name=name, path=path, items=items, problems=problems)


def _eval_item(raw: dict[str, Any], default_id: str) -> EvalItem:
    question = _question(raw.get("question"), "question")
    options = _str_tuple(raw, "options", allow_numbers=True)
    answer_index = raw.get("answer_index")
    if answer_index is not None:
        if isinstance(answer_index, bool) or not isinstance(answer_index, int):
            raise ValueError(f"answer_index must be an integer (got {answer_index!r})")
        if not 0 <= answer_index < len(options):
            raise ValueError(
                f"answer_index {answer_index} out of range for {len(options)} option(s)"
            )
    if "gold_sources" in raw or raw.get("lesson_id") in (None, ""):
        gold = _str_tuple(raw, "gold_sources")
    else:  # a quiz.jsonl line: its lesson is the gold source
        gold = (_optional_text(raw, "lesson_id") or "",)
    tags = _str_tuple(raw, "tags" if "tags" in raw else "skills")
    expect = raw.get("expect") or "answer"
    if expect not in EXPECTS:
        raise ValueError(f"expect must be one of {', '.join(EXPECTS)} (got {expect!r})")
    return EvalItem(
        id=_item_id(raw.get("id"), default_id),
        question=question,
        lang=_lang(raw.get("lang"), question),
        options=options,
        answer_index=answer_index,
        reference=_optional_text(raw, "reference" if "reference" in raw else "explanation"),
        gold_sources=gold,
        level=_level(raw.get("level")),
        exercise_id=_optional_text(raw, "exercise_id"),
        tags=tags,
        expect=expect,
    )


def _question(value: Any, key: str) -> str:
    if isinstance(value, list):
        raise ValueError(f"{key} is a list (multi-turn samples are not supported)")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string")
    return value.strip()


def _item_id(value: Any, default: str) -> str:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"id must be a string (got {value!r})")
    return str(value).strip() or default


def _lang(value: Any, question: str) -> str:
    if value is None or value == "":
        return detect_lang(question)
    if value not in LANGS:
        raise ValueError(f"lang must be 'en' or 'ko' (got {value!r})")
    return value


def _level(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise ValueError(f"level must be an integer 1..4 (got {value!r})")
    return value


def _optional_text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string or null (got {type(value).__name__})")
    return value.strip() or None


def _str_tuple(raw: dict[str, Any], key: str, *, allow_numbers: bool = False) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list (got {type(value).__name__})")
    out: list[str] = []
    for element in value:
        number = isinstance(element, int | float) and not isinstance(element, bool)
        if isinstance(element, str) and element.strip():
            out.append(element.strip())
        elif allow_numbers and number:
            out.append(str(element))
        else:
            raise ValueError(f"{key} must hold non-empty strings (got {element!r})")
    return tuple(out)


def _source_stem(source: str) -> str:
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem[:-3] if stem.lower().endswith(".ko") and len(stem) > 3 else stem


# ---------------------------------------------------------------------- course folders


def _load_folder(root: Path) -> EvalDataset:
    eval_file, quiz = root / "eval.jsonl", root / "quiz.jsonl"
    source = eval_file if eval_file.is_file() else quiz if quiz.is_file() else None
    if source is None:
        raise InvalidInputError(
            f"{root} is not a dataset folder: expected eval.jsonl, or quiz.jsonl with "
            "lessons/ (course benchmark format)"
        )
    numbered, problems = _parse_lines(source.name, _read_lines(source), _eval_item)
    lessons = _lesson_levels(root)
    if lessons is not None:
        exercises = _exercise_ids(root)
        known = set(lessons) | exercises
        if source == quiz:
            numbered = [(n, _with_lesson_level(item, lessons)) for n, item in numbered]
        for n, item in numbered:
            for gold in item.gold_sources:
                if gold not in known and _source_stem(gold) not in known:
                    problems.append(
                        f"{source.name}:{n}: warning: unknown lesson id {gold!r}"
                        f" (no such lesson in {root.name}; item kept)"
                    )
            if item.exercise_id and item.exercise_id not in exercises:
                problems.append(
                    f"{source.name}:{n}: warning: unknown exercise id {item.exercise_id!r}"
                    f" (no exercises/{item.exercise_id}/ in {root.name}; item kept)"
                )
    return _dataset(root.name, root, numbered, problems, source=source)


def _lesson_levels(root: Path) -> dict[str, int | None] | None:
    """Lesson id -> front matter level for the files of ``lessons*/``; None without them."""
    folders = [root / name for name in _LESSON_DIRS if (root / name).is_dir()]
    if not folders:
        return None
    levels: dict[str, int | None] = {}
    for folder in folders:
        for file in sorted(folder.rglob("*")):
            if not file.is_file() or file.name.startswith("."):
                continue
            ids = [_source_stem(file.name)]
            level = None
            if file.suffix.lower() == ".md":
                meta = _front_matter(file)
                if isinstance(meta.get("id"), str) and meta["id"].strip():
                    ids.append(meta["id"].strip())
                raw_level = meta.get("level")
                if isinstance(raw_level, int) and not isinstance(raw_level, bool):
                    level = raw_level if 1 <= raw_level <= 4 else None
            for lesson_id in ids:
                if levels.get(lesson_id) is None:
                    levels[lesson_id] = level
    return levels


def _front_matter(file: Path) -> dict[str, Any]:
    try:
        meta, _body, _removed = split_front_matter(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, LoadError):
        return {}
    return meta


def _exercise_ids(root: Path) -> set[str]:
    folder = root / "exercises"
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}


def _with_lesson_level(item: EvalItem, lessons: dict[str, int | None]) -> EvalItem:
    if item.level is not None or len(item.gold_sources) != 1:
        return item
    level = lessons.get(item.gold_sources[0])
    return replace(item, level=level) if level is not None else item


# ------------------------------------------------------------------------ RAGAS lines


def _is_ragas(lines: list[str]) -> bool:
    for line in lines:
        if line.strip():
            try:
                first = json.loads(line)
            except json.JSONDecodeError:
                return False
            return isinstance(first, dict) and "user_input" in first and "question" not in first
    return False


def _read_ragas_lines(path: Path, lines: list[str]) -> EvalDataset:
    sides: dict[str, RagasSample] = {}

    def parse(raw: dict[str, Any], default_id: str) -> EvalItem:
        question = _question(raw.get("user_input"), "user_input")
        response = raw.get("response")
        if response is not None and not isinstance(response, str):
            raise ValueError(f"response must be a string or null (got {type(response).__name__})")
        item = EvalItem(
            id=_item_id(raw.get("id"), default_id),
            question=question,
            lang=detect_lang(question),
            reference=_optional_text(raw, "reference"),
        )
        # keyed by line until the duplicate check has kept or dropped the item
        sides[default_id] = RagasSample(
            response=response, retrieved_contexts=_str_tuple(raw, "retrieved_contexts")
        )
        return item

    stem = path.name.rsplit(".", 1)[0]
    numbered, problems = _parse_lines(path.name, lines, parse)
    dataset = _dataset(stem, path, numbered, problems)
    dataset.ragas = {item.id: sides[f"{stem}-{n}"] for n, item in numbered}
    return dataset


# ---------------------------------------------------------------------------- writing


def _atomic_write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    """One JSON object a line; a reader never sees a half-written file."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    write_atomically(path, text, mode=0o644)

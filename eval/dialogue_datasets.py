"""Dialogue datasets: conversations to evaluate turn by turn (DESIGN.md, "Dialogues").

JSONL, one dialogue a line::

    {"id": "pb-d01", "lang": "en", "turns": [
      {"user": "What is a list?", "gold_sources": ["05-lists"], "expect": "answer"},
      {"user": "How do I sort it?", "gold_sources": ["05-lists"], "kind": "follow_up",
       "standalone": "How do I sort a list?"},
      {"user": "thanks!", "expect": "smalltalk"}]}

Dialogue fields: ``id`` (string, unique; default ``<file stem>-<line>``), ``lang`` (``en`` |
``ko``, the language the dialogue starts in; default detected from the first turn),
``level`` (1..4, the learner's level; default 2) and ``turns`` (a non-empty list).

Turn fields:

- ``user`` (required): the trainee's message, as typed.
- ``gold_sources``: lesson or document ids that answer the turn (matched like the eval
  JSONL's, :func:`eval.datasets.gold_matches`); default none.
- ``expect``: ``answer`` (default) | ``not_covered`` | ``hint`` | ``smalltalk``.
- ``kind``: the gold turn kind, ``new`` | ``follow_up`` | ``smalltalk``. When absent it is
  derived (:func:`derive_kinds`): ``smalltalk`` for small-talk turns; ``new`` for the first
  course turn, a turn without gold sources, or one whose gold sources share none with the
  last course turn's; ``follow_up`` otherwise.
- ``standalone``: the question as it reads without the conversation (what a good model
  would condense it to); used by the LLM condensation benchmark (``bench/dialogues.py``).
- ``lang``: ``en`` | ``ko``; default detected from ``user`` (Hangul means Korean).

A dialogue file is recognised by its shape (:func:`is_dialogue_file`): the first line that
is a JSON object has a ``turns`` key. Bad lines are reported as ``"<file>:<line>:
turns[2].expect must be one of ..."`` in :attr:`DialogueDataset.problems` and skipped, like
the eval JSONL's; a file with no valid dialogue is an :class:`InvalidInputError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from knowledge.errors import InvalidInputError
from tutor.chat.service import detect_lang

DialogueExpect = Literal["answer", "not_covered", "hint", "smalltalk"]
TurnKind = Literal["new", "follow_up", "smalltalk"]
DIALOGUE_EXPECTS: tuple[str, ...] = ("answer", "not_covered", "hint", "smalltalk")
TURN_KINDS: tuple[str, ...] = ("new", "follow_up", "smalltalk")
LANGS: tuple[str, ...] = ("en", "ko")
_TURN_KEYS = {"user", "gold_sources", "expect", "kind", "standalone", "lang"}


@dataclass(frozen=True)
class DialogueTurn:
    user: str
    lang: str = "en"
    gold_sources: tuple[str, ...] = ()
    expect: DialogueExpect = "answer"
    kind: TurnKind | None = None  # as written in the file (None: derived, see derive_kinds)
    standalone: str | None = None


@dataclass(frozen=True)
class Dialogue:
    id: str
    lang: str
    turns: tuple[DialogueTurn, ...]
    level: int | None = None

    def kinds(self) -> list[TurnKind]:
        """The gold kind of each turn: as written, else derived."""
        return derive_kinds(self.turns)


@dataclass
class DialogueDataset:
    name: str
    path: Path
    dialogues: list[Dialogue]
    problems: list[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return sum(len(d.turns) for d in self.dialogues)


def derive_kinds(turns: tuple[DialogueTurn, ...] | list[DialogueTurn]) -> list[TurnKind]:
    """Each turn's gold kind: the one written in the file, else derived from the gold
    sources (see the module doc)."""
    kinds: list[TurnKind] = []
    topic: DialogueTurn | None = None  # the last turn about the course
    for turn in turns:
        if turn.kind is not None:
            kind = turn.kind
        elif turn.expect == "smalltalk":
            kind = "smalltalk"
        elif topic is None or not turn.gold_sources or not topic.gold_sources:
            kind = "new"
        else:
            kind = "follow_up" if set(turn.gold_sources) & set(topic.gold_sources) else "new"
        kinds.append(kind)
        if kind != "smalltalk":
            topic = turn
    return kinds


# --- reading -----------------------------------------------------------------------------------
def is_dialogue_file(path: Path | str) -> bool:
    """A ``.jsonl`` file whose first JSON object line has ``turns`` (the dialogue shape)."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".jsonl":
        return False
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    continue
                return isinstance(first, dict) and "turns" in first
    except (OSError, UnicodeDecodeError):
        return False
    return False


def read_dialogues(path: Path | str) -> DialogueDataset:
    """Read a dialogue JSONL file; bad lines go to ``problems`` (``"<file>:<line>: ..."``).

    Raises :class:`InvalidInputError` when the file cannot be read or holds no valid
    dialogue (naming the first problem).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    dialogues: list[Dialogue] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON ({exc.msg}, column {exc.colno})")
            continue
        try:
            dialogue = parse_dialogue(raw, default_id=f"{path.stem}-{n}")
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if dialogue.id in first_line:
            problems.append(
                f"{where}: duplicate id {dialogue.id!r} (first on line "
                f"{first_line[dialogue.id]}); line skipped"
            )
            continue
        first_line[dialogue.id] = n
        dialogues.append(dialogue)
    if not dialogues:
        if not problems:
            raise InvalidInputError(f"{path} is empty: a dialogue dataset needs one dialogue")
        raise InvalidInputError(
            f"{path} holds no valid dialogue ({len(problems)} bad line(s); first: "
            f"{problems[0]})"
        )
    return DialogueDataset(name=path.stem, path=path, dialogues=dialogues, problems=problems)


def parse_dialogue(raw: Any, *, default_id: str) -> Dialogue:
    """One dialogue from its decoded JSON line; ``ValueError`` names the bad field."""
    if not isinstance(raw, dict):
        raise ValueError(f"a dialogue must be a JSON object (got {type(raw).__name__})")
    dialogue_id = raw.get("id")
    if dialogue_id is None or dialogue_id == "":
        dialogue_id = default_id
    elif isinstance(dialogue_id, bool) or not isinstance(dialogue_id, str | int):
        raise ValueError(f"id must be a string (got {dialogue_id!r})")
    if "turns" not in raw:
        raise ValueError("turns is missing (a dialogue is {\"id\", \"lang\", \"turns\": [...]})")
    raw_turns = raw["turns"]
    if not isinstance(raw_turns, list):
        raise ValueError(f"turns must be a list of turns (got {type(raw_turns).__name__})")
    if not raw_turns:
        raise ValueError("turns is empty: a dialogue needs at least one turn")
    turns = tuple(_turn(t, f"turns[{i}]") for i, t in enumerate(raw_turns))
    lang = raw.get("lang")
    if lang is None or lang == "":
        lang = turns[0].lang
    elif lang not in LANGS:
        raise ValueError(f"lang must be 'en' or 'ko' (got {lang!r})")
    level = raw.get("level")
    if level is not None and (
        isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 4
    ):
        raise ValueError(f"level must be an integer 1..4 (got {level!r})")
    return Dialogue(id=str(dialogue_id).strip() or default_id, lang=lang, turns=turns, level=level)


def _turn(raw: Any, at: str) -> DialogueTurn:
    if not isinstance(raw, dict):
        raise ValueError(f"{at} must be an object with 'user' (got {type(raw).__name__})")
    unknown = sorted(set(raw) - _TURN_KEYS)
    if unknown:
        raise ValueError(
            f"{at} has unknown field(s) {', '.join(unknown)} (known: "
            f"{', '.join(sorted(_TURN_KEYS))})"
        )
    user = raw.get("user")
    if not isinstance(user, str) or not user.strip():
        raise ValueError(f"{at}.user must be a non-empty string (got {user!r})")
    gold = raw.get("gold_sources", [])
    if gold is None:
        gold = []
    if not isinstance(gold, list):
        raise ValueError(f"{at}.gold_sources must be a list (got {type(gold).__name__})")
    for g in gold:
        if not isinstance(g, str) or not g.strip():
            raise ValueError(f"{at}.gold_sources must hold non-empty strings (got {g!r})")
    expect = raw.get("expect") or "answer"
    if expect not in DIALOGUE_EXPECTS:
        raise ValueError(
            f"{at}.expect must be one of {', '.join(DIALOGUE_EXPECTS)} (got {expect!r})"
        )
    kind = raw.get("kind")
    if kind is not None and kind not in TURN_KINDS:
        raise ValueError(f"{at}.kind must be one of {', '.join(TURN_KINDS)} (got {kind!r})")
    if (kind == "smalltalk") != (expect == "smalltalk") and kind is not None:
        raise ValueError(
            f"{at}.kind {kind!r} contradicts expect {expect!r} (small talk is both or neither)"
        )
    standalone = raw.get("standalone")
    if standalone is not None and (not isinstance(standalone, str) or not standalone.strip()):
        raise ValueError(f"{at}.standalone must be a non-empty string (got {standalone!r})")
    lang = raw.get("lang")
    if lang is None or lang == "":
        lang = detect_lang(user)
    elif lang not in LANGS:
        raise ValueError(f"{at}.lang must be 'en' or 'ko' (got {lang!r})")
    return DialogueTurn(
        user=user.strip(),
        lang=lang,
        gold_sources=tuple(g.strip() for g in gold),
        expect=expect,
        kind=kind,
        standalone=standalone.strip() if standalone else None,
    )


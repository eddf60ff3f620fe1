"""Dialogue datasets: the format, clear errors naming the line and field, derived kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dialogue_datasets import (
    DialogueTurn,
    derive_kinds,
    is_dialogue_file,
    read_dialogues,
)
from knowledge.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "eval" / "datasets" / "python-basics-dialogues.jsonl"
COURSE = ROOT / "courses" / "python-basics"


def _write(path: Path, *lines: object) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def _good(n: int = 1, **extra: object) -> dict[str, object]:
    return {"id": f"d{n}", "lang": "en", "turns": [{"user": "What is a list?"}], **extra}


def test_a_full_dialogue_loads_every_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.jsonl",
        {
            "id": "d1",
            "lang": "en",
            "level": 3,
            "turns": [
                {"user": " What is a list? ", "gold_sources": ["05-lists"], "expect": "answer"},
                {"user": "thanks!", "expect": "smalltalk"},
                {"user": "튜플은요?", "gold_sources": ["06-dictionaries"], "kind": "follow_up",
                 "standalone": "튜플은 뭐예요?"},
            ],
        },
    )
    dataset = read_dialogues(path)
    assert dataset.problems == [] and dataset.turns == 3
    (dialogue,) = dataset.dialogues
    assert (dialogue.id, dialogue.lang, dialogue.level) == ("d1", "en", 3)
    first, thanks, tuples = dialogue.turns
    assert first == DialogueTurn("What is a list?", "en", ("05-lists",), "answer", None, None)
    assert thanks.expect == "smalltalk" and thanks.gold_sources == ()
    assert tuples.lang == "ko"  # detected from the Hangul
    assert (tuples.kind, tuples.standalone) == ("follow_up", "튜플은 뭐예요?")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "a dialogue must be a JSON object"),
        ({"id": "x", "lang": "en"}, "turns is missing"),
        ({"id": "x", "turns": []}, "turns is empty"),
        ({"id": "x", "turns": "What is a list?"}, "turns must be a list"),
        ({"id": "x", "turns": ["What is a list?"]}, "turns[0] must be an object"),
        ({"id": "x", "turns": [{"user": "   "}]}, "turns[0].user must be a non-empty string"),
        ({"id": "x", "turns": [{"gold_sources": ["05-lists"]}]}, "turns[0].user must be"),
        ({"id": "x", "turns": [{"user": "Q?"}, {"user": "Why?", "expect": "maybe"}]},
         "turns[1].expect must be one of answer, not_covered, hint, smalltalk (got 'maybe')"),
        ({"id": "x", "turns": [{"user": "Q?", "gold_sources": "05-lists"}]},
         "turns[0].gold_sources must be a list (got str)"),
        ({"id": "x", "turns": [{"user": "Q?", "gold_sources": ["05-lists", ""]}]},
         "turns[0].gold_sources must hold non-empty strings"),
        ({"id": "x", "turns": [{"user": "Q?", "kind": "switch"}]},
         "turns[0].kind must be one of new, follow_up, smalltalk"),
        ({"id": "x", "turns": [{"user": "hi", "kind": "smalltalk"}]},
         "turns[0].kind 'smalltalk' contradicts expect 'answer'"),
        ({"id": "x", "turns": [{"user": "Q?", "gold_source": ["05-lists"]}]},
         "turns[0] has unknown field(s) gold_source"),
        ({"id": "x", "turns": [{"user": "Q?", "standalone": ""}]},
         "turns[0].standalone must be a non-empty string"),
        ({"id": "x", "turns": [{"user": "Q?", "lang": "fr"}]},
         "turns[0].lang must be 'en' or 'ko'"),
        ({"id": "x", "lang": "de", "turns": [{"user": "Q?"}]}, "lang must be 'en' or 'ko'"),
        ({"id": "x", "level": 7, "turns": [{"user": "Q?"}]}, "level must be an integer 1..4"),
        ({"id": ["x"], "turns": [{"user": "Q?"}]}, "id must be a string"),
    ],
)
def test_bad_lines_are_reported_with_line_and_field_and_skipped(
    tmp_path: Path, line: object, message: str
) -> None:
    path = _write(tmp_path / "talks.jsonl", _good(1), line, _good(3))
    dataset = read_dialogues(path)
    assert [d.id for d in dataset.dialogues] == ["d1", "d3"]
    (problem,) = dataset.problems
    assert problem.startswith("talks.jsonl:2: ")
    assert message in problem


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", _good(1), _good(1, lang="ko"))
    dataset = read_dialogues(path)
    assert [d.lang for d in dataset.dialogues] == ["en"]
    assert dataset.problems == ["d.jsonl:2: duplicate id 'd1' (first on line 1); line skipped"]


def test_missing_id_and_lang_get_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path / "talks.jsonl", "", {"turns": [{"user": "리스트가 뭐예요?"}]})
    (dialogue,) = read_dialogues(path).dialogues
    assert (dialogue.id, dialogue.lang) == ("talks-2", "ko")


def test_a_file_without_any_valid_dialogue_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"no valid dialogue .*bad.jsonl:1: turns is"):
        read_dialogues(_write(tmp_path / "bad.jsonl", {"id": "x", "turns": []}))
    with pytest.raises(InvalidInputError, match="empty"):
        read_dialogues(_write(tmp_path / "empty.jsonl", ""))
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_dialogues(tmp_path / "missing.jsonl")


def test_dialogue_files_are_told_apart_from_eval_files_by_shape(tmp_path: Path) -> None:
    dialogues = _write(tmp_path / "a.jsonl", "{broken", _good(1))
    questions = _write(tmp_path / "b.jsonl", {"id": "q1", "question": "What is a list?"})
    assert is_dialogue_file(dialogues)
    assert not is_dialogue_file(questions)
    assert not is_dialogue_file(tmp_path / "missing.jsonl")
    assert not is_dialogue_file(tmp_path)


def _turn(user: str, gold: tuple[str, ...] = (), **kw: object) -> DialogueTurn:
    return DialogueTurn(user=user, gold_sources=gold, **kw)  # type: ignore[arg-type]


def test_kinds_are_derived_from_gold_sources_when_not_written() -> None:
    turns = [
        _turn("hi", expect="smalltalk"),
        _turn("What is a list?", ("05-lists",)),
        _turn("How do I sort it?", ("05-lists",)),
        _turn("thanks", expect="smalltalk"),
        _turn("Why?", ("05-lists", "06-dictionaries")),  # shares 05-lists with the topic
        _turn("What is a tuple?", ("06-dictionaries",)),  # the topic was turn 5: shares too
        _turn("How do I read a file?", ("09-files-exceptions",)),
        _turn("What is the weather?", expect="not_covered"),
        _turn("What about lists?", ("05-lists",), kind="follow_up"),  # written kinds win
    ]
    assert derive_kinds(turns) == [
        "smalltalk", "new", "follow_up", "smalltalk", "follow_up", "follow_up", "new", "new",
        "follow_up",
    ]


def test_the_sample_dialogue_set_loads_clean_and_names_real_lessons() -> None:
    dataset = read_dialogues(SAMPLE)
    assert dataset.problems == []
    assert len(dataset.dialogues) >= 60
    langs = [d.lang for d in dataset.dialogues]
    assert abs(langs.count("en") - langs.count("ko")) <= len(langs) // 5
    lessons = {p.stem for p in (COURSE / "lessons").glob("*.md")}
    kinds = {"new": 0, "follow_up": 0, "smalltalk": 0}
    expects: set[str] = set()
    for dialogue in dataset.dialogues:
        for turn, kind in zip(dialogue.turns, dialogue.kinds(), strict=True):
            assert set(turn.gold_sources) <= lessons, (dialogue.id, turn.gold_sources)
            kinds[kind] += 1
            expects.add(turn.expect)
            if turn.expect == "answer":
                assert turn.gold_sources, (dialogue.id, turn.user)
    assert expects == {"answer", "not_covered", "hint", "smalltalk"}
    assert min(kinds.values()) >= 15, kinds
    switches = 0
    for dialogue in dataset.dialogues:
        kinds_of = dialogue.kinds()
        switches += sum(
            1
            for i, k in enumerate(kinds_of)
            if k == "new" and any(earlier != "smalltalk" for earlier in kinds_of[:i])
        )
    assert switches >= 15

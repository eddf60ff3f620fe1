from __future__ import annotations

import pytest

from knowledge.errors import LoadError
from knowledge.frontmatter import parse_meta, split_front_matter

DEFAULTS = {"title": "Default", "course": "py", "kind": "lesson", "lang": "en"}


def test_split_returns_mapping_body_and_lines_removed() -> None:
    text = "---\ntitle: Lists\nlevel: 2\n---\n# Lists\nbody\n"

    mapping, body, removed = split_front_matter(text)

    assert mapping == {"title": "Lists", "level": 2}
    assert body == "# Lists\nbody\n"
    assert removed == 4
    assert text.split("\n")[removed] == body.split("\n")[0]


def test_split_without_front_matter_returns_text_unchanged() -> None:
    text = "# Title\n\n---\nnot: front matter\n---\n"

    assert split_front_matter(text) == ({}, text, 0)


def test_unclosed_opening_line_is_not_front_matter() -> None:
    text = "---\nA thematic break, then prose.\n"

    assert split_front_matter(text) == ({}, text, 0)


def test_empty_front_matter_is_an_empty_mapping() -> None:
    mapping, body, removed = split_front_matter("---\n---\nbody")

    assert (mapping, body, removed) == ({}, "body", 2)


def test_invalid_yaml_names_the_line_in_the_file() -> None:
    text = "---\ntitle: ok\nskills: [a, b\nlevel: 2\n---\nbody\n"

    with pytest.raises(LoadError) as info:
        split_front_matter(text)

    assert info.value.reason.startswith("invalid front matter: ")
    assert "(line 4, column 6)" in info.value.reason


@pytest.mark.parametrize("yaml_text", ["date: 2024-13-45", "a: !!python/object:os.system x"])
def test_unusable_yaml_values_are_load_errors(yaml_text: str) -> None:
    with pytest.raises(LoadError, match="invalid front matter: "):
        split_front_matter(f"---\n{yaml_text}\n---\nbody\n")


def test_non_mapping_front_matter_is_rejected() -> None:
    with pytest.raises(LoadError, match="invalid front matter"):
        split_front_matter("---\n- a\n- b\n---\nbody\n")


def test_parse_meta_normalizes_every_field() -> None:
    raw = {
        "title": " List comprehensions ",
        "course": "python-basics",
        "module": "2-collections",
        "kind": "Exercise",
        "level": "2",
        "skills": ["Lists", " comprehensions "],
        "prerequisites": "Loops",
        "lang": "KO",
        "exercise": "ex-squares",
        "id": 42,
        "author": "ignored",
    }

    meta = parse_meta(raw, defaults=DEFAULTS)

    assert meta == {
        "title": "List comprehensions",
        "course": "python-basics",
        "module": "2-collections",
        "kind": "exercise",
        "level": 2,
        "skills": ("lists", "comprehensions"),
        "prerequisites": ("loops",),
        "lang": "ko",
        "exercise": "ex-squares",
        "lesson_id": "42",
    }


def test_parse_meta_keeps_defaults_for_absent_and_empty_fields() -> None:
    meta = parse_meta({"title": None, "skills": []}, defaults=DEFAULTS)

    assert meta == DEFAULTS


def test_comma_separated_skills_string_is_split() -> None:
    meta = parse_meta({"skills": "lists, Loops"}, defaults=DEFAULTS)

    assert meta["skills"] == ("lists", "loops")


def test_kind_not_allowed_names_the_valid_kinds() -> None:
    with pytest.raises(LoadError) as info:
        parse_meta({"kind": "homework"}, defaults=DEFAULTS)

    assert "homework" in info.value.reason
    assert "lesson, exercise, solution, quiz, faq, reference" in info.value.reason


@pytest.mark.parametrize("level", [7, 0, "high", 2.5, True, [1]])
def test_level_outside_1_to_4_is_rejected(level: object) -> None:
    with pytest.raises(LoadError, match=r"level must be 1\.\.4"):
        parse_meta({"level": level}, defaults=DEFAULTS)


def test_unknown_lang_is_rejected() -> None:
    with pytest.raises(LoadError, match="lang 'fr'.*en, ko"):
        parse_meta({"lang": "fr"}, defaults=DEFAULTS)


def test_title_must_be_text() -> None:
    with pytest.raises(LoadError, match="title must be text"):
        parse_meta({"title": ["a", "b"]}, defaults=DEFAULTS)


def test_skills_must_be_names() -> None:
    with pytest.raises(LoadError, match="skills must be a list"):
        parse_meta({"skills": {"a": 1}}, defaults=DEFAULTS)

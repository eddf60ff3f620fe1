"""A course's skill map: skills, what teaches and tests them, prerequisites and levels.

Built from what instructors author (DESIGN.md, "Course content format"):

- ``course.yaml`` (optional): ``skills`` (id -> ``name``, ``name_ko``, ``level``, optional
  ``prerequisites``), ``levels`` (level -> the skills that level requires) and
  ``mastery_threshold`` (default 0.95);
- the front matter of lessons and exercises: ``skills``, ``prerequisites``, ``level``.

Rules:

- A lesson's ``prerequisites`` are prerequisites of each of its ``skills``. An exercise's
  ``prerequisites`` say what the exercise needs and stay on the exercise: they do not
  become edges between skills (an exercise on strings and dictionaries that also needs
  functions does not make *strings* depend on *functions*).
- When ``course.yaml`` declares ``skills``, every skill named anywhere (lessons,
  exercises, quiz items, levels, prerequisites) must be one of them. Without it, the
  skills are the ones the material names.
- A skill's level: ``course.yaml``'s, else the lowest level of the lessons teaching it,
  else of the exercises testing it. The skills a level requires: ``course.yaml``'s
  ``levels``, else the skills whose level it is. Levels are cumulative when a learner's
  level is computed (Lv2 needs Lv1's skills too); ``levels`` lists each level's own ones.
- Problems are collected and raised together as one :class:`SkillMapError` whose
  message lists each (unknown skill and where it was named, prerequisite cycle spelled
  out as ``a -> b -> a``, a skill listed in two levels, ...).

Quiz items (``quiz.jsonl``) are read here too (:func:`read_quiz`), since their skills are
checked against the map (:meth:`SkillMap.check_items`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from knowledge.errors import InvalidContentError, LoadError
from knowledge.loaders import iter_course_files, load_document

DEFAULT_THRESHOLD = 0.95
_FRONT_MATTER_SUFFIXES = {".md", ".markdown", ".ipynb"}
_MAX_BYTES = 10 * 1024 * 1024


class SkillMapError(InvalidContentError):
    """The course's skills, prerequisites or levels do not add up; ``problems`` lists why."""

    code = "invalid_skill_map"

    def __init__(self, course: str, problems: list[str]) -> None:
        self.course = course
        self.problems = list(problems)
        listing = "; ".join(self.problems)
        super().__init__(f"skill map of course {course!r} is invalid: {listing}")


# ------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Skill:
    id: str
    name: str
    name_ko: str
    level: int | None = None

    def display(self, lang: str = "en") -> str:
        return self.name_ko if lang == "ko" else self.name


@dataclass(frozen=True)
class Material:
    """A lesson or an exercise as the skill map sees it (one per id, all languages)."""

    id: str  # lesson id, or exercise id
    kind: str  # "lesson" | "exercise"
    title: str
    title_ko: str
    level: int | None
    skills: tuple[str, ...]
    prerequisites: tuple[str, ...]

    def display(self, lang: str = "en") -> str:
        return self.title_ko if lang == "ko" else self.title


@dataclass(frozen=True)
class QuizItem:
    """One multiple-choice item of ``quiz.jsonl``."""

    id: str
    question: str
    options: tuple[str, ...] = ()
    answer_index: int | None = None
    skills: tuple[str, ...] = ()
    lesson_id: str | None = None
    lang: str = "en"
    explanation: str = ""


class DocumentLike(Protocol):
    """What :meth:`SkillMap.from_documents` reads (``knowledge.registry.DocumentRecord``)."""

    kind: str
    title: str
    lang: str
    level: int | None
    skills: tuple[str, ...]
    prerequisites: tuple[str, ...]
    exercise: str | None
    lesson_id: str


@dataclass(frozen=True)
class SkillMap:
    course: str
    skills: Mapping[str, Skill]  # in declaration order
    prerequisites: Mapping[str, frozenset[str]]  # skill -> the skills it builds on
    levels: Mapping[int, tuple[str, ...]]  # level -> the skills it adds (not cumulative)
    lessons: tuple[Material, ...]  # course order: lowest level first, then file order
    exercises: tuple[Material, ...]
    mastery_threshold: float = DEFAULT_THRESHOLD
    warnings: tuple[str, ...] = ()
    _topo: tuple[str, ...] = field(default=(), repr=False, compare=False)

    # --- building -------------------------------------------------------------------
    @classmethod
    def from_course_dir(cls, root: Path | str, *, course: str | None = None) -> SkillMap:
        """Read ``course.yaml`` and the front matter of the folder's Markdown/notebooks."""
        root = Path(root)
        manifest = root / "course.yaml"
        config_text = manifest.read_text(encoding="utf-8") if manifest.is_file() else None
        config = _parse_config(config_text, where=str(manifest))
        course = course or _course_id(config) or root.resolve().name
        files, _skipped = iter_course_files(root)
        docs = []
        for path in files:
            if path.suffix.lower() not in _FRONT_MATTER_SUFFIXES:
                continue
            try:
                docs.append(
                    load_document(path, course_root=root, course=course, max_bytes=_MAX_BYTES)
                )
            except LoadError:
                continue  # ingest reports unreadable files; they teach nothing here
        return cls._build(course, config, [_DocView.of_meta(d.meta) for d in docs])

    @classmethod
    def from_documents(
        cls, documents: Iterable[DocumentLike], *, course: str, course_yaml: str | None = None
    ) -> SkillMap:
        """From the knowledge base's document records plus the text of ``course.yaml``."""
        config = _parse_config(course_yaml, where="course.yaml")
        return cls._build(course, config, [_DocView.of_record(d) for d in documents])

    @classmethod
    def _build(cls, course: str, config: dict[str, Any], docs: list[_DocView]) -> SkillMap:
        problems: list[str] = []
        warnings: list[str] = []
        declared = _declared_skills(config, problems)
        lessons = _materials(docs, "lesson")
        exercises = _materials(docs, "exercise")

        # Skills: declared, else named by the material.
        if declared:
            skills = dict(declared)
        else:
            skills = {}
            for m in (*lessons, *exercises):
                for s in (*m.skills, *m.prerequisites):
                    skills.setdefault(s, Skill(id=s, name=_title(s), name_ko=_title(s)))
        known = set(skills)
        for m in (*lessons, *exercises):
            for s in m.skills:
                if s not in known:
                    problems.append(f"unknown skill {s!r} in {m.kind} {m.id!r}")
            for s in m.prerequisites:
                if s not in known:
                    problems.append(f"unknown prerequisite {s!r} in {m.kind} {m.id!r}")

        # Levels of skills: declared, else the lowest level of what teaches/tests them.
        for sid, skill in list(skills.items()):
            if skill.level is None:
                level = _lowest_level(sid, lessons) or _lowest_level(sid, exercises)
                skills[sid] = Skill(sid, skill.name, skill.name_ko, level)

        # Prerequisite edges, and where each comes from (for cycle messages).
        edges: dict[str, set[str]] = {s: set() for s in skills}
        origin: dict[tuple[str, str], str] = {}
        for key, raw in (config.get("skills") or {}).items() if declared else ():
            sid = str(key).strip().lower()
            for pre in _names(raw.get("prerequisites") if isinstance(raw, dict) else None):
                if pre not in known:
                    problems.append(f"unknown prerequisite {pre!r} of skill {sid!r} in course.yaml")
                elif pre != sid:
                    edges[sid].add(pre)
                    origin.setdefault((sid, pre), "course.yaml")
        for lesson in lessons:
            for sid in lesson.skills:
                for pre in lesson.prerequisites:
                    if sid in known and pre in known and pre != sid:
                        edges[sid].add(pre)
                        origin.setdefault((sid, pre), f"lesson {lesson.id}")

        levels = _levels(config, skills, problems, warnings)
        threshold = _threshold(config, problems)

        for sid, pres in edges.items():
            for pre in sorted(pres):
                lv, lp = skills[sid].level, skills[pre].level
                if lv is not None and lp is not None and lp > lv:
                    warnings.append(
                        f"skill {sid!r} (level {lv}) builds on {pre!r} of a higher level ({lp})"
                    )

        cycle = _find_cycle(edges)
        if cycle:
            steps = [f"{a} -> {b} ({origin.get((a, b), '?')})" for a, b in _pairs(cycle)]
            problems.append(
                "prerequisite cycle (each skill builds on the next): "
                + " -> ".join(cycle)
                + " ["
                + "; ".join(steps)
                + "]"
            )
        if problems:
            raise SkillMapError(course, problems)

        order = {sid: i for i, sid in enumerate(skills)}
        skill_map = cls(
            course=course,
            skills=skills,
            prerequisites={s: frozenset(p) for s, p in edges.items()},
            levels=levels,
            lessons=_course_order(lessons),
            exercises=_course_order(exercises),
            mastery_threshold=threshold,
            warnings=tuple(warnings),
            _topo=_topological(edges, key=lambda s: (skills[s].level or 99, order[s])),
        )
        return skill_map

    # --- queries ------------------------------------------------------------------------
    def topological_order(self) -> list[str]:
        """Every skill after its prerequisites (ties: lower level first, then declaration)."""
        return list(self._topo)

    def level_numbers(self) -> list[int]:
        return sorted(self.levels)

    def required_for(self, level: int) -> tuple[str, ...]:
        """Every skill reaching ``level`` needs: its own and all lower levels' (cumulative)."""
        out: list[str] = []
        for n in self.level_numbers():
            if n <= level:
                out.extend(self.levels[n])
        return tuple(out)

    def lessons_for(self, skill: str) -> tuple[Material, ...]:
        return tuple(m for m in self.lessons if skill in m.skills)

    def exercises_for(self, skill: str) -> tuple[Material, ...]:
        return tuple(m for m in self.exercises if skill in m.skills)

    def lesson(self, lesson_id: str) -> Material | None:
        return next((m for m in self.lessons if m.id == lesson_id), None)

    def exercise(self, exercise_id: str) -> Material | None:
        return next((m for m in self.exercises if m.id == exercise_id), None)

    def name(self, skill: str, lang: str = "en") -> str:
        found = self.skills.get(skill)
        return found.display(lang) if found else skill

    def item_skills(self, item: Any) -> tuple[str, ...]:
        """The skills an item tests: its own, else those of its lesson."""
        skills = tuple(getattr(item, "skills", ()) or ())
        if skills:
            return skills
        lesson = self.lesson(getattr(item, "lesson_id", None) or "")
        return lesson.skills if lesson else ()

    def item_level(self, item: Any) -> int:
        """An item's difficulty: its lesson's level, else the highest level of its skills."""
        lesson = self.lesson(getattr(item, "lesson_id", None) or "")
        if lesson is not None and lesson.level is not None:
            return lesson.level
        levels = [self.skills[s].level for s in self.item_skills(item) if s in self.skills]
        levels = [lv for lv in levels if lv is not None]
        return max(levels) if levels else min(self.levels, default=1)

    def check_items(self, items: Iterable[Any]) -> None:
        """Raise :class:`SkillMapError` when a quiz item names no skill or an unknown one."""
        problems: list[str] = []
        for item in items:
            skills = self.item_skills(item)
            if not skills:
                problems.append(
                    f"quiz item {item.id!r} has no skills and no known lesson_id "
                    f"({getattr(item, 'lesson_id', None)!r})"
                )
            for s in skills:
                if s not in self.skills:
                    problems.append(f"unknown skill {s!r} in quiz item {item.id!r}")
        if problems:
            raise SkillMapError(self.course, problems)


# ------------------------------------------------------------------------------ quiz


def read_quiz(path: Path | str) -> list[QuizItem]:
    """Parse ``quiz.jsonl``; a bad line raises :class:`InvalidContentError` naming it."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidContentError(f"cannot read {path}: {exc}") from exc
    items: list[QuizItem] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            item_id = str(raw.get("id") or "").strip()
            if not item_id:
                raise ValueError("no id")
            if item_id in seen:
                raise ValueError(f"duplicate id {item_id!r}")
            question = raw.get("question")
            if not isinstance(question, str) or not question.strip():
                raise ValueError("empty question")
            options = tuple(str(o) for o in raw.get("options") or ())
            answer = raw.get("answer_index")
            valid = isinstance(answer, int) and not isinstance(answer, bool)
            if answer is not None and not (valid and 0 <= answer < len(options)):
                raise ValueError(f"answer_index {answer!r} out of range")
            skills = raw.get("skills") or []
            skills = [skills] if isinstance(skills, str) else skills
            if not isinstance(skills, list):
                raise ValueError("skills must be a list of names")
        except (ValueError, TypeError) as exc:
            raise InvalidContentError(f"{path.name}:{n}: {exc}") from exc
        except RecursionError:
            raise InvalidContentError(f"{path.name}:{n}: JSON nested too deeply") from None
        seen.add(item_id)
        items.append(
            QuizItem(
                id=item_id,
                question=question.strip(),
                options=options,
                answer_index=answer,
                skills=tuple(str(s).strip().lower() for s in skills if str(s).strip()),
                lesson_id=(str(raw["lesson_id"]) if raw.get("lesson_id") else None),
                lang=str(raw.get("lang") or "en"),
                explanation=str(raw.get("explanation") or ""),
            )
        )
    return items


def load_course(root: Path | str) -> tuple[SkillMap, list[QuizItem]]:
    """The skill map and the quiz items of a course folder, checked against each other."""
    root = Path(root)
    skill_map = SkillMap.from_course_dir(root)
    quiz = root / "quiz.jsonl"
    items = read_quiz(quiz) if quiz.is_file() else []
    skill_map.check_items(items)
    return skill_map, items


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _DocView:
    kind: str
    id: str
    title: str
    lang: str
    level: int | None
    skills: tuple[str, ...]
    prerequisites: tuple[str, ...]

    @classmethod
    def of_meta(cls, meta: Any) -> _DocView:
        return cls._make(meta.kind, meta.exercise, meta.lesson_id, meta)

    @classmethod
    def of_record(cls, record: DocumentLike) -> _DocView:
        return cls._make(record.kind, record.exercise, record.lesson_id, record)

    @classmethod
    def _make(cls, kind: str, exercise: str | None, lesson_id: str, src: Any) -> _DocView:
        return cls(
            kind=kind,
            id=(exercise or lesson_id) if kind == "exercise" else lesson_id,
            title=src.title,
            lang=src.lang,
            level=src.level,
            skills=tuple(src.skills),
            prerequisites=tuple(src.prerequisites),
        )


def _materials(docs: list[_DocView], kind: str) -> list[Material]:
    """One material per id, merging languages (titles per language, union of skills)."""
    merged: dict[str, dict[str, Any]] = {}
    for d in docs:
        if d.kind != kind or not d.id or not (d.skills or d.prerequisites):
            continue
        m = merged.setdefault(
            d.id,
            {"titles": {}, "levels": [], "skills": [], "prerequisites": [], "n": len(merged)},
        )
        m["titles"].setdefault(d.lang, d.title)
        if d.level is not None:
            m["levels"].append(d.level)
        for key in ("skills", "prerequisites"):
            m[key].extend(s for s in getattr(d, key) if s not in m[key])
    out = []
    for mid, m in merged.items():
        titles = m["titles"]
        title = titles.get("en") or next(iter(titles.values()))
        out.append(
            Material(
                id=mid,
                kind=kind,
                title=title,
                title_ko=titles.get("ko", title),
                level=min(m["levels"]) if m["levels"] else None,
                skills=tuple(m["skills"]),
                prerequisites=tuple(p for p in m["prerequisites"] if p not in m["skills"]),
            )
        )
    return out


def _course_order(materials: list[Material]) -> tuple[Material, ...]:
    return tuple(sorted(materials, key=lambda m: (m.level or 99, m.id)))


def _parse_config(text: str | None, *, where: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise InvalidContentError(f"{where}: invalid YAML: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidContentError(f"{where}: expected 'key: value' lines")
    return data


def _course_id(config: dict[str, Any]) -> str | None:
    value = config.get("id")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _declared_skills(config: dict[str, Any], problems: list[str]) -> dict[str, Skill]:
    raw = config.get("skills")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("course.yaml: skills must map skill ids to {name, name_ko, level}")
        return {}
    out: dict[str, Skill] = {}
    for key, value in raw.items():
        sid = str(key).strip().lower()
        value = value if isinstance(value, dict) else {}
        level = value.get("level")
        if level is not None and (
            isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9
        ):
            problems.append(f"course.yaml: skill {sid!r} has an invalid level {level!r}")
            level = None
        name = str(value.get("name") or _title(sid))
        out[sid] = Skill(id=sid, name=name, name_ko=str(value.get("name_ko") or name), level=level)
    return out


def _levels(
    config: dict[str, Any], skills: dict[str, Skill], problems: list[str], warnings: list[str]
) -> dict[int, tuple[str, ...]]:
    raw = config.get("levels")
    if raw is None:
        derived: dict[int, list[str]] = {}
        for sid, skill in skills.items():
            if skill.level is None:
                warnings.append(f"skill {sid!r} has no level: no level requires it")
            else:
                derived.setdefault(skill.level, []).append(sid)
        return {lv: tuple(derived[lv]) for lv in sorted(derived)}
    if not isinstance(raw, dict):
        problems.append("course.yaml: levels must map a level (1, 2, ...) to a list of skills")
        return {}
    out: dict[int, tuple[str, ...]] = {}
    listed: dict[str, int] = {}
    for key, value in raw.items():
        try:
            level = int(str(key).strip().lower().removeprefix("lv"))
        except ValueError:
            problems.append(f"course.yaml: level {key!r} is not a number")
            continue
        names = _names(value)
        for sid in names:
            if sid not in skills:
                problems.append(f"unknown skill {sid!r} in course.yaml level {level}")
            elif sid in listed and listed[sid] != level:
                problems.append(f"skill {sid!r} is listed in levels {listed[sid]} and {level}")
            else:
                listed[sid] = level
        out[level] = tuple(s for s in names if s in skills)
    for sid in skills:
        if sid not in listed:
            warnings.append(f"skill {sid!r} is in no level of course.yaml")
    return {lv: out[lv] for lv in sorted(out)}


def _threshold(config: dict[str, Any], problems: list[str]) -> float:
    value = config.get("mastery_threshold", DEFAULT_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 <= value < 1.0:
        problems.append(f"course.yaml: mastery_threshold must lie in [0.5, 1), got {value!r}")
        return DEFAULT_THRESHOLD
    return float(value)


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return [str(items).strip().lower()]
    return [str(v).strip().lower() for v in items if str(v).strip()]


def _lowest_level(skill: str, materials: list[Material]) -> int | None:
    levels = [m.level for m in materials if skill in m.skills and m.level is not None]
    return min(levels) if levels else None


def _title(skill_id: str) -> str:
    return skill_id.replace("_", " ").replace("-", " ").capitalize()


def _pairs(seq: list[str]) -> list[tuple[str, str]]:
    return list(zip(seq, seq[1:], strict=False))


def _find_cycle(edges: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]`` (a builds on b, ...), or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = grey
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if color.get(nxt, black) == grey:
                return [*stack[stack.index(nxt) :], nxt]
            if color.get(nxt) == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        color[node] = black
        return None

    for start in edges:
        if color[start] == white:
            found = visit(start)
            if found:
                return found
    return None


def _topological(edges: Mapping[str, set[str]], *, key) -> tuple[str, ...]:
    """Kahn's algorithm; among the skills ready at once, the smallest ``key`` first."""
    import heapq

    remaining = {s: len(p) for s, p in edges.items()}
    dependents: dict[str, list[str]] = {s: [] for s in edges}
    for s, pres in edges.items():
        for p in pres:
            dependents[p].append(s)
    heap = [(key(s), s) for s, n in remaining.items() if n == 0]
    heapq.heapify(heap)
    out: list[str] = []
    while heap:
        _, s = heapq.heappop(heap)
        out.append(s)
        for d in dependents[s]:
            remaining[d] -= 1
            if remaining[d] == 0:
                heapq.heappush(heap, (key(d), d))
    return tuple(out)

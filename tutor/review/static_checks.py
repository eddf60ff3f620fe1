"""Static review of submitted Python files: syntax errors, ruff, bandit and radon, turned into
``Finding``s adapted to the trainee's level (Lv1..Lv4).

What runs, per review:

- **Syntax** (``compile``, in process): a file that does not compile gets one ``E999`` finding
  at the line Python names, explained in plain words for the common cases (missing colon,
  unclosed bracket or string, indentation, ``=`` for ``==``, ``print x``, full-width
  characters typed with a Korean keyboard...). Such a file is not given to the other tools
  (they need a parse tree); a note says so.
- **ruff** (one subprocess for all files of the review, on copies in a temporary folder):
  ``ruff check --isolated`` with the rule set of the level (``rule_set``). Explanations come
  from ruff's own rule docs (``ruff rule --all --output-format json``, read once per process).
- **bandit** (in process, ``BanditManager`` on the same copies; its command line costs ~0.35 s
  to start): security issues, the low-severity ones only from Lv3/Lv4. B101 is skipped.
- **radon** (in process): cyclomatic complexity of every function, always reported in
  ``StaticReview.complexity``; a finding only above the level's limit.

Then noise control: the same rule on several lines of a file folds into one finding (the first
line, ``folded`` = how many more, the other lines listed in the explanation); two tools
reporting the same issue on one line fold; findings sort by severity, category, line; each
level shows at most ``CAPS[level]`` and keeps the rest in ``hidden``.

Korean explanations, titles and course concepts of the rules a trainee is likely to hit are
curated in ``rule_notes.yaml`` (package data); a rule without a Korean note is explained in
English, marked as such.

Bad code never raises: syntax errors become findings, tool failures become notes (and a log
line). Only programmer errors raise (a level outside 1..4).
"""

from __future__ import annotations

import functools
import json
import keyword
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml

from tutor.errors import InvalidInputError
from tutor.review.types import Category, Finding, Severity, SourceFile

logger = logging.getLogger(__name__)

Lang = Literal["en", "ko"]

LEVELS = (1, 2, 3, 4)
# Findings shown per level; the rest go to ``StaticReview.hidden`` ("N more").
CAPS: dict[int, int] = {1: 5, 2: 8, 3: 12, 4: 20}
# A function whose cyclomatic complexity is above the level's limit gets a finding. radon
# grades 1-5 A, 6-10 B, 11-20 C, 21-30 D: Lv1 hears only of the extreme (D and worse), Lv3 of
# ruff's/McCabe's usual limit (over 10), Lv4 is strict (over 7).
COMPLEXITY_LIMITS: dict[int, int] = {1: 20, 2: 15, 3: 10, 4: 7}
# Defensive cap on the text analysed per review (the submission validator caps at 512 KB).
MAX_TOTAL_CHARS = 1024 * 1024
TOOL_TIMEOUT_S = 30.0
_LINES_LISTED = 6  # other lines named in a folded finding's explanation

# --- rule sets -------------------------------------------------------------------------------
# Lv1: what will fail or is almost surely a bug. Pyflakes' errors (format strings, duplicate
# dict keys, `is` with a literal, undefined names, unused variables...), E9, pylint's errors,
# and the bugbear / pylint checks for likely bugs (mutable default, `++x`, a comparison or
# expression whose result is thrown away, `except A or B`, `x = x`...).
_LV1 = (
    "E9", "F5", "F6", "F7", "F811", "F821", "F822", "F823", "F841", "F901", "PLE",
    "B002", "B006", "B008", "B012", "B015", "B016", "B018", "B020", "B025", "B029", "B030",
    "B032", "B033", "B035",
    "PLW0127", "PLW0129", "PLW0133", "PLW0177", "PLW0245", "PLW0711", "PLW1501",
    "PLR0124", "PLR0133", "RUF016",
)  # fmt: skip
# Lv2 adds common mistakes that do not crash but bite: unused imports, `== None`,
# `type(x) == int`, bare `except:`, invalid escapes in regexes, shadowing built-ins
# (`list = ...`, `sum = 0`), an unused loop variable, closures over a loop variable, a
# loop `else` without `break`, `open()` without `with`.
_LV2 = (
    "F401", "F402", "E711", "E712", "E713", "E714", "E721", "E722", "W605", "A001", "A002",
    "B005", "B007", "B011", "B014", "B017", "B023", "B031", "B034",
    "PLW0120", "PLW0128", "PLW0602", "PLW0642", "PLW2901", "PLR1704",
    "PIE794", "SIM115", "RUF018", "RUF024",
)  # fmt: skip
# Lv3 adds simplifications and idioms: all of bugbear, flake8-simplify, comprehensions,
# returns, performance anti-patterns, misc. idioms, refurb, and a few pylint refactorings.
_LV3 = (
    "B", "SIM", "C4", "RET", "PERF", "PIE", "FURB", "E731", "F541",
    "PLR1714", "PLR1722", "PLR5501", "PLR1711", "PLR1730", "PLR1733", "PLR1736",
    "PLC1802", "PLC0208", "PLW0108", "PLW3301", "RUF010", "RUF015", "RUF017", "RUF019",
    "RUF034",
)  # fmt: skip
# Lv4 adds style (pycodestyle E/W, pep8-naming), modern syntax (pyupgrade), the rest of
# pyflakes, builtins shadowing, pylint and ruff's own rules. Complexity comes from radon (the
# same McCabe measure as ruff's C901, with numbers per function), so C901 is not selected.
_LV4 = ("F", "E", "W", "N", "UP", "A", "PLC", "PLW", "PLR", "RUF")
_RULE_SETS: dict[int, tuple[str, ...]] = {
    1: _LV1,
    2: _LV1 + _LV2,
    3: _LV1 + _LV2 + _LV3,
    4: _LV1 + _LV2 + _LV3 + _LV4,
}
# Never shown, at any level: opinions rather than lessons (zip strict=, contextlib.suppress,
# ternaries, "else after return", try in a loop, magic numbers, "too many" counts that radon
# covers), noise for Korean trainees (non-ASCII names, full-width characters in strings and
# comments), `[x] + rest` written as `[x, *rest]`, and file-name rules (trainees do not choose
# the file name).
IGNORED: tuple[str, ...] = (
    "B905", "B911", "SIM105", "SIM108", "RET505", "RET506", "RET507", "RET508", "PERF203",
    "PLR09", "PLR2004", "PLC0415", "PLC2401", "PLC2403", "RUF001", "RUF002", "RUF003",
    "RUF005", "RUF100", "N999", "A005",
)  # fmt: skip

# Category and severity of a ruff rule: the longest matching prefix wins. "error": it will
# fail when run; "warning": a likely bug or a common mistake; "info": idiom and style.
_RUFF_CLASSES: dict[str, tuple[Category, Severity]] = {
    "E": ("style", "info"),
    "E7": ("style", "info"),
    "E711": ("idiom", "warning"),
    "E712": ("idiom", "warning"),
    "E713": ("idiom", "warning"),
    "E714": ("idiom", "warning"),
    "E721": ("idiom", "warning"),
    "E722": ("bug", "warning"),
    "E731": ("idiom", "info"),
    "E9": ("bug", "error"),
    "W": ("style", "info"),
    "W605": ("bug", "warning"),
    "F": ("bug", "warning"),
    "F4": ("idiom", "info"),
    "F5": ("bug", "error"),
    "F541": ("idiom", "info"),
    "F7": ("bug", "error"),
    "F821": ("bug", "error"),
    "F822": ("bug", "error"),
    "F823": ("bug", "error"),
    "B": ("bug", "warning"),
    "B009": ("idiom", "info"),
    "B010": ("idiom", "info"),
    "B013": ("idiom", "info"),
    "B019": ("idiom", "info"),
    "B028": ("idiom", "info"),
    "B904": ("idiom", "info"),
    "A": ("bug", "warning"),
    "PLE": ("bug", "error"),
    "PLW": ("bug", "warning"),
    "PLW0108": ("idiom", "info"),
    "PLW0603": ("idiom", "info"),
    "PLW1510": ("idiom", "info"),
    "PLW3301": ("idiom", "info"),
    "PLR": ("idiom", "info"),
    "PLR0124": ("bug", "warning"),
    "PLR0133": ("bug", "warning"),
    "PLR1704": ("bug", "warning"),
    "PLC": ("style", "info"),
    "PLC0208": ("idiom", "info"),
    "PLC1802": ("idiom", "info"),
    "N": ("style", "info"),
    "UP": ("idiom", "info"),
    "SIM": ("idiom", "info"),
    "SIM115": ("bug", "warning"),
    "C4": ("idiom", "info"),
    "RET": ("idiom", "info"),
    "PERF": ("idiom", "info"),
    "PIE": ("idiom", "info"),
    "PIE794": ("bug", "warning"),
    "FURB": ("idiom", "info"),
    "RUF": ("idiom", "info"),
    "RUF016": ("bug", "error"),
    "RUF018": ("bug", "warning"),
    "RUF024": ("bug", "warning"),
}
_SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
_CATEGORY_ORDER: dict[str, int] = {
    "syntax": 0,
    "bug": 1,
    "security": 2,
    "complexity": 3,
    "idiom": 4,
    "style": 5,
}
_BANDIT_RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
_BANDIT_SEVERITY: dict[str, Severity] = {"HIGH": "error", "MEDIUM": "warning", "LOW": "info"}
_DOWNGRADE: dict[Severity, Severity] = {"error": "warning", "warning": "info", "info": "info"}

# Findings of different tools that are the same issue when on the same line (folded).
_SAME_ISSUE: dict[tuple[str, str], str] = {
    ("ruff", "E722"): "bare-except",
    ("bandit", "B110"): "bare-except",
    ("bandit", "B112"): "bare-except",
    ("ruff", "C901"): "complexity",
    ("radon", "C901"): "complexity",
}

# Python's syntax error messages -> a case of rule_notes.yaml ``syntax`` (first match wins).
_SYNTAX_CASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("print_statement", re.compile(r"Missing parentheses in call to 'print'")),
    ("assign_in_condition", re.compile(r"Maybe you meant '==' or ':=' instead of '='")),
    ("cannot_assign", re.compile(r"cannot (assign to|delete)")),
    ("missing_comma", re.compile(r"forgot a comma")),
    ("dict_colon", re.compile(r"':' expected after dictionary key")),
    ("missing_colon", re.compile(r"expected ':'")),
    ("unclosed_bracket", re.compile(r"'(?P<char>[(\[{])' was never closed")),
    ("unmatched_bracket", re.compile(r"unmatched '(?P<char>[)\]}])'")),
    ("unmatched_bracket", re.compile(r"closing parenthesis '(?P<char>[)\]}])' does not match")),
    (
        "unterminated_string",
        re.compile(r"unterminated (triple-quoted )?string|EOL while scanning|EOF while scanning"),
    ),
    ("tabs_spaces", re.compile(r"inconsistent use of tabs and spaces")),
    ("unexpected_indent", re.compile(r"unexpected indent")),
    ("expected_indent", re.compile(r"expected an indented block")),
    ("unindent_mismatch", re.compile(r"unindent does not match|unexpected unindent")),
    ("invalid_character", re.compile(r"invalid (non-printable )?character")),
    ("leading_zero", re.compile(r"leading zeros in decimal integer")),
    ("invalid_number", re.compile(r"invalid (decimal|hexadecimal|octal|binary|digit)")),
    (
        "outside_function",
        re.compile(r"'(?P<keyword>return|yield|yield from|await)' outside (async )?function"),
    ),
    ("outside_loop", re.compile(r"'(?P<keyword>break|continue)' (outside|not properly in) loop")),
    ("missing_except", re.compile(r"expected 'except' or 'finally' block")),
    ("line_continuation", re.compile(r"unexpected character after line continuation")),
    ("fstring", re.compile(r"^f-string")),
    ("null_bytes", re.compile(r"null bytes")),
    ("too_nested", re.compile(r"too many (statically )?nested|too complex|nested too deeply")),
    ("unexpected_eof", re.compile(r"unexpected EOF")),
)
_ELSE_IF = re.compile(r"^\s*else\s+if\b")
_KEYWORD_ASSIGN = re.compile(r"^\s*(?P<keyword>[A-Za-z_]+)\s*(=(?!=)|\+=|-=)")
_INVALID_CHAR = re.compile(r"character (?P<char>'.+?' \(U\+[0-9A-F]+\)|U\+[0-9A-F]+)")
_ON_LINE = re.compile(r"on line (?P<header>\d+)")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_NOT_UTF8 = "text is not valid UTF-8"


@dataclass(frozen=True)
class StaticReview:
    """The static part of a review.

    ``findings`` are shown, most important first, at most ``CAPS[level]``; ``hidden`` are the
    real findings beyond the cap ("N more"). ``syntax_ok`` is False when a file did not
    compile. ``complexity`` maps ``"file:function"`` (methods ``"file:Class.method"``) to
    radon's cyclomatic complexity. ``notes`` say, in the review's language, what was not
    checked and why (a file with a syntax error, a tool that failed, a file over the size cap).
    In every finding, ``column`` is 1-based (as editors show it; 0 when unknown) and
    ``folded`` counts the duplicates merged into it (its other lines are named in its
    explanation).
    """

    findings: tuple[Finding, ...]
    hidden: tuple[Finding, ...]
    syntax_ok: bool
    complexity: dict[str, int]
    duration_ms: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [f.to_dict() for f in self.findings]
        data["hidden"] = [f.to_dict() for f in self.hidden]
        data["notes"] = list(self.notes)
        return data


def warm_up() -> None:
    """Pay the once-per-process costs now (importing bandit and radon, reading ruff's rule
    docs: ~0.3 s), e.g. at server start, instead of in the first trainee's review."""
    review_static([SourceFile("warm_up.py", "def f(x=[]):\n    return x\n")], level=1)


def rule_set(level: int) -> tuple[str, ...]:
    """The ruff selectors (rule codes and prefixes) a trainee of ``level`` sees; ``IGNORED``
    rules are left out at every level."""
    return _RULE_SETS[_check_level(level)]


def review_static(files: Sequence[SourceFile], *, level: int, lang: str = "en") -> StaticReview:
    """Review ``files`` without running them: syntax, ruff, bandit, radon.

    Every file is treated as Python whatever its name. Never raises for bad code (syntax
    errors, binary text, huge files); raises ``InvalidInputError`` for a level outside 1..4.
    """
    start = time.perf_counter()
    level = _check_level(level)
    language = _language(lang)
    notes: list[str] = []
    found: list[Finding] = []
    valid: list[tuple[int, SourceFile, str]] = []  # (position, file, text without BOM)
    syntax_ok = True
    budget = MAX_TOTAL_CHARS
    for position, source in enumerate(files):
        if len(source.text) > budget:
            notes.append(
                _message(
                    "too_large", language, file=source.name, limit=str(MAX_TOTAL_CHARS // 1024)
                )
            )
            continue
        budget -= len(source.text)
        text = source.text.removeprefix("\ufeff")
        error = _syntax_finding(source.name, text, language)
        if error is not None:
            syntax_ok = False
            found.append(error)
            notes.append(_message("skipped_for_syntax", language, file=source.name))
        else:
            valid.append((position, source, text))

    complexity: dict[str, int] = {}
    if valid:
        try:
            found.extend(_run_tools(valid, level=level, lang=language, notes=notes, cc=complexity))
        except OSError as exc:  # the temporary folder could not be written (disk full...)
            logger.warning("static review tools could not run: %r", exc)
            every = ", ".join(source.name for _, source, _ in valid)
            notes.append(_message("tool_failed", language, tool="ruff/bandit/radon", file=every,
                                  error=repr(exc)))  # fmt: skip

    order = {source.name: position for position, source in enumerate(files)}
    ranked = sorted(
        _fold_same_rule(_fold_same_line(found), language),
        key=lambda f: (
            _SEVERITY_ORDER[f.severity],
            _CATEGORY_ORDER[f.category],
            f.line,
            order.get(f.file, 0),
            f.code,
        ),
    )
    cap = CAPS[level]
    return StaticReview(
        findings=tuple(ranked[:cap]),
        hidden=tuple(ranked[cap:]),
        syntax_ok=syntax_ok,
        complexity=complexity,
        duration_ms=round((time.perf_counter() - start) * 1000, 2),
        notes=tuple(notes),
    )


def _check_level(level: int) -> int:
    if isinstance(level, bool) or level not in LEVELS:
        raise InvalidInputError(f"level must be one of {LEVELS}, got {level!r}")
    return level


def _language(lang: str) -> Lang:
    return "ko" if str(lang).lower().startswith("ko") else "en"


# --- running the tools -------------------------------------------------------------------------
def _run_tools(
    valid: list[tuple[int, SourceFile, str]],
    *,
    level: int,
    lang: Lang,
    notes: list[str],
    cc: dict[str, int],
) -> list[Finding]:
    """ruff in a subprocess while bandit and radon run here, on copies in a temporary folder."""
    found: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="kdt-review-") as tmp:
        paths: dict[str, str] = {}  # copy's resolved path -> the submitted name
        for position, source, text in valid:
            folder = Path(tmp) / str(position)
            folder.mkdir()
            copy = folder / _safe_name(source.name)
            with copy.open("w", encoding="utf-8", errors="replace", newline="") as out:
                out.write(text)
            paths[str(copy.resolve())] = source.name
        ruff = _start_ruff(list(paths), cwd=tmp, level=level, lang=lang, notes=notes)
        try:
            found.extend(_bandit_findings(paths, level=level, lang=lang, notes=notes))
            for _, source, text in valid:
                found.extend(
                    _radon_findings(source.name, text, level=level, lang=lang, cc=cc, notes=notes)
                )
        finally:
            found.extend(_finish_ruff(ruff, paths, lang=lang, notes=notes))
    return found


def _safe_name(name: str) -> str:
    """A file name for the copy that keeps the submitted base name when it is a plain one."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = re.sub(r"[^\w.-]", "_", base)[:100].lstrip(".") or "module"
    return base if base.endswith(".py") else base + ".py"


def _tool_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


@functools.lru_cache(maxsize=1)
def _ruff_binary() -> str | None:
    """ruff next to this Python (the venv's), else the ruff package's, else on PATH."""
    beside = Path(sys.executable).with_name("ruff")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    try:
        from ruff.__main__ import find_ruff_bin

        return os.fsdecode(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def _ruff_command(ruff: str, level: int, paths: list[str]) -> list[str]:
    minor = min(sys.version_info.minor, 13)
    return [
        ruff, "check", "--isolated", "--no-cache", "--exit-zero", "--output-format", "json",
        # a trainee's noqa comments should not hide the lesson
        "--ignore-noqa",
        f"--target-version=py3{minor}",
        "--select", ",".join(rule_set(level)),
        "--ignore", ",".join(IGNORED),
        *paths,
    ]  # fmt: skip


@dataclass
class _RuffRun:
    process: subprocess.Popen[str] | None
    started: float


def _start_ruff(
    paths: list[str], *, cwd: str, level: int, lang: Lang, notes: list[str]
) -> _RuffRun:
    ruff = _ruff_binary()
    if ruff is None:
        notes.append(_message("tool_missing", lang, tool="ruff"))
        return _RuffRun(None, time.perf_counter())
    try:
        process = subprocess.Popen(
            _ruff_command(ruff, level, paths),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            cwd=cwd,
            env=_tool_env(),
        )
    except OSError as exc:
        logger.warning("ruff could not start: %s", exc)
        notes.append(_message("tool_failed", lang, tool="ruff", file="-", error=str(exc)))
        return _RuffRun(None, time.perf_counter())
    return _RuffRun(process, time.perf_counter())


def _finish_ruff(
    run: _RuffRun, paths: dict[str, str], *, lang: Lang, notes: list[str]
) -> list[Finding]:
    if run.process is None:
        return []
    every = ", ".join(sorted(set(paths.values())))
    left = max(1.0, TOOL_TIMEOUT_S - (time.perf_counter() - run.started))
    try:
        stdout, stderr = run.process.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.communicate()
        logger.warning("ruff timed out after %.0f s", TOOL_TIMEOUT_S)
        notes.append(_message("tool_failed", lang, tool="ruff", file=every, error="timeout"))
        return []
    try:
        items = json.loads(stdout)
        if not isinstance(items, list):
            raise ValueError("not a list")
    except ValueError:
        logger.warning("ruff failed (exit %s): %s", run.process.returncode, stderr[-500:])
        error = (stderr.strip().splitlines() or [f"exit {run.process.returncode}"])[-1][:200]
        notes.append(_message("tool_failed", lang, tool="ruff", file=every, error=error))
        return []
    found = []
    for item in items:
        finding = _ruff_finding(item, paths, lang)
        if finding is not None:
            found.append(finding)
    return found


def _ruff_finding(item: dict[str, Any], paths: dict[str, str], lang: Lang) -> Finding | None:
    code = item.get("code")
    filename = str(Path(str(item.get("filename", ""))).resolve())
    name = paths.get(filename)
    if not code or name is None:
        # ruff's own syntax errors (a file Python compiled but ruff's parser refuses) or a
        # path we did not write: nothing a trainee can act on beyond the E999 we produce.
        logger.info("ruff item skipped: %s", str(item)[:300])
        return None
    location = item.get("location") or {}
    end = item.get("end_location") or location
    line = max(1, int(location.get("row") or 1))
    category, severity = _ruff_class(code)
    message = _plain_markdown(str(item.get("message") or ""))
    rule = _ruff_catalog_entry(code)
    rule_name = str(item.get("name") or rule.get("name") or code)
    note = _note("ruff", code)
    title = _title(note, lang, default=_readable(rule_name))
    doc = _ruff_doc(code)
    english = _sentence(message) + (" " + doc if doc else "")
    if lang == "ko" and note.get("ko"):
        explanation = f"{note['ko']} [{_message('tool_message', lang)}{message}]"
    else:
        explanation = _english_marked(english, lang)
    return Finding(
        tool="ruff",
        code=code,
        file=name,
        line=line,
        end_line=max(line, int(end.get("row") or line)),
        severity=severity,
        category=category,
        title=title,
        explanation=explanation,
        concept=_concept(note, lang, default=_readable(rule_name).lower()),
        column=int(location.get("column") or 0),
    )


def _ruff_class(code: str) -> tuple[Category, Severity]:
    for size in range(len(code), 0, -1):
        found = _RUFF_CLASSES.get(code[:size])
        if found is not None:
            return found
    return ("idiom", "info")


@functools.lru_cache(maxsize=1)
def _ruff_catalog() -> dict[str, dict[str, str]]:
    """Every ruff rule's name and Markdown doc, from ``ruff rule --all`` (~50 ms, once per
    process). Raises on failure, so that a later call tries again (lru_cache keeps results,
    not exceptions)."""
    ruff = _ruff_binary()
    if ruff is None:
        raise FileNotFoundError("ruff")
    proc = subprocess.run(
        [ruff, "rule", "--all", "--output-format", "json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TOOL_TIMEOUT_S,
        env=_tool_env(),
        check=True,
    )
    return {
        str(rule["code"]): {
            "name": str(rule.get("name") or ""),
            "explanation": str(rule.get("explanation") or ""),
        }
        for rule in json.loads(proc.stdout)
        if rule.get("code")
    }


def _ruff_catalog_entry(code: str) -> dict[str, str]:
    try:
        return _ruff_catalog().get(code, {})
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        logger.warning("ruff rule docs unavailable: %s", exc)
        return {}


@functools.lru_cache(maxsize=1024)
def _ruff_doc(code: str) -> str:
    """The first paragraph(s) of the rule's "Why is this bad?" (else "What it does"), plain."""
    doc = _ruff_catalog_entry(code).get("explanation", "")
    sections: dict[str, str] = {}
    for part in re.split(r"^## ", doc, flags=re.MULTILINE):
        heading, _, body = part.partition("\n")
        sections[heading.strip().lower()] = body
    body = sections.get("why is this bad?") or sections.get("what it does") or ""
    return _first_paragraphs(body)


def _first_paragraphs(body: str, *, enough: int = 140, most: int = 2) -> str:
    """Prose paragraphs (code blocks and lists left out) until ``enough`` characters."""
    body = re.sub(r"```.*?```", "", body, flags=re.DOTALL)
    taken: list[str] = []
    for block in re.split(r"\n\s*\n", body):
        lines = [ln.strip() for ln in block.strip().splitlines()]
        if not lines or lines[0].startswith(("-", "*", "|", ">", ":", "..")):
            continue
        taken.append(_plain_markdown(" ".join(lines)))
        if len(taken) >= most or sum(len(t) for t in taken) >= enough:
            break
    return " ".join(taken)


def _plain_markdown(text: str) -> str:
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # [text](url) -> text
    text = re.sub(r"\[`([^`\]]+)`\]", r"'\1'", text)  # [`option`] -> 'option'
    text = re.sub(r"``?([^`]+?)``?", r"'\1'", text)  # `code` / ``code`` -> 'code'
    text = re.sub(r"(?<![\w'])\[([^\]'\[]+)\](?!\()", r"\1", text)  # [PEP 8] -> PEP 8
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<!\w)\*([^*\s][^*]*)\*(?!\w)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


# --- bandit ------------------------------------------------------------------------------------
def _bandit_findings(
    paths: dict[str, str], *, level: int, lang: Lang, notes: list[str]
) -> list[Finding]:
    # bandit's plugin loader logs an ERROR for each optional formatter whose extra is not
    # installed (e.g. "Could not load 'sarif'"): we use none of its formatters.
    logging.getLogger("stevedore.extension").setLevel(logging.CRITICAL)
    try:
        from bandit.core import config as b_config
        from bandit.core import manager as b_manager
    except ImportError:
        notes.append(_message("tool_missing", lang, tool="bandit"))
        return []
    every = ", ".join(sorted(set(paths.values())))
    try:
        manager = b_manager.BanditManager(
            b_config.BanditConfig(),
            "file",
            quiet=True,
            # like ruff's --ignore-noqa: a trainee's `# nosec` should not hide the lesson
            ignore_nosec=True,
            # B101 (assert_used) is skipped: trainees write asserts in exercises and tests on
            # purpose, and bandit flags every one (because `python -O` strips them); in a
            # teaching review that is noise. ruff's B011 still flags `assert False`.
            profile={"exclude": ["B101"]},
        )
        manager.discover_files(list(paths), recursive=False)
        manager.run_tests()
        issues = manager.get_issue_list()
    except Exception as exc:  # bandit is third-party code running on arbitrary input
        logger.warning("bandit failed: %r", exc)
        notes.append(_message("tool_failed", lang, tool="bandit", file=every, error=repr(exc)))
        return []
    for fname, reason in manager.skipped:
        name = paths.get(str(Path(fname).resolve()), fname)
        notes.append(_message("tool_failed", lang, tool="bandit", file=name, error=reason))
    found = []
    for issue in issues:
        name = paths.get(str(Path(issue.fname).resolve()))
        sev, conf = _BANDIT_RANK.get(issue.severity, 0), _BANDIT_RANK.get(issue.confidence, 0)
        if name is None or not _bandit_shown(level, sev, conf):
            continue
        severity = _BANDIT_SEVERITY.get(issue.severity, "info")
        if conf == 0:
            severity = _DOWNGRADE[severity]
        note = _note("bandit", issue.test_id)
        test_name = _readable(_bandit_test_name(str(issue.test_id), str(issue.test)))
        text = _sentence(_plain_markdown(str(issue.text)))
        doc = _bandit_doc(issue.test_id)
        english = text + (" " + doc if doc and doc not in text else "")
        if lang == "ko" and note.get("ko"):
            explanation = str(note["ko"])
        else:
            explanation = _english_marked(english, lang)
        line = max(1, int(issue.lineno or 1))
        lines = [int(n) for n in (issue.linerange or [line]) if isinstance(n, int)]
        found.append(
            Finding(
                tool="bandit",
                code=str(issue.test_id),
                file=name,
                line=line,
                end_line=max([line, *lines]),
                severity=severity,
                category="security",
                title=_title(note, lang, default=test_name),
                explanation=explanation,
                concept=_concept(note, lang, default=test_name.lower()),
                column=int(issue.col_offset or 0) + 1,
            )
        )
    return found


def _bandit_shown(level: int, severity: int, confidence: int) -> bool:
    """Lv1-2: medium or high severity and confidence; Lv3: medium or high severity; Lv4: all
    (low-severity tests like ``import subprocess`` or ``random`` are noise before that)."""
    if level <= 2:
        return severity >= 1 and confidence >= 1
    if level == 3:
        return severity >= 1
    return True


def _bandit_test_name(test_id: str, test: str) -> str:
    """The test's name; for the blacklist tests (calls and imports) the listed name, e.g.
    'eval' or 'import_subprocess', not 'blacklist'."""
    if test != "blacklist":
        return test
    try:
        from bandit.core import extension_loader
    except ImportError:
        return test
    entry = extension_loader.MANAGER.blacklist_by_id.get(test_id) or {}
    return str(entry.get("name") or test)


@functools.lru_cache(maxsize=256)
def _bandit_doc(test_id: str) -> str:
    """The first prose paragraph of the bandit test's own docs (its function's or module's)."""
    try:
        from bandit.core import extension_loader
    except ImportError:
        return ""
    loader = extension_loader.MANAGER
    plugin = loader.plugins_by_id.get(test_id)
    if plugin is None:
        return ""  # blacklist tests: their message is their whole doc
    function = plugin.plugin
    module = sys.modules.get(getattr(function, "__module__", ""), None)
    for doc in (getattr(function, "__doc__", None), getattr(module, "__doc__", None)):
        text = _rst_section(doc or "", test_id)
        if text:
            return text
    return ""


def _rst_section(doc: str, test_id: str) -> str:
    at = doc.find(f"{test_id}:")
    if at < 0:
        return ""
    rest = doc[at:].split("\n", 1)[1] if "\n" in doc[at:] else ""
    for block in re.split(r"\n\s*\n", rest):
        lines = [ln.strip() for ln in block.strip().splitlines()]
        if not lines or set(lines[0]) <= set("=-*") or lines[0].startswith((":", "..", ">>")):
            continue
        text = " ".join(lines)
        return _plain_markdown(text)[:400]
    return ""


# --- radon -------------------------------------------------------------------------------------
def _radon_findings(
    name: str, text: str, *, level: int, lang: Lang, cc: dict[str, int], notes: list[str]
) -> list[Finding]:
    try:
        from radon.complexity import cc_visit
        from radon.visitors import Class
    except ImportError:
        notes.append(_message("tool_missing", lang, tool="radon"))
        return []
    try:
        blocks = cc_visit(text)
    except Exception as exc:  # radon is third-party code running on arbitrary input
        logger.warning("radon failed on %s: %r", name, exc)
        notes.append(_message("tool_failed", lang, tool="radon", file=name, error=repr(exc)))
        return []
    functions: list[tuple[str, Any]] = []

    def walk(block: Any, prefix: str) -> None:
        # cc_visit lists top-level functions, classes, and the methods of top-level classes
        # (as "Class.method"); closures and the methods of inner classes are inside them.
        if isinstance(block, Class):
            for inner in block.inner_classes:
                walk_class(inner, f"{prefix}{block.name}.")
            return
        qualified = prefix + (block.name if prefix else block.fullname)
        functions.append((qualified, block))
        for closure in block.closures:
            walk(closure, qualified + ".")

    def walk_class(cls: Any, prefix: str) -> None:
        for method in cls.methods:
            walk(method, f"{prefix}{cls.name}.")
        for inner in cls.inner_classes:
            walk_class(inner, f"{prefix}{cls.name}.")

    for block in blocks:
        walk(block, "")
    limit = COMPLEXITY_LIMITS[level]
    note = _note("radon", "C901")
    found = []
    for qualified, block in functions:
        key = f"{name}:{qualified}"
        if key in cc:
            key = f"{key}@{block.lineno}"
        cc[key] = int(block.complexity)
        if block.complexity <= limit:
            continue
        values = {"name": qualified, "score": str(block.complexity), "limit": str(limit)}
        found.append(
            Finding(
                tool="radon",
                code="C901",
                file=name,
                line=int(block.lineno),
                end_line=max(int(block.lineno), int(block.endline or block.lineno)),
                severity="warning" if block.complexity > COMPLEXITY_LIMITS[1] else "info",
                category="complexity",
                title=_title(note, lang, default="Complex function"),
                explanation=_fill(str(note.get(lang) or note.get("en") or ""), values),
                concept=_concept(note, lang, default="functions decomposition"),
                column=int(getattr(block, "col_offset", 0)) + 1,
            )
        )
    return found


# --- syntax ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SyntaxProblem:
    message: str
    line: int
    column: int
    end_line: int


def _compile_problem(name: str, text: str) -> _SyntaxProblem | None:
    """Compile (never run) the text; the error Python reports, if any."""
    try:
        with warnings.catch_warnings():
            # SyntaxWarnings (`x is 1`, "\d") are ruff's job; never let `-W error` turn
            # them into false syntax errors here
            warnings.simplefilter("ignore")
            compile(text, name or "<submission>", "exec", dont_inherit=True)
    except SyntaxError as exc:  # includes IndentationError, TabError
        message = str(exc.msg or "invalid syntax")
        if exc.lineno is None and "null bytes" in message:
            line = _line_of(text, text.find("\x00"))
            return _SyntaxProblem(message, line, 0, line)
        line = int(exc.lineno or 1)
        end_line = int(exc.end_lineno or line) if (exc.end_lineno or 0) >= line else line
        return _SyntaxProblem(message, line, max(0, int(exc.offset or 0)), end_line)
    except UnicodeError:  # lone surrogates from a non-UTF-8 upload (before ValueError: a subclass)
        position = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), 0)
        line = _line_of(text, position)
        return _SyntaxProblem(_NOT_UTF8, line, 0, line)
    except ValueError as exc:  # "source code string cannot contain null bytes" (< 3.12)
        line = _line_of(text, max(0, text.find("\x00")))
        return _SyntaxProblem(str(exc), line, 0, line)
    except (RecursionError, MemoryError) as exc:  # the parser's own limits on deep nesting
        lines = _NEWLINES.split(text)
        longest = max(range(len(lines)), key=lambda i: len(lines[i])) + 1
        return _SyntaxProblem(f"too complex: {type(exc).__name__}", longest, 0, longest)
    return None


def _line_of(text: str, position: int) -> int:
    return len(_NEWLINES.findall(text, 0, max(0, position))) + 1


def _syntax_finding(name: str, text: str, lang: Lang) -> Finding | None:
    problem = _compile_problem(name, text)
    if problem is None:
        return None
    lines = _NEWLINES.split(text)
    line = min(max(1, problem.line), len(lines))
    source_line = lines[line - 1]
    case, values = _syntax_case(problem.message, source_line)
    values = {"line": str(line), "header": str(max(1, line - 1)), **values}
    if problem.message == _NOT_UTF8:
        case = "bad_text"
    note = _notes()["syntax"][case]
    explanation = _fill(str(note[lang]), values)
    explanation += " " + _message("skipped_sentence", lang)
    return Finding(
        tool="python",
        code="E999",
        file=name,
        line=line,
        end_line=min(max(line, problem.end_line), len(lines)),
        severity="error",
        category="syntax",
        title=_fill(_title(note, lang, default="Syntax error"), values),
        explanation=explanation,
        concept=_concept(note, lang, default="Python syntax"),
        column=problem.column,
    )


def _syntax_case(message: str, source_line: str) -> tuple[str, dict[str, str]]:
    """The rule_notes case for Python's message, and the values its template uses."""
    values = {"detail": message}
    header = _ON_LINE.search(message)
    if header:
        values["header"] = header.group("header")
    if message.startswith("expected ':'") and _ELSE_IF.match(source_line):
        return "else_if", values
    if message == "invalid syntax":
        match = _KEYWORD_ASSIGN.match(source_line)
        if match and keyword.iskeyword(match.group("keyword")):
            return "keyword_as_name", {**values, "keyword": match.group("keyword")}
    for case, pattern in _SYNTAX_CASES:
        match = pattern.search(message)
        if match is None:
            continue
        groups = {k: v for k, v in match.groupdict().items() if v}
        if "char" in groups:
            groups["char"] = f"'{groups['char']}'"
        if case == "invalid_character":
            char = _INVALID_CHAR.search(message)
            groups["char"] = char.group("char") if char else "?"
        return case, {**values, **groups}
    return "generic", values


# --- folding -----------------------------------------------------------------------------------
def _fold_same_line(findings: list[Finding]) -> list[Finding]:
    """Two tools reporting the same issue on the same line become one: the more severe, with
    the other counted in ``folded``."""
    out: list[Finding] = []
    at: dict[tuple[str, int, str], int] = {}
    for finding in findings:
        issue = _SAME_ISSUE.get((finding.tool, finding.code))
        if issue is None:
            out.append(finding)
            continue
        key = (finding.file, finding.line, issue)
        if key not in at:
            at[key] = len(out)
            out.append(finding)
            continue
        kept = out[at[key]]
        if kept.tool == finding.tool:  # the same rule twice on a line: folded by rule below
            out.append(finding)
            continue
        keep, drop = (
            (finding, kept)
            if _SEVERITY_ORDER[finding.severity] < _SEVERITY_ORDER[kept.severity]
            else (kept, finding)
        )
        out[at[key]] = replace(keep, folded=keep.folded + drop.folded + 1)
    return out


def _fold_same_rule(findings: list[Finding], lang: Lang) -> list[Finding]:
    """The same rule on several lines of one file becomes one finding at the first line, with
    ``folded`` = how many more and the other lines named in the explanation."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.file, finding.tool, finding.code), []).append(finding)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        group.sort(key=lambda f: (f.line, f.column))
        first, others = group[0], group[1:]
        lines = sorted({f.line for f in others} - {first.line})
        extra = (" " + _also_on(lines, lang)) if lines else ""
        out.append(
            replace(
                first,
                folded=first.folded + sum(f.folded + 1 for f in others),
                explanation=first.explanation + extra,
            )
        )
    return out


def _also_on(lines: list[int], lang: Lang) -> str:
    shown = ", ".join(str(n) for n in lines[:_LINES_LISTED])
    if len(lines) == 1:
        where = _message("line_one", lang, n=shown)
    else:
        where = _message("line_many", lang, list=shown)
        if len(lines) > _LINES_LISTED:
            where = _message("line_more", lang, shown=where, count=str(len(lines) - _LINES_LISTED))
    return _message("also_on_lines", lang, lines=where)


# --- texts -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _notes() -> dict[str, Any]:
    text = resources.files("tutor.review").joinpath("rule_notes.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _note(tool: str, code: str) -> dict[str, Any]:
    """The curated note of a rule: the exact code, else the longest prefix with a note."""
    section = _notes().get(tool) or {}
    for size in range(len(code), 0, -1):
        note = section.get(code[:size])
        if note is not None:
            return note
    return {}


def _message(key: str, lang: Lang, **values: str) -> str:
    entry = _notes()["messages"][key]
    return _fill(str(entry.get(lang, entry["en"])), values)


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace {name} for the names given; any other brace is text."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _title(note: dict[str, Any], lang: Lang, *, default: str) -> str:
    titles = note.get("title") or {}
    return str(titles.get(lang) or titles.get("en") or default)


def _concept(note: dict[str, Any], lang: Lang, *, default: str) -> str:
    """Search text for the course passage: English, plus the Korean words for a Korean
    review (courses may be written in either language)."""
    concepts = note.get("concept") or {}
    english = str(concepts.get("en") or default)
    if lang == "ko" and concepts.get("ko"):
        return f"{concepts['ko']} {english}"
    return english


def _english_marked(text: str, lang: Lang) -> str:
    return _message("english_only", lang) + text if lang == "ko" else text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "?", "!")) else text + "."


def _readable(name: str) -> str:
    """'mutable-argument-default' / 'subprocess_popen_with_shell' -> 'Mutable argument ...'."""
    words = re.sub(r"[-_]+", " ", name).strip()
    return words[:1].upper() + words[1:]

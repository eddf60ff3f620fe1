"""What a trainee may submit for review, checked before anything runs or is stored.

A submission is one or more Python files with plain names (``solution.py``, ``helpers.py``).
Every way it can be wrong gets its own clear message: no files, too many, a name with a path
in it, not ``.py``, the same name twice, bytes that are not UTF-8 text, a binary file, more
than the size limit (said in the message), nothing but whitespace. Line endings are
normalised to ``\\n`` and a UTF-8 byte-order mark is dropped, so line numbers mean the same
thing in the editor, the linters and the sandbox.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from tutor.errors import InvalidInputError
from tutor.review.types import SourceFile

MAX_NAME = 64
# A plain module file name: letters, digits, underscore; starts with a letter or underscore.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}\.py$")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("every file needs a name, e.g. solution.py")
    name = name.strip()
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise InvalidInputError(
            f"file name {name[:MAX_NAME]!r} must be a plain file name without folders"
        )
    if not name.endswith(".py"):
        raise InvalidInputError(f"file {name[:MAX_NAME]!r}: only Python files (.py) are reviewed")
    if not _NAME.match(name):
        raise InvalidInputError(
            f"file name {name[:MAX_NAME]!r} is not a valid Python module name "
            "(letters, digits and _; at most 60 characters; then .py)"
        )
    return name


def _decode(name: str, content: bytes | str) -> str:
    if isinstance(content, str):
        text = content
    elif isinstance(content, bytes | bytearray):
        data = bytes(content)
        if b"\x00" in data:
            raise InvalidInputError(f"file {name!r} is a binary file, not Python source")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"file {name!r} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position "
                f"{exc.start}); save it as UTF-8 and submit again"
            ) from None
    else:
        raise InvalidInputError(f"file {name!r}: content must be text")
    if "\x00" in text:
        raise InvalidInputError(f"file {name!r} is a binary file, not Python source")
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def validate_submission(
    files: Sequence[tuple[object, bytes | str]], *, max_bytes: int, max_files: int
) -> tuple[SourceFile, ...]:
    """The submitted ``(name, content)`` pairs as checked source files, in the given order.

    Raises ``InvalidInputError`` with a message meant for the trainee.
    """
    if not files:
        raise InvalidInputError("the submission has no files; paste or upload your Python code")
    if len(files) > max_files:
        raise InvalidInputError(
            f"the submission has {len(files)} files; at most {max_files} are reviewed at once"
        )
    total = sum(len(c) if isinstance(c, bytes | bytearray | str) else 0 for _, c in files)
    if total > max_bytes:
        raise InvalidInputError(
            f"the submission is {_size(total)}; the limit is {_size(max_bytes)} of code"
        )
    seen: set[str] = set()
    out: list[SourceFile] = []
    for raw_name, content in files:
        name = _check_name(raw_name)
        if name in seen:
            raise InvalidInputError(f"file {name!r} is submitted twice")
        seen.add(name)
        out.append(SourceFile(name=name, text=_decode(name, content)))
    if all(not f.text.strip() for f in out):
        raise InvalidInputError("the submission is empty: there is no code to review")
    if sum(len(f.text.encode("utf-8")) for f in out) > max_bytes:
        raise InvalidInputError(f"the submission is larger than {_size(max_bytes)} of code")
    return tuple(out)


def files_diff(
    before: Sequence[SourceFile], after: Sequence[SourceFile], old: int, new: int
) -> str:
    """Unified diff of two submissions, file by file (added and removed files included)."""
    old_files = {f.name: f.text for f in before}
    new_files = {f.name: f.text for f in after}
    out: list[str] = []
    for name in sorted(old_files.keys() | new_files.keys()):
        a = old_files.get(name, "").splitlines(keepends=True)
        b = new_files.get(name, "").splitlines(keepends=True)
        out.extend(
            difflib.unified_diff(
                a,
                b,
                fromfile=f"attempt {old}/{name}" if name in old_files else "/dev/null",
                tofile=f"attempt {new}/{name}" if name in new_files else "/dev/null",
            )
        )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in out)
    return text

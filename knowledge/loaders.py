"""Turn course files into :class:`LoadedDocument` objects.

Every supported format becomes Markdown text (Python source stays Python). A file that
cannot be used raises :class:`LoadError` whose ``reason`` is written for the instructor
who uploaded it; no other exception type escapes :func:`load_document` for a bad file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knowledge.errors import LoadError
from knowledge.frontmatter import parse_meta, split_front_matter
from knowledge.types import FORMATS, DocumentMeta, LoadedDocument

_SNIFF_BYTES = 8192
_MB = 1024 * 1024
_NOT_TEXT = "not a text file (binary content with a text extension)"
_MAX_CONTROL_SHARE = 0.01
_TITLE_MAX = 120
_HANGUL_SHARE = 0.3

_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_CODE_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_SPACE_RUN = re.compile(r"[^\S\n]+")
_BLANK_RUN = re.compile(r"\n{3,}")

_SILENT_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints"})
_ASSET_NAMES = frozenset(
    {"quiz.jsonl", "course.yaml", "course.yml", "tests.json", "conftest.py", "meta.json"}
)
_MEDIA_EXTS = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".ico", ".mp4", ".mp3"}
    | {".webm", ".mov", ".wav", ".ogg", ".m4a"}
)
ASSET_REASON = "course asset, not a document"
MEDIA_REASON = "image/media"

_HTML_DROP = ("script", "style", "nav", "header", "footer", "noscript", "template", "head")
_HTML_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HTML_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "dd", "details", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "form", "hr", "html", "main", "p",
        "section", "summary", "li", "td", "th", "tr", "tbody", "thead", "tfoot", "caption",
    }
)  # fmt: skip


# --------------------------------------------------------------------------- public API


def load_document(path: Path, *, course_root: Path, course: str, max_bytes: int) -> LoadedDocument:
    """Read one file and convert it; raise :class:`LoadError` with a reason if it is unusable."""
    raw = _read_bytes(path, max_bytes=max_bytes)
    fmt = _format_of(path)
    if not raw.strip():
        raise LoadError("empty file")
    text, fm, line_offset, own_title = _convert(raw, fmt=fmt, path=path)
    meta = _build_meta(
        path, course_root=course_root, course=course, text=text, fm=fm, fmt=fmt, own_title=own_title
    )
    return LoadedDocument(
        doc_id=document_id(path, course_root=course_root, course=course),
        source_path=str(path),
        format=fmt,
        text=text,
        meta=meta,
        content_hash=hashlib.sha256(raw).hexdigest(),
        size_bytes=len(raw),
        line_offset=line_offset,
    )


def iter_course_files(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Walk a course folder: ``(files to load, [(skipped file, reason)])``, both sorted.

    Hidden entries, ``__pycache__`` and ``.ipynb_checkpoints`` are skipped silently.
    Files with an unknown extension are *not* skipped: :func:`load_document` reports them.
    Symlinked folders are not followed.
    """
    if root.is_file():
        return [root], []
    if not root.is_dir():
        return [], [(root, "cannot read folder: no such directory")]
    to_load: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in _walk(root, skipped):
        reason = _skip_reason(path.name)
        if reason is None:
            to_load.append(path)
        else:
            skipped.append((path, reason))
    key = _relative_key(root)
    return sorted(to_load, key=key), sorted(skipped, key=lambda item: key(item[0]))


def detect_lang(text: str) -> str:
    """``"ko"`` when Hangul is more than 30% of the letters outside code blocks, else ``"en"``."""
    prose = _strip_code_blocks(text)
    sample = prose if any(ch.isalpha() for ch in prose) else text
    letters = sum(1 for ch in sample if ch.isalpha())
    if not letters:
        return "en"
    hangul = len(_HANGUL.findall(sample))
    return "ko" if hangul / letters > _HANGUL_SHARE else "en"


# ------------------------------------------------------------------------ reading bytes


def _read_bytes(path: Path, *, max_bytes: int) -> bytes:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise LoadError(f"cannot read file: {path.name} is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(f"cannot read file: {path.name} is not a regular file")
        if info.st_size > max_bytes:
            raise LoadError(_too_big(info.st_size, max_bytes))
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise LoadError(f"cannot read file: {path} does not exist") from exc
    except PermissionError as exc:
        raise LoadError(f"cannot read file: permission denied for {path.name}") from exc
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:  # the file grew since stat
        raise LoadError(_too_big(len(raw), max_bytes))
    return raw


def _too_big(size: int, max_bytes: int) -> str:
    return f"file is {_human_size(size)}, over the {_human_size(max_bytes)} limit (KDT_MAX_FILE_MB)"


def _human_size(size: int) -> str:
    if size >= _MB:
        number, unit = size / _MB, "MB"
    elif size >= 1024:
        number, unit = size / 1024, "KB"
    else:
        return f"{size} bytes"
    shown = f"{number:.1f}".removesuffix(".0")
    return f"{shown} {unit}"


def _format_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in FORMATS:
        return FORMATS[ext]
    shown = f" '{ext}'" if ext else ": no extension"
    supported = ", ".join(FORMATS)
    raise LoadError(f"unsupported file type{shown} (supported: {supported})")


def _decode_text(raw: bytes) -> str:
    """Decode a text file: UTF-16 with a BOM, UTF-8 (BOM or not), then cp949 (Korean Windows).

    Binary content is recognised by a NUL byte in the first 8 KB, by bytes no encoding
    accepts, or by decoded text that is more than 1% control characters.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _try_decode(raw, "utf-16")
    elif b"\x00" in raw[:_SNIFF_BYTES]:
        text = None
    else:
        text = _try_decode(raw, "utf-8-sig") or _try_decode(raw, "cp949")
    if text is None or _control_share(text) > _MAX_CONTROL_SHARE:
        raise LoadError(_NOT_TEXT)
    return _normalize_newlines(text)


def _try_decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _control_share(text: str) -> float:
    controls = sum(
        1 for ch in text if ch not in "\t\n\r\f" and unicodedata.category(ch) in ("Cc", "Co")
    )
    return controls / max(len(text), 1)


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------------------- conversions


def _convert(raw: bytes, *, fmt: str, path: Path) -> tuple[str, dict[str, Any], int, str | None]:
    """Return ``(text, front matter, line_offset, title the format itself provides)``."""
    if fmt == "pdf":
        text, title = _pdf_to_markdown(raw, stem=path.stem)
        return text, {}, 0, title
    source = _decode_text(raw)
    if not source.strip():
        raise LoadError("empty file")
    if fmt == "markdown":
        fm, body, removed = split_front_matter(source)
        return body, fm, removed, None
    if fmt == "notebook":
        text, fm = _notebook_to_markdown(source)
        return text, fm, 0, None
    if fmt == "html":
        text, title = _html_to_markdown(source)
        return text, {}, 0, title
    if fmt == "python":
        return source, {}, 0, _python_docstring_title(source)
    return source, {}, 0, None


# PDF ------------------------------------------------------------------------------------


def _pdf_to_markdown(raw: bytes, *, stem: str) -> tuple[str, str]:
    pages, meta_title = _pdf_pages(raw)
    if not pages:
        raise LoadError("PDF has no text layer (scanned images?); OCR it first")
    title = meta_title or _short_first_line(pages[0][1]) or _stem_title(stem)
    parts = [f"# {title}"]
    for number, page in pages:
        parts.append(f"## Page {number}\n\n{page}")
    return "\n\n".join(parts) + "\n", title


def _pdf_pages(raw: bytes) -> tuple[list[tuple[int, str]], str | None]:
    """``([(page number, normalized text)], metadata title)``; empty pages left out."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            _decrypt_with_empty_password(reader)
        pages = []
        for number, page in enumerate(reader.pages, start=1):
            text = _normalize_pdf_text(page.extract_text() or "")
            if text:
                pages.append((number, text))
        return pages, _pdf_meta_title(reader)
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types (PdfReadError, ValueError, KeyError...)
        raise LoadError(f"corrupt PDF: {_short_message(exc)}") from exc


def _decrypt_with_empty_password(reader: Any) -> None:
    encrypted = LoadError("encrypted PDF: remove the password and upload again")
    try:
        result = reader.decrypt("")
    except Exception as exc:  # e.g. an AES PDF without the cryptography package
        raise encrypted from exc
    if not result:  # PasswordType.NOT_DECRYPTED == 0
        raise encrypted


def _pdf_meta_title(reader: Any) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a broken /Info dictionary is not worth failing the document
        return None
    if not isinstance(title, str):
        return None
    title = " ".join(title.split())
    if not title or title.lower() in {"untitled", "untitled document"}:
        return None
    return title


def _normalize_pdf_text(text: str) -> str:
    text = _normalize_newlines(text.replace("\x00", ""))
    lines = [_SPACE_RUN.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def _short_message(exc: Exception) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message if len(message) <= 160 else message[:157] + "..."


# Notebook -------------------------------------------------------------------------------


def _notebook_to_markdown(source: str) -> tuple[str, dict[str, Any]]:
    notebook = _parse_notebook(source)
    language = _notebook_language(notebook)
    fm: dict[str, Any] = {}
    parts: list[str] = []
    for index, cell in enumerate(_notebook_cells(notebook)):
        cell_type = cell.get("cell_type")
        text = _cell_source(cell)
        if index == 0 and cell_type in ("markdown", "raw"):
            fm, text, _ = split_front_matter(text)
        if not text.strip():
            continue
        if cell_type == "markdown":
            parts.append(text.strip("\n"))
        elif cell_type == "code":
            parts.append(_fenced(text.strip("\n"), language))
    if not parts:
        raise LoadError("empty notebook: no markdown or code cell has any text")
    return "\n\n".join(parts) + "\n", fm


def _parse_notebook(source: str) -> dict[str, Any]:
    try:
        notebook = json.loads(source)
    except json.JSONDecodeError as exc:
        message = f"invalid notebook: not valid JSON ({exc.msg} at line {exc.lineno})"
        raise LoadError(message) from exc
    except RecursionError as exc:
        raise LoadError("invalid notebook: JSON nested too deeply") from exc
    if not isinstance(notebook, dict):
        raise LoadError("invalid notebook: the JSON is not an object")
    return notebook


def _notebook_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The cell objects of an nbformat 4 notebook (or nbformat 3, which nests worksheets)."""
    cells = notebook.get("cells")
    if cells is None and isinstance(notebook.get("worksheets"), list):
        worksheets = [ws for ws in notebook["worksheets"] if isinstance(ws, dict)]
        nested = [ws.get("cells") for ws in worksheets]
        if nested and all(isinstance(c, list) for c in nested):
            cells = [cell for ws_cells in nested for cell in ws_cells]
    if not isinstance(cells, list):
        raise LoadError("invalid notebook: no 'cells' list")
    return [cell for cell in cells if isinstance(cell, dict)]


def _notebook_language(notebook: dict[str, Any]) -> str:
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return "python"
    for section, key in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(section)
        if isinstance(value, dict) and isinstance(value.get(key), str) and value[key].strip():
            return value[key].strip().lower()
    return "python"


def _cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", cell.get("input", ""))
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    return _normalize_newlines(source) if isinstance(source, str) else ""


def _fenced(code: str, language: str = "") -> str:
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}{language}\n{code}\n{fence}"


# HTML -----------------------------------------------------------------------------------


def _html_to_markdown(source: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(source, "html.parser")
        title = _html_title(soup)
        for tag in soup.find_all(_HTML_DROP):
            tag.decompose()
        blocks: list[str] = []
        _html_blocks(soup.body or soup, blocks)
    except RecursionError as exc:
        raise LoadError("invalid HTML: elements are nested too deeply") from exc
    except Exception as exc:  # html.parser is lenient; this guards the rare rejection
        raise LoadError(f"invalid HTML: {_short_message(exc)}") from exc
    if not blocks:
        raise LoadError("no readable text in the HTML (only scripts, styles or navigation?)")
    if title and not any(block.startswith("# ") for block in blocks):
        blocks.insert(0, f"# {title}")
    return "\n\n".join(blocks) + "\n", title


def _html_title(soup: Any) -> str | None:
    for tag in (soup.title, soup.find("h1")):
        if tag is not None:
            text = _squash(tag.get_text(" "))
            if text:
                return text
    return None


def _html_blocks(node: Any, out: list[str]) -> None:
    """Append the Markdown blocks of ``node``'s children to ``out``, in document order."""
    from bs4 import NavigableString, Tag

    inline: list[str] = []

    def flush() -> None:
        text = _squash("".join(inline))
        inline.clear()
        if text:
            out.append(text)

    for child in node.children:
        if isinstance(child, Tag):
            if child.name in _HTML_HEADINGS or child.name in ("pre", "ul", "ol", "table"):
                flush()
                _html_special(child, out)
            elif child.name in _HTML_BLOCKS:
                flush()
                _html_blocks(child, out)
            elif child.name == "br":
                inline.append(" ")
            else:
                inline.append(child.get_text(" "))
        elif type(child) is NavigableString:  # not a Comment, Doctype or CData
            inline.append(str(child))
    flush()


def _html_special(tag: Any, out: list[str]) -> None:
    if tag.name in _HTML_HEADINGS:
        text = _squash(tag.get_text(" "))
        if text:
            out.append(f"{'#' * _HTML_HEADINGS[tag.name]} {text}")
    elif tag.name == "pre":
        code = tag.get_text().strip("\n")
        if code.strip():
            out.append(_fenced(code, _html_code_language(tag)))
    elif tag.name in ("ul", "ol"):
        items: list[str] = []
        _html_list(tag, items, depth=0)
        if items:
            out.append("\n".join(items))
    else:
        rows = [_html_row(tr) for tr in tag.find_all("tr")]
        rows = [row for row in rows if row]
        if rows:
            out.append("\n".join(rows))


def _html_list(list_tag: Any, items: list[str], *, depth: int) -> None:
    for li in list_tag.find_all("li", recursive=False):
        own = [c for c in li.children if getattr(c, "name", None) not in ("ul", "ol")]
        text = _squash(" ".join(_plain(c) for c in own))
        if text:
            items.append(f"{'  ' * depth}- {text}")
        for nested in li.find_all(("ul", "ol"), recursive=False):
            _html_list(nested, items, depth=depth + 1)


def _html_row(tr: Any) -> str:
    cells = [_squash(cell.get_text(" ")) for cell in tr.find_all(("td", "th"))]
    return " | ".join(cells) if any(cells) else ""


def _html_code_language(pre: Any) -> str:
    for tag in (pre, pre.find("code")):
        for css_class in (tag.get("class") or []) if tag is not None else []:
            for prefix in ("language-", "lang-"):
                if css_class.startswith(prefix):
                    return css_class[len(prefix) :]
    return ""


def _plain(node: Any) -> str:
    from bs4 import NavigableString, Tag

    if isinstance(node, Tag):
        return node.get_text(" ")
    return str(node) if type(node) is NavigableString else ""


def _squash(text: str) -> str:
    return " ".join(text.split())


# Python ---------------------------------------------------------------------------------


def _python_docstring_title(source: str) -> str | None:
    """The first line of the module docstring, when short; Python has no ``#`` titles."""
    import ast

    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    docstring = ast.get_docstring(module)
    return _short_first_line(docstring) if docstring else None


# ---------------------------------------------------------------------------- metadata


def _build_meta(
    path: Path,
    *,
    course_root: Path,
    course: str,
    text: str,
    fm: dict[str, Any],
    fmt: str,
    own_title: str | None,
) -> DocumentMeta:
    parts = _relative_parts(path, course_root)
    kind, exercise = _kind_from_path(parts)
    heading = None if fmt == "python" else _first_h1(text)
    defaults: dict[str, Any] = {
        "title": own_title or heading or _stem_title(path.stem),
        "course": course,
        "kind": kind,
        "lang": _lang_from_path(parts) or detect_lang(text),
        "exercise": exercise,
        "lesson_id": exercise or _lesson_id(path),
    }
    return DocumentMeta(**parse_meta(fm, defaults=defaults))


def _relative_parts(path: Path, course_root: Path) -> tuple[str, ...]:
    try:
        return path.relative_to(course_root).parts
    except ValueError:
        return path.parts


def document_id(path: Path, *, course_root: Path, course: str) -> str:
    """``<course>/<path relative to the course root>``: stable across re-ingests."""
    try:
        relative = path.relative_to(course_root).as_posix()
    except ValueError:
        relative = path.name
    return f"{course}/{relative}"


def _kind_from_path(parts: tuple[str, ...]) -> tuple[str, str | None]:
    """``(kind, exercise id)`` from the path convention ``exercises/<id>/...``."""
    name = parts[-1].lower() if parts else ""
    folders = parts[:-1]
    for index, folder in enumerate(folders[:-1]):
        if folder == "exercises":
            exercise = folders[index + 1]
            return ("solution" if name.startswith("solution") else "exercise"), exercise
    if name.startswith("faq"):
        return "faq", None
    return "lesson", None


def _lang_from_path(parts: tuple[str, ...]) -> str | None:
    folders = {folder.lower() for folder in parts[:-1]}
    stem = Path(parts[-1]).stem.lower() if parts else ""
    if folders & {"lessons-ko", "ko"} or stem.endswith(".ko"):
        return "ko"
    return None


def _lesson_id(path: Path) -> str:
    """The stem without a trailing ``.ko``: ``lessons-ko/03-lists.ko.md`` -> ``03-lists``."""
    stem = path.stem
    return stem[:-3] if stem.lower().endswith(".ko") and len(stem) > 3 else stem


def _first_h1(text: str) -> str | None:
    """The first ``# `` heading outside fenced code blocks."""
    fence: str | None = None
    for line in text.split("\n"):
        match = _CODE_FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is None:
            heading = _H1.match(line)
            if heading:
                return heading.group(1)
    return None


def _short_first_line(text: str) -> str | None:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) < _TITLE_MAX else None
    return None


def _stem_title(stem: str) -> str:
    stem = stem[:-3] if stem.lower().endswith(".ko") and len(stem) > 3 else stem
    return " ".join(re.sub(r"[-_]+", " ", stem).split()) or stem


def _strip_code_blocks(text: str) -> str:
    kept: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _CODE_FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is None:
            kept.append(line)
    return "\n".join(kept)


# ------------------------------------------------------------------------------ walking


def _walk(root: Path, skipped: list[tuple[Path, str]]) -> Iterator[Path]:
    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        skipped.append((where, f"cannot read folder: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(root, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SILENT_DIRS)
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def _skip_reason(name: str) -> str | None:
    lower = name.lower()
    ext = os.path.splitext(lower)[1]
    if lower in _ASSET_NAMES or ext == ".jsonl":
        return ASSET_REASON
    if lower.startswith("test_") and ext == ".py":
        return ASSET_REASON
    if ext in _MEDIA_EXTS:
        return MEDIA_REASON
    return None


def _relative_key(root: Path) -> Any:
    def key(path: Path) -> str:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return path.as_posix()

    return key

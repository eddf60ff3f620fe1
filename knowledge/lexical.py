"""Lexical retrieval: a Korean/English/code tokenizer and a BM25 index (bm25s).

Tokenizer:
- Hangul goes through kiwipiepy's morphological analyser; content morphemes are kept
  (nouns, verb and adjective stems, roots), particles and endings dropped, so 리스트를
  and 리스트는 both give 리스트.
- English words are lowercased and stop words dropped, but not stemmed: on the course
  benchmark Snowball stemming cost 0.03-0.05 hit@1 (BM25 alone and fused), likely
  because it merges terms a course keeps apart (``generalization`` -> ``general``,
  ``clustering`` -> ``cluster``, ``learning`` -> ``learn``), while the dense retriever
  already matches inflected forms. Light plural folding measured no better than none.
- Code identifiers keep their whole form and add their parts: ``train_test_split`` gives
  ``train_test_split train test split``; ``LinearRegression`` gives ``linearregression linear
  regression``.

The BM25 index is derived data: it is rebuilt from the registry's chunk table (which keeps
every chunk's tokens) and cached on disk under a generation number, so any worker can
load it and ``kb check`` can tell when it is stale.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from knowledge.chunking import doc_id_of
from knowledge.types import Chunk, SearchFilter

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_KIWI_KEEP = ("NNG", "NNP", "NR", "NP", "VV", "VA", "XR", "SH", "MAG")
_KIWI_NOUNS = ("NNG", "NNP", "NR", "XR", "SH")

# Function words and quiz/question boilerplate: they match everywhere and rank nothing.
_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with
    would you your yours following true false one two use used using""".split()  # noqa: SIM905
)


def _loanwords() -> tuple[re.Pattern[str], dict[str, str]]:
    """The transliterations of ``transliterations.yaml`` as one pattern (longest first, not
    inside a longer Hangul word: 플레이리스트 is not 리스트) and their English words."""
    english = _read_loanwords()
    alternatives = "|".join(re.escape(k) for k in sorted(english, key=len, reverse=True))
    return re.compile(rf"(?<![\uac00-\ud7a3])(?:{alternatives})"), english


@functools.cache
def _read_loanwords() -> dict[str, str]:
    path = Path(__file__).with_name("transliterations.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v).lower() for k, v in raw.items()}


def is_hangul(token: str) -> bool:
    """Whether a token is Korean (holds Hangul), as opposed to English words and code."""
    return bool(_HANGUL.search(token))


class Tokenizer:
    """Mixed Korean/English/code tokenizer. Thread-safe; the Kiwi model loads on first use."""

    # Bump whenever tokens change: stored chunk tokens of an older version are recomputed.
    VERSION = 3

    def __init__(self) -> None:
        self._kiwi = None
        self._lock = threading.Lock()
        self._loanwords = _loanwords()

    def _load(self) -> None:
        with self._lock:
            if self._kiwi is None:
                from kiwipiepy import Kiwi

                self._kiwi = Kiwi()

    def _english(self, text: str) -> list[str]:
        out: list[str] = []
        for match in _WORD.finditer(text):
            word = match.group(0)
            lower = word.lower()
            parts = [p.lower() for p in re.split(r"_+", word) if p]
            if len(parts) == 1:
                parts = [p.lower() for p in _CAMEL.findall(word)] or [lower]
            if len(parts) > 1:
                out.append(lower)
            out.extend(p for p in parts if p not in _STOP and (len(p) > 1 or p.isdigit()))
        return out

    def _korean(self, text: str) -> list[str]:
        """Content morphemes; a transliteration ("넘파이를") gives its English word instead of
        its pieces (Kiwi may cut an unknown loanword as 넘 + 파이)."""
        pattern, english = self._loanwords
        loans = [(m.start(), m.end(), english[m.group(0)]) for m in pattern.finditer(text)]
        tokens = []
        for token in self._kiwi.tokenize(text):
            if loans and any(a <= token.start < b for a, b, _ in loans):
                continue
            if token.tag in _KIWI_KEEP and _HANGUL.search(token.form):
                tokens.append(token.form)
        for _a, _b, word in loans:
            tokens.extend(self._english(word))
        return tokens

    def tokenize(self, text: str) -> list[str]:
        self._load()
        tokens = self._english(text)
        if _HANGUL.search(text):
            tokens.extend(self._korean(text))
        return tokens

    def korean_nouns(self, text: str) -> list[str]:
        """The nouns (and roots, foreign words) among the Korean tokens of ``text``: what a
        Korean question is about, without its verbs ("어떻게 만들어요?" has none)."""
        if not _HANGUL.search(text):
            return []
        self._load()
        return [
            token.form
            for token in self._kiwi.tokenize(text)
            if token.tag in _KIWI_NOUNS and _HANGUL.search(token.form)
        ]

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]


@dataclass(frozen=True)
class _Row:
    """What the lexical index knows of a chunk besides its tokens: enough to filter."""

    chunk_id: str
    course: str
    kind: str
    lang: str
    level: int | None
    exercise: str | None


class _Columns:
    """The rows' filter fields as numpy arrays, so a filter is a few vector comparisons."""

    def __init__(self, rows: list[_Row]) -> None:
        self.course = np.array([r.course for r in rows], dtype=object)
        self.kind = np.array([r.kind for r in rows], dtype=object)
        self.lang = np.array([r.lang for r in rows], dtype=object)
        self.level = np.array([-1 if r.level is None else r.level for r in rows])
        self.exercise = np.array([r.exercise or "" for r in rows], dtype=object)
        self.doc_id = np.array([doc_id_of(r.chunk_id) for r in rows], dtype=object)
        names, codes = np.unique(np.array([r.lang for r in rows], dtype=str), return_inverse=True)
        self.lang_names: list[str] = [str(n) for n in names]
        self.lang_codes = codes.reshape(-1)

    def mask(self, where: SearchFilter) -> np.ndarray:
        keep = np.isin(self.kind, list(where.allowed_kinds()))
        if where.course is not None:
            keep &= self.course == where.course
        if where.lang is not None:
            keep &= self.lang == where.lang
        if where.exercise is not None:
            keep &= self.exercise == where.exercise
        if where.doc_ids is not None:
            wanted = where.doc_ids
            keep &= np.fromiter((d in wanted for d in self.doc_id), dtype=bool, count=keep.size)
        unlevelled = self.level < 0
        if where.level_min is not None:
            keep &= unlevelled | (self.level >= where.level_min)
        if where.level_max is not None:
            keep &= unlevelled | (self.level <= where.level_max)
        return keep


class LexicalIndex:
    """BM25 over chunk tokens, with exact metadata filtering by score mask."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.generation = -1
        self._bm25 = None
        self._rows: list[_Row] = []
        self._positions: dict[str, int] = {}
        self._columns = _Columns([])
        self._masks: dict[SearchFilter, np.ndarray] = {}
        self._lock = threading.Lock()

    def _install(self, bm25, rows: list[_Row], generation: int) -> None:
        positions = {r.chunk_id: i for i, r in enumerate(rows)}
        with self._lock:
            self._bm25, self._rows, self.generation = bm25, rows, generation
            self._positions = positions
            self._columns = _Columns(rows)
            self._masks = {}

    # --- building and persistence -------------------------------------------------
    def build(self, entries: list[tuple[Chunk, list[str]]], *, generation: int) -> None:
        """Replace the index with these (chunk, tokens) pairs and save it to disk."""
        import bm25s

        rows = [
            _Row(c.id, c.course, c.kind, c.lang, c.level, c.exercise) for c, _ in entries
        ]
        bm25 = None
        if entries:
            bm25 = bm25s.BM25(k1=1.2, b=0.75)
            bm25.index([tokens or [""] for _, tokens in entries], show_progress=False)
        tmp = self.directory.with_name(self.directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if bm25 is not None:
            bm25.save(str(tmp / "bm25"), show_progress=False)
        manifest = {"generation": generation, "rows": [r.__dict__ for r in rows]}
        (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        # Swap directories so a reader never sees a half-written index.
        old = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        tmp.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)
        self._install(bm25, rows, generation)

    def load(self) -> bool:
        """Load the saved index; False when there is none (or it is unreadable)."""
        import bm25s

        manifest_path = self.directory / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            rows = [_Row(**r) for r in manifest["rows"]]
            bm25 = None
            if rows:
                bm25 = bm25s.BM25.load(str(self.directory / "bm25"), show_progress=False)
        except (OSError, ValueError, KeyError, TypeError):
            return False
        self._install(bm25, rows, int(manifest["generation"]))
        return True

    def chunk_ids(self) -> list[str]:
        return [r.chunk_id for r in self._rows]

    def accepts(self, chunk_ids: list[str], where: SearchFilter | None = None) -> list[bool]:
        """Whether ``where`` accepts each chunk, by the metadata this index holds (the
        registry's, as of its generation). A chunk the index does not hold is not accepted:
        the registry does not know it (a vector left over, or one still being written).

        The dense search filters its wide candidate list with this, which spares reading
        every candidate's metadata back from the vector store.
        """
        with self._lock:
            positions, mask = self._positions, self._mask(where)
        out = []
        for chunk_id in chunk_ids:
            i = positions.get(chunk_id)
            out.append(i is not None and (mask is None or bool(mask[i])))
        return out

    # --- corpus statistics ------------------------------------------------------------
    def document_frequencies(
        self, tokens: list[str], *, where: SearchFilter | None = None
    ) -> tuple[dict[str, int], int]:
        """``({token: chunks holding it}, chunks)`` counted over the chunks the filter accepts.

        Read from the BM25 matrix (one column of chunk ids per vocabulary token), so it
        costs a few array lookups per token. A token the index has never seen counts 0.
        """
        with self._lock:
            bm25, rows = self._bm25, self._rows
            mask = self._mask(where)
        if bm25 is None:
            return dict.fromkeys(tokens, 0), 0
        indptr, indices = bm25.scores["indptr"], bm25.scores["indices"]
        vocab = bm25.vocab_dict
        counts: dict[str, int] = {}
        for token in tokens:
            tid = vocab.get(token) if token else None
            if tid is None or tid + 1 >= len(indptr):
                counts[token] = 0
                continue
            docs = indices[indptr[tid] : indptr[tid + 1]]
            counts[token] = int(mask[docs].sum()) if mask is not None else int(docs.size)
        total = int(mask.sum()) if mask is not None else len(rows)
        return counts, total

    def languages(self, *, where: SearchFilter | None = None) -> dict[str, int]:
        """How many chunks of each language (``en``, ``ko``) the filter accepts."""
        with self._lock:
            columns, mask = self._columns, self._mask(where)
        codes = columns.lang_codes if mask is None else columns.lang_codes[mask]
        counts = np.bincount(codes, minlength=len(columns.lang_names))
        return {name: int(n) for name, n in zip(columns.lang_names, counts, strict=True) if n}

    def _mask(self, where: SearchFilter | None) -> np.ndarray | None:
        """The rows the filter accepts, cached per filter (call with the lock held)."""
        if where is None:
            return None
        mask = self._masks.get(where)
        if mask is None:
            if len(self._masks) > 64:
                self._masks.clear()
            mask = self._masks[where] = self._columns.mask(where)
        return mask

    # --- search ---------------------------------------------------------------------
    def search(
        self, tokens: list[str], *, k: int, where: SearchFilter | None = None
    ) -> list[tuple[str, float]]:
        """Top-k (chunk_id, bm25 score) among the chunks the filter accepts; score > 0 only."""
        with self._lock:
            bm25, rows = self._bm25, self._rows
            if bm25 is None or not tokens or k <= 0:
                return []
            mask = self._mask(where)
        scores = np.asarray(bm25.get_scores(tokens), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(rows))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(rows[i].chunk_id, float(scores[i])) for i in top if scores[i] > 0]

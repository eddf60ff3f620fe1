"""Group trainee questions by meaning, without knowing how many groups there are.

Used for content gaps (``tutor.curation.content_gaps``: the ``Grouper``) and by
``kdt-tutor gaps group``. Two signals, both multilingual:

1. **The course's own structure.** Each question is searched in the course
   (``kb.search`` with the course filter, hybrid dense + BM25) and turned into a soft
   profile over the course's lessons: every lesson among the top ``hits`` results gets
   ``exp((score - best) / temperature)`` of its best chunk (a softmax over fused scores).
   English and Korean versions of a lesson share their ``lesson_id``, so a Korean and an
   English question about the same lesson get the same profile. Two questions are similar
   when their profiles are (cosine).
2. **Question similarity**: the cosine of the questions' multilingual USE embeddings
   (the USE half of the knowledge base's embedding; no second model is loaded).

The similarity of two questions is ``w * profile cosine + (1 - w) * question cosine``,
where ``w`` is ``course_weight`` scaled by how well the course covers the less covered of
the two (its best passage's dense similarity, from 0 below ``confident_from`` to 1 at
``confident_at``): questions the course does not cover, which content gaps are full of,
are grouped by question similarity alone, never by the lesson they happen to be nearest
to, and are labelled by a representative question. Average-linkage agglomerative
clustering merges groups while their mean distance (1 - similarity) stays below
``threshold``, so the number of groups follows from the data. When the course has no
material (or no course is given and the knowledge base is empty) only question similarity
is left, with its own threshold.

Identical questions (after Unicode normalisation, case and spacing) are grouped once.
Each group is labelled by the title of the lesson its questions are nearest to (in the
language most of them are asked in); groups nearest to the same lesson add the section
that sets each apart (its share among the group's hits most exceeds its share in the
others), else a representative question. Without course material a group is labelled by
its most representative question. Distinct groups always get distinct labels.

The parameters were chosen on three data sets at once (bench/RESULTS.md, "gaps-grouping"):
ML-For-Beginners' quiz questions against its lessons, python-basics' quiz against its
lessons, and the seeded set of 500 Korean and English questions (``eval/gaps_dataset.py``).
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.embeddings import CachedEmbedding, answer_embedding
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import ScoredChunk, SearchFilter
from tutor.errors import InvalidInputError

MAX_QUESTION_CHARS = 2_000  # longer questions are cut for embedding and search
MAX_LABEL_CHARS = 80
SEARCH_CACHE = 4_096  # questions (vectors, search results) remembered per grouper
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class GroupingParams:
    """Knobs of the grouping (see the module docstring)."""

    hits: int = 30  # search results per question that form its lesson profile
    temperature: float = 2.0  # softmax temperature over the fused search scores
    course_weight: float = 0.5  # weight of the lesson-profile cosine (the rest: questions)
    threshold: float = 0.55  # average-linkage distance at which merging stops
    similarity_threshold: float = 0.65  # the same, with question similarity only
    # A question's lesson profile counts fully when its best passage's dense similarity is
    # at least ``confident_at``, not at all below ``confident_from`` (linear in between): a
    # question the course does not cover has a "nearest lesson" that says nothing about it.
    confident_from: float = 0.2
    confident_at: float = 0.3


@dataclass(frozen=True)
class QuestionGroup:
    label: str
    ids: tuple[str, ...]
    lesson: str | None = None  # lesson_id (or doc_id) the group is nearest to, if any


@dataclass(frozen=True, slots=True)
class _Hit:
    """What grouping keeps of a search result."""

    lesson: str  # lesson_id, or the doc_id of material without one
    score: float  # fused search score
    dense: float  # the passage's dense (embedding) similarity to the question
    title: str
    lang: str
    section: str  # top section heading below the title, "" when none


@dataclass
class _Question:
    text: str  # normalised, cut: what is embedded and searched
    ids: list[str]
    hangul: bool


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _SPACE.sub(" ", text).strip()[:MAX_QUESTION_CHARS]


def _unique_questions(items: Sequence[tuple[str, str]]) -> list[_Question]:
    """One entry per distinct question (case-insensitive), ids in input order."""
    seen_ids: set[str] = set()
    by_key: dict[str, _Question] = {}
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise InvalidInputError("each item must be an (id, question) pair")
        item_id, question = item
        if not isinstance(item_id, str) or not item_id:
            raise InvalidInputError("each question needs a non-empty string id")
        if not isinstance(question, str):
            raise InvalidInputError(f"question {item_id!r} is not text")
        if item_id in seen_ids:
            raise InvalidInputError(f"duplicate question id {item_id!r}")
        seen_ids.add(item_id)
        text = _normalise(question)
        key = text.casefold()
        if key not in by_key:
            by_key[key] = _Question(text=text, ids=[], hangul=bool(_HANGUL.search(text)))
        by_key[key].ids.append(item_id)
    return list(by_key.values())


def _rows_normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def _hit(found: ScoredChunk) -> _Hit:
    chunk = found.chunk
    sections = [h for h in chunk.heading_path if h and h != chunk.title]
    return _Hit(
        lesson=chunk.lesson_id or chunk.doc_id,
        score=float(found.score),
        dense=float(found.signals.get("dense", 0.0)),
        title=chunk.title,
        lang=chunk.lang,
        section=sections[0] if sections else "",
    )


def _clip(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cluster(similarity: np.ndarray, *, threshold: float) -> np.ndarray:
    """Average-linkage agglomerative clustering of a similarity matrix: cluster numbers."""
    n = similarity.shape[0]
    if n <= 1:
        return np.zeros(n, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    distance = np.clip(1.0 - similarity, 0.0, None)
    distance = (distance + distance.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="precomputed", linkage="average"
    )
    return np.asarray(model.fit_predict(distance), dtype=int)


class QuestionGrouper:
    """``grouper(items, course=...) -> {id: label}`` (the ``Grouper`` of content gaps)."""

    def __init__(self, kb: KnowledgeBase, *, params: GroupingParams | None = None) -> None:
        self.kb = kb
        self.params = params or GroupingParams()
        # The content-gaps page regroups every open question when one arrives: only the new
        # one needs embedding and a search. Question vectors depend on the text alone; search
        # results are kept by (knowledge base generation, course, question), and any change
        # to the knowledge base (a new FAQ) bumps the generation.
        self._embeddings = CachedEmbedding(
            answer_embedding(kb.embeddings), max_entries=SEARCH_CACHE
        )
        self._cache: OrderedDict[tuple[int, str | None, str], list[_Hit]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, items: Sequence[tuple[str, str]], *, course: str | None) -> dict[str, str]:
        return {i: g.label for g in self.groups(items, course=course) for i in g.ids}

    def groups(
        self,
        items: Sequence[tuple[str, str]],
        *,
        course: str | None,
        timings: dict[str, float] | None = None,
    ) -> list[QuestionGroup]:
        """The groups, largest first (ties: first asked first). ``timings``, when given, gets
        the seconds spent embedding, searching and clustering (with labelling)."""
        questions = _unique_questions(items)
        if not questions:
            return []
        p = self.params
        started = time.perf_counter()
        embedded = _rows_normalised(self._embeddings.embed_array([q.text for q in questions]))
        similarity = embedded @ embedded.T
        embedded_at = time.perf_counter()
        hits = self._search(questions, course=course)
        searched_at = time.perf_counter()
        if any(hits):
            profiles = _rows_normalised(self._profiles(hits))
            confidence = self._confidence(hits)
            weight = p.course_weight * np.minimum.outer(confidence, confidence)
            similarity = weight * (profiles @ profiles.T) + (1.0 - weight) * similarity
            labels = cluster(similarity, threshold=p.threshold)
            # a question the course does not cover is not labelled by its nearest lesson
            hits = [found if c > 0 else [] for found, c in zip(hits, confidence, strict=True)]
        else:
            labels = cluster(similarity, threshold=p.similarity_threshold)
        members: dict[int, list[int]] = defaultdict(list)
        for index, label in enumerate(labels):
            members[int(label)].append(index)
        ordered = sorted(
            members.values(), key=lambda m: (-sum(len(questions[i].ids) for i in m), m[0])
        )
        groups = self._label(ordered, questions=questions, hits=hits, similarity=similarity)
        if timings is not None:
            timings["embed_s"] = embedded_at - started
            timings["search_s"] = searched_at - embedded_at
            timings["cluster_s"] = time.perf_counter() - searched_at
        return groups

    # -- signals -----------------------------------------------------------------------------
    def _search(self, questions: list[_Question], *, course: str | None) -> list[list[_Hit]]:
        where = SearchFilter(course=course)
        generation = self.kb.registry.generation()
        out: list[list[_Hit]] = []
        for q in questions:
            key = (generation, course, q.text)
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
            if cached is None:
                found = self.kb.search(q.text, k=self.params.hits, where=where)
                cached = [_hit(h) for h in found]
                with self._lock:
                    self._cache[key] = cached
                    while len(self._cache) > SEARCH_CACHE:
                        self._cache.popitem(last=False)
            out.append(cached)
        return out

    def _confidence(self, hits: list[list[_Hit]]) -> np.ndarray:
        """How much each question's lesson profile counts, 0..1, from its best dense match."""
        p = self.params
        best = np.array([max((h.dense for h in found), default=0.0) for found in hits])
        span = max(p.confident_at - p.confident_from, 1e-9)
        return np.clip((best - p.confident_from) / span, 0.0, 1.0)

    def _profiles(self, hits: list[list[_Hit]]) -> np.ndarray:
        lessons = sorted({h.lesson for found in hits for h in found})
        column = {lesson: j for j, lesson in enumerate(lessons)}
        profiles = np.zeros((len(hits), len(lessons)), dtype=np.float64)
        for i, found in enumerate(hits):
            if not found:
                continue
            best = max(h.score for h in found)
            for h in found:
                j = column[h.lesson]
                weight = float(np.exp((h.score - best) / self.params.temperature))
                profiles[i, j] = max(profiles[i, j], weight)
        return profiles

    # -- labels ------------------------------------------------------------------------------
    def _label(
        self,
        groups: list[list[int]],
        *,
        questions: list[_Question],
        hits: list[list[_Hit]],
        similarity: np.ndarray,
    ) -> list[QuestionGroup]:
        drafts: list[tuple[list[int], str | None, str, dict[str, float], str]] = []
        for members in groups:
            representative = max(members, key=lambda i: (similarity[i, members].mean(), -i))
            question = _clip(questions[representative].text) or "(empty question)"
            lesson, title, sections = self._nearest_lesson(members, questions=questions, hits=hits)
            drafts.append((members, lesson, title, sections, question))
        out: list[QuestionGroup] = []
        used: set[str] = set()
        for n, (members, lesson, title, sections, question) in enumerate(drafts):
            same_title = [d[3] for m, d in enumerate(drafts) if m != n and title and d[2] == title]
            if not title:
                label = question
            elif not same_title:
                label = title
            else:  # several groups nearest to one lesson: the section that sets this one apart
                section = _distinctive(sections, same_title)
                label = f"{title} › {section or question}"
            base, copy = label, 2
            while label in used:  # distinct groups always get distinct labels
                label = f"{base} ({copy})"
                copy += 1
            used.add(label)
            ids = tuple(i for m in members for i in questions[m].ids)
            out.append(QuestionGroup(label=label, ids=ids, lesson=lesson))
        return out

    def _nearest_lesson(
        self, members: list[int], *, questions: list[_Question], hits: list[list[_Hit]]
    ) -> tuple[str | None, str, dict[str, float]]:
        """The lesson the group is nearest to, its title in the group's main language, and
        the share of each of its sections among the group's top hits in that lesson."""
        weight: Counter[str] = Counter()
        for i in members:
            found = hits[i]
            if not found:
                continue
            best = max(h.score for h in found)
            seen: set[str] = set()
            for h in found:
                key = h.lesson
                if key not in seen:
                    seen.add(key)
                    weight[key] += float(np.exp((h.score - best) / self.params.temperature))
        if not weight:
            return None, "", {}
        lesson = weight.most_common(1)[0][0]
        korean = sum(questions[i].hangul for i in members) * 2 > len(members)
        titles: Counter[tuple[bool, str]] = Counter()
        sections: Counter[tuple[bool, str]] = Counter()
        for i in members:
            for rank, h in enumerate(hits[i][:5]):
                if h.lesson != lesson:
                    continue
                same_language = (h.lang == "ko") == korean
                titles[(same_language, h.title)] += 1
                if h.section:
                    sections[(same_language, _clip(h.section))] += 5 - rank
        title = _pick(titles) or lesson
        preferred = any(same for same, _ in sections)
        kept = {text: w for (same, text), w in sections.items() if same or not preferred}
        total = sum(kept.values())
        return lesson, _clip(title), {text: w / total for text, w in kept.items()}


def _distinctive(own: dict[str, float], others: list[dict[str, float]]) -> str:
    """The section whose share in this group most exceeds its share in every other group
    nearest to the same lesson ("" when none does). Two groups never get the same one."""
    best, margin = "", 0.0
    for section, share in sorted(own.items()):
        lead = share - max((o.get(section, 0.0) for o in others), default=0.0)
        if lead > margin:
            best, margin = section, lead
    return best


def _pick(counts: Counter[tuple[bool, str]]) -> str:
    """The most frequent text, preferring those in the group's language."""
    if not counts:
        return ""
    return max(counts.items(), key=lambda kv: (kv[0][0], kv[1], kv[0][1]))[0][1]


def build_question_grouper(
    kb: KnowledgeBase, *, params: GroupingParams | None = None
) -> QuestionGrouper:
    return QuestionGrouper(kb, params=params)

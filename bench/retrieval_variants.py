"""Score retrieval variants on the dumps of ``bench.retrieval_lab`` (seconds per variant).

``product`` replicates ``knowledge.retrieval.HybridRetriever`` in numpy over full score
matrices (exact dense top-N instead of HNSW, same BM25, same fusion and document evidence):
its figures must equal the product's own ranking stored in the dump, which the ``check``
line prints. Other variants change one thing at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dump:
    name: str
    chunk_id: np.ndarray
    chunk_doc: np.ndarray
    chunk_lesson: np.ndarray
    chunk_header: np.ndarray
    chunk_text: np.ndarray
    chunk_tokens: list[list[str]]
    q_text: np.ndarray
    q_gold: np.ndarray
    q_tokens: list[list[str]]
    product: list[list[str]]
    emb: dict[str, np.ndarray]
    qemb: dict[str, np.ndarray]
    cache: dict = field(default_factory=dict)

    @property
    def n_q(self) -> int:
        return len(self.q_text)


def load(path) -> Dump:
    z = np.load(path, allow_pickle=False)
    emb = {k[4:]: z[k] for k in z.files if k.startswith("emb_")}
    qemb = {k[5:]: z[k] for k in z.files if k.startswith("qemb_")}
    return Dump(
        name=str(path),
        chunk_id=z["chunk_id"],
        chunk_doc=z["chunk_doc"],
        chunk_lesson=z["chunk_lesson"],
        chunk_header=z["chunk_header"],
        chunk_text=z["chunk_text"],
        chunk_tokens=[json.loads(t) for t in z["chunk_tokens"]],
        q_text=z["q_text"],
        q_gold=z["q_gold"],
        q_tokens=[json.loads(t) for t in z["q_tokens"]],
        product=[json.loads(p) for p in z["product"]],
        emb=emb,
        qemb=qemb,
    )


# --- metrics ---------------------------------------------------------------------------
def metrics(rankings: list[list[str]], gold, idx=None) -> tuple[float, float, float]:
    idx = range(len(gold)) if idx is None else idx
    h1 = h5 = rr = 0.0
    n = 0
    for i in idx:
        ranked = list(dict.fromkeys(rankings[i]))
        g = gold[i]
        n += 1
        if ranked[:1] == [g]:
            h1 += 1
        if g in ranked[:5]:
            h5 += 1
        if g in ranked[:10]:
            rr += 1 / (ranked.index(g) + 1)
    n = max(n, 1)
    return h1 / n, h5 / n, rr / n


def fmt(m) -> str:
    return "/".join(f"{x:.3f}".lstrip("0") for x in m)


# --- score matrices ---------------------------------------------------------------------
def dense(d: Dump, model: str) -> np.ndarray:
    """(questions x chunks) cosine."""
    key = ("dense", model)
    if key not in d.cache:
        a = d.emb[model] / np.linalg.norm(d.emb[model], axis=1, keepdims=True)
        q = d.qemb[model] / np.linalg.norm(d.qemb[model], axis=1, keepdims=True)
        d.cache[key] = q @ a.T
    return d.cache[key]


def bm25(d: Dump, *, k1=1.2, b=0.75, tokens=None, qtokens=None, key="bm25") -> np.ndarray:
    if key not in d.cache:
        import bm25s

        index = bm25s.BM25(k1=k1, b=b)
        index.index([t or [""] for t in (tokens or d.chunk_tokens)], show_progress=False)
        qs = qtokens or d.q_tokens
        d.cache[key] = np.vstack(
            [
                np.asarray(index.get_scores(t), dtype=np.float64)
                if t
                else np.zeros(len(d.chunk_id))
                for t in qs
            ]
        )
    return d.cache[key]


def zfuse(lists: list[tuple[np.ndarray, float, bool]], n: int) -> dict[int, float]:
    """The product's ``fuse`` over (scores row, weight, padded-with-zeros) signals: top-n
    of each, z-scored over its list, absent members get the list floor."""
    tops = []
    members: set[int] = set()
    for scores, _w, padded in lists:
        if padded:
            top = np.argsort(-scores, kind="stable")[:n]
            top = top[scores[top] > 0]
        else:
            top = np.argsort(-scores, kind="stable")[:n]
        tops.append(top)
        members.update(top.tolist())
    fused = dict.fromkeys(members, 0.0)
    for (scores, w, padded), top in zip(lists, tops, strict=True):
        vals = list(scores[top])
        if padded and n > len(vals):
            vals += [0.0] * (n - len(vals))
        if len(vals) < 2:
            continue
        arr = np.asarray(vals)
        mean, std = arr.mean(), arr.std()
        if std < 1e-9:
            continue
        z = {int(i): (scores[i] - mean) / std for i in top}
        floor = (0.0 - mean) / std if padded else min(z.values())
        for cid in members:
            fused[cid] += w * z.get(cid, floor)
    return fused


def doc_rescore(fused: dict[int, float], doc_of, *, weight=0.25, chunks=2) -> dict[int, float]:
    if weight == 0:
        return fused
    per: dict[str, list[tuple[float, int]]] = {}
    for cid, s in fused.items():
        per.setdefault(doc_of[cid], []).append((s, cid))
    out = {}
    for entries in per.values():
        entries.sort(key=lambda e: -e[0])
        best = [max(s, 0.0) for s, _ in entries[: chunks + 1]]
        for i, (s, cid) in enumerate(entries):
            others = sum(best) - best[i] if i < len(best) else sum(best[:chunks])
            out[cid] = s + weight * others
    return out


def chunk_order(d: Dump, scores: dict[int, float]) -> list[int]:
    return sorted(scores, key=lambda c: (-scores[c], d.chunk_id[c]))


def lessons_of(d: Dump, order: list[int], k: int = 30) -> list[str]:
    return [str(d.chunk_lesson[c]) for c in order[:k]]


def hybrid_dense(d: Dump, weights: dict[str, float]) -> np.ndarray:
    return sum(w * dense(d, m) for m, w in weights.items())


def product_scores(
    d: Dump,
    qi: int,
    *,
    dense_models=None,
    dense_w=1.0,
    lex_w=1.0,
    n=100,
    doc_w=0.25,
    doc_chunks=2,
    extra: list[tuple[np.ndarray, float, bool]] | None = None,
    bm25_key="bm25",
) -> dict[int, float]:
    dense_models = dense_models or {"minilm": 0.5, "usem3": 0.5}
    key = ("hd", tuple(sorted(dense_models.items())))
    if key not in d.cache:
        d.cache[key] = hybrid_dense(d, dense_models)
    sig = [(d.cache[key][qi], dense_w, False), (d.cache[bm25_key][qi], lex_w, True)]
    sig += [(row[qi], w, p) for row, w, p in (extra or [])]
    fused = zfuse(sig, n)
    return doc_rescore(fused, d.chunk_doc, weight=doc_w, chunks=doc_chunks)


def run(d: Dump, score_fn: Callable[[int], dict[int, float]], idx=None) -> list[list[str]]:
    idx = range(d.n_q) if idx is None else idx
    out: list[list[str]] = [[] for _ in range(d.n_q)]
    for qi in idx:
        s = score_fn(qi)
        out[qi] = lessons_of(d, chunk_order(d, s))
    return out

"""Short texts through ONNX Runtime: a sentence-transformers model's transformer, exported
once from its installed weights and cached on disk.

Why: a search embeds one short query, and for such inputs torch's per-call overhead is most
of the time: all-MiniLM-L6-v2 takes ~21 ms per query in torch here and ~8 ms in ONNX
Runtime (one thread each). For long batches (ingest) torch is as fast or faster, so batches
stay in torch. The two agree to ~1e-7 per vector component (a test checks it), so an index
built with torch is searched with ONNX Runtime query vectors unchanged.

The export runs ``torch.onnx.export`` on the weights already installed (nothing is
downloaded), takes a few seconds once per machine, and is written atomically, so two
processes exporting at once do not corrupt it. Only models made of a Transformer, mean
pooling and (optionally) normalisation are handled; anything else stays in torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Bump when the export below changes: older cached files are then not used.
EXPORT_VERSION = 1
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxSentenceEncoder:
    """``encode(texts)`` like the sentence-transformers model it was exported from
    (mean pooling, L2-normalised), run by an ONNX Runtime session. Thread-safe: the session
    runs calls in parallel; only tokenization is serialised (a fast tokenizer is not
    reentrant)."""

    def __init__(self, session, tokenize, input_names: list[str]) -> None:
        self._session = session
        self._tokenize = tokenize
        self._input_names = input_names
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            features = self._tokenize(texts)
        feeds = {name: np.asarray(features[name], dtype=np.int64) for name in self._input_names}
        hidden = self._session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def supported(model) -> bool:
    """Whether a loaded SentenceTransformer is Transformer + mean pooling (+ Normalize)."""
    names = [type(m).__name__ for m in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    pooling = model[1].get_config_dict() if hasattr(model[1], "get_config_dict") else {}
    mode = pooling.get("pooling_mode") or (
        "mean" if pooling.get("pooling_mode_mean_tokens") else None
    )
    return mode == "mean" and hasattr(model[0], "auto_model")


def cache_key(model_ref: str) -> str:
    """Names the exported file: the model's files (path, size, mtime), the export version and
    the torch version, so a reinstalled model or a new exporter exports again."""
    import torch

    root = Path(model_ref)
    parts = [str(EXPORT_VERSION), torch.__version__, str(root.resolve())]
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                parts.append(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def export(model, target: Path) -> list[str]:
    """Export the model's transformer to ``target`` (atomically); returns its input names."""
    import torch

    transformer = model[0]
    # Two texts of different lengths: the traced graph must apply a real padding mask.
    features = transformer.preprocess(["an example sentence for tracing the export", "short"])
    names = [n for n in _INPUTS if n in features]

    class _Forward(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shape checks folded to constants
            torch.onnx.export(
                _Forward(transformer.auto_model).eval(),
                tuple(features[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return names


def load_encoder(model, model_ref: str, cache_dir: Path) -> OnnxSentenceEncoder | None:
    """An ONNX Runtime encoder for ``model``, exported into ``cache_dir`` on first use; None
    (with a warning) when the model is not supported or the export or runtime fails."""
    if not supported(model):
        return None
    try:
        import onnxruntime as ort

        target = cache_dir / f"st-{cache_key(model_ref)}.onnx"
        if target.is_file():
            features = model[0].preprocess(["probe"])
            names = [n for n in _INPUTS if n in features]
        else:
            log.info("exporting %s to ONNX for fast queries: %s", model_ref, target)
            names = export(model, target)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one query per request thread; requests run in parallel
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(target), options, providers=["CPUExecutionProvider"]
        )
        if [i.name for i in session.get_inputs()] != names:
            raise ValueError(f"the cached export {target} has other inputs; delete it")
    except Exception as exc:  # missing package, export or runtime failure: stay in torch
        log.warning("ONNX query encoder unavailable for %s (torch is used): %s", model_ref, exc)
        return None

    def tokenize(texts: list[str]):
        return model[0].preprocess(texts)

    return OnnxSentenceEncoder(session, tokenize, names)

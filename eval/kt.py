"""The knowledge-tracing benchmark: our learner model vs plain pyBKT vs per-skill mean.

Data (DESIGN.md, "Knowledge tracing"): CSV ``user_id,skill_name,correct,order_id``; users
``train_*`` are for fitting, ``test_*`` for scoring; users with neither prefix are counted
and left out. Every test answer is predicted before it is seen, in ``order_id`` order per
user (predict, then update), and scored with AUC and RMSE.

Models:

- ``ours``: :class:`tutor.learning.bkt.LearnerModel` with parameters from
  :func:`tutor.learning.bkt_fit.fit_learner` (pyBKT per skill with forgetting, shrunk toward pooled
  parameters, plus the per-trainee ability offset learned online);
- ``pybkt``: plain pyBKT (``Model(num_fits=5)``, standard BKT, no forgetting) fitted per skill
  on the train users; its own ``predict`` on the test users. ``correct_predictions`` is the
  one-step-ahead forward prediction (P(correct) from the answers before it; checked against a
  hand-written forward pass). Skill names are passed escaped, since pyBKT matches them as a
  regular expression;
- ``per-skill-mean``: the skill's correct rate among train answers (overall rate for a skill
  with no train answers).

Test answers on skills with no train answers are scored for every model: ``ours`` uses the
pooled parameters, ``pybkt`` (which cannot predict an unfitted skill) the overall train rate.

``update_ms`` is the mean wall time per test answer of the model's online step: predict, then
update, for ``ours``; one lookup for ``per-skill-mean``; for ``pybkt`` its batch ``predict``
time divided by the answers. ``fit_s`` is the fit time (recorded when the fit was made; a
cached fit reports the original time and ``cache`` says so).

Malformed rows are reported as ``"line N: reason"`` and skipped. Rows are not de-duplicated
(neither DESIGN.md nor the data README asks for it); exact duplicate rows and repeated
``(user_id, order_id)`` pairs are counted in ``data``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.errors import InvalidInputError
from tutor.atomic_write import write_atomically
from tutor.learning.bkt import LearnerModel
from tutor.learning.bkt_fit import fit_learner, load_fit, save_params

COLUMNS = ("user_id", "skill_name", "correct", "order_id")
MODELS = ("ours", "pybkt", "per-skill-mean")
# bump when a model's fitting changes, so cached fits are not reused
MODEL_VERSION = {"ours": "ours-2", "pybkt": "pybkt-1"}
MAX_PROBLEMS = 50


@dataclass
class KTData:
    """Parsed benchmark rows, in ``(user, order_id, line)`` order."""

    rows: list[tuple[str, str, int, int]] = field(default_factory=list)  # user, skill, c, order
    problems: list[str] = field(default_factory=list)
    bad_rows: int = 0
    other_users: int = 0
    exact_duplicates: int = 0
    repeated_user_order: int = 0


def read_kt_csv(path: Path) -> KTData:
    """Read and validate the CSV; missing columns raise InvalidInputError."""
    path = Path(path)
    data = KTData()
    parsed: list[tuple[str, int, int, str, int]] = []
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with fh:
        reader = csv.reader(fh)
        try:
            _read_records(path, reader, data, parsed)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InvalidInputError(
                f"{path}: line {reader.line_num + 1}: not readable as UTF-8 CSV ({exc})"
            ) from exc
    if data.bad_rows > MAX_PROBLEMS:
        data.problems.append(f"... and {data.bad_rows - MAX_PROBLEMS} more bad rows")
    if data.other_users:
        data.problems.append(
            f"{data.other_users} row(s) of users named neither train_* nor test_* left out"
        )
    same_row = Counter((user, order, skill, c) for user, order, _line, skill, c in parsed)
    same_key = Counter((user, order) for user, order, _line, _skill, _c in parsed)
    data.exact_duplicates = sum(n - 1 for n in same_row.values())
    data.repeated_user_order = sum(n - 1 for n in same_key.values())
    parsed.sort(key=lambda r: (r[0], r[1], r[2]))
    data.rows = [(user, skill, c, order) for user, order, _line, skill, c in parsed]
    return data


def _read_records(
    path: Path,
    reader: Any,
    data: KTData,
    parsed: list[tuple[str, int, int, str, int]],
) -> None:
    """Check the header, then parse each record into ``parsed`` or a problem into ``data``."""
    header = next(reader, None)
    if header is None:
        raise InvalidInputError(f"{path}: empty file; expected columns {', '.join(COLUMNS)}")
    names = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InvalidInputError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(COLUMNS)}, found {', '.join(names) or 'none'}"
        )
    index = [names.index(c) for c in COLUMNS]
    width = max(index) + 1
    for record in reader:
        line = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue
        problem = None
        if len(record) < width:
            problem = f"{len(record)} field(s), expected at least {width}"
        else:
            user, skill, correct, order = (record[i].strip() for i in index)
            if not user:
                problem = "empty user_id"
            elif not skill:
                problem = "empty skill_name"
            elif correct not in ("0", "1"):
                problem = f"correct must be 0 or 1, got {correct!r}"
            else:
                try:
                    order_id = int(order)
                except ValueError:
                    problem = f"order_id must be an integer, got {order!r}"
        if problem:
            data.bad_rows += 1
            if len(data.problems) < MAX_PROBLEMS:
                data.problems.append(f"line {line}: {problem}")
            continue
        if not user.startswith(("train_", "test_")):
            data.other_users += 1
            continue
        parsed.append((user, order_id, line, skill, int(correct)))


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sample_skills(skills: list[str], n: int | None, seed: int) -> list[str]:
    """All skills, or a seeded sample of ``n`` of them (sorted)."""
    skills = sorted(set(skills))
    if n is None or n >= len(skills):
        return skills
    if n < 1:
        raise InvalidInputError(f"--skills must be at least 1, got {n}")
    return sorted(random.Random(seed).sample(skills, n))


# --- metrics -------------------------------------------------------------------------------


def auc(y: list[int], p: list[float]) -> float:
    """ROC AUC (sklearn); nan when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if len(set(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def rmse(y: list[int], p: list[float]) -> float:
    if not y:
        return float("nan")
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(y, p, strict=True)) / len(y))


def adjacent_agreement(rows: list[tuple[str, str, int, int]]) -> dict[str, float]:
    """How often an answer equals the user's previous one, by same/other skill.

    A data diagnostic: in the released assist2009 data an answer agrees with the previous one
    on *another* skill more often than on the same skill, the trace of multi-skill problems
    expanded into consecutive rows. Models that key on the previous answer regardless of skill
    gain AUC from that, which would not carry over to the product.
    """
    same = [0, 0]
    other = [0, 0]
    for prev, cur in zip(rows, rows[1:], strict=False):
        if prev[0] != cur[0]:
            continue
        bucket = same if prev[1] == cur[1] else other
        bucket[0] += prev[2] == cur[2]
        bucket[1] += 1
    return {
        "same_skill": round(same[0] / same[1], 4) if same[1] else float("nan"),
        "other_skill": round(other[0] / other[1], 4) if other[1] else float("nan"),
    }


def _scores(y: list[int], p: list[float], *, fit_s: float, update_ms: float) -> dict:
    return {
        "auc": round(auc(y, p), 4),
        "rmse": round(rmse(y, p), 4),
        "fit_s": round(fit_s, 2),
        "update_ms": round(update_ms, 4),
    }


# --- models --------------------------------------------------------------------------------


def _ours(
    train: list[tuple[str, str, int, int]],
    test: list[tuple[str, str, int, int]],
    *,
    cache: Path | None,
    seed: int,
    say: Callable[[str], None],
) -> tuple[dict, bool]:
    hit = cache is not None and cache.exists()
    if hit:
        fit = load_fit(cache)
    else:
        say(f"ours: fitting on {len(train)} train answers")
        fit = fit_learner(train, seed=seed, progress=lambda m: say(f"ours: {m}"))
        if cache is not None:
            save_params(cache, fit)
    p, update_ms = predict_online(fit.model(), test)
    y = [r[2] for r in test]
    return _scores(y, p, fit_s=fit.meta.get("fit_s", 0.0), update_ms=update_ms), hit


def predict_online(
    model: LearnerModel, rows: list[tuple[str, str, int, int]]
) -> tuple[list[float], float]:
    """Each answer's prediction made before it is seen (predict, then observe), in row order.

    Returns the predictions and the mean milliseconds of one predict + observe.
    """
    predictions: list[float] = []
    clock = time.perf_counter
    spent = 0.0
    for user, skill, correct, _order in rows:
        started = clock()
        prediction = model.predict(user, skill)
        model.observe(user, skill, bool(correct))
        spent += clock() - started
        predictions.append(prediction)
    return predictions, spent * 1000 / max(len(rows), 1)


def _pybkt_frame(rows: list[tuple[str, str, int, int]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=list(COLUMNS))


def _pybkt(
    train: list[tuple[str, str, int, int]],
    test: list[tuple[str, str, int, int]],
    *,
    cache: Path | None,
    seed: int,
    say: Callable[[str], None],
) -> tuple[dict, bool]:
    from pyBKT.models import Model

    hit = cache is not None and cache.exists()
    if hit:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        coefs, fit_s = saved["coef"], saved["fit_s"]
    else:
        skills = sorted({r[1] for r in train})
        say(f"pybkt: fitting {len(skills)} skills on {len(train)} train answers (slow)")
        started = time.perf_counter()
        fitted = Model(seed=seed, num_fits=5, parallel=False)
        fitted.fit(data=_pybkt_frame(train), skills=[re.escape(s) for s in skills])
        fit_s = time.perf_counter() - started
        coefs = {
            skill: {
                "prior": float(c["prior"]),
                "learns": float(c["learns"][0]),
                "guesses": float(c["guesses"][0]),
                "slips": float(c["slips"][0]),
                "forgets": float(c["forgets"][0]),
            }
            for skill, c in fitted.coef_.items()
        }
        if cache is not None:
            _write_json(cache, {"coef": coefs, "fit_s": fit_s})
    fallback = sum(r[2] for r in train) / max(len(train), 1)
    started = time.perf_counter()
    predicted = pybkt_predictions(coefs, test, seed=seed)
    spent = time.perf_counter() - started
    y = [r[2] for r in test]
    p = [fallback if v is None else v for v in predicted]
    return _scores(y, p, fit_s=fit_s, update_ms=spent * 1000 / max(len(test), 1)), hit


def pybkt_predictions(
    coefs: dict[str, dict[str, float]], rows: list[tuple[str, str, int, int]], *, seed: int = 0
) -> list[float | None]:
    """pyBKT's ``correct_predictions`` for ``rows`` (None for a skill not in ``coefs``).

    ``coefs``: skill -> ``prior``, ``learns``, ``guesses``, ``slips``, ``forgets`` (floats).
    The model is rebuilt through pyBKT's public ``coef_`` setter, plus the bookkeeping its
    ``predict`` needs for a model fitted without resource or guess classes.
    """
    import numpy as np
    from pyBKT.models import Model

    known = [r for r in rows if r[1] in coefs]
    if not known:
        return [None] * len(rows)
    model = Model(seed=seed, num_fits=1, parallel=False)
    model.coef_ = {
        skill: {
            "prior": c["prior"],
            "learns": np.array([c["learns"]]),
            "guesses": np.array([c["guesses"]]),
            "slips": np.array([c["slips"]]),
            "forgets": np.array([c["forgets"]]),
        }
        for skill, c in coefs.items()
    }
    for entry in model.fit_model.values():
        entry["resource_names"] = {"default": 1}
        entry["gs_names"] = {"default": 1}
    model.skills = ".*"
    model.manual_param_init = False
    out = model.predict(data=_pybkt_frame(known))
    # predict sorts its frame; the index still names the row of ``known``
    by_index = dict(zip(out.index.tolist(), out["correct_predictions"].tolist(), strict=True))
    result: list[float | None] = []
    k = 0
    for row in rows:
        if row[1] in coefs:
            result.append(float(by_index[k]))
            k += 1
        else:
            result.append(None)
    return result


def _per_skill_mean(
    train: list[tuple[str, str, int, int]], test: list[tuple[str, str, int, int]]
) -> dict:
    started = time.perf_counter()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _user, skill, correct, _order in train:
        totals[skill][0] += correct
        totals[skill][1] += 1
    overall = sum(r[2] for r in train) / max(len(train), 1)
    rates = {s: right / n for s, (right, n) in totals.items()}
    fit_s = time.perf_counter() - started
    y: list[int] = []
    p: list[float] = []
    clock = time.perf_counter
    spent = 0.0
    for _user, skill, correct, _order in test:
        started = clock()
        prediction = rates.get(skill, overall)
        spent += clock() - started
        y.append(correct)
        p.append(prediction)
    return _scores(y, p, fit_s=fit_s, update_ms=spent * 1000 / max(len(test), 1))


# --- the benchmark -------------------------------------------------------------------------


def run_kt_benchmark(
    csv_path: Path,
    *,
    skills: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    models: tuple[str, ...] = MODELS,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the benchmark; returns the JSON-ready result (stable keys, see the docstring)."""
    say = progress or (lambda _msg: None)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise InvalidInputError(
            f"unknown model(s) {', '.join(unknown)}; valid: {', '.join(MODELS)}"
        )
    csv_path = Path(csv_path)
    say(f"reading {csv_path}")
    data = read_kt_csv(csv_path)
    all_skills = sorted({r[1] for r in data.rows})
    chosen = sample_skills(all_skills, skills, seed)
    keep = set(chosen)
    rows = [r for r in data.rows if r[1] in keep]
    train = [r for r in rows if r[0].startswith("train_")]
    test = [r for r in rows if r[0].startswith("test_")]
    if not train or not test:
        raise InvalidInputError(
            f"{csv_path}: need train_* and test_* users; found {len(train)} train and "
            f"{len(test)} test rows"
        )
    train_skills = {r[1] for r in train}
    key = None
    if cache_dir is not None:
        digest = hashlib.sha256()
        digest.update(file_hash(csv_path).encode())
        digest.update(json.dumps([chosen, seed]).encode())
        key = digest.hexdigest()[:20]
        Path(cache_dir).mkdir(parents=True, exist_ok=True)

    def cache_file(model: str) -> Path | None:
        if cache_dir is None:
            return None
        return Path(cache_dir) / f"kt-{MODEL_VERSION[model]}-{key}.json"

    result: dict[str, Any] = {
        "models": {},
        "data": {
            "csv": str(csv_path),
            "train_rows": len(train),
            "test_rows": len(test),
            "skills": len(chosen),
            "skills_total": len(all_skills),
            "skills_sampled": skills is not None and len(chosen) < len(all_skills),
            "users": len({r[0] for r in rows}),
            "train_users": len({r[0] for r in train}),
            "test_users": len({r[0] for r in test}),
            "test_rows_unseen_skill": sum(1 for r in test if r[1] not in train_skills),
            "test_correct_rate": round(sum(r[2] for r in test) / len(test), 4),
            "bad_rows": data.bad_rows,
            "other_user_rows": data.other_users,
            "exact_duplicate_rows": data.exact_duplicates,
            "repeated_user_order_rows": data.repeated_user_order,
            "duplicates_removed": 0,
            "adjacent_agreement": adjacent_agreement(rows),
            "seed": seed,
        },
        "problems": data.problems,
        "cache": {},
    }
    if "ours" in models:
        scores, hit = _ours(train, test, cache=cache_file("ours"), seed=seed, say=say)
        result["models"]["ours"] = scores
        result["cache"]["ours"] = "hit" if hit else ("miss" if key else "off")
    if "pybkt" in models:
        scores, hit = _pybkt(train, test, cache=cache_file("pybkt"), seed=seed, say=say)
        result["models"]["pybkt"] = scores
        result["cache"]["pybkt"] = "hit" if hit else ("miss" if key else "off")
    if "per-skill-mean" in models:
        result["models"]["per-skill-mean"] = _per_skill_mean(train, test)
    return result


def format_kt(result: dict) -> str:
    """The benchmark as a plain-text table."""
    d = result["data"]
    header = f"{'model':<16}{'AUC':>8}{'RMSE':>8}{'fit s':>10}{'update ms':>11}"
    sample = f" (sample of {d['skills_total']})" if d.get("skills_sampled") else ""
    lines = [
        f"knowledge tracing: {d['skills']} skills{sample}, {d['train_users']} train / "
        f"{d['test_users']} test users, {d['train_rows']} / {d['test_rows']} answers",
        header,
        "-" * len(header),
    ]
    for name, m in result["models"].items():
        cached = " (cached fit)" if result.get("cache", {}).get(name) == "hit" else ""
        lines.append(
            f"{name:<16}{m['auc']:>8.4f}{m['rmse']:>8.4f}{m['fit_s']:>10.1f}"
            f"{m['update_ms']:>11.4f}{cached}"
        )
    ours, base = result["models"].get("ours"), result["models"].get("pybkt")
    if ours and base:
        lines.append(
            f"ours - pybkt: AUC {ours['auc'] - base['auc']:+.4f}, "
            f"RMSE {ours['rmse'] - base['rmse']:+.4f}"
        )
    if d["bad_rows"]:
        lines.append(f"skipped {d['bad_rows']} malformed row(s); see problems")
    for problem in result.get("problems", [])[:5]:
        lines.append(f"  {problem}")
    return "\n".join(lines)


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(doc, ensure_ascii=False))

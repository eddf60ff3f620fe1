"""Writing a run's ``report.json`` and ``report.html`` side by side, atomically.

Both texts are built before anything touches the disk, then each goes to a temporary file in
the output folder and is moved over the old one with ``os.replace``. If rendering fails or
the process is interrupted, the previous pair stays as it was and no temporary file is left.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from eval.report_html import render_report_html

JSON_NAME = "report.json"
HTML_NAME = "report.html"


def json_ready(value: Any) -> Any:
    """``value`` with NaN/inf floats as null: ``report.json`` stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def _write_temp(out_dir: Path, name: str, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def write_report(out_dir: Path, report: dict) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir``; returns their paths.

    NaN values (a metric that could not be computed) are written as null.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clean = json_ready(report)
    json_text = json.dumps(clean, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    html_text = render_report_html(clean)
    temps: list[Path] = []
    try:
        temps.append(_write_temp(out_dir, JSON_NAME, json_text))
        temps.append(_write_temp(out_dir, HTML_NAME, html_text))
        json_path, html_path = out_dir / JSON_NAME, out_dir / HTML_NAME
        os.replace(temps[0], json_path)
        os.replace(temps[1], html_path)
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return json_path, html_path

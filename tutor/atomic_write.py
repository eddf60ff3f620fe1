"""Writing a text file so that a reader never sees it half written.

The text goes to a temporary file beside the target (``.<name>.<random>.tmp``), is flushed to
disk, and is then renamed over the target; if anything fails, the temporary file is removed
and the old file stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` (UTF-8, ``\\n`` line ends) in one rename. ``mode``: the
    file's permissions (0o600, the temporary file's own, unless a caller says otherwise).
    The folder must exist."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

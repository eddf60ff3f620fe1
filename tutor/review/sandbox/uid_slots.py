"""Users of sandboxed runs: when the server is root, each run gets a uid of its own (a slot
locked across processes), so its process limit is its own and its leftovers can be killed;
otherwise the run's process limit leaves room above the server's own tasks."""

from __future__ import annotations

import fcntl
import os
import random
import subprocess
import tempfile

from tutor.errors import ProviderUnavailableError
from tutor.review.sandbox.host import base_python, scrubbed_env, setpriv

_UID_BASE = 2_100_000  # dedicated uids for sandboxed runs when the server is root
_UID_SLOTS = 128


def own_tasks() -> int:
    """Tasks (processes and threads) of this uid: RLIMIT_NPROC counts them all, so an
    unprivileged server must leave the sandbox room above its own count."""
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


class uid_slot:  # noqa: N801 - used as a context manager, reads like a function
    """A uid of its own for one run when the server is root (None otherwise): locked with
    ``flock`` across processes, so concurrent runs never share a process budget."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.uid: int | None = None

    def __enter__(self) -> int | None:
        if os.geteuid() != 0:
            return None
        folder = os.path.join(tempfile.gettempdir(), "kdt-sandbox-uids")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        first = random.randrange(_UID_SLOTS)
        for k in range(_UID_SLOTS):
            slot = (first + k) % _UID_SLOTS
            fd = os.open(os.path.join(folder, f"{slot}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.fd, self.uid = fd, _UID_BASE + slot
            return self.uid
        raise ProviderUnavailableError("too many sandboxed runs at once; try again shortly")

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


def kill_uid(uid: int) -> None:
    """Kill every process left running as the run's own uid (process mode, root only)."""
    python, _ = base_python()
    code = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n"
    try:
        subprocess.run(
            [*setpriv(uid), python, "-I", "-S", "-c", code],
            env=scrubbed_env("/"),
            cwd="/",
            timeout=10,
            check=False,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError):
        pass

"""``build_sandbox``: the sandbox for a ``KDT_SANDBOX`` value, and whether bubblewrap works
on this host (probed once per process)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from tutor.errors import ConfigError
from tutor.review.sandbox.backends import BubblewrapSandbox, ProcessSandbox, RefusedSandbox
from tutor.review.sandbox.host import system_binds
from tutor.review.sandbox.protocol import Sandbox


def build_sandbox(kind: str, *, allow_unsafe: bool) -> Sandbox:
    """The sandbox for a ``KDT_SANDBOX`` value: ``auto`` | ``bubblewrap`` | ``process``.

    ``bubblewrap`` when it does not work here is a ``ConfigError``. ``process`` without
    ``allow_unsafe``, and ``auto`` with neither, give a ``RefusedSandbox`` (runs return the
    verdict ``refused`` with the reason) so the server still starts and static review works.
    """
    if kind == "bubblewrap":
        problem = _bubblewrap_problem()
        if problem:
            raise ConfigError(
                f"KDT_SANDBOX=bubblewrap, but bubblewrap does not work here: {problem}. "
                "Install the Debian package 'bubblewrap', or set KDT_SANDBOX=auto"
            )
        return BubblewrapSandbox()
    if kind == "process":
        if allow_unsafe:
            return ProcessSandbox()
        return RefusedSandbox(
            "tests were not run: KDT_SANDBOX=process runs trainee code without isolation, "
            "which needs the operator's opt-in (KDT_SANDBOX_ALLOW_UNSAFE=true)"
        )
    if kind == "auto":
        if bubblewrap_available():
            return BubblewrapSandbox()
        if allow_unsafe:
            return ProcessSandbox()
        return RefusedSandbox(
            "tests were not run: bubblewrap is not available on this server "
            f"({_bubblewrap_problem()}), and running trainee code without isolation needs "
            "the operator's opt-in (KDT_SANDBOX_ALLOW_UNSAFE=true)"
        )
    raise ConfigError(f"unknown sandbox {kind!r}; valid: auto, bubblewrap, process")


def bubblewrap_available() -> bool:
    """``bwrap`` is installed and can create the namespaces the sandbox uses."""
    return _bubblewrap_problem() == ""


@functools.lru_cache(maxsize=1)
def _bubblewrap_problem() -> str:
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "the bwrap command is not installed"
    probe = [
        bwrap,
        *system_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
    ]
    if os.geteuid() != 0:
        probe.append("--unshare-user")
    probe += ["--", "/usr/bin/true"]
    try:
        result = subprocess.run(probe, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap could not be started ({exc})"
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()[:200]
        return f"bwrap failed ({detail or 'exit code ' + str(result.returncode)})"
    return ""

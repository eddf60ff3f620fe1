"""What the sandbox needs of the host: the base interpreter and pytest's site folder, the
harness script, read-only system bind mounts, dropping to another uid (``setpriv``), and
the scrubbed environment a harness process gets."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import sys
from pathlib import Path

# the script that runs inside the sandbox (standard library only)
_HARNESS_PATH = Path(__file__).parent.parent / "sandbox_harness.py"


@functools.lru_cache(maxsize=1)
def harness_source() -> str:
    return _HARNESS_PATH.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def base_python() -> tuple[str, str]:
    """The base interpreter (not the venv's launcher) and the prefix it needs."""
    prefix = os.path.realpath(sys.base_prefix)
    exe = os.path.realpath(sys.executable)
    if not exe.startswith(prefix + os.sep):
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        candidate = os.path.join(prefix, "bin", version)
        if os.path.exists(candidate):
            exe = os.path.realpath(candidate)
    return exe, prefix


@functools.lru_cache(maxsize=1)
def pytest_site() -> str | None:
    spec = importlib.util.find_spec("pytest")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.dirname(os.path.realpath(list(spec.submodule_search_locations)[0]))


def system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def bind_outside_usr(host: str, inside: str) -> list[str]:
    """Read-only bind of ``host`` at ``inside`` (nothing when it is already under /usr),
    creating the parent folders world-traversable (bwrap would copy e.g. /root's 0700)."""
    if inside == host and (host == "/usr" or host.startswith("/usr/")):
        return []
    args: list[str] = []
    parts = Path(inside).parts[1:-1]
    path = ""
    for part in parts:
        path += "/" + part
        args += ["--perms", "0755", "--dir", path]
    return args + ["--ro-bind", host, inside]


def setpriv(uid: int) -> list[str]:
    return [
        shutil.which("setpriv") or "/usr/bin/setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    ]


def scrubbed_env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }

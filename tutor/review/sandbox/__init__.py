"""Running trainee code with an exercise's tests, isolated and under resource limits.

``build_sandbox(kind, allow_unsafe=...)`` picks the implementation (docs/sandbox.md says what
each one protects against):

- ``bubblewrap``: the harness (``tutor/review/sandbox_harness.py``) runs under ``bwrap`` with
  no network, its own PID/IPC/UTS namespaces, a read-only ``/usr`` and Python, a size-capped
  ``/tmp`` as its only writable place, no ``/etc``, ``/home``, ``/root``, project or data
  folders, a scrubbed environment, and (when the server is root) a uid of its own, so the
  process limit holds; resource limits on top.
- ``process``: the same harness, limits, scrubbed environment and temporary folder, without
  isolation; only with the operator's opt-in (``allow_unsafe``).
- otherwise a sandbox that refuses: every run returns the verdict ``refused`` with the reason.

A run streams one JSON line per event from the harness on a dedicated pipe; when a test hangs
or kills its process, that test is marked and the next one starts in a fresh process, within
the run's wall-time and CPU budgets. Expected values never enter the sandbox: the server
compares (``JsonCase.judge``).

The modules, in the order a run meets them:

- ``protocol``: ``Sandbox`` (what callers use) and ``SandboxLimits``.
- ``factory``: ``build_sandbox`` from ``KDT_SANDBOX``; does bubblewrap work here?
- ``backends``: the refusing, bubblewrap and plain-process sandboxes.
- ``job``: what a harness process is sent (files, the tested function, cases, limits).
- ``run_driver``: one run of the tests, a fresh process after a test that had to be
  stopped, and the verdict; ``variant_driver``: mutants of one file, statuses only.
- ``harness_process``: one harness process, its pipes pumped until it ends or is killed.
- ``host``: the interpreter, bind mounts and environment; ``uid_slots``: a uid of its own
  per run when the server is root.
"""

from tutor.review.sandbox.backends import BubblewrapSandbox, ProcessSandbox, RefusedSandbox
from tutor.review.sandbox.factory import bubblewrap_available, build_sandbox
from tutor.review.sandbox.job import executable_lines
from tutor.review.sandbox.protocol import Sandbox, SandboxLimits

__all__ = [
    "BubblewrapSandbox",
    "ProcessSandbox",
    "RefusedSandbox",
    "Sandbox",
    "SandboxLimits",
    "build_sandbox",
    "bubblewrap_available",
    "executable_lines",
]

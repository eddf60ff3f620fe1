"""Hostile trainee code against the real bubblewrap sandbox (issue 6, item 8).

Each test submits code that attacks the server or the tests, and checks that the attack is
contained, that the verdict says what happened, and that the server (this test process) is
fine afterwards: no process of the sandbox left, files outside the sandbox untouched, and a
normal submission still passes.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tutor.review.exercise_tests import ExerciseTests
from tutor.review.sandbox import SandboxLimits, bubblewrap_available, build_sandbox
from tutor.review.types import SourceFile

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SANDBOX_UIDS = range(2_100_000, 2_100_000 + 128)
FAST = SandboxLimits(cpu_s=5, wall_s=8, case_s=1.0)

# f(x) == x + 1, twice: a correct submission passes both cases
TESTS = ExerciseTests.from_parts(
    json_text=json.dumps(
        {"function": "f", "cases": [{"input": [1], "expected": 2}, {"input": [2], "expected": 3}]}
    )
)
CORRECT = "def f(x):\n    return x + 1\n"
# children this test process already had (servers other tests' fixtures started) are not ours
CHILDREN_BEFORE: set[str] = set()


@pytest.fixture(scope="module")
def sandbox():
    assert bubblewrap_available(), (
        "bubblewrap is required for the sandbox tests: apt-get install bubblewrap "
        "(.ci/run installs it); these tests are never skipped"
    )
    CHILDREN_BEFORE.update(my_children())
    return build_sandbox("bubblewrap", allow_unsafe=False)


def run(sandbox, code: str, *, tests: ExerciseTests = TESTS, limits: SandboxLimits = FAST):
    return sandbox.run(
        files=[SourceFile("solution.py", textwrap.dedent(code))], tests=tests, limits=limits
    )


def sandbox_processes() -> list[int]:
    """Processes running as one of the sandbox's uids, anywhere on this machine."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in SANDBOX_UIDS:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def my_children() -> list[str]:
    """Child processes of this test process started since the sandbox fixture was built."""
    pid = os.getpid()
    out: list[str] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out += Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
    return [child for child in out if child not in CHILDREN_BEFORE]


def assert_server_fine(sandbox) -> None:
    deadline = time.monotonic() + 5
    while (sandbox_processes() or my_children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes() == [], "a sandboxed process outlived its run"
    assert my_children() == [], "the server was left with child processes"
    again = run(sandbox, CORRECT)
    assert again.verdict == "passed", again.message


# --- processes --------------------------------------------------------------------------------


def test_fork_bomb_in_the_function_is_stopped_by_the_process_limit(sandbox):
    result = run(
        sandbox,
        """
        import os
        def f(x):
            while True:
                os.fork()
        """,
    )
    assert result.verdict == "crashed"
    assert "processes" in result.limits_hit
    assert "tried to start more than 16 processes" in result.message
    assert all(c.status == "crashed" for c in result.cases)
    assert_server_fine(sandbox)


def test_fork_bomb_while_loading(sandbox):
    result = run(
        sandbox,
        """
        import os
        while True:
            os.fork()
        """,
    )
    assert result.verdict == "crashed"
    assert "processes" in result.limits_hit
    assert "while loading" in result.message
    assert_server_fine(sandbox)


def test_subprocess_bomb_with_threads(sandbox):
    # The threads never end but yield the GIL: busy ones starve the thread that starts the
    # next, so on a loaded machine the wall limit came first (CPU bombs: the loop tests).
    result = run(
        sandbox,
        """
        import threading, time
        def spin():
            while True:
                time.sleep(0.01)
        def f(x):
            threads = [threading.Thread(target=spin, daemon=True) for _ in range(200)]
            for t in threads:
                t.start()
            return x + 1
        """,
    )
    assert result.verdict != "passed"
    assert "processes" in result.limits_hit
    assert_server_fine(sandbox)


# --- time -------------------------------------------------------------------------------------


def test_infinite_loop_times_out_and_the_next_case_still_runs(sandbox):
    started = time.monotonic()
    result = run(
        sandbox,
        """
        def f(x):
            while x == 1:
                pass
            return x + 1
        """,
    )
    assert [c.status for c in result.cases] == ["timeout", "passed"]
    assert result.verdict == "timeout"
    assert "stopped after 1 s" in result.cases[0].error
    assert "wall" in result.limits_hit
    assert time.monotonic() - started < FAST.wall_s
    assert_server_fine(sandbox)


def test_infinite_loop_that_ignores_the_stop_is_killed(sandbox):
    result = run(
        sandbox,
        """
        import signal
        def f(x):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            signal.setitimer(signal.ITIMER_REAL, 0)
            while x == 1:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
            return x + 1
        """,
    )
    assert [c.status for c in result.cases] == ["timeout", "passed"]
    assert "did not stop when asked" in result.cases[0].error
    assert_server_fine(sandbox)


def test_infinite_loop_that_swallows_the_stop_still_times_out(sandbox):
    result = run(
        sandbox,
        """
        def f(x):
            while x == 1:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
            return x + 1
        """,
    )
    # stopped by the repeated timer between two catches, or killed by the server
    assert [c.status for c in result.cases] == ["timeout", "passed"]
    assert_server_fine(sandbox)


def test_endless_loop_while_loading(sandbox):
    result = run(sandbox, "while True:\n    pass\n")
    assert result.verdict == "timeout"
    assert "did not finish loading" in result.message
    assert_server_fine(sandbox)


def test_the_whole_run_stops_at_the_wall_time_budget(sandbox):
    limits = SandboxLimits(cpu_s=30, wall_s=2.5, case_s=1.0)
    tests = ExerciseTests.from_parts(
        json_text=json.dumps(
            {"function": "f", "cases": [{"input": [i], "expected": i} for i in range(6)]}
        )
    )
    started = time.monotonic()
    result = run(sandbox, "import time\ndef f(x):\n    time.sleep(5)\n", tests=tests, limits=limits)
    elapsed = time.monotonic() - started
    assert result.verdict == "timeout"
    assert "killed after 2.5 s wall time" in result.message
    assert elapsed < 2.5 + 2.0
    assert any("not run" in (c.error or "") for c in result.cases)
    assert_server_fine(sandbox)


# --- memory, output, files ---------------------------------------------------------------------


def test_memory_bomb_is_stopped_at_the_memory_limit(sandbox):
    result = run(
        sandbox,
        """
        def f(x):
            hog = []
            while True:
                hog.append(bytearray(10 * 1024 * 1024))
        """,
        # filling 512 MB can take over a second on a busy machine: a longer per-test limit,
        # so the memory limit, not the time limit, is what stops it
        limits=SandboxLimits(cpu_s=10, wall_s=15, case_s=6.0),
    )
    assert result.verdict == "crashed"
    assert "memory" in result.limits_hit
    assert "used more than 512 MB of memory" in result.cases[0].error
    assert_server_fine(sandbox)


def test_gigabytes_of_printed_output_are_cut(sandbox):
    started = time.monotonic()
    result = run(
        sandbox,
        """
        def f(x):
            while True:
                print("x" * 100_000)
        """,
    )
    assert result.verdict == "crashed"
    assert "output" in result.limits_hit
    assert "tried to print more than 256 KB" in result.message
    assert len(result.stdout) <= 8 * 1024
    assert time.monotonic() - started < 5
    assert_server_fine(sandbox)


def test_output_written_straight_to_the_file_descriptor_is_cut_by_the_server(sandbox):
    result = run(
        sandbox,
        """
        import os
        def f(x):
            while True:
                os.write(1, b"y" * 1_000_000)
        """,
    )
    assert result.verdict == "crashed"
    assert "output" in result.limits_hit
    assert_server_fine(sandbox)


def test_a_huge_file_write_hits_the_file_size_limit(sandbox):
    result = run(
        sandbox,
        """
        def f(x):
            with open("big.bin", "wb") as fh:
                for _ in range(100):
                    fh.write(b"z" * (1024 * 1024))
            return x + 1
        """,
    )
    assert result.verdict == "crashed"
    assert "file_size" in result.limits_hit
    assert "more than 8 MB" in result.cases[0].error
    assert_server_fine(sandbox)


def test_writing_outside_the_sandbox_changes_nothing_on_the_host(sandbox, tmp_path):
    host_tmp = tmp_path / "written-from-sandbox.txt"
    repo_file = REPO / "written-from-sandbox.txt"
    targets = [str(host_tmp), str(repo_file), "/usr/written-from-sandbox.txt", "/etc/passwd"]
    result = run(
        sandbox,
        f"""
        import os
        def f(x):
            done = []
            for path in {targets!r}:
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w") as fh:
                        fh.write("pwned")
                    done.append(path)
                except OSError:
                    pass
            return x + 1
        """,
    )
    assert not host_tmp.exists()
    assert not repo_file.exists()
    assert not Path("/usr/written-from-sandbox.txt").exists()
    assert "pwned" not in Path("/etc/passwd").read_text()
    assert result.verdict == "passed"  # the code itself did nothing wrong for the tests
    assert_server_fine(sandbox)


def test_deleting_files_outside_the_sandbox_is_impossible(sandbox, tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    tests = ExerciseTests.from_parts(
        json_text=json.dumps({"function": "f", "cases": [{"input": [str(victim)], "expected": 4}]})
    )
    result = run(
        sandbox,
        """
        import os, shutil
        def f(path):
            errors = 0
            for target in (path, os.path.dirname(path), "/usr/bin", "/usr/lib"):
                try:
                    if os.path.isdir(target):
                        shutil.rmtree(target)
                    else:
                        os.remove(target)
                except OSError:
                    errors += 1
            return 4 - errors
        """,
        tests=tests,
    )
    assert victim.read_text() == "keep me"
    assert Path("/usr/bin/env").exists()
    assert result.verdict == "failed"
    assert result.cases[0].actual == "0"  # every deletion failed inside the sandbox
    assert_server_fine(sandbox)


# --- secrets and network ----------------------------------------------------------------------


def test_environment_secrets_are_not_visible(sandbox, monkeypatch):
    monkeypatch.setenv("KDT_SECRET", "s3cret-value")
    tests = ExerciseTests.from_parts(
        json_text=json.dumps(
            {"function": "f", "cases": [{"input": [], "expected": "s3cret-value"}]}
        )
    )
    result = run(
        sandbox,
        f"""
        import os
        def f():
            found = os.environ.get("KDT_SECRET", "")
            for pid in ("1", "2", "self", {str(os.getpid())!r}):
                try:
                    data = open(f"/proc/{{pid}}/environ", "rb").read().decode()
                except OSError:
                    continue
                if "s3cret" in data:
                    found = "s3cret-value"
            return found or sorted(os.environ)
        """,
        tests=tests,
    )
    assert result.verdict == "failed"
    assert "s3cret" not in (result.cases[0].actual or "")
    assert "KDT" not in (result.cases[0].actual or "")
    assert_server_fine(sandbox)


def test_shadow_like_files_are_not_readable(sandbox, tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$very-secret-hash:19000:0:99999:7:::\n")
    secret.chmod(0o600)
    tests = ExerciseTests.from_parts(
        json_text=json.dumps(
            {"function": "f", "cases": [{"input": [str(secret)], "expected": "read"}]}
        )
    )
    result = run(
        sandbox,
        """
        def f(path):
            for candidate in (path, "/etc/shadow", "/root/.bash_history"):
                try:
                    with open(candidate) as fh:
                        fh.read()
                    return "read"
                except OSError:
                    pass
            return "denied"
        """,
        tests=tests,
    )
    assert result.verdict == "failed"
    assert result.cases[0].actual == "'denied'"
    assert_server_fine(sandbox)


def test_no_network_to_services_on_localhost(sandbox):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        try:
            conn, _ = server.accept()
            accepted.append(conn)
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    tests = ExerciseTests.from_parts(
        json_text=json.dumps({"function": "f", "cases": [{"input": [port], "expected": "open"}]})
    )
    try:
        result = run(
            sandbox,
            """
            import socket
            def f(port):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    return "open"
                except OSError as exc:
                    return type(exc).__name__
            """,
            tests=tests,
        )
    finally:
        thread.join()
        server.close()
    assert accepted == []
    assert result.verdict == "failed"
    assert result.cases[0].actual != "'open'"
    assert_server_fine(sandbox)


# --- killing the server -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        "os.kill(os.getppid(), signal.SIGKILL)",
        "os.killpg(os.getpgid(0), signal.SIGKILL)",
        "os.kill(-1, signal.SIGKILL)",
        "os.kill(SERVER_PID, signal.SIGKILL)",
    ],
)
def test_killing_the_parent_does_not_reach_the_server(sandbox, attack):
    code = f"""
        import os, signal
        SERVER_PID = {os.getpid()}
        def f(x):
            try:
                {attack}
            except OSError:
                pass
            return x + 1
        """
    result = run(sandbox, code)
    # this test process is the server: it is still here to check the verdict
    assert result.verdict in ("passed", "crashed")
    if result.verdict == "crashed":
        assert result.cases[0].status == "crashed"
        assert "signal SIGKILL" in result.cases[0].error
    assert_server_fine(sandbox)


# --- exit tricks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("import sys\nsys.exit(0)\n", "called sys.exit(0) while loading"),
        ("exit()\n", "called sys.exit() while loading"),
        ("import os\nos._exit(0)\n", "the Python process ended"),
    ],
)
def test_exit_while_loading_is_a_crash_not_a_pass(sandbox, code, words):
    result = run(sandbox, CORRECT + code)
    assert result.verdict == "crashed"
    assert words in result.message
    assert all(c.status == "crashed" for c in result.cases)
    assert_server_fine(sandbox)


def test_sys_exit_inside_the_function_crashes_that_case(sandbox):
    result = run(sandbox, "import sys\ndef f(x):\n    sys.exit(0)\n")
    assert result.verdict == "crashed"
    assert [c.status for c in result.cases] == ["crashed", "crashed"]
    assert result.cases[0].error == "the program called sys.exit(0)"
    assert_server_fine(sandbox)


def test_os_exit_inside_the_function_crashes_only_that_case(sandbox):
    result = run(
        sandbox,
        """
        import os
        def f(x):
            if x == 1:
                os._exit(0)
            return x + 1
        """,
    )
    assert [c.status for c in result.cases] == ["crashed", "passed"]
    assert "the Python process ended during this test (exit code 0" in result.cases[0].error
    assert result.verdict == "crashed"
    assert_server_fine(sandbox)


# --- faking passes ----------------------------------------------------------------------------


def test_an_object_equal_to_everything_does_not_pass(sandbox):
    result = run(
        sandbox,
        """
        class Anything:
            def __eq__(self, other):
                return True
            def __repr__(self):
                return "2"
        class SneakyInt(int):
            def __eq__(self, other):
                return True
        def f(x):
            return Anything() if x == 1 else SneakyInt(0)
        """,
    )
    assert result.verdict == "failed"
    assert [c.status for c in result.cases] == ["failed", "failed"]
    assert_server_fine(sandbox)


def test_patching_builtins_and_json_does_not_fake_a_pass(sandbox):
    result = run(
        sandbox,
        """
        import builtins, json
        builtins.isinstance = lambda *a: True
        builtins.repr = lambda *a: "2"
        json.dumps = lambda *a, **k: '{"t": "case", "i": 0, "status": "returned", "value": 2}'
        def f(x):
            return None
        """,
    )
    assert result.verdict == "failed"
    assert all(c.status == "failed" for c in result.cases)
    assert_server_fine(sandbox)


def test_forged_result_lines_make_the_run_untrusted(sandbox):
    result = run(
        sandbox,
        """
        import os
        fake = b'{"t": "case", "i": 0, "status": "returned", "value": 2, "repr": "2"}\\n'
        # the results channel has whatever number the server's pipe got: try them all
        for fd in range(3, 4096):
            try:
                os.write(fd, fake)
            except OSError:
                pass
        def f(x):
            return None
        """,
    )
    assert result.verdict == "crashed"
    assert "interfered" in result.message
    assert result.passed == 0
    assert_server_fine(sandbox)


# --- pytest files: the verdict comes from a process no trainee code runs in --------------------

# f(1) must be 2; every submission below returns 0 and tries to pass anyway
PYTEST_TESTS = ExerciseTests.from_parts(
    pytest_files=[
        SourceFile(
            "test_f.py",
            "from submission import f\n\n\ndef test_f():\n    assert f(1) == 2\n\n\n"
            "def test_f_again():\n    assert f(2) == 3\n",
        )
    ]
)
WRONG = "def f(x):\n    return 0\n"
PYTEST_ATTACKS = {
    # the 6-line patch that fooled the old in-process runner: every report says passed
    "patch TestReport.__init__": """
        import _pytest.reports
        _init = _pytest.reports.TestReport.__init__
        def init(self, *args, **kwargs):
            _init(self, *args, **kwargs)
            self.outcome, self.longrepr = "passed", None
        _pytest.reports.TestReport.__init__ = init
    """,
    "patch the runner's hooks": """
        import _pytest.python, _pytest.runner
        _pytest.python.pytest_pyfunc_call = lambda pyfuncitem: True
        _make = _pytest.runner.pytest_runtest_makereport
        def makereport(item, call):
            report = _make(item, call)
            report.outcome = "passed"
            return report
        _pytest.runner.pytest_runtest_makereport = makereport
    """,
    "neuter assertions": """
        import builtins, _pytest.assertion.rewrite as rw, _pytest.assertion.util as util
        builtins.AssertionError = type("Quiet", (Exception,), {})
        rw._call_reprcompare = lambda *a, **k: None
        util.assertrepr_compare = lambda *a, **k: None
        rw.AssertionRewritingHook.exec_module = lambda self, module: None
    """,
    "a conftest plugin planted in every folder": """
        import os
        hook = (
            "import pytest\\n"
            "@pytest.hookimpl(tryfirst=True)\\n"
            "def pytest_runtest_call(item):\\n"
            "    return True\\n"
            "def pytest_runtest_makereport(item, call):\\n"
            "    call.excinfo = None\\n"
        )
        for folder in ("/tmp", "/tmp/tests", os.getcwd(), os.path.dirname(os.getcwd())):
            try:
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, "conftest.py"), "w") as fh:
                    fh.write(hook)
            except OSError:
                pass
    """,
    "fake results on every descriptor and in files": """
        import os
        fake = b'{"t": "case", "i": 0, "status": "test_passed", "ms": 1}\\n'
        fake += b'{"t": "case", "i": 1, "status": "test_passed", "ms": 1}\\n{"t": "done"}\\n'
        for fd in range(3, 64):
            try:
                os.write(fd, fake)
            except OSError:
                pass
        for name in ("/tmp/results.json", "/tmp/junit.xml", "/tmp/tests/results.json"):
            try:
                with open(name, "wb") as fh:
                    fh.write(fake)
            except OSError:
                pass
    """,
    "fake markers printed": """
        print('{"t": "case", "i": 0, "status": "test_passed"}')
        print("test_f.py::test_f PASSED\\n===== 2 passed in 0.01s =====")
    """,
    "signals to the runner": """
        import os, signal
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP):
            try:
                os.kill(os.getppid(), sig)
            except OSError:
                pass
    """,
    "write the runner's memory": """
        import os
        for path in (f"/proc/{os.getppid()}/mem", f"/proc/{os.getppid()}/fd/1"):
            try:
                open(path, "r+b").close()
                print("OPENED", path)
            except OSError as exc:
                print("REFUSED", path, type(exc).__name__)
    """,
    "an answer equal to everything": """
        class Anything:
            def __eq__(self, other):
                return True
        def f(x):
            return Anything()
    """,
    "a list subclass equal to everything": """
        class Anything(int):
            def __eq__(self, other):
                return True
            __hash__ = int.__hash__
        def f(x):
            return Anything(0)
    """,
}


@pytest.mark.parametrize("attack", sorted(PYTEST_ATTACKS))
def test_pytest_verdicts_cannot_be_forged_by_the_submission(sandbox, attack):
    code = textwrap.dedent(PYTEST_ATTACKS[attack])
    if "def f(" not in code:
        code += "\n" + WRONG
    result = run(sandbox, code, tests=PYTEST_TESTS)

    assert result.verdict != "passed", (attack, result.message)
    assert result.passed == 0, [(c.name, c.status, c.error) for c in result.cases]
    assert [c.name for c in result.cases] == ["test_f.py::test_f", "test_f.py::test_f_again"]
    assert "OPENED" not in result.stdout
    assert_server_fine(sandbox)


def test_the_runner_refuses_ptrace_and_memory_access(sandbox):
    code = PYTEST_ATTACKS["write the runner's memory"]
    result = run(sandbox, textwrap.dedent(code) + "\n" + CORRECT, tests=PYTEST_TESTS)
    assert result.verdict == "passed", result.message  # a correct answer still passes
    assert result.stdout.count("REFUSED") >= 2 and "OPENED" not in result.stdout


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("import sys\nsys.exit(0)\n" + WRONG, "sys.exit(0) while loading"),
        ("import os\nos._exit(0)\n" + WRONG, "while loading"),
        ("import os\ndef f(x):\n    os._exit(0)\n", "ended during this test"),
        ("import sys\ndef f(x):\n    sys.exit(0)\n", "sys.exit(0)"),
        ("import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n", ""),
    ],
)
def test_exiting_or_killing_under_pytest_is_never_a_pass(sandbox, code, words):
    result = run(sandbox, code, tests=PYTEST_TESTS)
    assert result.verdict in ("crashed", "error"), result.message
    assert result.passed == 0
    shown = result.message + " ".join(c.error or "" for c in result.cases)
    assert words in shown
    assert_server_fine(sandbox)


def test_a_submitted_pytest_module_cannot_replace_the_test_runner(sandbox):
    test_file = SourceFile(
        "test_f.py",
        "import pytest\nfrom submission import f\n\n\ndef test_f():\n    assert f(1) == 2\n",
    )
    tests = ExerciseTests.from_parts(pytest_files=[test_file])
    files = [
        SourceFile("solution.py", "def f(x):\n    return 0\n"),
        SourceFile("pytest.py", "def main(*args, **kwargs):\n    return 0\n"),
    ]
    result = sandbox.run(files=files, tests=tests, limits=FAST)
    assert result.verdict == "failed"
    assert [c.status for c in result.cases] == ["failed"]
    assert_server_fine(sandbox)

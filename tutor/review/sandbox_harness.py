"""The script that runs INSIDE the sandbox: loads the submission, runs the cases, reports.

Started by ``tutor.review.sandbox`` as ``python -I -S -B -c <this file's text>`` (under
bubblewrap, or as a plain process), it reads its job as JSON on stdin, then:

1. sets the resource limits (memory, CPU, file size, processes, open files, no core files)
   before any trainee code runs, and replaces stdin with an empty stream;
2. writes the submitted files to ``src/`` (and pytest files to ``tests/``) in its working
   directory, a fresh writable temporary folder;
3. loads the submission as the module ``submission`` (also importable by its own file name),
   after the optional setup code (a case folder's ``global.py``);
4. runs the ``tests.json`` cases from ``start`` on, then the pytest files, each case under a
   soft time limit (an interval timer raising ``CaseTimeout``), optionally tracing the lines
   of submitted files it executes;
5. streams one JSON line per event on a dedicated results file descriptor, opened by the
   server before this process started, so a kill loses only the case in progress.

It only ever receives the cases' INPUTS. It sends back what the code returned (JSON-normalised,
plus a short repr), an expression case's value (and, for display, what the code printed), or
the exception's class names; the server compares with the
expected values, so trainee code cannot fake a pass by patching builtins, ``__eq__``, ``print``
or ``json`` here. Pytest assertions do run in here: see docs/sandbox.md for what that allows.

Standard library only (plus pytest, imported only when there are pytest files). Nothing here
may import the project: this file is not even a module inside the sandbox.
"""

import builtins
import errno
import json
import os
import resource
import signal
import sys
import time
import types

MB = 1024 * 1024
_MAX_VALUE_BYTES = 2 * MB
_MAX_ITEMS = 100_000
_MAX_DEPTH = 100
_ERROR_CHARS = 500
_TRACED_SHARE = 0.25


class CaseTimeout(BaseException):
    """Raised by the interval timer inside trainee code that ran past its time."""


class CpuLimit(BaseException):
    """Raised on SIGXCPU: the run used its CPU-time budget."""


class OutputLimit(BaseException):
    """Raised when the program prints more than its output budget."""


class _Unserializable(Exception):
    pass


class _State:
    def __init__(self):
        self.active = False  # trainee code of a case is running (the timer may interrupt it)
        self.timed_out = False
        self.cpu_out = False
        self.case = -1
        self.lines = set()
        self.tracing = False
        self.partial_sent = False


STATE = _State()
_REAL_WRITE = os.write
_REAL_GETPID = os.getpid
_ESCAPE = json.encoder.c_encode_basestring_ascii or json.encoder.py_encode_basestring_ascii
_FLOAT_REPR = float.__repr__
_INT_REPR = int.__repr__
_TYPE = type


def _DUMPS(value):  # noqa: N802 - stands in for json.dumps
    """JSON text of plain data, using nothing trainee code can patch (it may replace
    ``builtins.isinstance`` or ``json.dumps``; the C string escaper and the exact-type checks
    here stay as they were when the harness started)."""
    parts = []
    _encode(value, parts.append)
    return "".join(parts)


def _encode(value, put):
    t = _TYPE(value)
    if t is str:
        put(_ESCAPE(value))
    elif value is None:
        put("null")
    elif value is True:
        put("true")
    elif value is False:
        put("false")
    elif t is int:
        put(_INT_REPR(value))
    elif t is float:
        if value != value:
            put("NaN")
        elif value in (float("inf"), float("-inf")):
            put("Infinity" if value > 0 else "-Infinity")
        else:
            put(_FLOAT_REPR(value))
    elif t is list or t is tuple:
        put("[")
        first = True
        for item in value:
            if not first:
                put(",")
            first = False
            _encode(item, put)
        put("]")
    elif t is dict:
        put("{")
        first = True
        for key, item in value.items():
            if not first:
                put(",")
            first = False
            put(_ESCAPE(key if _TYPE(key) is str else str(key)))
            put(":")
            _encode(item, put)
        put("}")
    else:
        put(_ESCAPE(f"<{t.__name__}>"))


MAIN_PID = os.getpid()


# --- reporting -------------------------------------------------------------------------


class Reporter:
    def __init__(self, fd):
        self.fd = fd

    def emit(self, record):
        data = (_DUMPS(record) + "\n").encode("utf-8", "replace")
        view = memoryview(data)
        while view:
            try:
                n = _REAL_WRITE(self.fd, view)
            except InterruptedError:
                continue
            except OSError:
                os._exit(70)  # the results channel is gone: nothing more can be reported
            view = view[n:]


REPORT = Reporter(-1)


# --- output ---------------------------------------------------------------------------


class CappedOutput:
    """``sys.stdout``/``sys.stderr``: forwards to the real fd up to a shared byte budget,
    and captures what is printed while an expression case runs (shown to the trainee)."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, fd, budget):
        self._fd = fd
        self._budget = budget
        self.capture = None

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = text.encode("utf-8", "replace")
        if self.capture is not None:
            if self._budget.used + len(data) > self._budget.limit:
                raise OutputLimit()
            self._budget.used += len(data)
            self.capture.append(text)
            return len(text)
        room = self._budget.limit - self._budget.used
        if len(data) > room:
            if room > 0:
                self._raw(data[:room])
            self._budget.used = self._budget.limit
            raise OutputLimit()
        self._budget.used += len(data)
        self._raw(data)
        return len(text)

    def _raw(self, data):
        view = memoryview(data)
        while view:
            try:
                n = _REAL_WRITE(self._fd, view)
            except InterruptedError:
                continue
            except OSError:
                return
            view = view[n:]

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def readable(self):
        return False

    def writable(self):
        return True


class _Budget:
    def __init__(self, limit):
        self.limit = limit
        self.used = 0


# --- limits and signals ---------------------------------------------------------------------


def apply_limits(job):
    limits = job["limits"]

    def setlimit(which, value):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            soft, hard = resource.getrlimit(which)
            if hard == resource.RLIM_INFINITY or value <= hard:
                resource.setrlimit(which, (value, hard))

    setlimit(resource.RLIMIT_CORE, 0)
    setlimit(resource.RLIMIT_AS, int(limits["memory_mb"]) * MB)
    setlimit(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * MB)
    setlimit(resource.RLIMIT_NOFILE, int(limits.get("nofile", 256)))
    if limits.get("nproc"):
        setlimit(resource.RLIMIT_NPROC, int(limits["nproc"]))
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails with EFBIG instead
    signal.signal(signal.SIGXCPU, _on_xcpu)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _on_alarm(signum, frame):
    if not STATE.active:
        return
    if not STATE.partial_sent and STATE.case >= 0:
        STATE.partial_sent = True
        REPORT.emit({"t": "partial", "i": STATE.case, "lines": _lines_out(STATE.lines)})
    STATE.timed_out = True
    raise CaseTimeout()


def _on_xcpu(signum, frame):
    STATE.cpu_out = True
    if STATE.active:
        raise CpuLimit()


def arm(seconds):
    STATE.timed_out = False
    STATE.partial_sent = False
    signal.signal(signal.SIGALRM, _on_alarm)  # again: an earlier test may have replaced it
    signal.signal(signal.SIGXCPU, _on_xcpu)
    # fires once after ``seconds``, then every 50 ms in case the code swallows the exception
    signal.setitimer(signal.ITIMER_REAL, max(0.001, seconds), 0.05)


def disarm():
    signal.setitimer(signal.ITIMER_REAL, 0, 0)


def cpu_used():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def reap(kill_all):
    """Kill what trainee code forked (every other process this uid may signal: the sandbox's
    own uid, or the processes of its PID namespace) and collect the zombies."""
    if _REAL_GETPID() != MAIN_PID:
        os._exit(0)  # a fork of trainee code came back into the harness: it must not report
    if kill_all:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except (ChildProcessError, OSError):
            break
        if pid == 0:
            break


# --- tracing --------------------------------------------------------------------------------


class Tracer:
    """``sys.settrace`` restricted to code objects compiled from the submitted files."""

    def __init__(self, file_ids):
        self.file_ids = file_ids  # absolute path -> index of the submitted file
        self.local = {}
        for path, fid in file_ids.items():
            self.local[path] = self._make_local(fid << 20)

    def _make_local(self, base):
        lines = STATE.lines

        def local(frame, event, arg):
            if event == "line":
                lines.add(base | frame.f_lineno)
            return local

        return local

    def global_trace(self, frame, event, arg):
        local = self.local.get(frame.f_code.co_filename)
        if local is None:
            return None
        return local

    def start(self):
        STATE.lines.clear()
        sys.settrace(self.global_trace)

    def stop(self):
        sys.settrace(None)


def _lines_out(lines):
    return sorted([n >> 20, n & 0xFFFFF] for n in lines)


# --- values -------------------------------------------------------------------------------


def normalize(value, depth=0):
    """The value as JSON data: tuples and iterators as lists, sets sorted when possible,
    dict keys as JSON would write them. Subclasses of plain types are read through the
    base type, so an overridden ``__eq__``/``__iter__``/``__str__`` changes nothing."""
    if depth > _MAX_DEPTH:
        raise _Unserializable("nested too deeply")
    t = type(value)
    if value is None or t is bool or t is int or t is str or t is float:
        return value
    if t is list or t is tuple:
        return [normalize(v, depth + 1) for v in value]
    if t is dict:
        return {_key(k): normalize(v, depth + 1) for k, v in value.items()}
    if t is set or t is frozenset:
        items = [normalize(v, depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list | tuple):
        base = list if isinstance(value, list) else tuple
        return [normalize(v, depth + 1) for v in base.__iter__(value)]
    if isinstance(value, dict):
        return {_key(k): normalize(v, depth + 1) for k, v in dict.items(value)}
    if isinstance(value, set | frozenset):
        base = set if isinstance(value, set) else frozenset
        return normalize(set(base.__iter__(value)), depth)
    name = f"{t.__module__}.{t.__qualname__}"
    if name in ("decimal.Decimal", "fractions.Fraction"):
        return float(value)
    if t is range or name in ("builtins.dict_keys", "builtins.dict_values", "builtins.dict_items"):
        return [normalize(v, depth + 1) for v in _take(iter(value))]
    if isinstance(value, types.GeneratorType) or (
        hasattr(t, "__next__") and hasattr(t, "__iter__")
    ):
        return [normalize(v, depth + 1) for v in _take(value)]
    raise _Unserializable(name)


def _take(iterator):
    out = []
    for item in iterator:
        out.append(item)
        if len(out) > _MAX_ITEMS:
            raise _Unserializable(f"more than {_MAX_ITEMS} items")
    return out


def _key(key):
    t = type(key)
    if t is str:
        return key
    if key is None or t is bool or t is int or t is float:
        return _DUMPS(key)
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return str(int.__int__(key))
    raise _Unserializable("a dict key that JSON cannot hold")


def short_repr(value):
    import reprlib

    r = reprlib.Repr()
    r.maxlist = r.maxtuple = r.maxset = r.maxfrozenset = r.maxdeque = r.maxarray = 50
    r.maxdict = 30
    r.maxstring = 300
    r.maxother = 300
    r.maxlevel = 6
    try:
        text = r.repr(value)
        text = str.__str__(text) if isinstance(text, str) else "?"
    except (CaseTimeout, CpuLimit, OutputLimit, MemoryError):
        raise
    except BaseException:  # noqa: BLE001 - a broken __repr__ only spoils the display
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


# --- exceptions ----------------------------------------------------------------------------


def describe(exc, file_names):
    """``"ZeroDivisionError: division by zero (line 4)"`` with the deepest submitted line."""
    try:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    except BaseException:  # noqa: BLE001 - trainee __str__ may raise anything
        message = ""
    text = type(exc).__name__ + (f": {message}" if message else "")
    where = None
    tb = exc.__traceback__
    while tb is not None:
        name = file_names.get(tb.tb_frame.f_code.co_filename)
        if name is not None:
            where = (name, tb.tb_lineno)
        tb = tb.tb_next
    if where is None and isinstance(exc, SyntaxError) and exc.filename in file_names:
        where = (file_names[exc.filename], exc.lineno or 0)
    if where is not None:
        only_one = len(set(file_names.values())) == 1
        text += f" (line {where[1]})" if only_one else f" ({where[0]}, line {where[1]})"
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


def mro_names(exc):
    return [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]


def classify(exc):
    """The limit an exception shows was hit, or None for an ordinary exception."""
    if isinstance(exc, CaseTimeout) or STATE.timed_out:
        return "timeout"
    if isinstance(exc, CpuLimit) or STATE.cpu_out:
        return "cpu"
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OutputLimit):
        return "output"
    if isinstance(exc, SystemExit):
        return "exit"
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return "processes"  # threads count against the same limit as processes
    if isinstance(exc, OSError):
        if exc.errno == errno.EAGAIN and _looks_like_fork(exc):
            return "processes"
        if exc.errno in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT):
            return "file_size"
    return None


def _looks_like_fork(exc):
    tb = exc.__traceback__
    names = set()
    while tb is not None:
        names.add(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    text = str(exc)
    return bool(
        names & {"fork", "_execute_child", "_fork_exec", "start", "_launch", "spawnv", "system"}
        or "fork" in text
        or "Resource temporarily unavailable" in text
    )


def _exit_code(exc):
    """What ``sys.exit`` was given, as written in the call: ``0``, ``'bye'`` or nothing."""
    code = exc.code
    if code is None:
        return ""
    if isinstance(code, int):
        return str(code)
    try:
        return repr(str(code))[:80]
    except BaseException:  # noqa: BLE001
        return "..."


# --- the submission --------------------------------------------------------------------------


class Submission:
    def __init__(self, job, workdir):
        self.job = job
        self.src = os.path.join(workdir, "src")
        os.makedirs(self.src, exist_ok=True)
        self.files = job["files"]
        self.paths = [os.path.join(self.src, f["name"]) for f in self.files]
        self.file_ids = {p: i for i, p in enumerate(self.paths) if p.endswith(".py")}
        self.file_names = {p: self.files[i]["name"] for p, i in self.file_ids.items()}
        self.main = job["main"]
        self.module = None

    def write(self, override=None):
        for i, (f, path) in enumerate(zip(self.files, self.paths, strict=True)):
            text = override if (override is not None and i == self.job.get("target")) else f["text"]
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)

    def forget(self):
        for name, module in list(sys.modules.items()):
            try:
                mine = name == "submission" or getattr(module, "__file__", None) in self.file_ids
            except BaseException:  # noqa: BLE001 - whatever trainee code left in sys.modules
                mine = True
            if mine:
                sys.modules.pop(name, None)
        import importlib

        importlib.invalidate_caches()

    def load(self):
        """Run the setup code and the main file as module ``submission``."""
        path = self.paths[self.main]
        stem = os.path.splitext(self.files[self.main]["name"])[0]
        module = types.ModuleType("submission")
        module.__file__ = path
        module.__builtins__ = builtins
        sys.modules["submission"] = module
        if stem != "submission":
            sys.modules[stem] = module
        setup = self.job.get("setup")
        if setup:
            exec(compile(setup, os.path.join(self.src, "..", "global.py"), "exec"), module.__dict__)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        code = compile(text, path, "exec", dont_inherit=True)
        exec(code, module.__dict__)
        self.module = module
        return module


# --- cases ----------------------------------------------------------------------------------


def run_case(index, spec, sub, *, function, time_s, tracer, out):
    """Run one tests.json case; returns its record.

    Tracing slows Python down about five times, so a traced case gets a quarter of its time;
    if it runs out, the case runs again untraced with the rest (its result counts, and the
    lines seen while traced are kept). An endless loop still costs ``time_s`` in all."""
    started = time.perf_counter()
    if tracer is None:
        record = _attempt(index, spec, sub, function=function, time_s=time_s, tracer=None, out=out)
    else:
        traced_s = time_s * _TRACED_SHARE
        record = _attempt(
            index, spec, sub, function=function, time_s=traced_s, tracer=tracer, out=out
        )
        lines = _lines_out(STATE.lines)
        if record["status"] == "timeout":
            left = time_s - (time.perf_counter() - started)
            record = _attempt(
                index, spec, sub, function=function, time_s=max(0.001, left), tracer=None, out=out
            )
        record["lines"] = lines
    record["ms"] = round((time.perf_counter() - started) * 1000, 3)
    if "value" in record:
        size = len(_DUMPS(record["value"]))
        if size > _MAX_VALUE_BYTES:
            del record["value"]
            record["unserializable"] = f"the result is too big to compare ({size} bytes)"
    return record


def _attempt(index, spec, sub, *, function, time_s, tracer, out):
    record = {"t": "case", "i": index}
    STATE.case = index
    value = None
    if tracer is not None:
        tracer.start()
    STATE.active = True
    try:
        arm(time_s)
        if spec["kind"] == "expr":
            out.capture = []
            values = run_expression(spec["code"], sub.module)
            parts = None if values is None else [_part(v) for v in values]
            printed = "".join(out.capture)
            STATE.active = False
            record.update(status="evaluated", output=printed)
            if parts is not None:
                record["parts"] = parts
        else:
            func = getattr(sub.module, function)
            result = func(*spec["args"])
            try:
                if _is_iterator(result):
                    result = _take(result)  # a generator's items, shown as a list
                value = normalize(result)
                shown = short_repr(result)
                STATE.active = False
                record.update(status="returned", value=value, repr=shown)
            except _Unserializable as why:
                shown = short_repr(result)
                STATE.active = False
                record.update(status="returned", repr=shown, unserializable=str(why))
    except BaseException as exc:  # noqa: BLE001 - trainee code may raise anything
        STATE.active = False
        disarm()
        kind = classify(exc)
        if kind is None:
            record.update(status="raised", exc=mro_names(exc), error=describe(exc, sub.file_names))
        else:
            record.update(status=kind, error=describe(exc, sub.file_names))
            if kind == "exit":
                record["code"] = _exit_code(exc)
    finally:
        STATE.active = False
        disarm()
        if tracer is not None:
            tracer.stop()
        out.capture = None
    return record


def _is_iterator(value):
    t = type(value)
    return t is not str and hasattr(t, "__next__") or t is range


def run_expression(code, module):
    """Run an expression case's input after the submission: its statements, then its last
    line when that is an expression. Returns the values ``print`` would write for it (the
    expression's value; a final ``print(a, b)``'s arguments), or None when the input ends
    with a statement. What the code prints meanwhile is output, shown and never compared."""
    import ast

    tree = ast.parse(code, "<test input>", "exec")
    body = list(tree.body)
    last = body.pop() if body and isinstance(body[-1], ast.Expr) else None
    if body:
        statements = ast.Module(body=body, type_ignores=[])
        exec(compile(statements, "<test input>", "exec"), module.__dict__)
    if last is None:
        return None
    expr = last.value
    exprs = [expr]
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "print"
        and not expr.keywords
        and not any(isinstance(a, ast.Starred) for a in expr.args)
    ):
        exprs = expr.args  # print(x) in a case's input: compare x as print writes it
    return [
        eval(compile(ast.Expression(body=e), "<test input>", "eval"), module.__dict__)
        for e in exprs
    ]


def _part(value):
    """One printed value: as plain data when it is (the server writes it as ``print``
    would, so a ``__str__`` of the code's cannot fake it), else the text ``str`` gives."""
    if _is_iterator(value):
        return {"text": short_repr(value)}
    try:
        return {"value": normalize(value)}
    except _Unserializable:
        pass
    try:
        text = str(value)
        text = str.__str__(text) if isinstance(text, str) else "?"
    except (CaseTimeout, CpuLimit, OutputLimit, MemoryError):
        raise
    except BaseException:  # noqa: BLE001 - a broken __str__ only spoils the text
        text = f"<{type(value).__name__} object>"
    return {"text": text[:_MAX_VALUE_BYTES]}


# --- pytest -------------------------------------------------------------------------------------


def run_pytest(job, sub, workdir, *, first_index, skip, tracer, out, snapshot):
    """Run the pytest files; one record per test, numbered from ``first_index``."""
    tests_dir = os.path.join(workdir, "tests")
    os.makedirs(tests_dir, exist_ok=True)
    paths = []
    for f in job["pytest"]:
        path = os.path.join(tests_dir, f["name"])
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f["text"])
        paths.append(path)
    ini = os.path.join(tests_dir, "pytest.ini")
    with open(ini, "w", encoding="utf-8") as fh:
        fh.write("[pytest]\n")
    import pytest

    case_s = job["case_s"]
    plugin = _PytestPlugin(first_index, skip, sub, tracer, case_s, snapshot)
    args = [*paths, "-c", ini, "--rootdir", tests_dir, "-s", "-p", "no:terminal"]
    for name in _PYTEST_OFF:
        args += ["-p", f"no:{name}"]
    try:
        code = pytest.main(args, plugins=[plugin, plugin.call_wrapper])
    except BaseException as exc:  # noqa: BLE001
        REPORT.emit(
            {
                "t": "pytest_error",
                "error": describe(exc, sub.file_names),
                "tampered": tampered(snapshot),
            }
        )
        return
    REPORT.emit(
        {"t": "pytest_done", "code": int(code), "ran": plugin.ran, "tampered": tampered(snapshot)}
    )


_PYTEST_OFF = (
    "cacheprovider",
    "doctest",
    "junitxml",
    "pastebin",
    "logging",
    "warnings",
    "legacypath",
    "faulthandler",
    "debugging",
    "setuponly",
    "setupplan",
    "stepwise",
    "threadexception",
    "unraisableexception",
    "lsof",
    "nose",
)


class _PytestPlugin:
    def __init__(self, first_index, skip, sub, tracer, case_s, snapshot):
        import pytest

        self.first = first_index
        self.skip = skip
        self.sub = sub
        self.tracer = tracer
        self.case_s = case_s
        self.snapshot = snapshot
        self.index = {}
        self.outcome = {}
        self.ran = 0
        self.src_marker = sub.src + os.sep
        plugin = self

        class _CallWrapper:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_call(self, item):
                yield from plugin._runtest_call(item)

        self.call_wrapper = _CallWrapper()

    def pytest_collectreport(self, report):
        if report.failed:
            text = report.longreprtext or ""
            blame = "submission" if (self.src_marker in text or "submission" in text) else "tests"
            REPORT.emit(
                {
                    "t": "collect_error",
                    "file": os.path.basename(str(report.fspath)),
                    "error": _pytest_error(text),
                    "blame": blame,
                    "tampered": tampered(self.snapshot),
                }
            )

    def pytest_collection_modifyitems(self, session, config, items):
        names = [item.nodeid for item in items]
        REPORT.emit({"t": "collected", "tests": names, "first": self.first})
        for pos, item in enumerate(items):
            self.index[item.nodeid] = self.first + pos
        del items[: self.skip]

    def pytest_runtest_logstart(self, nodeid, location):
        REPORT.emit({"t": "begin", "i": self.index.get(nodeid, -1)})

    def _runtest_call(self, item):
        index = self.index.get(item.nodeid, -1)
        STATE.case = index
        self.outcome[item.nodeid] = None
        if self.tracer is not None:
            self.tracer.start()
        STATE.active = True
        arm(self.case_s)
        started = time.perf_counter()
        result = yield
        STATE.active = False
        disarm()
        if self.tracer is not None:
            self.tracer.stop()
        self.outcome[item.nodeid] = (result.excinfo, time.perf_counter() - started)
        reap(self_kill_all())

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            index = self.index.get(report.nodeid, -1)
            record = {"t": "case", "i": index, "name": report.nodeid}
            info = self.outcome.get(report.nodeid)
            exc = info[0][1] if info and info[0] else None
            kind = classify(exc) if exc is not None else None
            if kind is not None:
                record.update(status=kind, error=describe(exc, self.sub.file_names))
            elif report.outcome == "passed":
                record["status"] = "test_passed"
            elif report.outcome == "skipped":
                record["status"] = "test_skipped"
            elif report.when == "setup":
                record.update(status="test_error", error=_pytest_error(report.longreprtext))
            else:
                record.update(status="test_failed", error=_pytest_error(report.longreprtext))
            record["ms"] = round((info[1] if info else report.duration) * 1000, 3)
            if self.tracer is not None:
                record["lines"] = _lines_out(STATE.lines) if report.when == "call" else []
            record["tampered"] = tampered(self.snapshot)
            REPORT.emit(record)
            self.ran += 1


def _pytest_error(text):
    lines = [line[1:].strip() for line in (text or "").splitlines() if line.startswith("E ")]
    if not lines:
        lines = [line for line in (text or "").splitlines() if line.strip()][-3:]
    message = "\n".join(lines[:8])
    return message if len(message) <= _ERROR_CHARS else message[: _ERROR_CHARS - 1] + "…"


# --- tampering ----------------------------------------------------------------------------------


def take_snapshot():
    """Identities of what a faked pass would have to replace: builtins, pytest's runner and
    assertion helpers, and this harness's own reporting."""
    snap = {f"builtins.{k}": id(v) for k, v in vars(builtins).items()}
    snap["harness.emit"] = id(Reporter.emit)
    snap["harness.logreport"] = id(_PytestPlugin.pytest_runtest_logreport)
    for mod_name, attrs in _WATCHED.items():
        module = sys.modules.get(mod_name)
        if module is not None:
            for attr in attrs:
                snap[f"{mod_name}.{attr}"] = id(getattr(module, attr, None))
    return snap


_WATCHED = {
    "_pytest.runner": ("call_and_report", "runtestprotocol", "call_runtest_hook", "CallInfo"),
    "_pytest.python": ("pytest_pyfunc_call",),
    "_pytest.reports": ("TestReport",),
    "_pytest.assertion.rewrite": ("_call_reprcompare", "_check_if_assertion_pass_impl"),
    "_pytest.assertion.util": ("assertrepr_compare",),
    "_pytest.main": ("pytest_runtestloop",),
    "pytest": ("raises", "approx", "main"),
    "sys": ("settrace",),
}


def tampered(snapshot):
    if snapshot is None:
        return []
    now = take_snapshot()
    changed = [k for k, v in snapshot.items() if now.get(k) != v]
    added = [
        k for k in now if k not in snapshot and k.startswith("builtins.") and k != "builtins._"
    ]
    return sorted(changed + added)[:20]


_KILL_ALL = [False]


def self_kill_all():
    return _KILL_ALL[0]


# --- main ---------------------------------------------------------------------------------------


def run_job(job):
    workdir = os.getcwd()
    budget = _Budget(int(job["limits"]["output_bytes"]))
    out = CappedOutput(1, budget)
    err = CappedOutput(2, budget)
    sys.stdout = sys.__stdout__ = out
    sys.stderr = sys.__stderr__ = err
    sys.set_int_max_str_digits(0)
    sys.dont_write_bytecode = True
    _install_exit_builtins()
    _KILL_ALL[0] = bool(job.get("kill_all"))

    sub = Submission(job, workdir)
    # Everything the harness imports is imported now, before the submission's folder is on
    # sys.path: a submitted ``pytest.py`` or ``reprlib.py`` must not stand in for them.
    import importlib  # noqa: F401
    import reprlib  # noqa: F401

    if any(case.get("kind") == "expr" for case in job["cases"]):
        import ast  # noqa: F401
    if job.get("site"):
        sys.path.append(job["site"])
    tracer = Tracer(sub.file_ids) if job.get("trace") else None
    snapshot = None
    has_pytest = bool(job.get("pytest")) and job["mode"] == "run"
    if has_pytest:
        try:
            import _pytest.assertion.rewrite  # noqa: F401
            import _pytest.main  # noqa: F401
            import _pytest.python  # noqa: F401
            import _pytest.reports  # noqa: F401
            import _pytest.runner  # noqa: F401
            import pytest  # noqa: F401 - imported before trainee code, then watched
        except BaseException as exc:  # noqa: BLE001
            REPORT.emit({"t": "pytest_error", "error": f"pytest is not available: {exc!r}"})
            has_pytest = False
        snapshot = take_snapshot()

    sys.path.insert(0, sub.src)
    apply_limits(job)
    if job["mode"] == "variants":
        run_variants(job, sub, out)
    else:
        run_tests(
            job, sub, workdir, tracer=tracer, out=out, snapshot=snapshot, pytest_ok=has_pytest
        )
    REPORT.emit({"t": "done", "cpu": cpu_used()})


def load_submission(sub, time_s):
    """Load with a time limit; returns None or the failure record."""
    STATE.case = -1
    STATE.active = True
    try:
        arm(time_s)
        sub.load()
        STATE.active = False
        return None
    except BaseException as exc:  # noqa: BLE001
        STATE.active = False
        disarm()
        kind = classify(exc)
        record = {"error": describe(exc, sub.file_names)}
        if kind is None:
            record.update(status="raised", exc=mro_names(exc))
            if isinstance(exc, SyntaxError):
                record["syntax"] = True
        else:
            record["status"] = kind
            if kind == "exit":
                record["code"] = _exit_code(exc)
        return record
    finally:
        STATE.active = False
        disarm()


def run_tests(job, sub, workdir, *, tracer, out, snapshot, pytest_ok):
    sub.write()
    REPORT.emit({"t": "begin", "i": -1, "cpu": cpu_used()})
    failure = load_submission(sub, job["load_s"])
    reap(_KILL_ALL[0])
    if failure is not None:
        REPORT.emit({"t": "loaded", "ok": False, **failure})
        return
    function = job.get("function")
    missing = bool(function) and not hasattr(sub.module, function)
    REPORT.emit({"t": "loaded", "ok": True, "missing": function if missing else None})
    cases = job["cases"]
    start = job["start"]
    for index in range(start, len(cases)):
        REPORT.emit({"t": "begin", "i": index})
        if missing:
            record = {"t": "case", "i": index, "status": "missing", "ms": 0.0}
        else:
            record = run_case(
                index,
                cases[index],
                sub,
                function=function,
                time_s=job["case_s"],
                tracer=tracer,
                out=out,
            )
        reap(_KILL_ALL[0])
        record["cpu"] = cpu_used()
        REPORT.emit(record)
    if pytest_ok:
        REPORT.emit({"t": "phase", "name": "pytest"})
        skip = max(0, start - len(cases))
        run_pytest(
            job,
            sub,
            workdir,
            first_index=len(cases),
            skip=skip,
            tracer=tracer,
            out=out,
            snapshot=snapshot,
        )


def run_variants(job, sub, out):
    cases = job["cases"]
    function = job.get("function")
    variants = job["variants"]
    case_s = job["case_s"]
    variant_s = job["variant_s"]
    for v in range(job["start"], len(variants)):
        REPORT.emit({"t": "variant", "v": v})
        deadline = time.perf_counter() + variant_s
        sub.forget()
        sub.write(override=variants[v])
        failure = load_submission(sub, min(case_s, variant_s))
        reap(_KILL_ALL[0])
        if failure is not None:
            REPORT.emit({"t": "vloaded", "v": v, "ok": False, "status": failure["status"]})
            continue
        missing = bool(function) and not hasattr(sub.module, function)
        for index, spec in enumerate(cases):
            left = deadline - time.perf_counter()
            if missing:
                record = {"t": "case", "i": index, "status": "missing"}
            elif left <= 0:
                record = {"t": "case", "i": index, "status": "timeout"}
            else:
                record = run_case(
                    index,
                    spec,
                    sub,
                    function=function,
                    time_s=min(case_s, left),
                    tracer=None,
                    out=out,
                )
            reap(_KILL_ALL[0])
            record["v"] = v
            record.pop("repr", None)
            REPORT.emit(record)
        REPORT.emit({"t": "vdone", "v": v, "cpu": cpu_used()})


def _install_exit_builtins():
    """``exit()``/``quit()`` as the site module would define them (we run with -S)."""

    class Quitter:
        def __init__(self, name):
            self.name = name

        def __repr__(self):
            return f"Use {self.name}() or Ctrl-D (i.e. EOF) to exit"

        def __call__(self, code=None):
            raise SystemExit(code)

    builtins.exit = Quitter("exit")
    builtins.quit = Quitter("quit")


def _pin_builtins():
    """Copy the builtins into this module's globals: trainee code that patches ``builtins``
    changes what its own code sees, not what the harness uses."""
    module = globals()
    for name, value in vars(builtins).items():
        if not name.startswith("__") and name not in module:
            module[name] = value


def main():
    _pin_builtins()
    raw = sys.stdin.buffer.read()
    job = json.loads(raw.decode("utf-8"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    REPORT.fd = int(job["fd"])
    try:
        run_job(job)
    except BaseException as exc:  # noqa: BLE001 - report the harness's own failure, then stop
        try:
            REPORT.emit({"t": "harness_error", "error": f"{type(exc).__name__}: {exc}"[:500]})
        except BaseException:  # noqa: BLE001
            pass
        os._exit(71)
    os._exit(0)


if __name__ == "__main__":
    main()

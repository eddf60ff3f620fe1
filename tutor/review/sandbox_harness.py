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
        self.stems = {os.path.splitext(f["name"])[0] for f in self.files}
        self.main_stem = os.path.splitext(self.files[self.main]["name"])[0]

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


# --- pytest: the runner (no trainee code ever runs in its process) ------------------------------
#
# Pytest files assert in Python, so they used to run inside the submission's process, where
# the submission could patch pytest into reporting passes. Now the process that runs pytest
# (mode "pytest", the only one holding the results descriptor) never runs trainee code: the
# test files import a stand-in ``submission`` module whose functions ask a second process
# (mode "serve", started by the runner) to run the real code, and get back plain data (lists,
# dicts, numbers, strings, ...; anything else stays there behind a handle). Assertions,
# ``pytest.raises`` and the verdict happen in the runner, on data the submission can only
# compute, never forge. The runner makes itself non-dumpable (no ptrace, no /proc/<pid>/mem
# or fd access for the submission's process), ignores the signals that could interrupt it
# politely, keeps no writable folder on its import path, and collects the test files before
# the submission's process exists.

_MAX_ANSWER_BYTES = 16 * MB
_NOT_AN_ANSWER = "the program's process sent something that is not an answer"
_MAX_WIRE_DEPTH = 200
_RUNNER_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTSTP")


class SubmissionStopped(BaseException):
    """The submission's process hit a limit, exited or died during a call (runner side)."""

    def __init__(self, kind, error):
        super().__init__(error)
        self.kind = kind  # timeout | cpu | memory | output | processes | file_size | exit | died
        self.error = error


class _WireError(Exception):
    pass


def _to_wire(value, handle, depth=0):
    """Plain data as tagged JSON (tuples, sets, dicts with any keys survive); other objects
    through ``handle(value)`` (the runner refuses them, the server keeps them as handles).
    Subclasses of plain types travel as their base type (their overrides stay behind)."""
    if depth > _MAX_WIRE_DEPTH:
        raise _WireError("nested too deeply")
    t = type(value)
    if value is None or t is bool or t is int or t is str:
        return value
    if t is float:
        return value
    if t is list:
        return [_to_wire(v, handle, depth + 1) for v in value]
    if t is tuple:
        return {"$t": [_to_wire(v, handle, depth + 1) for v in value]}
    if t is dict:
        return {
            "$d": [[_to_wire(k, handle, depth + 1), _to_wire(v, handle, depth + 1)]
                   for k, v in value.items()]
        }
    if t is set or t is frozenset:
        tag = "$s" if t is set else "$fs"
        return {tag: [_to_wire(v, handle, depth + 1) for v in value]}
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return _to_wire(base(value) if base is bool else _BASE_READ[base](value), handle, depth)
    for base in (list, tuple, dict, set, frozenset):
        if isinstance(value, base):
            return _to_wire(_BASE_COPY[base](value), handle, depth)
    return handle(value)


_BASE_READ = {int: int.__int__, float: float.__float__, str: str.__str__}
_BASE_COPY = {
    list: lambda v: list(list.__iter__(v)),
    tuple: lambda v: tuple(tuple.__iter__(v)),
    dict: lambda v: dict(dict.items(v)),
    set: lambda v: set(set.__iter__(v)),
    frozenset: lambda v: frozenset(frozenset.__iter__(v)),
}


def _from_wire(data, unhandle, depth=0):
    if depth > _MAX_WIRE_DEPTH:
        raise _WireError("nested too deeply")
    t = type(data)
    if data is None or t is bool or t is int or t is float or t is str:
        return data
    if t is list:
        return [_from_wire(v, unhandle, depth + 1) for v in data]
    if t is not dict or len(data) < 1:
        raise _WireError("not a value")
    if "$t" in data:
        return tuple(_from_wire(v, unhandle, depth + 1) for v in _wire_list(data["$t"]))
    if "$d" in data:
        out = {}
        for pair in _wire_list(data["$d"]):
            if type(pair) is not list or len(pair) != 2:
                raise _WireError("a bad dict item")
            out[_from_wire(pair[0], unhandle, depth + 1)] = _from_wire(pair[1], unhandle, depth + 1)
        return out
    if "$s" in data:
        return {_from_wire(v, unhandle, depth + 1) for v in _wire_list(data["$s"])}
    if "$fs" in data:
        return frozenset(_from_wire(v, unhandle, depth + 1) for v in _wire_list(data["$fs"]))
    return unhandle(data)


def _wire_list(value):
    if type(value) is not list:
        raise _WireError("not a list")
    return value


# --- the serving side (mode "serve": the submission's process) ---------------------------------


class _Server:
    """Runs what the runner asks of the submission: calls, attributes, iteration."""

    def __init__(self, sub):
        self.sub = sub
        self.handles = {}

    def handle(self, value):
        if isinstance(value, type) and issubclass(value, BaseException):
            return {"$exctype": [f"{c.__module__}.{c.__qualname__}" for c in value.__mro__]}
        key = len(self.handles) + 1
        self.handles[key] = value
        return {"$h": key, "type": str.__str__(type(value).__name__)[:80]}

    def unhandle(self, data):
        if "$h" in data and data["$h"] in self.handles:
            return self.handles[data["$h"]]
        if "$ref" in data:
            return self.resolve(data["$ref"])
        raise _WireError("an unknown handle")

    def resolve(self, ref):
        """``["submission", "f"]``: a module of the submission (by ``submission`` or a
        submitted file's name), then attributes."""
        if type(ref) is not list or not ref or type(ref[0]) is not str:
            raise _WireError("an unknown module")
        if ref[0] == "submission" or ref[0] == self.sub.main_stem:
            value = self.sub.module
        elif ref[0] in self.sub.stems:
            import importlib

            value = importlib.import_module(ref[0])
        else:
            raise _WireError("an unknown module")
        for name in ref[1:]:
            value = getattr(value, str(name))
        return value

    def target(self, msg):
        return self.unhandle(msg["target"])

    def answer(self, msg):
        op = msg.get("op")
        if op == "call":
            func = self.target(msg)
            args = [_from_wire(a, self.unhandle) for a in msg.get("args", [])]
            kwargs = {str(k): _from_wire(v, self.unhandle) for k, v in msg.get("kwargs", [])}
            result = func(*args, **kwargs)
            for i, arg in enumerate(args):
                if result is arg:
                    return {"ok": {"$arg": i}, "after": self._after(args)}
            return {"ok": _to_wire(result, self.handle), "after": self._after(args)}
        if op == "getattr":
            return {"ok": _to_wire(getattr(self.target(msg), str(msg["name"])), self.handle)}
        if op == "setattr":
            setattr(self.target(msg), str(msg["name"]), _from_wire(msg["value"], self.unhandle))
            return {"ok": None}
        if op == "iter":
            return {"ok": _to_wire(iter(self.target(msg)), self.handle)}
        if op == "next":
            try:
                return {"ok": _to_wire(next(self.target(msg)), self.handle)}
            except StopIteration:
                return {"stop_iteration": True}
        if op == "len":
            return {"ok": int.__int__(len(self.target(msg)))}
        if op == "getitem":
            key = _from_wire(msg["key"], self.unhandle)
            return {"ok": _to_wire(self.target(msg)[key], self.handle)}
        if op == "contains":
            item = _from_wire(msg["item"], self.unhandle)
            return {"ok": bool(item in self.target(msg))}
        raise _WireError(f"an unknown request {op!r}")

    def _after(self, args):
        """The arguments' contents after the call (lists, dicts and sets may be changed in
        place, and a test may check that they were, or were not)."""
        out = []
        for arg in args:
            t = type(arg)
            out.append(_to_wire(arg, self.handle) if t in (list, dict, set) else None)
        return out


def serve(job, sub, *, tracer, out, channel_in):
    """Mode "serve": load the submission, say so, then answer the runner's requests."""
    sub.write()
    failure = load_submission(sub, job["load_s"])
    if failure is not None:
        REPORT.emit({"t": "ready", "ok": False, **failure})
        return
    REPORT.emit({"t": "ready", "ok": True})
    server = _Server(sub)
    while True:
        line = channel_in.readline()
        if not line:
            return
        msg = json.loads(line)
        op = msg.get("op")
        if op == "begin":
            if tracer is not None:
                tracer.start()
            REPORT.emit({"ok": None})
            continue
        if op == "end":
            if tracer is not None:
                tracer.stop()
            REPORT.emit({"lines": _lines_out(STATE.lines) if tracer is not None else []})
            continue
        STATE.active = True
        try:
            arm(max(0.001, float(msg.get("time_s", job["case_s"]))))
            reply = server.answer(msg)
            STATE.active = False
        except _WireError as exc:
            STATE.active = False
            reply = {"stop": "died", "error": f"the test runner's request failed: {exc}"}
        except BaseException as exc:  # noqa: BLE001 - trainee code may raise anything
            STATE.active = False
            disarm()
            kind = classify(exc)
            error = describe(exc, sub.file_names)
            if kind is None:
                message = error.removeprefix(type(exc).__name__ + ": ")
                if message == type(exc).__name__:
                    message = ""
                reply = {"raise": {"mro": mro_names(exc), "message": message}}
            else:
                if kind == "exit":
                    error = f"the program called sys.exit({_exit_code(exc)})"
                reply = {"stop": kind, "error": error}
        finally:
            STATE.active = False
            disarm()
        reply["cpu"] = cpu_used()
        REPORT.emit(reply)


# --- the runner side (mode "pytest") --------------------------------------------------------------


class _Link:
    """The runner's end of the submission's process: started after collection, restarted
    after a test that stopped it; each request answered within the test's time."""

    def __init__(self, job, workdir):
        self.job = job
        self.workdir = workdir
        self.proc = None
        self.resp_fd = -1
        self.req = None
        self.buf = b""
        self.eof = False
        self.dirty = False
        self.generation = 0
        self.deadline = None  # the current test's end (monotonic), set by the plugin
        self.child_cpu = 0.0
        self.load_failure = None

    # -- the process --
    def start(self):
        import subprocess

        self.stop()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        job = dict(self.job, mode="serve", req_fd=req_r, fd=resp_w, kill_all=False)
        job.pop("pytest", None)
        job.pop("harness", None)
        child_dir = os.path.join(self.workdir, f"run{self.generation + 1}")
        os.makedirs(child_dir, exist_ok=True)
        try:
            # this interpreter, by /proc/self/exe: its path may lie in a folder this uid
            # cannot traverse (the process mode's interpreter under /root, say)
            self.proc = subprocess.Popen(
                ["/proc/self/exe", "-I", "-S", "-B", "-c", self.job["harness"]],
                executable="/proc/self/exe",
                stdin=subprocess.PIPE,
                pass_fds=(req_r, resp_w),
                cwd=child_dir,
                start_new_session=True,
            )
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.proc.stdin.write(json.dumps(job).encode("utf-8"))
        self.proc.stdin.close()
        self.req = os.fdopen(req_w, "wb", buffering=0)
        self.resp_fd = resp_r
        self.buf = b""
        self.eof = False
        self.generation += 1
        self.dirty = False
        try:
            ready = self._read(self.job["load_s"] + 5.0)
        except SubmissionStopped:
            ready = None
        if ready is None:
            self.dirty = True
            return {"status": "died", "error": "the program's process ended while loading"}
        if ready.get("t") != "ready":
            self.dirty = True
            return {"status": "died", "error": "the program wrote on the test runner's channel"}
        if not ready.get("ok"):
            self.dirty = True
            return {k: v for k, v in ready.items() if k not in ("t", "ok")}
        return None

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        reap(_KILL_ALL[0])
        self.child_cpu = 0.0  # counted in this process's children's usage once reaped
        for closing in (lambda: self.req.close(), lambda: os.close(self.resp_fd)):
            try:
                closing()
            except Exception:  # noqa: BLE001
                pass
        self.proc = None

    def ensure(self):
        """A live submission process for the next test (a fresh one after a stop)."""
        if self.proc is not None and not self.dirty:
            return None
        failure = self.start()
        if failure is not None:
            self.load_failure = failure
        return failure

    # -- requests --
    def _read(self, timeout):
        import select

        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.resp_fd], [], [], left)
            if not ready:
                return None
            try:
                data = os.read(self.resp_fd, 65536)
            except OSError:
                data = b""
            if not data:
                self.eof = True
                return None
            self.buf += data
            if len(self.buf) > _MAX_ANSWER_BYTES:
                raise SubmissionStopped("died", "the program's process sent far too much data")
        line, _, self.buf = self.buf.partition(b"\n")
        try:
            answer = json.loads(line)
        except (ValueError, RecursionError):
            answer = None
        if type(answer) is not dict:
            raise SubmissionStopped("died", _NOT_AN_ANSWER)
        return answer

    def request(self, msg):
        if self.proc is None or self.dirty:
            raise SubmissionStopped("died", self._why_not())
        left = (self.deadline or (time.monotonic() + self.job["case_s"])) - time.monotonic()
        msg = dict(msg, time_s=max(0.001, left))
        try:
            self.req.write((json.dumps(msg) + "\n").encode("utf-8"))
            answer = self._read(left + _ANSWER_GRACE_S)
        except SubmissionStopped:
            self.dirty = True
            raise
        except OSError:
            answer = None
        if answer is None:
            self.dirty = True
            if self.eof:
                try:
                    self.proc.wait(timeout=1.0)
                except Exception:  # noqa: BLE001 - it closed its end and lives on: killed later
                    pass
            if self.eof or self.proc.poll() is not None:
                raise SubmissionStopped(
                    "died",
                    f"the Python process ended during this test (exit code {self.proc.returncode}; "
                    "os._exit() or a crash)",
                )
            raise SubmissionStopped("timeout", "the program did not answer in time")
        cpu = answer.get("cpu")
        if type(cpu) is float or type(cpu) is int:
            self.child_cpu = max(self.child_cpu, float(cpu))
        return answer

    def _why_not(self):
        if self.load_failure is not None:
            return "the program could not be loaded again: " + str(self.load_failure.get("error"))
        return "the program's process stopped earlier in this test"

    def value(self, answer, args=()):
        if "stop" in answer:
            self.dirty = True
            error = str(answer.get("error", ""))[:_ERROR_CHARS]
            raise SubmissionStopped(str(answer["stop"]), error)
        if "raise" in answer:
            raise _local_exception(answer["raise"])
        if "ok" not in answer:
            self.dirty = True
            raise SubmissionStopped("died", _NOT_AN_ANSWER)
        try:
            data = answer["ok"]
            if type(data) is dict and "$arg" in data:
                index = data["$arg"]
                if type(index) is not int or not 0 <= index < len(args):
                    raise _WireError("a bad argument index")
                return args[index]
            return _from_wire(data, self._unhandle)
        except (_WireError, TypeError, RecursionError) as exc:
            self.dirty = True
            error = f"the program's answer was not understood ({exc})"
            raise SubmissionStopped("died", error) from None

    def _unhandle(self, data):
        if "$h" in data and type(data["$h"]) is int:
            return RemoteObject(self, data["$h"], str(data.get("type", "object"))[:80])
        if "$exctype" in data:
            return _local_exception_class(_wire_list(data["$exctype"]))
        raise _WireError("an unknown tag")

    def call(self, target, args, kwargs):
        wire_args = [_to_wire(a, _runner_handle) for a in args]
        wire_kwargs = [[k, _to_wire(v, _runner_handle)] for k, v in kwargs.items()]
        answer = self.request({"op": "call", "target": target, "args": wire_args,
                               "kwargs": wire_kwargs})
        result = self.value(answer, args)
        after = answer.get("after")
        if type(after) is list and len(after) == len(args):
            for arg, new in zip(args, after, strict=True):
                _update_in_place(arg, new, self._unhandle)
        return result

    def ask(self, op, target, **fields):
        return self.value(self.request(dict(fields, op=op, target=target)))


def _update_in_place(arg, new, unhandle):
    t = type(arg)
    if new is None or t not in (list, dict, set):
        return
    try:
        value = _from_wire(new, unhandle)
    except (_WireError, TypeError):
        return
    if type(value) is not t:
        return
    if t is list:
        arg[:] = value
    else:
        arg.clear()
        arg.update(value)


def _runner_handle(value):
    if type(value) is RemoteObject:
        if value._link.generation != value._generation:
            raise SubmissionStopped("died", "an object from an earlier run of the program was used")
        return {"$h": value._id}
    if type(value) is RemoteRef:
        return {"$ref": [value._module, *value._names]}
    raise TypeError(
        f"a {type(value).__name__} cannot be passed to the submission's code in this sandbox "
        "(only plain data: numbers, strings, lists, tuples, dicts, sets, and its own objects)"
    )


_EXCEPTION_CLASSES = {}


def _local_exception_class(mro):
    """A class for an exception type of the submission: the builtin itself, or a class of
    the same name under the first builtin exception it derives from."""
    names = [str(n) for n in mro if isinstance(n, str)]
    if not names:
        return Exception
    if names[0].startswith("builtins."):
        found = getattr(builtins, names[0][len("builtins."):], None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    if names[0] in _EXCEPTION_CLASSES:
        return _EXCEPTION_CLASSES[names[0]]
    base = Exception
    for name in names[1:]:
        found = None
        if name.startswith("builtins."):
            found = getattr(builtins, name[len("builtins.") :], None)
        if isinstance(found, type) and issubclass(found, BaseException):
            base = found
            break
    if base in (BaseException, SystemExit, KeyboardInterrupt, GeneratorExit):
        base = Exception
    module, _, qualname = names[0].rpartition(".")
    cls = type(qualname.rpartition(".")[2] or "Error", (base,), {"__module__": module})
    _EXCEPTION_CLASSES[names[0]] = cls
    return cls


def _local_exception(info):
    if type(info) is not dict:
        return RuntimeError("the program raised an exception")
    cls = _local_exception_class(_wire_list(info.get("mro", [])))
    message = str(info.get("message", ""))[:_ERROR_CHARS]
    try:
        return cls(message) if message else cls()
    except Exception:  # noqa: BLE001 - e.g. a builtin whose constructor wants more
        return RuntimeError(message)


class RemoteObject:
    """An object that lives in the submission's process (an instance of its class, a
    generator, a function): attributes, calls, iteration, ``len``, ``[]`` and ``in`` are
    asked of it; equality is identity (its ``__eq__`` is never trusted)."""

    __slots__ = ("_link", "_id", "_type", "_generation")

    def __init__(self, link, key, type_name):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_id", key)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_generation", link.generation)

    def _target(self):
        return _runner_handle(self)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._link.ask("getattr", self._target(), name=name)

    def __setattr__(self, name, value):
        self._link.ask("setattr", self._target(), name=name, value=_to_wire(value, _runner_handle))

    def __call__(self, *args, **kwargs):
        return self._link.call(self._target(), args, kwargs)

    def __iter__(self):
        return self._link.ask("iter", self._target())

    def __next__(self):
        answer = self._link.request({"op": "next", "target": self._target()})
        if answer.get("stop_iteration") is True:
            raise StopIteration
        return self._link.value(answer)

    def __len__(self):
        value = self._link.ask("len", self._target())
        if type(value) is not int:
            raise TypeError("len() of the program's object is not an integer")
        return value

    def __getitem__(self, key):
        return self._link.ask("getitem", self._target(), key=_to_wire(key, _runner_handle))

    def __contains__(self, item):
        item = _to_wire(item, _runner_handle)
        return self._link.ask("contains", self._target(), item=item) is True

    def __repr__(self):
        return f"<{self._type} object of the submission>"


class RemoteRef:
    """A name imported from the submission before its process exists (``from submission
    import f`` at the top of a test file): looked up each time it is used."""

    __slots__ = ("_link", "_module", "_names")

    def __init__(self, link, module, names):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_names", tuple(names))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteRef(self._link, self._module, (*self._names, name))

    def __call__(self, *args, **kwargs):
        return self._link.call(_runner_handle(self), args, kwargs)

    def __repr__(self):
        return f"<{'.'.join((self._module, *self._names))} of the submission>"


class _RemoteModuleFinder:
    """``import submission`` (or a submitted file's own name) in the runner: a stand-in
    module whose names are the submission's (as ``RemoteRef``)."""

    def __init__(self, link, names):
        self.link = link
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        import importlib.machinery

        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        link = self.link

        class _RemoteModule(types.ModuleType):
            def __getattr__(self, name):
                if name.startswith("_"):
                    raise AttributeError(name)
                if link.deadline is not None:  # in a test: the value itself
                    return link.ask("getattr", {"$ref": [self.__name__]}, name=name)
                return RemoteRef(link, self.__name__, (name,))

        return _RemoteModule(spec.name)

    def exec_module(self, module):
        pass


def _protect_runner():
    """No ptrace or /proc/<pid>/mem for the submission's process (same uid), and no polite
    signals: it can still kill the runner, which ends the run without a pass."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    for name in _RUNNER_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_IGN)


def run_pytest_runner(job, workdir):
    """Mode "pytest": run the pytest files against the submission in another process."""
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
    try:
        _protect_runner()
        import pytest
    except BaseException as exc:  # noqa: BLE001
        REPORT.emit({"t": "pytest_error", "error": f"the test runner cannot start: {exc!r}"})
        return
    link = _Link(job, workdir)
    names = {"submission"} | {
        os.path.splitext(f["name"])[0] for f in job["files"] if f["name"].endswith(".py")
    }
    sys.meta_path.insert(0, _RemoteModuleFinder(link, names))
    REPORT.emit({"t": "phase", "name": "pytest"})
    first_index = len(job["cases"])
    skip = max(0, job["start"] - first_index)
    plugin = _PytestPlugin(first_index, skip, link, job["case_s"], bool(job.get("trace")))
    args = [*paths, "-c", ini, "--rootdir", tests_dir, "-s", "-p", "no:terminal"]
    args += ["--import-mode=importlib"]
    for name in _PYTEST_OFF:
        args += ["-p", f"no:{name}"]
    try:
        code = pytest.main(args, plugins=[plugin, plugin.call_wrapper])
    except BaseException as exc:  # noqa: BLE001
        REPORT.emit({"t": "pytest_error", "error": f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]})
        return
    finally:
        link.stop()
    if plugin.load_failed:
        return
    REPORT.emit({"t": "pytest_done", "code": int(code), "ran": plugin.ran})


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
    def __init__(self, first_index, skip, link, case_s, trace):
        import pytest

        self.first = first_index
        self.skip = skip
        self.link = link
        self.case_s = case_s
        self.trace = trace
        self.index = {}
        self.outcome = {}
        self.lines = {}
        self.ran = 0
        self.load_failed = False
        plugin = self

        class _CallWrapper:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_call(self, item):
                yield from plugin._runtest_call(item)

        self.call_wrapper = _CallWrapper()

    def pytest_collectreport(self, report):
        if report.failed:
            text = report.longreprtext or ""
            REPORT.emit(
                {
                    "t": "collect_error",
                    "file": os.path.basename(str(report.fspath)),
                    "error": _pytest_error(text),
                    "blame": "tests",
                }
            )

    def pytest_collection_modifyitems(self, session, config, items):
        names = [item.nodeid for item in items]
        REPORT.emit({"t": "collected", "tests": names, "first": self.first})
        for pos, item in enumerate(items):
            self.index[item.nodeid] = self.first + pos
        del items[: self.skip]

    def pytest_collection_finish(self, session):
        """The test files are imported: now the submission's process may start."""
        if not session.items:
            return
        REPORT.emit({"t": "begin", "i": -1, "cpu": cpu_used()})
        failure = self.link.ensure()
        if failure is not None:
            self.load_failed = True
            REPORT.emit({"t": "loaded", "ok": False, **failure})
            session.shouldstop = "the submission could not be loaded"
            session.items.clear()
            return
        REPORT.emit({"t": "loaded", "ok": True})

    def pytest_runtest_logstart(self, nodeid, location):
        REPORT.emit({"t": "begin", "i": self.index.get(nodeid, -1)})

    def _runtest_call(self, item):
        index = self.index.get(item.nodeid, -1)
        STATE.case = index
        self.outcome[item.nodeid] = None
        link = self.link
        link.ensure()
        started = time.perf_counter()
        link.deadline = time.monotonic() + self.case_s
        if self.trace and link.proc is not None and not link.dirty:
            try:
                link.request({"op": "begin", "target": None})
            except SubmissionStopped:
                pass
        STATE.active = True
        arm(self.case_s + _ANSWER_GRACE_S)
        result = yield
        STATE.active = False
        disarm()
        if STATE.timed_out:
            link.dirty = True  # the submission may still be running that test's call
        self.outcome[item.nodeid] = (result.excinfo, time.perf_counter() - started)
        lines = []
        if self.trace and link.proc is not None and not link.dirty:
            link.deadline = time.monotonic() + _ANSWER_GRACE_S
            try:
                answer = link.request({"op": "end", "target": None})
                if type(answer.get("lines")) is list:
                    lines = answer["lines"][:100_000]
            except SubmissionStopped:
                pass
        self.lines[item.nodeid] = lines
        link.deadline = None

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            index = self.index.get(report.nodeid, -1)
            record = {"t": "case", "i": index, "name": report.nodeid}
            info = self.outcome.get(report.nodeid)
            exc = info[0][1] if info and info[0] else None
            kind = classify(exc) if exc is not None else None
            if isinstance(exc, SubmissionStopped):
                record.update(status=exc.kind, error=exc.error[:_ERROR_CHARS])
            elif kind is not None:
                record.update(status=kind, error="the test did not finish in time")
            elif report.outcome == "passed":
                record["status"] = "test_passed"
            elif report.outcome == "skipped":
                record["status"] = "test_skipped"
            elif report.when == "setup":
                record.update(status="test_error", error=_pytest_error(report.longreprtext))
            else:
                record.update(status="test_failed", error=_pytest_error(report.longreprtext))
            record["ms"] = round((info[1] if info else report.duration) * 1000, 3)
            if self.trace:
                record["lines"] = self.lines.get(report.nodeid, []) if report.when == "call" else []
            record["cpu"] = cpu_used() + self.link.child_cpu
            REPORT.emit(record)
            self.ran += 1


def _pytest_error(text):
    lines = [line[1:].strip() for line in (text or "").splitlines() if line.startswith("E ")]
    if not lines:
        lines = [line for line in (text or "").splitlines() if line.strip()][-3:]
    message = "\n".join(lines[:8])
    return message if len(message) <= _ERROR_CHARS else message[: _ERROR_CHARS - 1] + "…"


_KILL_ALL = [False]
# how long past a test's time the runner waits for the submission's process (the server
# allows the runner one second of silence past a test's time)
_ANSWER_GRACE_S = 0.5


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
    # Everything the harness imports is imported now, before the submission's folder is on
    # sys.path: a submitted ``pytest.py`` or ``reprlib.py`` must not stand in for them.
    import importlib  # noqa: F401
    import reprlib  # noqa: F401

    if job.get("site"):
        sys.path.append(job["site"])
    if job["mode"] == "pytest":
        # the runner never loads the submission (see "pytest: the runner" above)
        apply_limits(job)
        run_pytest_runner(job, workdir)
        REPORT.emit({"t": "done", "cpu": cpu_used()})
        return

    sub = Submission(job, workdir)
    if job["mode"] == "serve" or any(case.get("kind") == "expr" for case in job["cases"]):
        import ast  # noqa: F401
    tracer = Tracer(sub.file_ids) if job.get("trace") else None
    sys.path.insert(0, sub.src)
    apply_limits(job)
    if job["mode"] == "serve":
        serve(job, sub, tracer=tracer, out=out, channel_in=os.fdopen(job["req_fd"], "rb"))
        return
    if job["mode"] == "variants":
        run_variants(job, sub, out)
    else:
        run_tests(job, sub, tracer=tracer, out=out)
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


def run_tests(job, sub, *, tracer, out):
    """Mode "run": the ``tests.json`` cases from ``start`` (the pytest files run in mode
    "pytest", in another process)."""
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

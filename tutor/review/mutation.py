"""Small mutants of one line of a submission, for mutation-based fault localization.

A mutant is the whole file with exactly one line changed by a small, classic operator
(Metallaxis / MUSE style): a comparison or arithmetic operator replaced, ``and``/``or``
swapped, a constant moved by one, a variable moved by one or replaced by another of the
same function, two arguments or operands swapped, a call unwrapped, a condition negated,
a simple statement removed. Running the tests on the mutants of a line tells how much the
failing outcomes depend on it: a line whose mutants turn failing tests into passing ones is
likely where the fault is.

Mutants are evidence for ranking lines only. One of them may be the fix, so they are never
shown to the trainee (``tutor.review.localization`` returns lines and questions only).

Every mutant is generated from the AST and spliced into the original text by the node's
column offsets, so the rest of the file stays byte-identical; each is checked to compile.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# operator families: each operator is replaced by the others that make a plausible slip
_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.Gt, ast.NotEq),
    ast.LtE: (ast.Lt, ast.GtE, ast.Eq),
    ast.Gt: (ast.GtE, ast.Lt, ast.NotEq),
    ast.GtE: (ast.Gt, ast.LtE, ast.Eq),
    ast.Eq: (ast.NotEq, ast.LtE, ast.GtE),
    ast.NotEq: (ast.Eq, ast.Lt, ast.Gt),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
}
_ARITH_SWAPS: dict[type[ast.operator], tuple[type[ast.operator], ...]] = {
    ast.Add: (ast.Sub, ast.Mult),
    ast.Sub: (ast.Add, ast.FloorDiv),
    ast.Mult: (ast.FloorDiv, ast.Add, ast.Pow),
    ast.Div: (ast.FloorDiv, ast.Mult),
    ast.FloorDiv: (ast.Div, ast.Mod, ast.Mult),
    ast.Mod: (ast.FloorDiv, ast.Mult),
    ast.Pow: (ast.Mult,),
    ast.BitXor: (ast.BitAnd, ast.BitOr),
    ast.BitAnd: (ast.BitOr, ast.BitXor),
    ast.BitOr: (ast.BitAnd, ast.BitXor),
    ast.LShift: (ast.RShift,),
    ast.RShift: (ast.LShift,),
    ast.MatMult: (),
}
_NON_COMMUTATIVE = (
    ast.Sub,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
    ast.Add,
)
_BUILTIN_SWAPS = {"any": "all", "all": "any", "min": "max", "max": "min"}
_ATOMS = (ast.Name, ast.Constant, ast.Call, ast.Subscript, ast.Attribute, ast.List, ast.Tuple)
# the order in which operator families take turns when a line has more mutants than allowed
OPERATORS = (
    "compare",
    "arith",
    "bool",
    "call",
    "swap",
    "constant",
    "name_shift",
    "name_swap",
    "negate",
    "delete",
)


@dataclass(frozen=True)
class Mutant:
    """One mutant: the whole file's text with only ``line`` changed (never shown)."""

    line: int
    operator: str  # one of OPERATORS
    text: str


@dataclass(frozen=True)
class _Edit:
    operator: str
    node: ast.AST
    replacement: str  # source for the node's span (already parenthesized where needed)


def line_mutants(source: str, line: int, *, limit: int = 12) -> tuple[Mutant, ...]:
    """Up to ``limit`` distinct, compilable mutants of ``line`` (1-based) of ``source``.

    Operator families take turns (see ``OPERATORS``) so a long line does not spend the whole
    allowance on one family. Returns ``()`` for a line with nothing to mutate, a line out of
    range, or a file that does not parse.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ()
    lines = source.splitlines(keepends=True)
    if not 1 <= line <= len(lines) or limit <= 0:
        return ()
    _link_parents(tree)
    scopes = _scope_names(tree)
    edits: dict[str, list[_Edit]] = {op: [] for op in OPERATORS}
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) != line or getattr(node, "end_lineno", None) != line:
            if isinstance(node, ast.stmt) and getattr(node, "lineno", None) == line:
                edits["negate"].extend(_negate_header(node))
            continue
        if any(isinstance(sub, ast.JoinedStr) for sub in ast.walk(node)):
            continue  # positions inside f-strings are not reliable before Python 3.12
        for edit in _edits_for(node, scopes):
            edits[edit.operator].append(edit)
    original = lines[line - 1]
    seen = {original}
    out: list[Mutant] = []
    for edit in _round_robin(edits):
        text = _splice(original, edit)
        if text is None or text in seen or "\n" in text.rstrip("\r\n"):
            continue
        seen.add(text)
        candidate = "".join(lines[: line - 1]) + text + "".join(lines[line:])
        if not _compiles(candidate):
            continue
        out.append(Mutant(line=line, operator=edit.operator, text=candidate))
        if len(out) >= limit:
            break
    return tuple(out)


# --- generation --------------------------------------------------------------------------
def _edits_for(node: ast.AST, scopes: dict[ast.AST, tuple[str, ...]]) -> Iterator[_Edit]:
    makers: tuple[Callable[..., Iterator[_Edit]], ...] = (
        _compare_edits,
        _arith_edits,
        _bool_edits,
        _call_edits,
        _constant_edits,
        _name_edits,
        _statement_edits,
    )
    for make in makers:
        yield from make(node, scopes)


def _compare_edits(node: ast.AST, _scopes) -> Iterator[_Edit]:
    if not isinstance(node, ast.Compare):
        return
    for i, op in enumerate(node.ops):
        for new_op in _COMPARE_SWAPS.get(type(op), ()):
            ops = list(node.ops)
            ops[i] = new_op()
            yield _expr_edit("compare", node, ast.Compare(node.left, ops, node.comparators))


def _arith_edits(node: ast.AST, _scopes) -> Iterator[_Edit]:
    if isinstance(node, ast.BinOp):
        for new_op in _ARITH_SWAPS.get(type(node.op), ()):
            yield _expr_edit("arith", node, ast.BinOp(node.left, new_op(), node.right))
        if isinstance(node.op, _NON_COMMUTATIVE):
            yield _expr_edit("swap", node, ast.BinOp(node.right, node.op, node.left))
        # drop one operand: ``1 + f(x)`` -> ``f(x)``
        yield _expr_edit("arith", node, node.right)
        yield _expr_edit("arith", node, node.left)
    elif isinstance(node, ast.AugAssign):
        for new_op in _ARITH_SWAPS.get(type(node.op), ()):
            yield _Edit(
                "arith", node, ast.unparse(ast.AugAssign(node.target, new_op(), node.value))
            )
        yield _Edit("arith", node, ast.unparse(ast.Assign([node.target], node.value, lineno=0)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Invert):
        yield _expr_edit("arith", node, node.operand)


def _bool_edits(node: ast.AST, _scopes) -> Iterator[_Edit]:
    if isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield _expr_edit("bool", node, ast.BoolOp(other, node.values))
        for i in range(len(node.values)):
            rest = node.values[:i] + node.values[i + 1 :]
            yield _expr_edit("bool", node, rest[0] if len(rest) == 1 else ast.BoolOp(node.op, rest))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _expr_edit("bool", node, node.operand)


def _call_edits(node: ast.AST, _scopes) -> Iterator[_Edit]:
    if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
        return
    args = node.args
    for i in range(len(args) - 1):
        swapped = list(args)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        yield _expr_edit("swap", node, ast.Call(node.func, swapped, node.keywords))
    if isinstance(node.func, ast.Name) and node.func.id in _BUILTIN_SWAPS:
        func = ast.Name(_BUILTIN_SWAPS[node.func.id], ast.Load())
        yield _expr_edit("call", node, ast.Call(func, args, node.keywords))
    if len(args) == 1 and not node.keywords and not _is_method_on_statement(node):
        # ``f(x)`` -> ``x``: a call that should not be there (e.g. a recursive call)
        yield _expr_edit("call", node, args[0])


def _constant_edits(node: ast.AST, _scopes) -> Iterator[_Edit]:
    if not isinstance(node, ast.Constant) or _is_docstring(node):
        return
    value = node.value
    if isinstance(value, bool):
        yield _expr_edit("constant", node, ast.Constant(not value))
    elif isinstance(value, int):
        for new in (value + 1, value - 1, 0 if value not in (0, 1) else None):
            if new is not None and new != value:
                yield _expr_edit("constant", node, ast.Constant(new))
    elif isinstance(value, float):
        yield _expr_edit("constant", node, ast.Constant(value + 1.0))
        yield _expr_edit("constant", node, ast.Constant(value / 2 if value else 1.0))


def _name_edits(node: ast.AST, scopes: dict[ast.AST, tuple[str, ...]]) -> Iterator[_Edit]:
    if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
        return
    parent = getattr(node, "_parent", None)
    if isinstance(parent, ast.Call) and parent.func is node:
        return
    if isinstance(parent, ast.Attribute):
        return
    local = _visible_names(node, scopes)
    if node.id not in local:
        return  # a builtin or a global: not a trainee's variable
    shifted_already = (
        isinstance(parent, ast.BinOp)
        and isinstance(parent.op, ast.Add | ast.Sub)
        and any(isinstance(side, ast.Constant) for side in (parent.left, parent.right))
    )  # ``n - 1`` -> ``(n + 1) - 1`` would only repeat the constant's own mutants
    if not (isinstance(parent, ast.Subscript) and parent.value is node) and not shifted_already:
        for sign in (ast.Add(), ast.Sub()):
            yield _expr_edit("name_shift", node, ast.BinOp(node, sign, ast.Constant(1)))
    for other in local:
        if other != node.id:
            yield _expr_edit("name_swap", node, ast.Name(other, ast.Load()))


def _statement_edits(node: ast.AST, _scopes) -> Iterator[_Edit]:
    if isinstance(node, ast.Break):
        yield _Edit("delete", node, "continue")
    elif isinstance(node, ast.Continue):
        yield _Edit("delete", node, "break")
    elif isinstance(node, ast.Assign | ast.AugAssign | ast.Expr) and not _is_docstring_stmt(node):
        yield _Edit("delete", node, "pass")


def _negate_header(node: ast.stmt) -> Iterator[_Edit]:
    test = getattr(node, "test", None)
    if isinstance(node, ast.If | ast.While) and test is not None:
        if getattr(test, "lineno", None) == getattr(test, "end_lineno", -1) == node.lineno:
            yield _expr_edit("negate", test, ast.UnaryOp(ast.Not(), test))


def _expr_edit(operator: str, node: ast.AST, new: ast.AST) -> _Edit:
    text = ast.unparse(new)
    if not isinstance(new, _ATOMS) and not _stands_alone(node):
        text = f"\0({text})"  # parenthesized unless the original already is (see _splice)
    return _Edit(operator, node, text)


def _stands_alone(node: ast.AST) -> bool:
    """``node`` is a whole condition, value, argument or element, where any expression can
    stand without parentheses (elsewhere, e.g. inside ``a * (b + c)``, they are kept)."""
    parent = getattr(node, "_parent", None)
    if isinstance(parent, ast.If | ast.While | ast.Assert | ast.IfExp):
        return node is parent.test
    if isinstance(parent, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Return | ast.Expr):
        return node is parent.value and not isinstance(node, ast.Tuple)
    if isinstance(parent, ast.Call):
        return node in parent.args
    if isinstance(parent, ast.keyword):
        return True
    return False


# --- helpers -----------------------------------------------------------------------------
def _round_robin(edits: dict[str, list[_Edit]]) -> Iterator[_Edit]:
    queues = [list(edits[op]) for op in OPERATORS]
    while any(queues):
        for queue in queues:
            if queue:
                yield queue.pop(0)


def _splice(original: str, edit: _Edit) -> str | None:
    raw = original.encode("utf-8")
    start = getattr(edit.node, "col_offset", None)
    end = getattr(edit.node, "end_col_offset", None)
    if start is None or end is None or end > len(raw.rstrip(b"\r\n")):
        return None
    replacement = edit.replacement
    if replacement.startswith("\0"):
        enclosed = raw[:start].rstrip().endswith(b"(") and raw[end:].lstrip().startswith(b")")
        replacement = replacement[2:-1] if enclosed else replacement[1:]
    return (raw[:start] + replacement.encode("utf-8") + raw[end:]).decode("utf-8")


def _compiles(text: str) -> bool:
    try:
        compile(text, "<mutant>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _link_parents(tree: ast.AST) -> None:
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent  # type: ignore[attr-defined]


def _scope_of(node: ast.AST) -> ast.AST | None:
    current = getattr(node, "_parent", None)
    while current is not None and not isinstance(
        current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.Module
    ):
        current = getattr(current, "_parent", None)
    return current


def _visible_names(node: ast.AST, scopes: dict[ast.AST, tuple[str, ...]]) -> tuple[str, ...]:
    """The variables ``node`` can see: its function's, then the enclosing functions' and the
    module's."""
    seen: list[str] = []
    scope = _scope_of(node)
    while scope is not None:
        seen.extend(scopes.get(scope, ()))
        scope = _scope_of(scope)
    return tuple(dict.fromkeys(seen))


def _scope_names(tree: ast.AST) -> dict[ast.AST, tuple[str, ...]]:
    """Per function (and the module): its parameters and the variables it assigns, in order
    of first appearance (nested functions' names are their own)."""
    names: dict[ast.AST, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            params = [
                a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
            ]
            names.setdefault(node, []).extend(params)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.setdefault(_scope_of(node), []).append(node.id)
    callables = {
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    return {
        scope: tuple(dict.fromkeys(n for n in found if n not in callables))
        for scope, found in names.items()
    }


def _is_docstring(node: ast.Constant) -> bool:
    parent = getattr(node, "_parent", None)
    return isinstance(node.value, str) or (
        isinstance(parent, ast.Expr) and isinstance(node.value, str)
    )


def _is_docstring_stmt(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_method_on_statement(node: ast.Call) -> bool:
    """``xs.append(v)`` as a statement: unwrapping it to ``v`` only deletes the effect, which
    the ``delete`` operator already covers."""
    return isinstance(node.func, ast.Attribute) and isinstance(
        getattr(node, "_parent", None), ast.Expr
    )

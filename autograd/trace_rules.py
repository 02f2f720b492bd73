"""The formula of a gradient rule, as text for a backward trace: ``g * b``, ``g * (1.0 - out * out)``.

Read from the rule's own source: a ``vjp`` lambda's expression, or a rule function's single
``return``; a conditional on the input's position (``g * b if i == 0 else g * a``) is resolved
for the input asked about.  Built-in rules written as functions with several cases (matmul's
1-D promotions, pow's special exponents) show the formula of their general case instead.
"""
from __future__ import annotations

import ast
import functools
import inspect
import linecache

# the general case of the built-in rules that are functions with several cases
_GENERAL_CASE = {
    "matmul": ("g @ b.T", "a.T @ g"),
    "pow": ("g * b * a ** (b - 1)", "g * out * log(a)"),
    "sum": ("g broadcast to x's shape",),
    "max": ("g where x is the maximum (ties share it)",),
    "min": ("g where x is the minimum (ties share it)",),
    "clip": ("g where lo <= x <= hi, else 0",),
    "concatenate": ("the slice of g that input i fills",),
}


def rule_formula(prim, position: int, arg_names: list[str]) -> tuple[str, str]:
    """``(formula, where)``: the expression ``prim``'s rule sends to input ``position``, and what the
    rule's input names in it stand for (``"b = z"``), given the names of the actual inputs."""
    if prim.vjp is None:
        return "g", ""  # the gradient passes through unchanged
    general = _GENERAL_CASE.get(prim.name) if (getattr(prim.vjp, "__module__", None) or "").startswith("autograd.") else None
    if general is not None:
        formula, params = general[min(position, len(general) - 1)], _input_params(prim.vjp)
    else:
        found = _rule_expression(prim.vjp, position)
        if found is None:
            return f"rule {getattr(prim.vjp, '__name__', prim.name)} for input {position}", ""
        formula, params = found
    used = {n.id for n in ast.walk(_parse(formula)) if isinstance(n, ast.Name)} if _parse(formula) else set()
    where = ", ".join(f"{p} = {name}" for p, name in zip(params, arg_names) if p in used and p != name)
    return formula, where


def _parse(text):
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError:
        return None


def _input_params(fn):
    """The names ``fn(i, g, out, *inputs)`` gives its inputs (``a``, ``b``)."""
    try:
        names = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    return [p.name for p in names[3:] if p.kind == p.POSITIONAL_OR_KEYWORD]


@functools.lru_cache(maxsize=64)
def _module_tree(filename):
    lines = linecache.getlines(filename)  # files, and the cells Jupyter registers there
    if not lines:
        raise OSError(f"no source for {filename}")
    return ast.parse("".join(lines))


def _rule_expression(fn, position):
    """``(text, input names)`` of the expression ``fn`` returns for input ``position``, or None."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    try:
        tree = _module_tree(inspect.getsourcefile(fn))
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    params = list(code.co_varnames[:code.co_argcount])
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Lambda, ast.FunctionDef)):
            continue
        first_line = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        if first_line == code.co_firstlineno and [a.arg for a in node.args.args] == params:
            break
    else:
        return None
    if isinstance(node, ast.Lambda):
        expr = node.body
    else:
        returns = [n for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
        if len(returns) != 1:
            return None
        expr = returns[0].value
    expr = _resolve(expr, params[0] if params else "i", position)
    return ast.unparse(expr), params[3:]


def _resolve(expr, index_name, position):
    """Pick the branch of ``a if i == 0 else b`` (also ``!=``, nested) that input ``position`` takes."""
    while isinstance(expr, ast.IfExp):
        test = expr.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name)
                and test.left.id == index_name and isinstance(test.comparators[0], ast.Constant)
                and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
            return expr
        equal = position == test.comparators[0].value
        expr = expr.body if equal == isinstance(test.ops[0], ast.Eq) else expr.orelse
    return expr

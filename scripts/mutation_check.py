"""Plant small bugs in the gradient rules, one at a time, and report which ones the tests miss.

    .venv/bin/python scripts/mutation_check.py                  # every mutant against test_ops_regions.py
    .venv/bin/python scripts/mutation_check.py clip-lo-open     # some of them
    .venv/bin/python scripts/mutation_check.py --list
    .venv/bin/python scripts/mutation_check.py --tests tests/autograd/test_ops.py   # another test file

Each mutant is a copy of one rule with one small change (ties not split, a kink's value changed, the
permutation used instead of its inverse, ``np.add.at`` replaced by assignment, ``g`` ignored, a sign
flipped...).  For each, a fresh Python process installs it (``<fn>.primitive.vjp = wrong_rule``, or a
forward a rule relies on), then runs pytest with ``CI=true`` (the fixed, derandomized sample; no
shrinking, as only pass/fail matters) on the tests whose names match the mutant's keywords.  A mutant
*survives* when those tests still pass.  First a control run without any mutant must pass.
A tool, not a test: it takes a minute or two and is not run in CI.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TESTS = "tests/autograd/test_ops_regions.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    change: str  # what is wrong, in words
    keywords: str  # pytest -k expression selecting the relevant tests
    install: Callable[[], None]


MUTANTS: dict[str, Mutant] = {}


def mutant(name: str, change: str, keywords: str):
    def register(install):
        MUTANTS[name] = Mutant(name, change, keywords, install)
        return install

    return register


def _vjp(fn, rule):
    fn.primitive.vjp = rule


# ---------------------------------------------------------------- max / min reductions

def _extremum_rule(share_of):
    """A copy of ops._extremum_vjp with the tie-sharing step replaced by ``share_of(mask, axis)``."""
    from autograd.ops import _keepdims_shape, data_of

    def rule(i, g, out, x, *, axis, keepdims):
        kshape = _keepdims_shape(np.shape(x), axis)
        x, top = data_of(x), data_of(out).reshape(kshape)
        return g.reshape(kshape) * share_of(x == top, axis).astype(x.dtype, copy=False)

    return rule


def _first_only(mask, axis):
    axes = tuple(range(mask.ndim)) if axis is None else axis
    last = tuple(range(mask.ndim - len(axes), mask.ndim))
    moved = np.moveaxis(mask, axes, last)
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    first = flat & (np.cumsum(flat, axis=-1) == 1)
    return np.moveaxis(first.reshape(moved.shape), last, axes)


@mutant("max-ties-not-split", "every tied maximum gets all of g", "max_ties")
def _():
    from autograd.ops import _max
    _vjp(_max, _extremum_rule(lambda mask, axis: mask))


@mutant("max-ties-first-only", "the first tied maximum gets all of g, the others none", "max_ties")
def _():
    from autograd.ops import _max
    _vjp(_max, _extremum_rule(_first_only))


@mutant("max-ties-split-over-all", "ties split by the count over the whole tensor, not per slice", "max_ties")
def _():
    from autograd.ops import _max
    _vjp(_max, _extremum_rule(lambda mask, axis: mask / mask.sum()))


@mutant("max-ignores-g", "the rule returns the tie shares, ignoring g", "max_ties")
def _():
    from autograd.ops import _keepdims_shape, _max, data_of

    def rule(i, g, out, x, *, axis, keepdims):
        x, top = data_of(x), data_of(out).reshape(_keepdims_shape(np.shape(x), axis))
        mask = x == top
        return (mask / mask.sum(axis=axis, keepdims=True)).astype(x.dtype)

    _vjp(_max, rule)


@mutant("min-ties-not-split", "every tied minimum gets all of g", "min_ties")
def _():
    from autograd.ops import _min
    _vjp(_min, _extremum_rule(lambda mask, axis: mask))


# ---------------------------------------------------------------- maximum / minimum

def _pairwise(fn, weight_a, weight_b):
    """A copy of maximum's/minimum's rule with the weights of a and b given as functions of (a, b)."""
    from autograd.ops import data_of
    _vjp(fn, lambda i, g, out, a, b: g * (weight_a(data_of(a), data_of(b)) if i == 0 else
                                          weight_b(data_of(a), data_of(b))))


def _weight(wins, tie):
    return lambda a, b: np.where(wins(a, b), 1.0, np.where(a == b, tie, 0.0))


@mutant("maximum-ties-full", "tied maximum: both operands get all of g", "maximum_minimum")
def _():
    import autograd as ag
    _pairwise(ag.maximum, _weight(np.greater, 1.0), _weight(lambda a, b: b > a, 1.0))


@mutant("maximum-ties-zero", "tied maximum: neither operand gets any of g", "maximum_minimum")
def _():
    import autograd as ag
    _pairwise(ag.maximum, _weight(np.greater, 0.0), _weight(lambda a, b: b > a, 0.0))


@mutant("maximum-ties-to-a", "tied maximum: a gets all of g, b none", "maximum_minimum")
def _():
    import autograd as ag
    _pairwise(ag.maximum, _weight(np.greater, 1.0), _weight(lambda a, b: b > a, 0.0))


@mutant("maximum-b-gets-a-weight", "b's gradient uses a's weights", "maximum_minimum")
def _():
    import autograd as ag
    _pairwise(ag.maximum, _weight(np.greater, 0.5), _weight(np.greater, 0.5))


@mutant("maximum-ignores-g", "the rule returns the weights, ignoring g", "maximum_minimum")
def _():
    import autograd as ag
    from autograd.ops import data_of
    weight = _weight(np.greater, 0.5)
    _vjp(ag.maximum, lambda i, g, out, a, b: np.broadcast_to(
        weight(data_of(a), data_of(b)) if i == 0 else weight(data_of(b), data_of(a)), g.shape).astype(g.dtype))


@mutant("minimum-ties-to-b", "tied minimum: b gets all of g, a none", "maximum_minimum")
def _():
    import autograd as ag
    _pairwise(ag.minimum, _weight(np.less, 0.0), _weight(lambda a, b: b < a, 1.0))


# ---------------------------------------------------------------- kinks: abs, relu, clip

@mutant("abs-one-at-zero", "abs: gradient 1 at 0 (sign taken as >= 0)", "abs_and_relu")
def _():
    import autograd as ag
    _vjp(ag.abs, lambda i, g, out, x: g * np.where(x >= 0, 1.0, -1.0))


@mutant("abs-minus-one-at-zero", "abs: gradient -1 at 0", "abs_and_relu")
def _():
    import autograd as ag
    _vjp(ag.abs, lambda i, g, out, x: g * np.where(x > 0, 1.0, -1.0))


@mutant("relu-one-at-zero", "relu: gradient 1 at 0 (x >= 0)", "abs_and_relu")
def _():
    import autograd as ag
    from autograd.ops import data_of
    _vjp(ag.relu, lambda i, g, out, x: g * (data_of(x) >= 0))


def _clip_rule(lower, upper, use_g=True):
    """A copy of ops._clip_vjp with the comparisons against the bounds given."""
    from autograd.ops import data_of

    def rule(i, g, out, x, *, lo, hi):
        x = data_of(x)
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= lower(x, lo)
        if hi is not None:
            inside &= upper(x, hi)
        return g * inside if use_g else np.broadcast_to(inside, g.shape).astype(g.dtype)

    return rule


@mutant("clip-lo-open", "clip: gradient 0 exactly at lo (x > lo)", "clip")
def _():
    from autograd.ops import _clip
    _vjp(_clip, _clip_rule(np.greater, np.less_equal))


@mutant("clip-hi-open", "clip: gradient 0 exactly at hi (x < hi)", "clip")
def _():
    from autograd.ops import _clip
    _vjp(_clip, _clip_rule(np.greater_equal, np.less))


@mutant("clip-ignores-g", "clip: the rule returns the mask, ignoring g", "clip")
def _():
    from autograd.ops import _clip
    _vjp(_clip, _clip_rule(np.greater_equal, np.less_equal, use_g=False))


# ---------------------------------------------------------------- pow

def _pow_rule(base=None, exponent=None):
    """ops._pow_vjp with its base part (i == 0) or exponent part (i == 1) replaced by
    ``replacement(original, g, out, a, b)``."""
    import autograd as ag
    original = ag.pow.primitive.vjp

    def rule(i, g, out, a, b):
        replacement = base if i == 0 else exponent
        if replacement is None:
            return original(i, g, out, a, b)
        return replacement(original, g, out, a, b)

    ag.pow.primitive.vjp = rule


@mutant("pow-zero-exponent-passes-g", "x ** 0 with a number exponent: gradient g instead of 0", "pow")
def _():
    _pow_rule(base=lambda original, g, out, a, b: g if isinstance(b, (int, float)) and b == 0 else
              original(0, g, out, a, b))


@mutant("pow-no-zero-base-guard", "base gradient b * a ** (b - 1) everywhere: nan at 0 ** 0", "pow")
def _():
    _pow_rule(base=lambda original, g, out, a, b: g * b * a ** (b - 1))


@mutant("pow-zero-base-slope-zeroed", "base gradient 0 wherever the base is 0 (wrong for b == 1)", "pow")
def _():
    from autograd.ops import data_of
    _pow_rule(base=lambda original, g, out, a, b: np.where(data_of(a) == 0, 0.0, original(0, g, out, a, b)))


@mutant("pow-exponent-log-unguarded", "exponent gradient out * log(a) with no guard at a <= 0", "pow")
def _():
    _pow_rule(exponent=lambda original, g, out, a, b: g * out * np.log(a))


@mutant("pow-exponent-wrong-sign", "exponent gradient -out * log(a)", "pow")
def _():
    from autograd.ops import data_of
    _pow_rule(exponent=lambda original, g, out, a, b: -g * out * np.log(np.where(data_of(a) > 0, a, 1)))


# ---------------------------------------------------------------- transpose, getitem, scatter

@mutant("transpose-not-inverted", "transpose's gradient permuted by the permutation, not its inverse", "transpose")
def _():
    from autograd.shape_ops import _transpose
    _vjp(_transpose, lambda i, g, out, x, *, axes: g.transpose(axes))


@mutant("transpose-reversed", "transpose's gradient with its axes reversed", "transpose")
def _():
    from autograd.shape_ops import _transpose
    _vjp(_transpose, lambda i, g, out, x, *, axes: g.transpose())


@mutant("scatter-assigns", "np.add.at replaced by assignment: repeated indices keep one gradient",
        "repeated_indices or scatter")
def _():
    from autograd import shape_ops

    def assign(g, *, shape, index):
        grad = np.zeros(shape, dtype=g.dtype)
        grad[index] = g
        return grad

    shape_ops._scatter_forward = assign  # the first-order path
    shape_ops._scatter.primitive.forward = assign  # the create_graph path


@mutant("getitem-detaches-g", "getitem's rule scatters g's data: no second order", "repeated_indices or scatter")
def _():
    from autograd.ops import data_of
    from autograd.shape_ops import _getitem, scatter
    _vjp(_getitem, lambda i, g, out, x, *, index: scatter(data_of(g), x.shape, index))


@mutant("scatter-vjp-wrong-sign", "scatter's rule gathers -g", "repeated_indices or scatter")
def _():
    from autograd.shape_ops import _scatter
    _vjp(_scatter, lambda i, g, out, y, *, shape, index: -g[index])


# ---------------------------------------------------------------- running

def run_one(name: str | None, tests: str, keywords: str, profile: str) -> tuple[int, float, str]:
    """Run pytest on ``tests`` -k ``keywords`` in a fresh process with mutant ``name`` installed (None: none)."""
    command = [sys.executable, os.path.abspath(__file__), "--install", name or "", "--", tests, "-k", keywords,
               "-x", "-q", "-p", "no:cacheprovider", f"--hypothesis-profile={profile}"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "CI": "true"}, capture_output=True, text=True)
    failed = re.findall(r"^FAILED \S+::(\S+)", done.stdout, re.MULTILINE)
    why = re.findall(r"^(?:E|\s*\|)\s+(\w+(?:Error|Exception): .*)", done.stdout, re.MULTILINE)
    detail = f"{failed[0]}: {why[0][:90] if why else '?'}" if failed else done.stdout.strip()[-200:]
    return done.returncode, time.perf_counter() - start, detail


def install_and_test(name: str, pytest_args: list[str]) -> int:
    import pytest
    from hypothesis import Phase, settings

    sys.path.insert(0, ROOT)  # as `python -m pytest` from the root: the package, not tests/autograd
    if name:
        MUTANTS[name].install()
    for profile, phases in (("mutation", (Phase.explicit, Phase.generate)), ("mutation-generated", (Phase.generate,))):
        settings.register_profile(profile, max_examples=60, derandomize=True, deadline=None, database=None,
                                  phases=phases, print_blob=False)
    return pytest.main(pytest_args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--tests", default=DEFAULT_TESTS, help=f"test file (default: {DEFAULT_TESTS})")
    parser.add_argument("--keywords", help="one pytest -k expression for every mutant (default: each mutant's own)")
    parser.add_argument("--generated-only", action="store_true",
                        help="skip the @example cases: do the strategies alone reach the regions?")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    if sys.argv[1:2] == ["--install"]:  # the child process: --install NAME -- PYTEST_ARGS
        return install_and_test(sys.argv[2], sys.argv[4:])
    args = parser.parse_args()
    if args.list:
        for m in MUTANTS.values():
            print(f"{m.name:28} {m.change}  [-k {m.keywords}]")
        return 0
    unknown = [n for n in args.names if n not in MUTANTS]
    if unknown:
        parser.error(f"unknown mutants {unknown}; --list shows them")
    chosen = [MUTANTS[n] for n in args.names] or list(MUTANTS.values())
    keywords = {m.name: args.keywords or m.keywords for m in chosen}
    every = " or ".join(f"({k})" for k in dict.fromkeys(keywords.values()))
    profile = "mutation-generated" if args.generated_only else "mutation"
    code, seconds, detail = run_one(None, args.tests, every, profile)
    print(f"control (no mutant): {'passes' if code == 0 else 'FAILS'} in {seconds:.0f} s")
    if code != 0:
        print(detail)
        return 2
    survivors = []
    for m in chosen:
        code, seconds, detail = run_one(m.name, args.tests, keywords[m.name], profile)
        verdict = {0: "SURVIVED", 1: "killed"}.get(code, f"error (pytest exit {code})")
        print(f"{m.name:28} {verdict:9} {seconds:4.1f} s  {detail if code == 1 else m.change}", flush=True)
        if code != 1:
            survivors.append(m.name)
    print(f"\n{len(chosen) - len(survivors)} of {len(chosen)} mutants killed; "
          f"{len(survivors)} survived or errored{': ' + ', '.join(survivors) if survivors else ''}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

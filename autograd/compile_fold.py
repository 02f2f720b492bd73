"""Constant folding for ``autograd.compile``: a rule whose result depends only on constants is run once.

In a replay, the first gradients of a walk are often constants: the root's ones, ``g * 0.5`` for a
loss scaled by a number, ``sum``'s VJP filling a shape with that.  ``fold`` runs the rule at code
generation with the constant values it is given and, for every value only known at replay,
a ``Placeholder`` that carries its (fixed) shape, dtype and ndim and refuses any other use.  A rule
that computes its result without touching a placeholder's values gives a constant: the replay uses
that array instead of calling the rule (the same bits: the same rule on the same values).
"""
from __future__ import annotations

import warnings

import numpy as np


class _Touched(Exception):
    """A rule read a placeholder's values."""


class Placeholder:
    """A value known at replay only: its shape, dtype and ndim are fixed by the signature, the rest refused."""

    __slots__ = ("shape", "dtype", "ndim", "size")
    __array_ufunc__ = None  # NumPy's ufuncs and operators refuse it (TypeError)

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), len(shape)
        self.size = int(np.prod(shape, dtype=np.int64))

    def __array__(self, *args, **kwargs):
        raise _Touched

    def __array_function__(self, *args, **kwargs):
        raise _Touched

    def __getattr__(self, name):
        raise _Touched

    def __bool__(self):
        raise _Touched

    def __len__(self):
        raise _Touched

    def __iter__(self):
        raise _Touched

    def __float__(self):
        raise _Touched

    def __index__(self):
        raise _Touched


def fold(rule, args, params):
    """``rule(*args, **params)`` if it runs without touching a ``Placeholder`` (and without a warning or a
    floating-point error), as an ndarray; None otherwise."""
    try:
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            result = rule(*args, **params)
    except Exception:  # (a placeholder touched, or anything else: not folded, the replay calls the rule)
        return None
    if isinstance(result, np.generic) and result.dtype.kind in "biuf":
        return result
    if isinstance(result, np.ndarray) and result.dtype.kind in "biuf":
        return np.array(result, copy=True)  # (its own copy: nothing else can change it)
    return None

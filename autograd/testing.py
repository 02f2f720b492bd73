"""Hypothesis strategies for property tests of differentiable code, on ``hypothesis.extra.numpy``.

Every strategy is usable with no arguments and draws small data (at most 3 dimensions of at
most 4 elements by default), so a property that runs ``gradcheck`` stays fast::

    from hypothesis import given
    from autograd import gradcheck
    from autograd.testing import check_gradients, gradient_inputs, tensors

    @given(tensors())
    def test_exp(x):
        assert gradcheck(lambda x: x.exp(), x)

    @given(gradient_inputs(2))           # two broadcastable tensors of one float dtype
    def test_mul(xy):
        assert gradcheck(lambda x, y: x * y, xy)

    # or the whole property test in one line, first and second order:
    test_tanh = check_gradients(lambda x: x.tanh(), second_order=True)

Elements are finite and not subnormal, within ``[min_value, max_value]`` (``[-10, 10]`` by
default).  For functions with kinks, ``away_from`` keeps elements at least ``min_distance``
from given points (``relu``, ``abs`` at 0) and ``min_gap`` keeps the elements of an array
pairwise apart (``max``/``min`` reductions, whose gradient jumps at ties).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from autograd.tensor import Tensor

__all__ = ["FLOAT_DTYPES", "float_dtypes", "shapes", "elements", "float_arrays", "tensors",
           "arrays_like", "broadcastable_shapes", "matmul_shapes", "gradient_inputs",
           "check_gradients"]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtypes() -> st.SearchStrategy[np.dtype]:
    """float32 or float64 (the dtypes the engine computes in).

    >>> float_dtypes().example() in FLOAT_DTYPES
    True
    """
    return st.sampled_from(FLOAT_DTYPES)


def shapes(*, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, 0-d included by default: ``(), (3,), (1, 4), (2, 1, 3)`` ...

    >>> len(shapes(min_dims=2, max_dims=2).example())
    2
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def elements(dtype=np.float64, *, min_value: float = -10.0, max_value: float = 10.0,
             away_from: Sequence[float] = (), min_distance: float = 1e-3
             ) -> st.SearchStrategy[float]:
    """Finite, non-subnormal floats of ``dtype`` in ``[min_value, max_value]``, and at least
    ``min_distance`` away from each point of ``away_from``.

    Bounds that ``dtype`` cannot represent exactly are rounded inwards.

    >>> v = elements(away_from=[0.0], min_distance=0.5).example()
    >>> abs(v) >= 0.5 and -10 <= v <= 10
    True
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"elements: dtype must be floating, got {dtype}")
    if min_value > max_value:
        raise ValueError(f"elements: min_value={min_value} > max_value={max_value}")
    lo, hi = _inward(min_value, dtype, +1), _inward(max_value, dtype, -1)
    points = tuple(float(p) for p in away_from)
    strategy = st.floats(lo, hi, width=8 * dtype.itemsize, allow_nan=False,
                         allow_infinity=False, allow_subnormal=False)
    if not points:
        return strategy

    def far_enough(v: float) -> bool:
        return all(abs(v - p) >= min_distance for p in points)

    def push_out(v: float) -> float:
        # Move a value that lands near a point just outside its exclusion zone (keeps shrinking
        # towards simple values instead of rejecting most draws: hypothesis loves 0).
        for p in points:
            if abs(v - p) < min_distance:
                up = float(dtype.type(p + min_distance * (1 + 1e-3)))
                down = float(dtype.type(p - min_distance * (1 + 1e-3)))
                v = up if (v >= p and up <= hi) or down < lo else down
        return v

    return strategy.map(push_out).filter(lambda v: lo <= v <= hi and far_enough(v))


def float_arrays(shape=None, dtype=None, *, min_value: float = -10.0, max_value: float = 10.0,
                 away_from: Sequence[float] = (), min_distance: float = 1e-3,
                 min_gap: float | None = None, min_dims: int = 0, max_dims: int = 3,
                 min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[np.ndarray]:
    """Float ndarrays.  ``shape``: a tuple, an int, a strategy of shapes or None (drawn from
    ``shapes(min_dims=..., max_dims=..., min_side=..., max_side=...)``); ``dtype``: a dtype, a
    strategy of dtypes, or None (float32 or float64).  Elements as in :func:`elements`;
    ``min_gap``, when given, makes every two elements of an array differ by at least that much.

    >>> a = float_arrays((2, 3), np.float32, min_gap=0.01).example()
    >>> a.shape, a.dtype, bool(np.all(np.diff(np.sort(a, axis=None)) >= 0.01))
    ((2, 3), dtype('float32'), True)
    """
    shape_st = _shape_strategy(shape, min_dims, max_dims, min_side, max_side)
    dtype_st = float_dtypes() if dtype is None else (
        dtype if isinstance(dtype, st.SearchStrategy) else st.just(np.dtype(dtype)))

    def arrays_of(dt_and_shape):
        dt, shp = dt_and_shape
        elems = elements(dt, min_value=min_value, max_value=max_value, away_from=away_from,
                         min_distance=min_distance)
        if min_gap is None:
            return hnp.arrays(dt, shp, elements=elems)
        return hnp.arrays(dt, shp, elements=elems, unique=True).filter(
            lambda a: a.size < 2 or bool(np.diff(np.sort(a, axis=None)).min() >= min_gap))

    return st.tuples(dtype_st, shape_st).flatmap(arrays_of)


def tensors(shape=None, dtype=None, *, min_value: float = -10.0, max_value: float = 10.0,
            requires_grad=True, away_from: Sequence[float] = (), min_distance: float = 1e-3,
            min_gap: float | None = None, min_dims: int = 0, max_dims: int = 3,
            min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[Tensor]:
    """Tensors whose data is drawn by :func:`float_arrays` (same arguments).

    ``requires_grad`` is a bool or a strategy of bools.  With no arguments: float32 or float64,
    0 to 3 dimensions of 1 to 4 elements, values in [-10, 10], ``requires_grad=True``.

    >>> t = tensors().example()
    >>> t.requires_grad and t.dtype in FLOAT_DTYPES and t.ndim <= 3
    True
    >>> tensors((3,), np.float32, min_value=0.1, max_value=5.0).example().dtype
    dtype('float32')
    >>> relu_safe = tensors(away_from=[0.0])     # no element within 1e-3 of relu's kink
    """
    grad_st = requires_grad if isinstance(requires_grad, st.SearchStrategy) \
        else st.just(bool(requires_grad))
    data_st = float_arrays(shape, dtype, min_value=min_value, max_value=max_value,
                           away_from=away_from, min_distance=min_distance, min_gap=min_gap,
                           min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                           max_side=max_side)
    return st.builds(lambda data, rg: Tensor(data, requires_grad=rg), data_st, grad_st)


def arrays_like(x, *, min_value: float = -10.0, max_value: float = 10.0
                ) -> st.SearchStrategy[np.ndarray]:
    """Arrays with the shape and dtype of ``x`` (a Tensor or an ndarray): upstream gradients
    for ``backward(gradient)`` / ``grad_outputs``, or a second operand of the same shape.

    >>> x = Tensor(np.zeros((2, 3), np.float32))
    >>> g = arrays_like(x).example()
    >>> g.shape, g.dtype
    ((2, 3), dtype('float32'))
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return float_arrays(data.shape, data.dtype, min_value=min_value, max_value=max_value)


def broadcastable_shapes(num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4
                         ) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Tuples of ``num_shapes`` mutually broadcastable shapes, e.g. ``((2, 1, 3), (4, 1), ())``:
    different ranks, 0-d shapes and size-1 dimensions included.  The result shape is
    ``np.broadcast_shapes(*shapes)``.

    >>> a, b = broadcastable_shapes().example()
    >>> isinstance(np.broadcast_shapes(a, b), tuple)
    True
    """
    if num_shapes < 1:
        raise ValueError(f"broadcastable_shapes: num_shapes must be >= 1, got {num_shapes}")
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda b: b.input_shapes)


def matmul_shapes(*, min_dims: int = 0, max_dims: int = 2, min_side: int = 1,
                  max_side: int = 4) -> st.SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Pairs of shapes ``(a, b)`` that ``np.matmul`` accepts: 1-D operands (vector @ matrix,
    matrix @ vector, vector @ vector) and stacks of matrices whose batch dimensions broadcast.
    ``min_dims``/``max_dims`` bound the number of batch dimensions; ``min_side``/``max_side``
    every side.  Drawn from NumPy's gufunc signature ``(n?,k),(k,m?)->(n?,m?)``.

    >>> a, b = matmul_shapes().example()
    >>> np.matmul(np.ones(a), np.ones(b)).ndim >= 0
    True
    """
    return hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda b: b.input_shapes)


def gradient_inputs(nargs: int = 1, *, shapes=None, dtype=None, requires_grad=True,
                    min_value: float = -10.0, max_value: float = 10.0,
                    away_from: Sequence[float] = (), min_distance: float = 1e-3,
                    min_gap: float | None = None, max_dims: int = 3, max_side: int = 4
                    ) -> st.SearchStrategy[tuple[Tensor, ...]]:
    """Tuples of ``nargs`` Tensors to differentiate a function of ``nargs`` arguments at.

    ``shapes``: None (mutually broadcastable shapes from :func:`broadcastable_shapes`: 0-d,
    size-1 and stretched dimensions, different ranks), a tuple of ``nargs`` shapes, or a
    strategy of such tuples (e.g. :func:`matmul_shapes`).  ``dtype``: None draws float32 or
    float64 once per tuple (all arguments share it), else a dtype or a strategy of dtypes.
    ``requires_grad``: a bool, or one bool per argument (False: a constant argument, e.g. a
    target).  Elements as in :func:`float_arrays`.

    >>> x, y = gradient_inputs(2, dtype=np.float64).example()
    >>> x.dtype == y.dtype == np.float64 and isinstance(np.broadcast_shapes(x.shape, y.shape), tuple)
    True
    """
    if nargs < 1:
        raise ValueError(f"gradient_inputs: nargs must be >= 1, got {nargs}")
    flags = (requires_grad,) * nargs if isinstance(requires_grad, bool) else tuple(requires_grad)
    if len(flags) != nargs or not all(isinstance(f, bool) for f in flags) or not any(flags):
        raise ValueError(f"gradient_inputs: requires_grad must be a bool or {nargs} bools, at least one "
                         f"True (there is nothing to differentiate otherwise), got {requires_grad!r}")
    if shapes is None:
        shapes_st = broadcastable_shapes(nargs, max_dims=max_dims, max_side=max_side)
    elif isinstance(shapes, st.SearchStrategy):
        shapes_st = shapes
    else:
        if not (isinstance(shapes, (tuple, list)) and len(shapes) == nargs
                and all(_is_shape(shape) for shape in shapes)):
            raise TypeError(f"gradient_inputs: shapes must be None, a tuple of {nargs} shapes (tuples "
                            f"of ints) or a strategy of such tuples, got {shapes!r}")
        shapes_st = st.just(tuple(tuple(int(n) for n in shape) for shape in shapes))
    dtype_st = float_dtypes() if dtype is None else (
        dtype if isinstance(dtype, st.SearchStrategy) else st.just(np.dtype(dtype)))

    def tensors_for(dt_and_shapes):
        dt, drawn = dt_and_shapes
        if len(drawn) != nargs:
            raise ValueError(f"gradient_inputs: the shapes strategy drew {len(drawn)} shapes for "
                             f"{nargs} arguments")
        return st.tuples(*(tensors(shape, dt, min_value=min_value, max_value=max_value,
                                   requires_grad=flag, away_from=away_from,
                                   min_distance=min_distance, min_gap=min_gap)
                           for shape, flag in zip(drawn, flags)))

    return st.tuples(dtype_st, shapes_st).flatmap(tensors_for)


def check_gradients(fn: Callable, nargs: int = 1, *, inputs: st.SearchStrategy | None = None,
                    second_order: bool = False, max_examples: int | None = None,
                    settings: hypothesis_settings | None = None, eps: float = 1e-6,
                    atol: float = 1e-5, rtol: float = 1e-3, **input_options) -> Callable[[], None]:
    """A hypothesis property test of ``fn``'s gradients, for pytest to collect::

        test_softplus = check_gradients(softplus, min_value=-5, max_value=5, second_order=True)

    ``fn`` takes ``nargs`` Tensors and returns a Tensor (or a tuple of Tensors).  Each example
    runs :func:`~autograd.gradcheck` (Jacobian against central differences, and a backward seeded
    with random output gradients) and, with ``second_order``, :func:`~autograd.gradgradcheck`.
    The arguments are drawn by ``inputs`` (a strategy of tuples of Tensors) or else by
    :func:`gradient_inputs` with ``nargs`` and ``input_options`` (``shapes``, ``dtype``,
    ``requires_grad``, ``min_value``, ``max_value``, ``away_from``, ``min_distance``,
    ``min_gap``, ``max_dims``, ``max_side``).  On a failure hypothesis shrinks the arguments
    and reports the smallest failing ones with the :class:`~autograd.GradcheckError` naming the
    first wrong Jacobian entries.  ``settings``: hypothesis settings to start from (default: the
    current profile's); ``max_examples`` overrides their example count.
    """
    if not callable(fn):
        raise TypeError(f"check_gradients: fn must be callable, got {type(fn).__name__}")
    if inputs is None:
        inputs = gradient_inputs(nargs, **input_options)
    elif input_options:
        raise TypeError(f"check_gradients: {', '.join(input_options)} cannot be combined with "
                        "inputs= (the strategy draws the arguments itself)")
    name = getattr(fn, "__name__", type(fn).__name__)

    def check(args):
        try:
            gradcheck(fn, args, eps=eps, atol=atol, rtol=rtol)
            if second_order:
                gradgradcheck(fn, args, eps=eps, atol=atol, rtol=rtol)
        except GradcheckError as error:  # the last one raised is for the shrunk arguments: show them
            error.args = (f"{error.args[0]}\n  at {name}({', '.join(map(repr, args))})",)
            raise

    check.__name__ = check.__qualname__ = f"check_gradients_of_{name}".replace("<lambda>", "lambda")
    check.__doc__ = f"Property test: gradients of {name}{' (first and second order)' if second_order else ''}."
    # one failure reported (the first found, shrunk), not a group of near-duplicates
    options = {"report_multiple_bugs": False}
    if max_examples is not None:
        options["max_examples"] = max_examples
    return hypothesis_settings(settings, **options)(given(inputs)(check))


# ----------------------------------------------------------------------------- helpers

def _shape_strategy(shape, min_dims, max_dims, min_side, max_side):
    if shape is None:
        return shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    if isinstance(shape, st.SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)):
        return st.just((int(shape),))
    if isinstance(shape, (tuple, list)) and all(isinstance(s, (int, np.integer)) for s in shape):
        return st.just(tuple(int(s) for s in shape))
    raise TypeError(f"shape must be None, an int, a tuple of ints or a strategy, got {shape!r}")


def _is_shape(shape) -> bool:
    return isinstance(shape, tuple) and all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape)


def _inward(bound: float, dtype: np.dtype, direction: int) -> float:
    """``bound`` rounded to ``dtype``, moved one ulp towards the inside when rounding moved it out."""
    rounded = dtype.type(bound)
    if direction > 0 and float(rounded) < bound:
        rounded = np.nextafter(rounded, dtype.type(np.inf))
    if direction < 0 and float(rounded) > bound:
        rounded = np.nextafter(rounded, dtype.type(-np.inf))
    return float(rounded)

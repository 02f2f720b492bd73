"""Parameter initialisers and the seedable random generator behind them.

Every initialiser fills a Tensor in place and returns it, like PyTorch's ``nn.init.*_``.  The
write goes through the Tensor's item assignment under ``no_grad``, so a graph that saved the old
values refuses to backpropagate instead of giving a wrong gradient.  Random values are drawn in
float64 from a NumPy ``Generator`` and then cast to the tensor's dtype, so float32 and float64
models built from the same seed start from the same numbers (up to float32 rounding).

``generator=None`` means the module-wide default generator, which ``manual_seed`` resets.

Fans follow the ``(in_features, out_features)`` weight layout of ``nn.Linear``: for a 2-D
weight ``fan_in = shape[0]`` and ``fan_out = shape[1]``; for N-D kernels laid out like Keras's
``(..., in, out)`` the leading dimensions multiply both fans (the receptive field size).
"""

import math

import numpy as np

from autograd import no_grad

__all__ = [
    "manual_seed", "default_generator", "calculate_gain", "fans",
    "zeros", "ones", "constant", "normal", "uniform",
    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
]

_default_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Reset the default generator used by initialisers, ``Dropout`` and ``data.batches``.

    seed: int. Returns the new ``numpy.random.Generator``.
    """
    global _default_generator
    _default_generator = np.random.default_rng(seed)
    return _default_generator


def default_generator():
    """The current default ``numpy.random.Generator`` (replaced by ``manual_seed``)."""
    return _default_generator


def resolve_generator(generator):
    """None -> the default generator; an int -> a new generator seeded with it; a Generator
    as is."""
    if generator is None:
        return _default_generator
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")


def fans(shape):
    """(fan_in, fan_out) of a weight of the given shape, in the (..., in, out) layout."""
    shape = tuple(shape)
    if len(shape) == 0:
        raise ValueError("fan_in/fan_out are undefined for a 0-d tensor")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as PyTorch's ``calculate_gain``.

    nonlinearity: "linear", "sigmoid", "tanh", "relu" or "leaky_relu" (param = negative slope).
    """
    if nonlinearity in ("linear", "identity", "sigmoid", "softmax"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; expected one of "
                     "'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu'")


def _fill(tensor, values):
    with no_grad():
        tensor[...] = values
    return tensor


def zeros(tensor):
    """Fill ``tensor`` (any shape) with 0 in place; returns it."""
    return _fill(tensor, 0)


def ones(tensor):
    """Fill ``tensor`` (any shape) with 1 in place; returns it."""
    return _fill(tensor, 1)


def constant(tensor, value):
    """Fill ``tensor`` (any shape) with ``value`` in place; returns it."""
    return _fill(tensor, value)


def normal(tensor, mean=0.0, std=1.0, generator=None):
    """Fill ``tensor`` with draws from N(mean, std**2) in place; returns it."""
    rng = resolve_generator(generator)
    return _fill(tensor, rng.normal(mean, std, size=tensor.shape))


def uniform(tensor, a=0.0, b=1.0, generator=None):
    """Fill ``tensor`` with draws from U(a, b) in place; returns it."""
    rng = resolve_generator(generator)
    return _fill(tensor, rng.uniform(a, b, size=tensor.shape))


def xavier_uniform(tensor, gain=1.0, generator=None):
    """Glorot/Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)); in place."""
    fan_in, fan_out = fans(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(tensor, -bound, bound, generator)


def xavier_normal(tensor, gain=1.0, generator=None):
    """Glorot/Xavier normal: N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out)); in place."""
    fan_in, fan_out = fans(tensor.shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal(tensor, 0.0, std, generator)


def _kaiming_std(shape, a, mode, nonlinearity):
    fan_in, fan_out = fans(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform(tensor, a=0.0, mode="fan_in", nonlinearity="relu", generator=None):
    """He/Kaiming uniform: U(-b, b) with b = gain * sqrt(3 / fan); in place.

    ``a`` is the negative slope for ``nonlinearity="leaky_relu"``.
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor.shape, a, mode, nonlinearity)
    return uniform(tensor, -bound, bound, generator)


def kaiming_normal(tensor, a=0.0, mode="fan_in", nonlinearity="relu", generator=None):
    """He/Kaiming normal: N(0, std**2) with std = gain / sqrt(fan); in place."""
    std = _kaiming_std(tensor.shape, a, mode, nonlinearity)
    return normal(tensor, 0.0, std, generator)


# Keras's names for the same initialisers.
glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
he_uniform = kaiming_uniform
he_normal = kaiming_normal

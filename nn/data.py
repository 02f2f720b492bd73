"""Mini-batches over in-memory arrays."""

import math

import numpy as np

from . import init
from .utils import as_array

__all__ = ["batches", "num_batches"]


def num_batches(n, batch_size, drop_last=False):
    """How many batches ``batches`` yields for n samples."""
    batch_size = max(1, min(batch_size, n))
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def batches(X, y=None, batch_size=32, shuffle=True, rng=None, drop_last=False):
    """Yield (X_batch, y_batch) pairs (X_batch alone when y is None) along the first axis.

    X: (N, ...) array or Tensor; y: (N, ...) or None.  batch_size: 1 (online), N (full batch)
    or anything between; larger than N gives one batch of N.  shuffle: a fresh permutation per
    call, drawn from ``rng`` (None: the default generator, see ``nn.manual_seed``; an int seed;
    or a ``numpy.random.Generator``).  drop_last: skip a final batch smaller than batch_size.
    Unshuffled batches are views of X and y; shuffled ones are copies.
    """
    X = as_array(X)
    if X.ndim == 0:
        raise ValueError("batches: X must have a first (sample) axis, got a 0-d array")
    n = len(X)
    if y is not None:
        y = as_array(y)
        if y.ndim == 0 or len(y) != n:
            raise ValueError(f"batches: X has {n} samples but y has shape {y.shape}; both need "
                             "the same length along the first axis")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    batch_size = min(int(batch_size), n) if n else 1
    order = init.resolve_generator(rng).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            index = slice(start, start + batch_size)
        else:
            index = order[start:start + batch_size]
        yield X[index] if y is None else (X[index], y[index])

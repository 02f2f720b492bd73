"""Every layer of ``nn``: ``Linear`` (PyTorch's name), ``Dense`` (Keras's, with an activation),
the activations (one registry, ``ACTIVATIONS``, shared by their modules and by ``Dense``) and
``Dropout``."""

import numpy as np

from autograd.compile import random_primitive

from . import init
from .module import Module, Parameter
from .utils import as_tensor

__all__ = ["Linear", "Dense", "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout",
           "ACTIVATIONS"]


class _Activation(Module):
    """A parameter-free elementwise layer; subclasses give ``fn`` (Tensor -> Tensor)."""

    @staticmethod
    def fn(x):
        raise NotImplementedError

    def forward(self, x):
        """The activation: any shape -> the same shape."""
        return self.fn(as_tensor(x))


class ReLU(_Activation):
    """max(x, 0) elementwise; any shape."""

    @staticmethod
    def fn(x):
        """max(x, 0)."""
        return x.relu()


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)) elementwise; any shape."""

    @staticmethod
    def fn(x):
        """sigmoid(x)."""
        return x.sigmoid()


class Tanh(_Activation):
    """tanh(x) elementwise; any shape."""

    @staticmethod
    def fn(x):
        """tanh(x)."""
        return x.tanh()


class Softmax(Module):
    """Softmax over ``axis`` (default the last): (N, C) -> (N, C) rows summing to 1."""

    def __init__(self, axis=-1):
        self.axis = axis

    @staticmethod
    def fn(x, axis=-1):
        """softmax(x) over ``axis``."""
        return x.softmax(axis=axis)

    def forward(self, x):
        """softmax(x) over ``axis``: any shape -> the same shape."""
        return self.fn(as_tensor(x), self.axis)

    def extra_repr(self):
        """``axis=...``."""
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """Log of the softmax over ``axis``, computed stably: (N, C) -> (N, C)."""

    @staticmethod
    def fn(x, axis=-1):
        """log(softmax(x)) over ``axis``."""
        return x.log_softmax(axis=axis)


def _identity(x):
    return x


# name -> the function Dense applies; the same functions are the layers' forward
ACTIVATIONS = {
    None: _identity,
    "linear": _identity,
    "relu": ReLU.fn,
    "sigmoid": Sigmoid.fn,
    "tanh": Tanh.fn,
    "softmax": Softmax.fn,
    "log_softmax": LogSoftmax.fn,
}


class Dropout(Module):
    """Inverted dropout: in training mode zero each element with probability ``p`` and scale
    the rest by 1 / (1 - p); the identity in eval mode (``model.eval()``, and inside
    ``nn.evaluate`` / ``nn.predict``).  Any shape; integer or bool input gives a float64 output
    in training mode.

    generator: None (the default generator at call time, see ``nn.manual_seed``), an int seed
    or a ``numpy.random.Generator``.
    """

    def __init__(self, p=0.5, generator=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = float(p)
        self._rng = None if generator is None else init.resolve_generator(generator)

    def forward(self, x):
        """x * mask / (1 - p) in training mode, x in eval mode: any shape -> the same shape."""
        x = as_tensor(x)
        if not self.training or self.p == 0.0:
            return x
        # the mask is float even for integer/bool input: scaling by 1 / (1 - p) needs it
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        if self.p == 1.0:
            mask = np.zeros(x.shape, dtype=dtype)
        else:  # a random primitive, so that a compiled step draws a fresh mask at every replay
            mask = _dropout_mask(shape=x.shape, p=self.p, dtype=dtype, generator=self._rng)
        return x * mask

    def extra_repr(self):
        """``p=...``."""
        return f"p={self.p}"


def _draw_dropout_mask(*, shape, p, dtype, generator):
    rng = generator if generator is not None else init.default_generator()  # the default at call time
    keep = rng.random(shape) >= p
    return np.where(keep, 1.0 / (1.0 - p), 0.0).astype(dtype)


_dropout_mask = random_primitive(_draw_dropout_mask, name="dropout_mask",
                                 doc="Inverted-dropout mask: 1 / (1 - p) where kept, 0 where dropped.")


def _positive_int(value, what, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {what} must be a positive int, got {value!r}")
    return int(value)


class Linear(Module):
    """Affine layer ``y = x @ weight + bias``.

    x: (..., in_features) -> y: (..., out_features).  ``weight`` has shape (in_features,
    out_features) (Keras's layout; PyTorch stores the transpose), Glorot/Xavier-uniform
    initialised from ``generator`` (None: the default generator, see ``nn.manual_seed``);
    ``bias`` has shape (out_features,), zeros, or is None with ``bias=False``.
    dtype: float32 by default, float64 on request.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, generator=None):
        name = type(self).__name__
        self.in_features = _positive_int(in_features, "in_features", name)
        self.out_features = _positive_int(out_features, "out_features", name)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be a float dtype, got {dtype}")
        self.weight = Parameter(np.zeros((self.in_features, self.out_features), dtype=dtype))
        init.xavier_uniform(self.weight, generator=generator)
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        """x: (..., in_features) -> (..., out_features).  Integer or bool input is cast to the
        layer's dtype; a float input of another dtype follows NumPy's promotion."""
        x = as_tensor(x)
        if x.dtype.kind in "biu":
            x = x.astype(self.weight.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__}(in_features={self.in_features}, out_features="
                f"{self.out_features}) got input of shape {x.shape}: its last dimension must be "
                f"{self.in_features} (reshape the input, e.g. x.reshape(len(x), -1))")
        out = x @ self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def scope_label(self):
        """``Linear(512→10)``: the graph image's caption for this layer."""
        return f"{type(self).__name__}({self.in_features}→{self.out_features})"

    def extra_repr(self):
        """``in_features=..., out_features=..., bias=...``."""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Dense(Linear):
    """``Linear`` followed by an activation, Keras-style: ``Dense(64, 512, activation="relu")``.

    activation: None/"linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", or any
    callable Tensor -> Tensor (a Module becomes a child module).  Same parameters as Linear.
    """

    def __init__(self, in_features, out_features, activation=None, bias=True,
                 dtype=np.float32, generator=None):
        super().__init__(in_features, out_features, bias=bias, dtype=dtype, generator=generator)
        if callable(activation):
            self.activation = activation
            self._activation_fn = activation
        elif activation in ACTIVATIONS:
            self.activation = activation
            self._activation_fn = ACTIVATIONS[activation]
        else:
            names = ", ".join(repr(k) for k in ACTIVATIONS if k is not None)
            raise ValueError(f"Dense: unknown activation {activation!r}; use one of {names}, "
                             "None, or a callable")

    def forward(self, x):
        """x: (..., in_features) -> activation(x @ weight + bias): (..., out_features)."""
        return self._activation_fn(super().forward(x))

    def _activation_name(self):
        act = self.activation
        return act if isinstance(act, str) or act is None else getattr(act, "__name__", act)

    def scope_label(self):
        """``Dense(64→512, relu)``: the graph image's caption for this layer."""
        shown = self._activation_name()
        suffix = "" if shown in (None, "linear") else f", {shown}"
        return f"Dense({self.in_features}→{self.out_features}{suffix})"

    def extra_repr(self):
        """Linear's fields and ``activation=...``."""
        return super().extra_repr() + f", activation={self._activation_name()!r}"

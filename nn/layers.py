"""Dense layers: ``Linear`` (PyTorch's name) and ``Dense`` (Keras's, with an activation)."""

import numpy as np

from . import init
from .module import Module, Parameter, as_tensor

__all__ = ["Linear", "Dense", "ACTIVATIONS"]


def _identity(x):
    return x


ACTIVATIONS = {
    None: _identity,
    "linear": _identity,
    "relu": lambda x: x.relu(),
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "softmax": lambda x: x.softmax(axis=-1),
    "log_softmax": lambda x: x.log_softmax(axis=-1),
}


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

    def extra_repr(self):
        """Linear's fields and ``activation=...``."""
        act = self.activation
        shown = act if isinstance(act, str) or act is None else getattr(act, "__name__", act)
        return super().extra_repr() + f", activation={shown!r}"

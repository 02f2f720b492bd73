"""Batch normalisation: ``BatchNorm1d`` ((N, C) or (N, C, L)) and ``BatchNorm2d`` ((N, C, H, W)),
PyTorch's layers with its numerics.

Training mode normalises with the batch's own statistics (mean and *biased* variance over every
axis but the channel axis) and updates the running statistics as PyTorch does:
``running = (1 - momentum) * running + momentum * batch``, with the *unbiased* batch variance
(times n / (n - 1), n values per channel).  Eval mode normalises with the running statistics.
``weight`` (ones) and ``bias`` (zeros) are Parameters; ``running_mean`` (zeros) and
``running_var`` (ones) are buffers: saved in ``state_dict``, never trained.
"""

import numpy as np

from autograd import no_grad

from .layers import _positive_int
from .module import Module, Parameter
from .utils import as_tensor, check_finite

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    ndims = ()  # the input ranks the layer accepts
    shape_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float32):
        name = type(self).__name__
        self.num_features = _positive_int(num_features, "num_features", name)
        check_finite(name, eps=eps, momentum=momentum)
        if eps <= 0 or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: eps must be > 0 and momentum in [0, 1], got eps={eps}, momentum={momentum}")
        self.eps, self.momentum, self.affine = float(eps), float(momentum), bool(affine)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be a float dtype, got {dtype}")
        self.weight = Parameter(np.ones(self.num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))

    def forward(self, x):
        """x: (N, C, ...) -> the same shape, each channel normalised (batch statistics in
        training mode, running statistics in eval mode), then scaled by ``weight`` and shifted
        by ``bias``."""
        x = as_tensor(x)
        name = type(self).__name__
        if x.ndim not in self.ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}) got input of shape {x.shape}; it takes "
                             f"{self.shape_text} with C = {self.num_features}")
        if x.dtype.kind in "biu":
            x = x.astype(self.running_mean.dtype)
        axes = (0, *range(2, x.ndim))
        channel = (1, -1) + (1,) * (x.ndim - 2)  # per-channel values broadcast along axis 1
        if self.training:
            n = x.size // self.num_features
            if n < 2:
                raise ValueError(f"{name}: training needs more than one value per channel, got input of shape "
                                 f"{x.shape}; use a larger batch, or model.eval() to use the running statistics")
            mean = x.mean(axis=axes, keepdims=True)
            centred = x - mean
            var = (centred * centred).mean(axis=axes, keepdims=True)
            out = centred / (var + self.eps) ** 0.5
            with no_grad():
                m = self.momentum
                dtype = self.running_mean.dtype
                self.running_mean = ((1 - m) * self.running_mean + m * mean.data.reshape(-1)).astype(dtype)
                unbiased = var.data.reshape(-1) * (n / (n - 1))
                self.running_var = ((1 - m) * self.running_var + m * unbiased).astype(dtype)
        else:
            scale = 1.0 / np.sqrt(self.running_var + self.eps)
            out = (x - self.running_mean.reshape(channel)) * scale.reshape(channel).astype(self.running_var.dtype)
        if self.affine:
            out = out * self.weight.reshape(channel) + self.bias.reshape(channel)
        return out

    def scope_label(self):
        """``BatchNorm2d(16)``: the graph image's caption for this layer."""
        return f"{type(self).__name__}({self.num_features})"

    def extra_repr(self):
        """``num_features, eps=..., momentum=..., affine=...``."""
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs, per channel C (PyTorch's
    ``nn.BatchNorm1d``)."""

    ndims = (2, 3)
    shape_text = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) inputs, per channel C (PyTorch's
    ``nn.BatchNorm2d``)."""

    ndims = (4,)
    shape_text = "(N, C, H, W)"

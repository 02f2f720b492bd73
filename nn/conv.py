"""Convolutional layers on NCHW images: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d`` and ``Flatten``,
with PyTorch's arguments, parameter names, layouts and default initialisation."""

import math

import numpy as np

from autograd.conv import avg_pool2d, conv2d, max_pool2d

from . import init
from .layers import _positive_int
from .module import Module, Parameter
from .utils import as_tensor

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _pair(value, what, layer, minimum):
    """An int or an (h, w) pair of ints, each >= minimum -> (int, int), or a clear error."""
    pair = (value, value) if _is_int(value) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(_is_int(v) for v in pair)) \
            or min(pair) < minimum:
        raise ValueError(f"{layer}: {what} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _show(pair):
    return str(pair[0]) if pair[0] == pair[1] else str(pair)


def _float_input(x, dtype):
    x = as_tensor(x)
    return x.astype(dtype) if x.dtype.kind in "biu" else x


class Conv2d(Module):
    """2-D convolution (cross-correlation), PyTorch's ``nn.Conv2d``.

    x: (N, in_channels, H, W) -> (N, out_channels, OH, OW), OH = (H + 2*padding -
    dilation*(kh-1) - 1) // stride + 1.  ``weight``: (out_channels, in_channels, kh, kw);
    ``bias``: (out_channels,) or None.  Both start as PyTorch's: U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) with fan_in = in_channels*kh*kw (kaiming_uniform with a=sqrt(5)).
    kernel_size, stride, padding (zeros), dilation: an int or an (h, w) pair.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, dtype=np.float32, generator=None):
        name = type(self).__name__
        self.in_channels = _positive_int(in_channels, "in_channels", name)
        self.out_channels = _positive_int(out_channels, "out_channels", name)
        self.kernel_size = _pair(kernel_size, "kernel_size", name, 1)
        self.stride = _pair(stride, "stride", name, 1)
        self.padding = _pair(padding, "padding", name, 0)
        self.dilation = _pair(dilation, "dilation", name, 1)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be a float dtype, got {dtype}")
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        self.weight = Parameter(np.zeros((self.out_channels, self.in_channels, *self.kernel_size), dtype=dtype))
        init.uniform(self.weight, -bound, bound, generator)
        self.bias = None
        if bias:
            self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype))
            init.uniform(self.bias, -bound, bound, generator)

    def forward(self, x):
        """x: (N, in_channels, H, W) -> (N, out_channels, OH, OW); integer input is cast to the
        layer's dtype."""
        x = _float_input(x, self.weight.dtype)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}) got input of shape {x.shape}; it takes "
                             f"(N, {self.in_channels}, H, W) (a single image: x[None]; flat rows: "
                             f"x.reshape(N, {self.in_channels}, H, W))")
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def scope_label(self):
        """``Conv2d(1→8, 5x5)``: the graph image's caption for this layer."""
        kh, kw = self.kernel_size
        extra = "".join(f", {k}={_show(v)}" for k, v in
                        (("stride", self.stride), ("padding", self.padding), ("dilation", self.dilation))
                        if v != ((0, 0) if k == "padding" else (1, 1)))
        return f"Conv2d({self.in_channels}→{self.out_channels}, {kh}x{kw}{extra})"

    def extra_repr(self):
        """``in_channels, out_channels, kernel_size=..., stride=...`` as PyTorch prints it."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        return text + ("" if self.bias is not None else ", bias=False")


class _Pool2d(Module):
    function = None

    def __init__(self, kernel_size, stride=None, padding=0):
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", name, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", name, 1)
        self.padding = _pair(padding, "padding", name, 0)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(f"{name}: padding {self.padding} must be at most half the kernel size {self.kernel_size}")

    def forward(self, x):
        """x: (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2*padding - kh) // stride + 1."""
        x = as_tensor(x)
        return type(self).function(x, self.kernel_size, self.stride, self.padding)

    def scope_label(self):
        """``MaxPool2d(2)``: the graph image's caption for this layer."""
        extra = "" if self.stride == self.kernel_size else f", stride={_show(self.stride)}"
        extra += "" if self.padding == (0, 0) else f", padding={_show(self.padding)}"
        return f"{type(self).__name__}({_show(self.kernel_size)}{extra})"

    def extra_repr(self):
        """``kernel_size=..., stride=..., padding=...``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over each kernel_size window, PyTorch's ``nn.MaxPool2d`` (stride defaults to
    kernel_size; padding, at most half the kernel, never wins).  The gradient of a window goes
    to its first maximum in row-major order."""

    function = staticmethod(max_pool2d)


class AvgPool2d(_Pool2d):
    """Mean over each kernel_size window, PyTorch's ``nn.AvgPool2d`` (stride defaults to
    kernel_size; zero padding counts in the mean)."""

    function = staticmethod(avg_pool2d)


class Flatten(Module):
    """Dimensions ``start_dim``..``end_dim`` merged into one, PyTorch's ``nn.Flatten``:
    (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x):
        """x: (N, d1, ..., dk) -> (N, d1*...*dk) for the default dims."""
        x = as_tensor(x)
        start, end = self.start_dim % max(x.ndim, 1), self.end_dim % max(x.ndim, 1)
        if x.ndim == 0 or start > end:
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) cannot flatten an input "
                             f"of shape {x.shape}")
        merged = math.prod(x.shape[start:end + 1])
        return x.reshape(*x.shape[:start], merged, *x.shape[end + 1:])

    def extra_repr(self):
        """``start_dim=..., end_dim=...``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

"""Convolution and pooling on NCHW images: ``conv2d``, ``max_pool2d``, ``avg_pool2d``.

Every window is a strided view of the (padded) input (``sliding_window_view``).  A convolution
is a matrix product of the kernel with those windows (im2col), taken band by band of output rows
on images stored batch-innermost (see "convolution kernels" below); its input gradient is a
transposed convolution done as one matrix product per band plus one slice-add per kernel column,
never a Python loop over pixels or batch items.

Convolution is bilinear, so its two VJPs are themselves linear maps whose VJPs are convolutions
again: ``conv2d``'s input gradient (a transposed convolution) and weight gradient are primitives
too, each with a rule written in terms of the other two.  Derivatives of any order follow.
Average pooling scatters its window gradients back with one slice-add per kernel position; max
pooling sends each window's gradient to its first maximum in row-major order (as PyTorch).
Semantics and output shapes are PyTorch's.
"""
import weakref

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograd.primitive import data_of, primitive
from autograd.tensor import Tensor

__all__ = ["conv2d", "max_pool2d", "avg_pool2d"]

# ---------------------------------------------------------------- sizes and checks


def _pair(value, what, op, minimum):
    """An int or a pair of ints -> (int, int), each >= minimum, or a clear error."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{op}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {what} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_params(op, x_shape, kernel, stride, padding, dilation):
    """Checked (kernel, stride, padding, dilation) pairs and the output's (OH, OW) for ``op``."""
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {tuple(x_shape)}; "
                         "add a batch dimension with x[None] for a single image")
    kernel = _pair(kernel, "kernel_size", op, 1)
    stride = _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    dilation = _pair(dilation, "dilation", op, 1)
    out = tuple(_out_size(x_shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1))
    if min(out) < 1:
        raise ValueError(
            f"{op}: input of shape {tuple(x_shape)} is too small for kernel {kernel} with padding {padding} "
            f"and dilation {dilation} (output would be {out}); pad the input or use a smaller kernel")
    return kernel, stride, padding, dilation, out


# ---------------------------------------------------------------- window kernels (pooling)


def _pad(x, padding, value=0.0):
    ph, pw = padding
    if not (ph or pw):
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def windows(x, kernel, stride, padding, dilation, out, value=0.0):
    """A read-only view (N, C, OH, OW, kh, kw) of every window of the padded ``x`` (no copy
    besides the padding)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = sliding_window_view(_pad(x, padding, value), span, axis=(2, 3))
    return view[:, :, : sh * (oh - 1) + 1 : sh, : sw * (ow - 1) + 1 : sw, ::dh, ::dw]


def col2im(cols, x_shape, kernel, stride, padding, dilation, out):
    """The adjoint of taking windows: add each window's values, cols (kh, kw, C, OH, OW, N), back
    into an (N, C, H, W) array of ``x_shape``, one slice-add per kernel position.  The batch axis
    is innermost while adding, so each add runs over long contiguous rows (OW*N values)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out
    n, c, h, w = x_shape
    dx = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            dx[:, a * dh : a * dh + sh * (oh - 1) + 1 : sh, b * dw : b * dw + sw * (ow - 1) + 1 : sw] += cols[a, b]
    return np.ascontiguousarray(dx[:, ph : ph + h, pw : pw + w].transpose(3, 0, 1, 2))


# ---------------------------------------------------------------- convolution kernels
# The convolution kernels keep images channel-major with the batch innermost, (C, H, W, N) in
# memory: one row of a window across the batch, x[c, y, j:j+OW, :], is then one contiguous run,
# so gathering windows (im2col) copies runs of OW*N values, and one matrix product over every
# output pixel, (O, C*kh*kw) @ (C*kh*kw, OH*OW*N), writes its result in that same layout.  They
# take and return NCHW-shaped arrays: conv2d's output is an (N, O, OH, OW) view of an
# (O, OH, OW, N) array, so the next layer (ReLU, another convolution) reads it without a copy.
# The products run over bands of output rows, each band's columns gathered into one reused
# buffer of about _CHUNK_BYTES, so that gathering and multiplying stay in cache.

_CHUNK_BYTES = 1 << 20


def _chwn(x, padding=(0, 0)):
    """x (N, C, H, W) as a C-contiguous (C, H + 2*ph, W + 2*pw, N) array, zero-padded (no copy
    when x already has that layout and there is no padding)."""
    n, c, h, w = x.shape
    xc = x.transpose(1, 2, 3, 0)
    if not xc.flags.c_contiguous:
        # Copy the images into rows one cache line longer first: read straight from NCHW, the
        # transposing copy would step through N addresses a multiple of 4 KiB apart (often a
        # power of two), which share cache sets and evict one another
        rows = np.empty((n, c * h * w + 16), x.dtype)
        np.copyto(rows[:, : c * h * w].reshape(n, c, h, w), x)
        xc = rows[:, : c * h * w].reshape(n, c, h, w).transpose(1, 2, 3, 0)
    (ph, pw) = padding
    if ph or pw:
        return np.pad(xc, ((0, 0), (ph, ph), (pw, pw), (0, 0)))  # C order of xc's shape
    return np.ascontiguousarray(xc)


def _matrix(a):
    """a (R, ...) viewed as an (R, -1) matrix; an error rather than a silent copy (for out=)."""
    return np.reshape(a, (a.shape[0], -1), copy=False)


def _bands(rows, cols, row_bytes):
    """(row slice, column slice) pairs covering an (rows, cols) grid of output pixels, each worth
    about _CHUNK_BYTES of columns: whole rows when one fits, else pieces of single rows."""
    per_band = _CHUNK_BYTES // max(row_bytes, 1)
    if per_band >= 1:
        for y in range(0, rows, per_band):
            yield slice(y, min(y + per_band, rows)), slice(None)
        return
    step = max(1, _CHUNK_BYTES * cols // row_bytes)
    for y in range(rows):
        for x in range(0, cols, step):
            yield slice(y, y + 1), slice(x, min(x + step, cols))


def _columns(x, kernel, stride, padding, dilation, out, dtype):
    """For each band of output pixels, (rows, cols, columns): the band's windows of x (N, C, H, W)
    as a (C*kh*kw, pixels*N) matrix of ``dtype``, rows ordered like a weight's (c, a, b), columns
    (row, column, image).  The matrix lives in one reused buffer: use it before the next band."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    xc = _chwn(x, padding)
    if kh == kw == sh == sw == 1 and xc.dtype == dtype:  # the windows are the pixels: no copy
        yield slice(None), slice(None), xc.reshape(xc.shape[0], -1)
        return
    view = sliding_window_view(xc, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
    view = view[:, : sh * (oh - 1) + 1 : sh, : sw * (ow - 1) + 1 : sw, :, ::dh, ::dw]
    win = view.transpose(0, 4, 5, 1, 2, 3)  # (C, kh, kw, OH, OW, N)
    depth = xc.shape[0] * kh * kw
    buf = None
    for ys, xs in _bands(oh, ow, depth * ow * xc.shape[3] * np.dtype(dtype).itemsize):
        part = win[:, :, :, ys, xs]
        if buf is None:  # the first band is the largest
            buf = np.empty(part.size, dtype)
        cols = buf[: part.size].reshape(part.shape)
        np.copyto(cols, part)
        yield ys, xs, cols.reshape(depth, -1)


def conv2d_forward(x, w, stride, padding, dilation):
    """Cross-correlation of x (N, C, H, W) with w (O, C, kh, kw) -> (N, O, OH, OW), stored
    (O, OH, OW, N): one matrix product per band of output rows."""
    kernel, stride, padding, dilation, out = conv_params("conv2d", x.shape, w.shape[2:], stride, padding, dilation)
    _check_weight(x.shape, w.shape)
    dtype, o = np.result_type(x, w), w.shape[0]
    wm = w.reshape(o, -1).astype(dtype, copy=False)
    y = np.empty((o, *out, x.shape[0]), dtype)
    for ys, xs, cols in _columns(x, kernel, stride, padding, dilation, out, dtype):
        np.matmul(wm, cols, out=_matrix(y[:, ys, xs]))
    return y.transpose(3, 0, 1, 2)


def conv2d_weight_grad(x, g, w_shape, stride, padding, dilation, gc=None):
    """d<g, conv2d(x, w)>/dw for x (N, C, H, W), g (N, O, OH, OW) -> w_shape: the products of g's
    rows with the windows, summed over the bands.  gc: g already stored (O, OH, OW, N), if at hand."""
    kernel, stride, padding, dilation, out = conv_params("conv2d", x.shape, w_shape[2:], stride, padding, dilation)
    _check_weight(x.shape, w_shape)
    dtype, o = np.result_type(x, g), w_shape[0]
    gc = (_chwn(g) if gc is None else gc).astype(dtype, copy=False)  # (O, OH, OW, N)
    depth = int(np.prod(w_shape[1:]))
    # the taller operand on the left: OpenBLAS runs (depth, P) @ (P, O) faster than (O, P) @ (P, depth)
    # when O is the smaller (55 -> 67 GFLOP/s for the LeNet layer's 200 x 16)
    tall = depth >= o
    total = np.empty((depth, o) if tall else (o, depth), dtype)
    part = None
    for ys, xs, cols in _columns(x, kernel, stride, padding, dilation, out, dtype):
        gm = _matrix(gc[:, ys, xs])
        dest = total if part is None else part
        if tall:
            np.matmul(cols, gm.T, out=dest)
        else:
            np.matmul(gm, cols.T, out=dest)
        if part is None:
            part = np.empty_like(total)
        else:
            total += part
    if part is None:  # no pixels (an empty batch)
        total[...] = 0
    return (np.ascontiguousarray(total.T) if tall else total).reshape(w_shape)


def conv2d_input_grad(g, w, x_shape, stride, padding, dilation, gc=None):
    """d<g, conv2d(x, w)>/dx for g (N, O, OH, OW): a transposed convolution -> x_shape, stored
    (C, H, W, N).  gc: g already stored (O, OH, OW, N), if at hand.

    In two stages, a band of input rows at a time: one matrix product sums over output channels
    and kernel rows, V[(c, b), y] = sum_(o, a) w[o, c, a, b] * g[o, oy] over the oy whose window
    row a is y (the product reads, for each kernel row, the rows of g that row meets, zeros
    elsewhere); then each kernel column b adds V[(c, b)] into the columns it covers.
    """
    kernel, stride, padding, dilation, out = conv_params("conv2d", x_shape, w.shape[2:], stride, padding, dilation)
    _check_weight(x_shape, w.shape)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out
    n, c, h, wd = x_shape
    o, dtype = w.shape[0], np.result_type(g, w)
    gc = _chwn(g) if gc is None else gc
    gm = gc.reshape(o, oh, ow * n)
    wm = w.transpose(1, 3, 0, 2).reshape(c * kw, o * kh).astype(dtype, copy=False)  # rows (c, b), columns (o, a)
    dx = np.empty((c, h, wd, n), dtype)
    band = max(1, _CHUNK_BYTES // max(o * kh * ow * n * dx.itemsize, 1))
    shifted_buf = np.empty(o * kh * min(band, h) * ow * n, dtype)
    v_buf = np.empty(c * kw * min(band, h) * ow * n, dtype)
    rows_buf = np.empty((c, min(band, h), wd + 2 * pw, n), dtype) if pw else None
    for y in range(0, h, band):
        r = min(band, h - y)
        shifted = shifted_buf[: o * kh * r * ow * n].reshape(o, kh, r, ow * n)
        if kh == sh == 1:  # input row y meets output row y + ph, always there
            rhs = _matrix(gm[:, y + ph : y + ph + r])
        else:
            for a in range(kh):
                _meeting_rows(shifted[:, a], gm, y + ph - a * dh, sh)
            rhs = shifted.reshape(o * kh, -1)
        if kw == sw == 1 and not pw:  # one kernel column covering every column: V is the gradient
            np.matmul(wm, rhs, out=_matrix(dx[:, y : y + r]))
            continue
        v = v_buf[: c * kw * r * ow * n].reshape(c * kw, -1)
        np.matmul(wm, rhs, out=v)
        v = v.reshape(c, kw, r, ow, n)
        rows = dx[:, y : y + r] if rows_buf is None else rows_buf[:, :r]
        rows[...] = 0
        for b in range(kw):
            rows[:, :, b * dw : b * dw + sw * (ow - 1) + 1 : sw] += v[:, b]
        if rows_buf is not None:
            dx[:, y : y + r] = rows[:, :, pw : pw + wd]
    return dx.transpose(3, 0, 1, 2)


def _meeting_rows(dest, gm, q0, sh):
    """dest[:, j] = gm[:, (q0 + j) / sh] where that is a whole row index of gm (O, OH, cols), else
    zeros: padded input row p meets kernel row a in output row oy when p = oy*sh + a*dh, and
    q0 + j is p - a*dh for dest's rows j."""
    r, oh = dest.shape[1], gm.shape[1]
    j0 = -q0 % sh  # the first j with q0 + j a multiple of sh
    first = (q0 + j0) // sh
    if first < 0:  # rows above the image's top meet no output row
        j0, first = j0 - first * sh, 0
    count = max(0, min(-(-(r - j0) // sh), oh - first))
    if count == 0:
        dest[...] = 0
        return
    last = j0 + sh * (count - 1)
    if sh > 1:
        dest[:, j0:last] = 0  # the rows between, overwritten below where they meet one
    dest[:, :j0] = 0
    dest[:, last + 1 :] = 0
    dest[:, j0 : last + 1 : sh] = gm[:, first : first + count]


def _check_weight(x_shape, w_shape):
    if len(w_shape) != 4 or w_shape[1] != x_shape[1]:
        raise ValueError(f"conv2d: weight of shape {tuple(w_shape)} does not fit input of shape {tuple(x_shape)}: "
                         f"the weight must be (out_channels, {x_shape[1]}, kh, kw) for {x_shape[1]} input channels")


# ---------------------------------------------------------------- pooling kernels


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Mean of each window (zero padding counted, as PyTorch's default) -> (N, C, OH, OW)."""
    kernel, stride, padding, dilation, out = conv_params("avg_pool2d", x.shape, kernel_size, stride, padding, 1)
    win = windows(x, kernel, stride, padding, dilation, out)
    return win.mean(axis=(4, 5), dtype=x.dtype if x.dtype.kind == "f" else np.float64)


def avg_pool2d_input_grad(g, x_shape, kernel_size, stride, padding):
    """d<g, avg_pool2d(x)>/dx: each window's gradient spread evenly over it -> x_shape."""
    kernel, stride, padding, dilation, out = conv_params("avg_pool2d", x_shape, kernel_size, stride, padding, 1)
    share = g.transpose(1, 2, 3, 0) * (1.0 / (kernel[0] * kernel[1]))  # (C, OH, OW, N)
    cols = np.broadcast_to(share, (*kernel, *share.shape))
    return col2im(cols, x_shape, kernel, stride, padding, dilation, out)


def _pool_fill(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def max_pool2d_forward(x, kernel_size, stride, padding):
    """Maximum of each window (padding is -inf, so it never wins) -> (N, C, OH, OW)."""
    kernel, stride, padding, dilation, out = conv_params("max_pool2d", x.shape, kernel_size, stride, padding, 1)
    return windows(x, kernel, stride, padding, dilation, out, _pool_fill(x.dtype)).max(axis=(4, 5))


def max_pool2d_index(x, kernel_size, stride, padding):
    """For each window of x, the flat index (into x) of its first maximum in row-major order,
    (N, C, OH, OW).  Padding is -inf, so it never wins."""
    kernel, stride, padding, dilation, out = conv_params("max_pool2d", x.shape, kernel_size, stride, padding, 1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"max_pool2d: padding {padding} must be at most half the kernel size {kernel}")
    n, c, h, w = x.shape
    win = windows(x, kernel, stride, padding, dilation, out, _pool_fill(x.dtype))
    arg = win.reshape(*win.shape[:4], -1).argmax(axis=-1)  # reshape copies; argmax picks the first max
    rows = np.arange(out[0])[:, None] * stride[0] + arg // kernel[1] - padding[0]
    cols = np.arange(out[1]) * stride[1] + arg % kernel[1] - padding[1]
    plane = (np.arange(n)[:, None] * c + np.arange(c))[:, :, None, None] * (h * w)
    return plane + rows * w + cols


def gather(x, index):
    """x.reshape(-1)[index]: works on arrays and on Tensors."""
    return x.reshape(-1)[index]


def scatter_add(g, index, shape):
    """The adjoint of ``gather``: an array of ``shape`` with g's values added at ``index``."""
    flat = np.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=int(np.prod(shape)))
    return flat.astype(g.dtype, copy=False).reshape(shape)


# ---------------------------------------------------------------- the primitives
# Each rule calls a NumPy kernel on arrays (first-order backward) and the matching primitive on
# Tensors (create_graph=True), so every gradient is itself differentiable.


def _on_tensors(*values):
    return any(isinstance(v, Tensor) for v in values)


def _label(name, **params):
    """``conv2d(stride=2, padding=1)``: only the parameters that differ from their defaults."""
    defaults = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)}
    shown = [f"{k}={v[0] if v[0] == v[1] else v}" for k, v in params.items()
             if k in ("kernel_size", "stride", "padding", "dilation") and v != defaults.get(k)]
    return f"{name}({', '.join(shown)})" if shown else name


# The engine calls a node's rule once per input, in increasing order, with the same g each time: in a
# first-order backward, g's batch-innermost copy (O, OH, OW, N) is made once and kept for the node's
# later inputs only.  A call for an input no later than the last one is another node's (or another
# walk's, where g may be a reused buffer with new values): it makes a fresh copy.
_stored = [None]  # (weak reference to g, input index, g stored (O, OH, OW, N)), read and replaced whole


def _forget(ref, stored=_stored):  # (a default: module globals may be gone at exit)
    entry = stored[0]
    if entry is not None and entry[0] is ref:
        stored[0] = None


def _stored_g(g, i):
    """g (N, O, OH, OW) ndarray as a C-contiguous (O, OH, OW, N) array, made once per node."""
    entry = _stored[0]
    if entry is not None and entry[0]() is g and entry[1] < i:
        _stored[0] = (entry[0], i, entry[2])
        return entry[2]
    gc = _chwn(g)
    if type(g) is np.ndarray:
        _stored[0] = (weakref.ref(g, _forget), i, gc)
    return gc


def _conv2d_vjp(i, g, out, x, w, *bias, stride, padding, dilation):
    params = dict(stride=stride, padding=padding, dilation=dilation)
    if i == 0:
        if _on_tensors(g, w):
            return _conv2d_input_grad(g, w, x_shape=x.shape, **params)
        return conv2d_input_grad(g, w, x.shape, stride, padding, dilation, _stored_g(g, 0))
    if i == 1:
        if _on_tensors(x, g):
            return _conv2d_weight_grad(x, g, w_shape=w.shape, **params)
        return conv2d_weight_grad(x, g, w.shape, stride, padding, dilation, _stored_g(g, 1))
    if _on_tensors(g):
        return g.sum(axis=(0, 2, 3))
    gc = _stored_g(g, 2)
    return gc.reshape(len(gc), -1).sum(axis=1)  # along its memory


@primitive(vjp=_conv2d_vjp, name="conv2d", reads=("inputs",), label=lambda **p: _label("conv2d", **p))
def _conv2d(x, w, *bias, stride, padding, dilation):
    y = conv2d_forward(x, w, stride, padding, dilation)
    if not bias:
        return y
    b = bias[0].reshape(-1, 1, 1)
    if np.result_type(y, b) != y.dtype:  # NumPy's promotion, as for the other inputs
        return y + b
    stored = y.transpose(1, 2, 3, 0)  # y's memory, (O, OH, OW, N): add along it
    stored += b[..., None]
    return y


# <h, input_grad(g, w)> = <conv2d(h, w), g> = <weight_grad(h, g), w>: the rules of the two
# gradient maps are the three trilinear partners of one another
@primitive(vjp=lambda i, h, out, g, w, *, x_shape, stride, padding, dilation:
           _conv2d(h, w, stride=stride, padding=padding, dilation=dilation) if i == 0
           else _weight_grad(h, g, w_shape=w.shape, stride=stride, padding=padding, dilation=dilation),
           name="conv2d_input_grad", reads=("inputs",), label=lambda **p: _label("conv2d_input_grad", **p))
def _conv2d_input_grad(g, w, *, x_shape, stride, padding, dilation):
    return conv2d_input_grad(g, w, x_shape, stride, padding, dilation)


@primitive(vjp=lambda i, h, out, x, g, *, w_shape, stride, padding, dilation:
           _input_grad(g, h, x_shape=x.shape, stride=stride, padding=padding, dilation=dilation) if i == 0
           else _conv2d(x, h, stride=stride, padding=padding, dilation=dilation),
           name="conv2d_weight_grad", reads=("inputs",), label=lambda **p: _label("conv2d_weight_grad", **p))
def _conv2d_weight_grad(x, g, *, w_shape, stride, padding, dilation):
    return conv2d_weight_grad(x, g, w_shape, stride, padding, dilation)


def _input_grad(g, w, **params):
    if _on_tensors(g, w):
        return _conv2d_input_grad(g, w, **params)
    return conv2d_input_grad(g, w, params["x_shape"], params["stride"], params["padding"], params["dilation"])


def _weight_grad(x, g, **params):
    if _on_tensors(x, g):
        return _conv2d_weight_grad(x, g, **params)
    return conv2d_weight_grad(x, g, params["w_shape"], params["stride"], params["padding"], params["dilation"])


@primitive(vjp=lambda i, h, out, g, *, x_shape, kernel_size, stride, padding:
           _avg_pool2d(h, kernel_size=kernel_size, stride=stride, padding=padding),
           name="avg_pool2d_input_grad", reads=(), label=lambda **p: _label("avg_pool2d_input_grad", **p))
def _avg_pool2d_input_grad(g, *, x_shape, kernel_size, stride, padding):
    return avg_pool2d_input_grad(g, x_shape, kernel_size, stride, padding)


def _avg_pool2d_vjp(i, g, out, x, *, kernel_size, stride, padding):
    if _on_tensors(g):
        return _avg_pool2d_input_grad(g, x_shape=x.shape, kernel_size=kernel_size, stride=stride, padding=padding)
    return avg_pool2d_input_grad(g, x.shape, kernel_size, stride, padding)


@primitive(vjp=_avg_pool2d_vjp, name="avg_pool2d", reads=(), label=lambda **p: _label("avg_pool2d", **p))
def _avg_pool2d(x, *, kernel_size, stride, padding):
    return avg_pool2d_forward(x, kernel_size, stride, padding)


# the gradient of max pooling scatters g to the chosen positions; its own gradient gathers
@primitive(vjp=lambda i, h, out, g, *, index, shape: gather(h, index), name="max_unpool2d", reads=(),
           label=lambda **p: "max_unpool2d")
def _max_unpool(g, *, index, shape):
    return scatter_add(g, index, shape)


def _max_pool2d_vjp(i, g, out, x, *, kernel_size, stride, padding):
    index = max_pool2d_index(data_of(x), kernel_size, stride, padding)
    if _on_tensors(g):
        return _max_unpool(g, index=index, shape=x.shape)
    return scatter_add(g, index, x.shape)


@primitive(vjp=_max_pool2d_vjp, name="max_pool2d", reads=("inputs",), label=lambda **p: _label("max_pool2d", **p))
def _max_pool2d(x, *, kernel_size, stride, padding):
    return max_pool2d_forward(x, kernel_size, stride, padding)


# ---------------------------------------------------------------- public functions


def _shape(value):
    return np.shape(value.data if isinstance(value, Tensor) else value)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """2-D cross-correlation, PyTorch's ``conv2d``: x (N, C, H, W), weight (O, C, kh, kw),
    bias (O,) or None -> (N, O, OH, OW) with OH = (H + 2*padding - dilation*(kh-1) - 1) // stride + 1.

    stride, padding (zeros), dilation: an int or an (h, w) pair.
    """
    x_shape, w_shape = _shape(x), _shape(weight)
    if len(w_shape) != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got shape {w_shape}")
    _, stride, padding, dilation, _ = conv_params("conv2d", x_shape, w_shape[2:], stride, padding, dilation)
    _check_weight(x_shape, w_shape)
    if bias is None:
        return _conv2d(x, weight, stride=stride, padding=padding, dilation=dilation)
    if _shape(bias) != w_shape[:1]:
        raise ValueError(f"conv2d: bias must have shape ({w_shape[0]},), one value per output channel, got {_shape(bias)}")
    return _conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation)


def _pool_params(op, x, kernel_size, stride, padding):
    kernel, stride, padding, _, _ = conv_params(op, _shape(x), kernel_size, kernel_size if stride is None else stride,
                                                padding, 1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    return dict(kernel_size=kernel, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Maximum of each window, PyTorch's ``max_pool2d``: x (N, C, H, W) -> (N, C, OH, OW).

    stride defaults to kernel_size; padding (at most half the kernel) never wins.  The gradient
    of a window goes to its first maximum in row-major order.
    """
    return _max_pool2d(x, **_pool_params("max_pool2d", x, kernel_size, stride, padding))


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean of each window, PyTorch's ``avg_pool2d`` (zero padding counted in the mean):
    x (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""
    return _avg_pool2d(x, **_pool_params("avg_pool2d", x, kernel_size, stride, padding))

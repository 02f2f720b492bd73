"""``Tensor``: an ndarray that records the primitive operations applied to it.

A recorded tensor is its own graph node: ``_prim`` is the primitive that produced it and
``_args`` its inputs (tensors, constants, then the primitive's parameters).  Nodes point only
at their inputs, never at their outputs, so a graph holds no reference cycles and is freed by
reference counting alone.
"""
import numbers
import weakref

import numpy as np

from autograd.grad_mode import _State

_FLOAT_KINDS = "f"
_NUMERIC_KINDS = "biuf"


def as_operand(value, op):
    """Check a non-Tensor operand of ``op`` and return it as a number or an ndarray."""
    if type(value) is float or type(value) is int:  # the common constants, first
        return value
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        # a NumPy scalar acts as the Python number it holds, as in PyTorch: np.float64 must not
        # upcast a float32 tensor (x / np.sqrt(d)), and rules can test it with isinstance(b, int)
        return value.item()
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError as exc:
            raise ValueError(f"{op}: cannot turn the nested sequence into an array: {exc}") from None
    else:
        raise TypeError(
            f"{op}: unsupported operand type {type(value).__name__!r}; "
            "expected a Tensor, a NumPy array, a nested list or a real number"
        )
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{op}: unsupported array dtype {array.dtype}; expected bool, integer or float data")
    return array


class Tensor:
    """An n-dimensional array that records operations for reverse-mode differentiation.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: ``data`` is an ndarray, nested
    list or scalar, copied.  float32 and float64 stay as given; integer or bool data that
    requires grad becomes float64.  ``name`` labels the tensor in graph images.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_prim", "_args", "_version", "_stamp",
                 "_scope", "_retain")

    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is not None:
            dtype = np.dtype(dtype)
        try:
            array = np.array(data, dtype=dtype, copy=True)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Tensor: cannot build a numeric array from {type(data).__name__}: {exc}") from None
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"Tensor: unsupported dtype {array.dtype}; expected bool, integer or float data")
        if requires_grad and array.dtype.kind not in _FLOAT_KINDS:
            if dtype is not None:
                raise TypeError(f"Tensor: only float tensors can require grad, not {dtype}")
            array = array.astype(np.float64)
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = None if name is None else str(name)
        self._prim = None
        self._args = None
        self._version = 0
        self._stamp = 0
        self._scope = None
        self._retain = False

    # ----- construction used by the operations (no validation, no copy) -----
    @staticmethod
    def _wrap(data):
        """A constant tensor around ``data`` (an ndarray produced by an operation)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = False
        t.name = None
        t._prim = None
        t._args = None
        t._version = 0
        t._stamp = 0
        t._scope = None
        t._retain = False
        return t

    @staticmethod
    def _record(data, prim, args):
        """A recorded tensor: the output ``data`` of primitive ``prim`` applied to ``args``."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = True
        t.name = None
        t._prim = prim
        t._args = args
        t._version = 0
        t._stamp = next(_State.clock)
        t._scope = _State.scope
        t._retain = False
        return t

    # ----- attributes -----
    @property
    def shape(self):
        """Tuple of dimensions, as NumPy's."""
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than recorded by an operation."""
        return self._prim is None

    @property
    def T(self):
        """The transpose with all axes reversed (recorded)."""
        return ops.transpose(self)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, this one has shape {self.shape}")
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __bool__(self):
        return bool(self.data)

    def numpy(self):
        """The underlying ndarray (shared, not copied; changing it changes the tensor)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def detach(self):
        """A tensor sharing this data, cut from the graph and not requiring grad."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf in place (integer data becomes float64); returns self."""
        if self._prim is not None:
            if not requires_grad:
                raise RuntimeError("requires_grad_(False) on a recorded tensor: use detach() instead")
            return self
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            self.data = self.data.astype(np.float64)
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this intermediate tensor's gradient in ``.grad`` after ``backward`` (as leaves do)."""
        if self.requires_grad:
            self._retain = True
        return self

    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``; ``gradient`` is needed unless self is a scalar."""
        from autograd.engine import backward

        backward(self, gradient, retain_graph)

    def __repr__(self):
        body = np.array_repr(self.data)
        body = body[len("array("):-1].replace("\n", "\n ")
        extra = ""
        if self.name is not None:
            extra += f", name={self.name!r}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    __str__ = __repr__
    __hash__ = object.__hash__

    # ----- operators -----
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # comparisons give bool tensors that carry no graph
    def _compare(self, other, ufunc):
        other = other.data if isinstance(other, Tensor) else as_operand(other, ufunc.__name__)
        return Tensor._wrap(np.asarray(ufunc(self.data, other)))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __invert__(self):
        return Tensor._wrap(np.asarray(np.invert(self.data)))

    # ----- in-place operators: in place when nothing is recorded, else a new recorded tensor -----
    def _inplace(self, other, ufunc, symbol, out_of_place):
        if _State.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            if self._prim is None and self.requires_grad:
                # a new tensor here would leave the leaf itself (the model's parameter) unchanged
                raise RuntimeError(
                    f"{symbol} on a leaf tensor that requires grad (shape {self.shape}"
                    f"{', ' + repr(self.name) if self.name else ''}) while operations are recorded; "
                    f"to update a parameter, write `with no_grad(): p {symbol} ...`, or use `p = p {symbol[0]} ...` "
                    "for a new recorded tensor"
                )
            return out_of_place(self, other)
        value = other.data if isinstance(other, Tensor) else as_operand(other, symbol)
        data = self.data
        result_shape = np.broadcast_shapes(data.shape, np.shape(value))
        if result_shape != data.shape:
            raise ValueError(
                f"{symbol}: a value of shape {np.shape(value)} would change this tensor's shape "
                f"{data.shape} to {result_shape}; use the out-of-place operator instead"
            )
        if not np.can_cast(np.result_type(data, value), data.dtype, casting="same_kind"):
            raise TypeError(
                f"{symbol}: cannot update a {data.dtype} tensor in place with {np.result_type(value)} "
                "values; convert one of them with astype() first"
            )
        if data.flags.owndata and data.flags.writeable:
            ufunc(data, value, out=data, casting="same_kind")
        else:  # a view of another array: never write through into memory the user may hold
            self.data = ufunc(data, value).astype(data.dtype, copy=False)
        self._mark_changed()
        return self

    def _mark_changed(self):
        """Stamp an in-place change of this tensor's data (an array it owns) for the version checks."""
        data = self.data
        self._version = _State.last_inplace = stamp = next(_State.clock)
        key = id(data)
        entry = _State.changed.get(key)
        if entry is None or entry[0]() is not data:
            ref = weakref.ref(data, lambda _, key=key: _State.changed.pop(key, None))
            entry = _State.changed[key] = [ref, 0]
        entry[1] = stamp

    def __iadd__(self, other):
        return self._inplace(other, np.add, "+=", ops.add)

    def __isub__(self, other):
        return self._inplace(other, np.subtract, "-=", ops.sub)

    def __imul__(self, other):
        return self._inplace(other, np.multiply, "*=", ops.mul)

    def __itruediv__(self, other):
        return self._inplace(other, np.true_divide, "/=", ops.div)

    def __setitem__(self, index, value):
        if _State.enabled and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            raise RuntimeError(
                "item assignment on a tensor that requires grad is not recorded; build a new tensor "
                "with where() or concatenate(), or assign under no_grad()"
            )
        value = value.data if isinstance(value, Tensor) else as_operand(value, "item assignment")
        if isinstance(index, Tensor):
            index = index.data
        if not (self.data.flags.owndata and self.data.flags.writeable):
            self.data = self.data.copy()
        self.data[index] = value
        self._mark_changed()

    # ----- NumPy interoperability -----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return ops.dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return ops.dispatch_function(func, args, kwargs)

    # ----- methods that mirror the functions in autograd -----
    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def tanh(self):
        return ops.tanh(self)

    def relu(self):
        return ops.relu(self)

    def clip(self, lo=None, hi=None):
        return ops.clip(self, lo, hi)

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return functional.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.min(self, axis, keepdims)

    def reshape(self, *shape):
        return ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return ops.transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], numbers.Integral) else (axes or None))

    def swapaxes(self, axis1, axis2):
        return functional.swapaxes(self, axis1, axis2)

    def expand_dims(self, axis):
        return functional.expand_dims(self, axis)

    def squeeze(self, axis=None):
        return functional.squeeze(self, axis)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def flatten(self):
        return ops.reshape(self, (-1,))

    def astype(self, dtype):
        return ops.astype(self, dtype)

    def softmax(self, axis=-1):
        return functional.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return ops.log_softmax(self, axis)

    def logsumexp(self, axis=-1, keepdims=False):
        return functional.logsumexp(self, axis, keepdims)

    def draw_graph(self, **kwargs):
        """Render the graph that produced this tensor: ``autograd.draw_graph(self, **kwargs)``."""
        from autograd.viz import draw_graph

        return draw_graph(self, **kwargs)


from autograd import functional, ops  # noqa: E402  (the operations need Tensor defined first)

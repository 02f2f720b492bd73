"""``Tensor``: an ndarray that records the primitive operations applied to it.

A recorded tensor is its own graph node: ``_prim`` is the primitive that produced it,
``_inputs`` its inputs (tensors or constants) and ``_params`` its keyword parameters (read from the
slots ``_op``, ``_in0`` and ``_in1``).  Nodes point only at their inputs, never at their outputs, so
a graph holds no reference cycles and is freed by reference counting alone.
"""

import operator

import numpy as np

from autograd import versions
from autograd.grad_mode import _Process, _state, current_scope, grad_enabled

_next_stamp = versions.next_stamp
_new = object.__new__

_FLOAT_KINDS = "f"


class _Marker:
    """A value of the ``_in1`` slot that is not an input."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return self._name

    def __reduce__(self):  # copies and pickles of a graph get the same marker back, never a new one
        return self._name


# Most nodes have one or two inputs: they sit in two slots, not in a tuple of their own (48-56 more
# bytes per node)
_ONE, _MANY, _RELEASED = _Marker("_ONE"), _Marker("_MANY"), _Marker("_RELEASED")


class _Labels(tuple):
    """What a tensor with a name or a retained gradient keeps in its ``_where`` slot: (name, scope,
    retain), immutable, so tensors copied with ``copy.copy`` never rename each other."""

    __slots__ = ()

    def __new__(cls, name, scope, retain):
        return tuple.__new__(cls, (name, scope, retain))

    def __getnewargs__(self):
        return tuple(self)

    name, scope, retain = (property(operator.itemgetter(k)) for k in range(3))


_ndarray = np.ndarray
# set by autograd.compile while it traces: told of item() / bool() (so float, int, index) on a tensor
_value_guard = None
_NUMERIC_KINDS = "biuf"


def _type_name(value):
    """The qualified name of ``value``'s type: ``torch.Tensor``, ``decimal.Decimal``, but plain ``str``."""
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


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
            f"{op}: unsupported operand type {_type_name(value)!r}; "
            "expected a Tensor, a NumPy array, a nested list or a real number"
        )
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{op}: unsupported array dtype {array.dtype}; expected bool, integer or float data")
    return array


def as_tensor(value, op):
    """``value`` if it is a Tensor, else a constant Tensor around it (checked by ``as_operand``)."""
    if isinstance(value, Tensor):
        return value
    return Tensor._wrap(np.asarray(as_operand(value, op)))


class Tensor:
    """An n-dimensional array that records operations for reverse-mode differentiation.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: ``data`` is an ndarray, nested
    list or scalar, copied.  float32 and float64 stay as given; integer or bool data that
    requires grad becomes float64.  ``name`` labels the tensor in graph images.
    """

    # Eight slots: 96 bytes, what a node of a long scalar graph costs besides its array.  The rarer
    # attributes share slots: see the properties _prim, _params, _inputs, name, _scope and _retain.
    __slots__ = {  # name: docstring (help() shows them)
        "_data": "The values (see the ``data`` property).",
        "_grad": "The accumulated gradient (see the ``grad`` property).",
        "requires_grad": "True when the operations applied to this tensor are recorded for backward().",
        "_op": "The primitive that produced this tensor, or (primitive, params) when it has keyword "
               "parameters; None for a leaf.",
        "_in0": "The primitive's first input (a Tensor or a constant), or a tuple of all its inputs (see _in1).",
        "_in1": "Its second input, or _ONE (one input), _MANY (_in0 holds them all), _RELEASED (backward() "
                "released them); None for a leaf.",
        "_stamp": "The clock stamp of the recording; reverse stamp order is a topological order. In anomaly "
                  "mode it also holds where the op was called (see anomaly.trace_of).",
        "_where": "The name scopes the tensor was recorded in (a tuple) or None; or, once the tensor has a "
                  "name or retains its gradient, a _Labels holding those and the scopes.",
    }

    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        if isinstance(data, Tensor):
            data = data._data
        if dtype is not None:
            dtype = np.dtype(dtype)
        try:
            array = np.array(data, dtype=dtype, copy=True)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Tensor: cannot build a numeric array from {_type_name(data)}: {exc}") from None
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"Tensor: unsupported dtype {array.dtype}; expected bool, integer or float data")
        if requires_grad and array.dtype.kind not in _FLOAT_KINDS:
            if dtype is not None:
                raise TypeError(f"Tensor: only float tensors can require grad, not {dtype}")
            array = array.astype(np.float64)
        self._data = array
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._in0 = None
        self._in1 = None
        self._stamp = 0
        self._where = None if name is None else _Labels(str(name), None, False)

    # ----- construction used by the operations (no validation, no copy) -----
    @staticmethod
    def _wrap(data):
        """A constant tensor around ``data`` (an ndarray produced by an operation)."""
        t = object.__new__(Tensor)
        t._data = data
        t._grad = None
        t.requires_grad = False
        t._op = None
        t._in0 = None
        t._in1 = None
        t._stamp = 0
        t._where = None
        return t

    @staticmethod
    def _record(data, prim, in0, in1, params):
        """A recorded tensor: the output ``data`` of primitive ``prim`` applied to inputs ``in0, in1`` (as
        stored in the slots of those names: ``in1`` may be ``_ONE`` or ``_MANY``) with ``params``."""
        t = _new(Tensor)
        t._data, t._grad, t.requires_grad, t._in0, t._in1 = data, None, True, in0, in1
        t._op = prim if params is None else (prim, params)
        t._stamp, t._where = _next_stamp(), current_scope()
        if _Process.anomaly_threads and _state.anomaly:  # one integer test when anomaly mode is off
            t._stamp = anomaly.traced(t._stamp)
        return t

    @staticmethod
    def _record_inputs(data, prim, inputs, params):
        """``_record`` for a sequence of any number of inputs."""
        if len(inputs) == 2:
            return Tensor._record(data, prim, inputs[0], inputs[1], params)
        if len(inputs) == 1:
            return Tensor._record(data, prim, inputs[0], _ONE, params)
        return Tensor._record(data, prim, tuple(inputs), _MANY, params)

    # ----- the node's parts that share slots -----
    @property
    def _prim(self):
        """The primitive that produced this tensor; None for a leaf."""
        op = self._op
        return op[0] if type(op) is tuple else op

    @property
    def _params(self):
        """The primitive's keyword parameters (a dict), or None."""
        op = self._op
        return op[1] if type(op) is tuple else None

    @property
    def _inputs(self):
        """The primitive's inputs as a tuple (Tensors or constants); None for a leaf or once backward()
        released them."""
        second = self._in1
        if second is None or second is _RELEASED:
            return None
        if second is _ONE:
            return (self._in0,)
        if second is _MANY:
            return self._in0
        return (self._in0, second)

    @property
    def name(self):
        """A label for graph images and error messages, or None."""
        where = self._where
        return where.name if type(where) is _Labels else None

    @name.setter
    def name(self, value):
        where = self._where
        if type(where) is _Labels:
            self._where = _Labels(None if value is None else str(value), where.scope, where.retain)
        elif value is not None:
            self._where = _Labels(str(value), where, False)

    @property
    def _scope(self):
        """The name scopes the tensor was recorded in (a tuple), or None."""
        where = self._where
        return where.scope if type(where) is _Labels else where

    @property
    def _retain(self):
        """True when backward() keeps this intermediate's gradient in .grad."""
        where = self._where
        return type(where) is _Labels and where.retain

    # ----- attributes -----
    @property
    def shape(self):
        """Tuple of dimensions, as NumPy's."""
        return self._data.shape

    @property
    def ndim(self):
        """Number of dimensions."""
        return self._data.ndim

    @property
    def size(self):
        """Number of elements."""
        return self._data.size

    @property
    def dtype(self):
        """The NumPy dtype of the data."""
        return self._data.dtype

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than recorded by an operation."""
        return self._op is None

    @property
    def T(self):
        """The transpose with all axes reversed (recorded)."""
        return shape_ops.transpose(self)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if _value_guard is not None:  # autograd.compile is tracing: a Python decision on a traced value
            _value_guard(self)
        if self._data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, this one has shape {self.shape}")
        return self._data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __bool__(self):
        if _value_guard is not None:
            _value_guard(self)
        return bool(self._data)

    @property
    def data(self):
        """The values: an ndarray (float32 or float64 when the tensor requires grad), the tensor's own.

        Assigning one checks it (numbers, a nested list or an array; float when the tensor requires
        grad) and counts as an in-place change: a backward that reads the old values then raises."""
        return self._data

    @data.setter
    def data(self, value):
        if value is self._data:  # t.data -= x: NumPy changed the array in place, then Python assigns it back
            self._mark_changed()
            return
        array = value._data if isinstance(value, Tensor) else value
        if type(array) is not np.ndarray:
            try:
                array = np.asarray(array)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"data: cannot make a numeric array from {_type_name(value)}: {exc}") from None
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"data: unsupported dtype {array.dtype}; expected bool, integer or float data")
        if self.requires_grad and array.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(f"data: a tensor that requires grad needs float data, not {array.dtype}; "
                            "convert it with .astype(np.float64) first")
        self._data = array
        self._mark_changed()

    @property
    def grad(self):
        """The accumulated gradient: an ndarray of the tensor's shape and dtype, or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        data = self._data
        if value is None or (type(value) is _ndarray and value.shape == data.shape
                             and (value.dtype is data.dtype or value.dtype == data.dtype)):
            self._grad = value  # (the common cases, first)
            return
        # as torch: a gradient of another shape would be broadcast by an optimizer's update
        array = np.asarray(value._data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"grad: a gradient must be numeric, not {array.dtype}")
        if array.shape != data.shape:
            raise ValueError(f"grad: a gradient of shape {array.shape} cannot be assigned to a tensor of shape "
                             f"{data.shape}; it must have the tensor's shape")
        self._grad = array.astype(data.dtype)  # a copy in the tensor's dtype

    def numpy(self):
        """The values as a read-only view (shared, not copied), so that writing through it cannot change a value
        saved for backward unnoticed; ``np.array(t)`` or ``t.numpy().copy()`` gives a writable copy."""
        view = self._data.view()
        view.flags.writeable = False
        return view

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad and grad_enabled():
            raise TypeError(
                f"NumPy asked for the values of a Tensor of shape {self.shape} that requires grad (np.asarray(t), "
                "np.array(t), or a NumPy function on a list of tensors such as np.mean([a, b])); the result would "
                "drop the graph. Use autograd's functions (autograd.stack([a, b]).mean(), autograd.concatenate), or "
                "t.detach().numpy() / t.numpy() when only the values are wanted"
            )
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        return self.numpy() if dtype is None else self._data.astype(dtype)

    def detach(self):
        """A tensor sharing this data, cut from the graph and not requiring grad."""
        return Tensor._wrap(self._data)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf in place (integer data becomes float64); returns self."""
        if self._op is not None:
            if not requires_grad:
                raise RuntimeError("requires_grad_(False) on a recorded tensor: use detach() instead")
            return self
        if requires_grad and self._data.dtype.kind not in _FLOAT_KINDS:
            self._data = self._data.astype(np.float64)
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this intermediate tensor's gradient in ``.grad`` after ``backward`` (as leaves do)."""
        if self.requires_grad:
            self._where = _Labels(self.name, self._scope, True)
        return self

    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``; ``gradient`` is needed unless self is a scalar."""
        engine.backward(self, gradient, retain_graph)

    def __repr__(self):
        body = np.array_repr(self._data)
        body = body[len("array("):-1].replace("\n", "\n ")
        extra = ""
        if self.name is not None:
            extra += f", name={self.name!r}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    __str__ = __repr__

    def __format__(self, spec):
        """``f"{t:.4f}"`` formats a one-element tensor like its value; an empty spec gives ``str(t)``."""
        if not spec:
            return str(self)
        if self._data.size != 1:
            raise TypeError(
                f"format spec {spec!r} needs a one-element tensor, this one has shape {self.shape}; format "
                f"t.item() for one value, or np.array2string(t.numpy(), formatter=...) for an array"
            )
        return format(self._data.item(), spec)
    __hash__ = object.__hash__

    # ----- operators (t + u, t * u, -t, t[i]... are the functions themselves: see the end of the module) -----
    def __radd__(self, other):
        return ops.add(other, self)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __pos__(self):
        return self

    # comparisons give bool tensors that carry no graph
    def _compare(self, other, ufunc, symbol):
        other = other._data if isinstance(other, Tensor) else as_operand(other, ufunc.__name__)
        try:
            return Tensor._wrap(np.asarray(ufunc(self._data, other)))
        except ValueError as exc:
            raise ops.operand_error(f"{ufunc.__name__} ({symbol})", (self._data.shape, np.shape(other)), exc) from None

    def __eq__(self, other):
        return self._compare(other, np.equal, "==")

    def __ne__(self, other):
        return self._compare(other, np.not_equal, "!=")

    def __lt__(self, other):
        return self._compare(other, np.less, "<")

    def __le__(self, other):
        return self._compare(other, np.less_equal, "<=")

    def __gt__(self, other):
        return self._compare(other, np.greater, ">")

    def __ge__(self, other):
        return self._compare(other, np.greater_equal, ">=")

    def __invert__(self):
        return Tensor._wrap(np.asarray(np.invert(self._data)))

    # ----- in-place operators: in place when nothing is recorded, else a new recorded tensor -----
    def _inplace(self, other, ufunc, symbol, out_of_place):
        if grad_enabled() and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            if self._op is None and self.requires_grad:
                raise self._leaf_update_error(symbol)
            return out_of_place(self, other)
        value = other._data if isinstance(other, Tensor) else as_operand(other, symbol)
        data = self._data
        shape = value.shape if type(value) is np.ndarray else ()
        if shape and shape != data.shape:
            try:
                result_shape = np.broadcast_shapes(data.shape, shape)
            except ValueError as exc:
                raise ops.operand_error(symbol, (data.shape, shape), exc) from None
            if result_shape != data.shape:
                raise ValueError(
                    f"{symbol}: a value of shape {shape} would change this tensor's shape "
                    f"{data.shape} to {result_shape}; use the out-of-place operator instead"
                )
        try:
            if data.flags.owndata and data.flags.writeable:
                ufunc(data, value, out=data, casting="same_kind")
            else:  # a view of another array: never write through into memory the user may hold
                result = np.asarray(ufunc(data, value))
                if not np.can_cast(result.dtype, data.dtype, casting="same_kind"):
                    raise TypeError(f"cannot store {result.dtype} in {data.dtype}")
                self._data = result.astype(data.dtype, copy=False)
        except TypeError as exc:  # NumPy's UFuncTypeError, raised before anything is written
            raise self._inplace_type_error(symbol, ufunc, value, exc) from None
        self._mark_changed()
        return self

    def _leaf_update_error(self, symbol):
        # a new tensor here would leave the leaf itself (the model's parameter) unchanged
        return RuntimeError(
            f"{symbol} on a leaf tensor that requires grad (shape {self.shape}"
            f"{', ' + repr(self.name) if self.name else ''}) while operations are recorded; "
            f"to update a parameter, write `with no_grad(): p {symbol} ...`, or use `p = p {symbol[:-1]} ...` "
            "for a new recorded tensor"
        )

    def _inplace_type_error(self, symbol, ufunc, value, exc):
        dtype = self._data.dtype
        if isinstance(value, np.ndarray):
            operand = value.dtype
        else:  # a Python number: resolve_dtypes takes int and float as NumPy does, but not bool
            operand = np.dtype(bool) if isinstance(value, bool) else type(value)
        try:
            result = ufunc.resolve_dtypes((dtype, operand, None))[-1]
        except TypeError:  # NumPy has no such operation on these dtypes at all (bool - bool...)
            return TypeError(f"{symbol}: {exc}")
        return TypeError(
            f"{symbol}: the result of {ufunc.__name__} on this {dtype} tensor is {result}, which cannot be stored "
            f"in it in place; convert the tensor with astype() first, or use the out-of-place operator"
        )

    _mark_changed = versions.mark_changed  # stamp an in-place change of the data, for the version checks

    def __iadd__(self, other):
        return self._inplace(other, np.add, "+=", ops.add)

    def __isub__(self, other):
        return self._inplace(other, np.subtract, "-=", ops.sub)

    def __imul__(self, other):
        return self._inplace(other, np.multiply, "*=", ops.mul)

    def __itruediv__(self, other):
        return self._inplace(other, np.true_divide, "/=", ops.div)

    def __ipow__(self, other):
        return self._inplace(other, np.power, "**=", ops.pow)

    def __imatmul__(self, other):
        """``t @= m``: in place when nothing is recorded (the product must keep t's shape), else a new tensor."""
        recording = grad_enabled() and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        if recording:
            if self._op is None and self.requires_grad:
                raise self._leaf_update_error("@=")
            return ops.matmul(self, other)
        product = ops.matmul(self, other)._data
        if product.shape != self._data.shape:
            raise ValueError(
                f"@=: the product has shape {product.shape}, not this tensor's shape {self._data.shape}, so it "
                "cannot be stored in place; write t = t @ m for a new tensor"
            )
        if self._data.flags.owndata and self._data.flags.writeable:
            self._data[...] = product
        else:
            self._data = product.astype(self._data.dtype, copy=False)
        self._mark_changed()
        return self

    def __setitem__(self, index, value):
        if grad_enabled() and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            raise RuntimeError(
                "item assignment on a tensor that requires grad is not recorded; build a new tensor "
                "with where() or concatenate(), or assign under no_grad()"
            )
        value = value._data if isinstance(value, Tensor) else as_operand(value, "item assignment")
        if isinstance(index, Tensor):
            index = index._data
        if not (self._data.flags.owndata and self._data.flags.writeable):
            self._data = self._data.copy()
        self._data[index] = value
        self._mark_changed()

    # ----- NumPy interoperability -----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return interop.dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return interop.dispatch_function(func, args, kwargs)

    # ----- methods that are not functions of autograd (the mirrors of its functions are added below) -----
    def flatten(self):
        """The data as one dimension: (2, 3) -> (6,)."""
        return shape_ops.reshape(self, (-1,))

    def draw_graph(self, **kwargs):
        """Render the graph that produced this tensor: ``autograd.draw_graph(self, **kwargs)``."""
        from autograd.viz import draw_graph

        return draw_graph(self, **kwargs)


from autograd import anomaly, engine, interop, ops, shape_ops  # noqa: E402  (they need Tensor defined first)
from autograd.primitive import EXPORTS  # noqa: E402

# operators that are autograd's functions themselves, with the tensor first (one call less per operation)
Tensor.__add__, Tensor.__sub__, Tensor.__mul__, Tensor.__truediv__ = ops.add, ops.sub, ops.mul, ops.div
Tensor.__pow__, Tensor.__matmul__, Tensor.__neg__, Tensor.__abs__ = ops.pow, ops.matmul, ops.neg, ops.abs
Tensor.__getitem__ = shape_ops.getitem

# the methods that mirror autograd's functions (t.exp(), t.sum(axis=0)...), derived from its registry
for _name, _export in EXPORTS.items():
    if _export.method is not None:
        setattr(Tensor, _name, _export.method)
del _name, _export

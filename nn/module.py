"""Module, Parameter and Sequential: the containers; the layers live in ``layers.py``.

A Module finds its parameters and sub-modules from its attributes, in the order they were
assigned, looking inside lists, tuples and dicts too; each object is listed once, under the first
path that reaches it.  Paths are dotted like PyTorch's: ``0.weight``, ``encoder.1.bias``.

Naming: whenever a Module, Parameter, list, tuple or dict is assigned to a module's attribute,
the whole subtree below that module is renamed: each Parameter's ``name`` becomes its full dotted
path and each module remembers its path, which ``__call__`` uses as the ``autograd.name_scope`` of
its forward (the root module, whose path is empty, uses its class name).  A list mutated after
assignment (``self.layers.append(m)``) is only renamed at the next assignment; assign a new list
or use ``Sequential``.  A module attached in two places carries the names of the latest
attachment.
"""

from typing import NamedTuple

import numpy as np

from autograd import Tensor, name_scope, no_grad

from .utils import as_array

__all__ = ["Parameter", "Module", "Sequential", "LoadResult"]


class Parameter(Tensor):
    """A Tensor that requires grad and is discovered by ``Module.parameters()``.

    data: array-like or Tensor (copied); dtype: optional float dtype; name: optional label
    (set to the dotted path when the parameter is attached to a module).
    """

    __slots__ = ()

    def __init__(self, data, dtype=None, name=None):
        array = np.array(as_array(data), dtype=dtype, copy=True)
        if array.dtype.kind != "f":
            array = array.astype(np.float64)
        super().__init__(array, requires_grad=True, name=name)


def _is_member(value):
    return isinstance(value, (Module, Parameter))


def _holds_members(value):
    if _is_member(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(_is_member(v) for v in value)
    if isinstance(value, dict):
        return any(_is_member(v) for v in value.values())
    return False


# callbacks (module, output) run after each module's forward while ``summary`` traces a model
_forward_observers = []


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


class LoadResult(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: lists of key names."""
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of layers and models: subclass it, assign layers/parameters in ``__init__``
    and write ``forward``.  Calling the module runs ``forward`` inside a name scope of its path.
    """

    training = True
    _path = ""

    def forward(self, *args, **kwargs):
        """The computation, written by each subclass with Tensor operations; call the module
        itself (``model(x)``) rather than ``forward``, so the name scope is applied."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        with name_scope(self._path or type(self).__name__, label=self.scope_label()):
            out = self.forward(*args, **kwargs)
        if _forward_observers:
            _forward_observers[-1](self, out)
        return out

    def scope_label(self) -> str:
        """What this module is, shown under its path in graph images (``Linear(512→10)``);
        the class name unless a layer says more."""
        return type(self).__name__

    def __setattr__(self, key, value):
        object.__setattr__(self, key, value)
        if _holds_members(value):
            self._rename_subtree()

    def _rename_subtree(self):
        base = self._path
        for path, module in self.named_modules():
            if module is not self:
                object.__setattr__(module, "_path", _join(base, path))
        for path, param in self.named_parameters():
            param.name = _join(base, path)

    # ---- discovery -------------------------------------------------------------------------
    def _members(self):
        """(name, value) for each Module/Parameter held directly, in attribute order."""
        for key, value in vars(self).items():
            if _is_member(value):
                yield key, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if _is_member(item):
                        yield f"{key}.{i}", item
            elif isinstance(value, dict):
                for k, item in value.items():
                    if _is_member(item):
                        yield f"{key}.{k}", item

    def _walk(self, prefix, seen):
        """Depth-first (path, object) over this module's subtree, each object once."""
        for name, value in self._members():
            if id(value) in seen:
                continue
            seen.add(id(value))
            path = _join(prefix, name)
            yield path, value
            if isinstance(value, Module):
                yield from value._walk(path, seen)

    def named_parameters(self):
        """Iterator of (dotted path, Parameter) in registration order, each parameter once."""
        for path, value in self._walk("", {id(self)}):
            if isinstance(value, Parameter):
                yield path, value

    def parameters(self):
        """Iterator of Parameters in registration order, each once."""
        for _, param in self.named_parameters():
            yield param

    def named_modules(self):
        """Iterator of (dotted path, Module), this module first (path ""), then depth-first."""
        yield "", self
        for path, value in self._walk("", {id(self)}):
            if isinstance(value, Module):
                yield path, value

    def modules(self):
        """Iterator of this module and every sub-module, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Iterator of (name, Module) for the direct sub-modules, each once."""
        seen = set()
        for name, value in self._members():
            if isinstance(value, Module) and id(value) not in seen:
                seen.add(id(value))
                yield name, value

    def children(self):
        """Iterator of the direct sub-modules."""
        for _, module in self.named_children():
            yield module

    # ---- state ------------------------------------------------------------------------------
    def zero_grad(self):
        """Set every parameter's ``.grad`` to None."""
        for param in self.parameters():
            param.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze (True) every parameter of this module and its sub-modules;
        returns self.  Frozen parameters get no ``.grad``, optimizers and ``fit`` skip them and
        ``summary()`` counts them as non-trainable."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of scalar parameters (each parameter once); only those that require grad with
        ``trainable_only``."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def summary(self, input_shape: tuple | None = None) -> str:
        """A Keras-style table as a string: each sub-module's path and type, its output shape
        for an input of ``input_shape`` (the full shape, batch included, e.g. ``(32, 64)``;
        omitted: no shapes), its own parameter count, then total, trainable and frozen counts.
        ``print(model.summary((32, 64)))``.  The trial forward pass runs in eval mode without
        recording a graph."""
        from .summary import summary_table
        return summary_table(self, input_shape)

    def train(self, mode=True):
        """Set the ``training`` flag of this module and all sub-modules; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (``training = False``: Dropout is the identity); returns self."""
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter (and existing gradient) to the float ``dtype`` in place.

        Returns self.  Create optimizers after converting: their state keeps its old dtype.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: parameters must have a float dtype, got {dtype}")
        for param in self.parameters():
            if param.dtype != dtype:
                param.data = param.data.astype(dtype)
                if param.grad is not None:
                    param.grad = param.grad.astype(dtype)
        for module, name in self._buffer_slots().values():
            if getattr(module, name).dtype.kind == "f":
                object.__setattr__(module, name, getattr(module, name).astype(dtype))
        return self

    def register_buffer(self, name, array):
        """Attach ``array`` as attribute ``name``: state that is saved in ``state_dict`` and
        converted by ``to()`` but not trained (BatchNorm's running statistics).  Reassigning
        the attribute later keeps it a buffer."""
        object.__setattr__(self, name, np.asarray(array))
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)

    def named_buffers(self):
        """Iterator of (dotted path, ndarray) of every sub-module's buffers, depth-first."""
        for path, module in self.named_modules():
            for name in module.__dict__.get("_buffer_names", ()):
                yield _join(path, name), getattr(module, name)

    def _buffer_slots(self):
        """dotted path -> (module, attribute name) of every buffer."""
        return {_join(path, name): (module, name) for path, module in self.named_modules()
                for name in module.__dict__.get("_buffer_names", ())}

    def state_dict(self):
        """Dict of dotted path -> copy of the parameter's array, in registration order, then
        the buffers'."""
        state = {path: param.data.copy() for path, param in self.named_parameters()}
        state.update((path, np.array(array, copy=True)) for path, array in self.named_buffers())
        return state

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` (path -> array or Tensor) into the parameters and buffers.

        Values are cast to each parameter's dtype; finite values that the cast would turn
        into inf (float64 1e300 into float32) are an error.  With ``strict=True`` missing or
        unexpected keys are an error; a shape mismatch always is.  Every problem is listed in
        one ValueError and nothing is changed unless all checks pass.  The arrays are written
        through each Parameter's item assignment (under ``no_grad``), so a graph recorded with
        the old values refuses to backpropagate.  Returns ``LoadResult``.
        """
        own = dict(self.named_parameters())
        buffers = self._buffer_slots()
        own.update((key, getattr(module, name)) for key, (module, name) in buffers.items())
        arrays = {key: as_array(value) for key, value in state.items()}
        missing = [key for key in own if key not in arrays]
        unexpected = [key for key in arrays if key not in own]
        problems, cast = [], {}
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        for key, param in own.items():
            if key not in arrays:
                continue
            array = arrays[key]
            if array.shape != param.shape:
                problems.append(f"shape mismatch for {key}: checkpoint has {array.shape}, "
                                f"model has {param.shape}")
            elif array.dtype.kind not in "fiub":
                problems.append(f"{key}: checkpoint holds non-numeric dtype {array.dtype}")
            else:
                with np.errstate(over="ignore", invalid="ignore"):
                    cast[key] = array.astype(param.dtype)
                overflowed = ~np.isfinite(cast[key]) & np.isfinite(array)
                if overflowed.any():
                    largest = np.abs(array[overflowed]).max()
                    problems.append(f"{key}: {array.dtype} values up to {largest:.4g} overflow "
                                    f"the parameter's {param.dtype} (max "
                                    f"{np.finfo(param.dtype).max:.4g})")
        if problems:
            raise ValueError(f"Error(s) loading state dict into {type(self).__name__}:\n  "
                             + "\n  ".join(problems))
        with no_grad():
            for key, array in cast.items():
                if key in buffers:
                    module, name = buffers[key]
                    object.__setattr__(module, name, array)
                else:
                    own[key][...] = array
        return LoadResult(missing, unexpected)

    # ---- display ----------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in its repr (override in subclasses)."""
        return ""

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()}"
        children = list(self.named_children())
        if not children:
            return head + ")"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return head + "\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(4, 3), Sigmoid())``.

    Indexable (an int gives a module, a slice a Sequential sharing those modules, whose names
    stay those of this model), ``len`` and iterable; the
    children are named "0", "1", ... so parameters are ``0.weight``, ``0.bias``, ...
    """

    def __init__(self, *modules):
        for module in modules:
            self.append(module)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Modules, got {type(module).__name__} at "
                            f"position {len(self)}")
        setattr(self, str(len(self)), module)
        return self

    def _layers(self):
        return [value for value in vars(self).values() if isinstance(value, Module)]

    def forward(self, x):
        """Each layer applied in turn: x -> layers[-1](...layers[0](x)); shapes as the layers'."""
        for layer in self._layers():
            x = layer(x)
        return x

    def __len__(self):
        return len(self._layers())

    def __iter__(self):
        return iter(self._layers())

    def __getitem__(self, index):
        layers = self._layers()
        if not isinstance(index, slice):
            return layers[index]
        # a view sharing the modules: attached without renaming, so they keep their paths here
        part = Sequential()
        for i, layer in enumerate(layers[index]):
            object.__setattr__(part, str(i), layer)
        return part

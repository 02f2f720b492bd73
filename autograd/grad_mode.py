"""Global recording state: grad mode (``no_grad`` / ``enable_grad``) and name scopes."""
import contextlib
import functools
import itertools
import typing


class _State:
    """Process-wide recording state read by every operation."""

    enabled = True  # record operations on tensors that require grad
    scope = None  # tuple of nested name-scope names, or None outside any scope
    # one clock stamps every recorded tensor and every in-place change: a recorded tensor's stamp
    # orders it after its inputs (reverse stamp order is a topological order of the graph), and an
    # input whose version (the stamp of its last in-place change) is newer was changed after use
    clock = itertools.count(1)
    last_inplace = 0
    # id(array) -> [weakref to it, stamp of its last in-place change] for the arrays tensors changed
    # in place: a view of one (reshape, .T, getitem, detach...) is read through it, so changed with it
    changed: typing.ClassVar[dict] = {}


state = _State


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit; nests safely.

    Decorates with or without parentheses: ``@no_grad()`` and ``@no_grad`` (as PyTorch).
    """

    _value = True

    def __new__(cls, func=None):
        if func is not None:  # @no_grad without parentheses: decorate func right away
            if not callable(func):
                raise TypeError(f"{cls.__name__}() takes no arguments; use `with {cls.__name__}():` or "
                                f"@{cls.__name__} on a function, not {cls.__name__}({func!r})")
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func=None):
        self._saved = []

    def __enter__(self):
        self._saved.append(_State.enabled)
        _State.enabled = self._value
        return self

    def __exit__(self, *exc):
        _State.enabled = self._saved.pop()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable recording: ``with no_grad(): W -= lr * W.grad``, or ``@no_grad`` on a function."""

    _value = False


class enable_grad(_GradMode):
    """Re-enable recording inside a ``no_grad`` block (context manager, or ``@enable_grad`` on a function)."""

    _value = True


def is_grad_enabled():
    """True when operations on tensors that require grad are being recorded."""
    return _State.enabled


class ScopeName(str):
    """The name of a name scope (a str, so scopes compare as their names), with the ``label``
    that graph images show beside it (e.g. ``"Dense(64→512, relu)"``), or None."""

    label = None


@contextlib.contextmanager
def name_scope(name, label=None):
    """Group the operations recorded inside into a named cluster of the graph image; scopes nest.

    ``label``: what the cluster says the scope is, shown under its name (nn modules pass their
    type and sizes).

    >>> with name_scope("encoder"):
    ...     h = (x @ W).tanh()      # drawn inside a box labelled "encoder"
    """
    name = ScopeName(name)
    if not name:
        raise ValueError("name_scope: the name must be a non-empty string")
    if label is not None:
        name.label = str(label)
    outer = _State.scope
    _State.scope = (name,) if outer is None else outer + (name,)
    try:
        yield _State.scope
    finally:
        _State.scope = outer

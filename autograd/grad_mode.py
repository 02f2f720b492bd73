"""Recording state, per thread: grad mode (``no_grad`` / ``enable_grad``) and name scopes.

As in PyTorch, each thread has its own: a new thread starts with recording on and outside any
scope, and one thread's ``no_grad()`` never stops another thread's training from recording.
"""
import contextlib
import contextvars
import functools
import threading

# Read by every operation, so kept in context variables: their reads cost what a class attribute's
# does (a threading.local's cost twice that), and each thread starts from the default values.
_enabled = contextvars.ContextVar("dagrad_grad_enabled", default=True)
_scope = contextvars.ContextVar("dagrad_name_scope", default=None)
grad_enabled = _enabled.get  # () -> bool: are operations on tensors that require grad recorded?
current_scope = _scope.get  # () -> the tuple of nested name-scope names, or None outside any scope


class _ThreadState(threading.local):
    """The rest of the per-thread state (class values are each thread's start)."""

    anomaly = False  # detect_anomaly(): record each op's source line, check each rule's output
    observer = None  # an engine observer (see engine.observe), told each step of a backward walk

    def __init__(self):  # runs once in each thread that uses the state
        self.saved_modes = []  # tokens of the grad modes that the open no_grad / enable_grad blocks restore


_state = _ThreadState()


class _Process:
    """Process-wide counters: how many threads are in anomaly mode (0 keeps recording free of it)."""

    anomaly_threads = 0


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
        pass

    def __enter__(self):  # the mode to restore is kept per thread, so one instance may serve several threads
        _state.saved_modes.append(_enabled.set(self._value))
        return self

    def __exit__(self, *exc):
        _enabled.reset(_state.saved_modes.pop())
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
    """True when operations on tensors that require grad are being recorded (in this thread)."""
    return _enabled.get()


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
    outer = _scope.get()
    scope = (name,) if outer is None else (*outer, name)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)

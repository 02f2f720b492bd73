"""Anomaly mode (which rule made a NaN, and where its op was called) and per-thread recording state."""
import threading

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, anomaly, primitive

# d sqrt(x)/dx at 0 is 1/(2*0): a rule that turns finite values into Inf
bad_sqrt = primitive(np.sqrt, vjp=lambda i, g, out, x: g / (2 * out), name="bad_sqrt")


def test_anomaly_mode_names_the_rule_its_shapes_and_the_user_line():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        y = bad_sqrt(x * 1.0).sum()  # the line anomaly mode must point at
        with pytest.raises(ag.AnomalyError) as info, np.errstate(divide="ignore"):
            y.backward()
    message = str(info.value)
    assert "backward of bad_sqrt (input shapes (2,)) returned Inf in the gradient of input 0 from finite values" in message
    assert __file__ in message and "y = bad_sqrt(x * 1.0).sum()  # the line anomaly mode must point at" in message


def test_without_anomaly_mode_the_same_backward_gives_inf_silently_and_records_no_lines():
    x = Tensor([0.0, 4.0], requires_grad=True)
    y = bad_sqrt(x * 1.0)
    assert anomaly.trace_of(y) is None
    with np.errstate(divide="ignore"):
        y.sum().backward()
    assert np.isinf(x.grad[0]) and x.grad[1] == 0.25


def test_anomaly_mode_accepts_nan_that_was_already_there_and_nests():
    x = Tensor([np.nan, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        with ag.detect_anomaly():
            assert ag.is_anomaly_enabled()
        assert ag.is_anomaly_enabled()
        (x * 2.0).sum().backward()  # NaN in, NaN out: not the rule's doing
    assert not ag.is_anomaly_enabled()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_anomaly_mode_records_lines_through_nn_layers():
    import nn

    model = nn.Sequential(nn.Linear(2, 2))
    with ag.detect_anomaly():
        out = model(Tensor(np.ones((1, 2))))  # user line
    filename, _, code = anomaly.trace_of(out)
    assert filename == __file__ and code.startswith("out = model(")


def test_anomaly_mode_is_per_thread():
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def other():
        inside.wait()
        seen["other"] = ag.is_anomaly_enabled()
        y = Tensor([1.0], requires_grad=True) * 2.0
        seen["traced"] = anomaly.trace_of(y)
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with ag.detect_anomaly():
        inside.set()
        release.wait(5)
    t.join()
    assert seen == {"other": False, "traced": None}


def test_a_new_thread_records_even_while_another_is_in_no_grad():
    results = {}
    entered, done = threading.Event(), threading.Event()

    def trainer():
        entered.wait()  # the main thread is inside no_grad now
        y = Tensor([1.0], requires_grad=True) * 3.0
        results["records"] = y.requires_grad and not y.is_leaf
        results["enabled"] = ag.is_grad_enabled()
        with ag.name_scope("worker"):
            results["scope"] = (Tensor([1.0], requires_grad=True) * 1.0)._scope
        done.set()

    t = threading.Thread(target=trainer)
    t.start()
    with ag.no_grad(), ag.name_scope("main"):
        entered.set()
        done.wait(5)
        assert not ag.is_grad_enabled()
    t.join()
    assert results == {"records": True, "enabled": True, "scope": ("worker",)}
    assert ag.is_grad_enabled()


def test_interleaved_no_grad_blocks_in_two_threads_leave_recording_on():
    """Forced interleaving: A enters, B enters, A exits, B exits (the order that broke a process-wide flag)."""
    shared = ag.no_grad()  # one instance used by both threads, as a module-level object would be
    steps = [threading.Event() for _ in range(4)]
    log = []

    def a():
        with shared:
            log.append(("a in", ag.is_grad_enabled()))
            steps[0].set()
            steps[1].wait(5)
        log.append(("a out", ag.is_grad_enabled()))
        steps[2].set()

    def b():
        steps[0].wait(5)
        with shared:
            log.append(("b in", ag.is_grad_enabled()))
            steps[1].set()
            steps[2].wait(5)
        log.append(("b out", ag.is_grad_enabled()))

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log == [("a in", False), ("b in", False), ("a out", True), ("b out", True)]
    assert ag.is_grad_enabled()
    assert (Tensor([1.0], requires_grad=True) * 2.0).requires_grad


def test_many_threads_hammering_no_grad_never_leave_recording_off():
    def worker():
        for _ in range(2000):
            with ag.no_grad():
                pass
            assert ag.is_grad_enabled()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ag.is_grad_enabled()

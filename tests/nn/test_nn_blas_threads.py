"""fit / evaluate / predict limit BLAS threads (threadpoolctl), and put the limit back."""

import numpy as np
import pytest

import nn

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads_now():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"]


def test_training_runs_with_one_blas_thread_and_restores_the_setting(monkeypatch):
    before = blas_threads_now()
    if not before:
        pytest.skip("NumPy loaded no BLAS that threadpoolctl can see")
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(blas_threads_now())
            return x

    model = nn.Sequential(nn.Linear(3, 2), Probe())
    X, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    with threadpoolctl.threadpool_limits(2):             # a known starting point
        start = blas_threads_now()
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer="sgd", epochs=1, batch_size=4,
               verbose=0)
        nn.predict(model, X)
        nn.evaluate(model, X, y)
        assert blas_threads_now() == start
    assert seen and all(threads == [1] * len(before) for threads in seen)
    monkeypatch.setattr(nn.train, "BLAS_THREADS", None)  # leave BLAS alone
    seen.clear()
    with threadpoolctl.threadpool_limits(2):
        start = blas_threads_now()
        nn.predict(model, X)
    assert seen == [start]

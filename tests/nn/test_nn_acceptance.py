"""Acceptance tests of issue 4: the classic 4-3-1 network against hand-derived backprop, the
20-10-1 network on make_classification, a Dense 512 classifier on the digits, checkpoints."""

import numpy as np
import pytest

import nn

# ---- the classic 4-3-1 sigmoid network ----------------------------------------------------------

X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=np.float64)
Y = np.array([[1], [1], [0]], dtype=np.float64)


def squared_error(pred, target):
    """E = 1/2 sum (pred - target)^2, the tutorial's error."""
    return 0.5 * nn.mse_loss(pred, target, reduction="sum")


def classic_net(seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 3, dtype=np.float64), nn.Sigmoid(),
                         nn.Linear(3, 1, dtype=np.float64), nn.Sigmoid())


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def hand_backprop(W1, b1, W2, b2, x, y):
    """The textbook derivation for E = 1/2 sum (o - y)^2, h = s(x W1 + b1), o = s(h W2 + b2):
    delta_o = (o - y) o (1 - o), delta_h = delta_o W2^T h (1 - h)."""
    h = sigmoid(x @ W1 + b1)
    o = sigmoid(h @ W2 + b2)
    delta_o = (o - y) * o * (1 - o)
    delta_h = (delta_o @ W2.T) * h * (1 - h)
    return x.T @ delta_h, delta_h.sum(axis=0), h.T @ delta_o, delta_o.sum(axis=0)


def test_classic_gradients_equal_hand_derived_backprop():
    model = classic_net()
    for rows in ([0], [1], [2], [0, 1, 2]):
        model.zero_grad()
        squared_error(model(X[rows]), Y[rows]).backward()
        params = [p.data for p in model.parameters()]
        expected = hand_backprop(*params, X[rows], Y[rows])
        for p, g in zip(model.parameters(), expected):
            assert p.grad.dtype == np.float64
            np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_classic_sgd_follows_hand_written_updates_and_drives_the_error_down(batch_size):
    model = classic_net()
    W1, b1, W2, b2 = (p.data.copy() for p in model.parameters())
    initial = squared_error(model(X), Y).item()
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    for epoch in range(1000):
        for start in range(0, 3, batch_size):
            x, y = X[start:start + batch_size], Y[start:start + batch_size]
            optimizer.zero_grad()
            squared_error(model(x), y).backward()
            optimizer.step()
            gW1, gb1, gW2, gb2 = hand_backprop(W1, b1, W2, b2, x, y)
            W1, b1, W2, b2 = W1 - 0.1 * gW1, b1 - 0.1 * gb1, W2 - 0.1 * gW2, b2 - 0.1 * gb2
        if epoch in (0, 999):
            for p, ref in zip(model.parameters(), (W1, b1, W2, b2)):
                np.testing.assert_allclose(p.data, ref, rtol=1e-12, atol=1e-12)
    final = squared_error(model(X), Y).item()
    assert final < 0.1 * initial
    np.testing.assert_array_equal(nn.predict(model, X) > 0.5, Y > 0.5)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_classic_fit_drives_the_error_down(batch_size):
    model = classic_net()
    initial = squared_error(model(X), Y).item()
    history = nn.fit(model, X, Y, loss=squared_error, optimizer=nn.SGD(model.parameters(), lr=0.1),
                     epochs=1000, batch_size=batch_size, metrics=(), progress=False, rng=0)
    assert len(history["loss"]) == 1000
    if batch_size == 3:   # full-batch gradient descent with a small step: never goes up
        assert np.all(np.diff(history["loss"]) <= 0)
    assert squared_error(model(X), Y).item() < 0.1 * initial


# ---- 20-10-1 on make_classification -------------------------------------------------------------

def test_make_classification_20_10_1_reaches_94_percent():
    pytest.importorskip("sklearn")
    X_all, y_all = nn.datasets.make_classification(n_samples=5000, random_state=123)
    y_all = y_all[:, None].astype(np.float32)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Dense(20, 10, activation="tanh"),
                          nn.Dense(10, 1, activation="sigmoid"))
    history = nn.fit(model, X_all[:4000], y_all[:4000], loss=nn.binary_cross_entropy,
                     optimizer=nn.Adam(model.parameters(), lr=0.01), epochs=10, batch_size=32,
                     progress=False)
    assert history["loss"][-1] < history["loss"][0]
    scores = nn.evaluate(model, X_all[4000:], y_all[4000:], loss=nn.binary_cross_entropy)
    assert scores["accuracy"] >= 0.94, scores


# ---- Dense 512 ReLU + softmax 10 on the digits --------------------------------------------------

@pytest.fixture(scope="module")
def digits_model():
    pytest.importorskip("sklearn")
    (X_train, y_train), (X_test, y_test) = nn.datasets.load_digits(test_size=0.25, seed=0)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Dense(64, 512, activation="relu"),
                          nn.Dense(512, 10, activation="softmax"))
    history = nn.fit(model, X_train, y_train, loss="sparse_categorical_crossentropy",
                     optimizer=nn.Adam(model.parameters(), lr=1e-3), epochs=10, batch_size=32,
                     validation_data=(X_test, y_test), progress=False)
    return model, history, X_test, y_test


def test_digits_dense_512_reaches_95_percent(digits_model):
    model, history, X_test, y_test = digits_model
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert history["val_loss"][-1] < history["val_loss"][0]
    accuracy = nn.evaluate(model, X_test, y_test)["accuracy"]
    assert accuracy >= 0.95
    assert history["val_accuracy"][-1] == accuracy
    probs = nn.predict(model, X_test)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_digits_save_load_identical_predictions(digits_model, tmp_path):
    model, _, X_test, _ = digits_model
    path = tmp_path / "digits.npz"
    nn.save(model, path)
    nn.manual_seed(1)
    fresh = nn.Sequential(nn.Dense(64, 512, activation="relu"),
                          nn.Dense(512, 10, activation="softmax"))
    nn.load(path, model=fresh)
    np.testing.assert_array_equal(nn.predict(fresh, X_test), nn.predict(model, X_test))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(nn.CheckpointError, match="truncated, corrupted or modified"):
        nn.load(path, model=fresh)

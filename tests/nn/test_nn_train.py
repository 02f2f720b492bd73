"""fit / evaluate / predict: history, validation, early stopping, metrics, progress, modes."""

import numpy as np
import pytest

import autograd
import nn

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 4)).astype(np.float32)
W_TRUE = rng.normal(size=(4, 3))
LABELS = (X @ W_TRUE).argmax(axis=1)


def classifier(seed=0, dropout=0.0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Dense(4, 16, activation="tanh"), nn.Dropout(dropout), nn.Linear(16, 3))


def test_fit_returns_per_epoch_history_and_learns():
    model = classifier()
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=nn.Adam(
        model.parameters(), lr=0.05), epochs=15, batch_size=16, progress=False)
    assert list(history) == ["loss", "accuracy"]
    assert len(history["loss"]) == len(history["accuracy"]) == 15
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] > 0.9
    assert nn.evaluate(model, X, LABELS)["accuracy"] > 0.9


def test_fit_with_validation_names_and_string_options():
    model = classifier()
    history = nn.fit(model, X[:100], LABELS[:100], loss="cross_entropy", optimizer="adam",
                     epochs=3, batch_size=100, validation_data=(X[100:], LABELS[100:]),
                     progress=False)
    assert list(history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    last = nn.evaluate(model, X[100:], LABELS[100:], loss=nn.cross_entropy)
    assert history["val_loss"][-1] == pytest.approx(last["loss"], rel=1e-6)
    assert history["val_accuracy"][-1] == last["accuracy"]


def test_fit_is_deterministic_given_the_seed():
    runs = []
    for _ in range(2):
        model = classifier(seed=3, dropout=0.2)
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=nn.SGD(
            model.parameters(), lr=0.1, momentum=0.9), epochs=2, batch_size=8, progress=False)
        runs.append(model.state_dict())
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_early_stopping_stops_and_restores_the_best_weights():
    # validation labels are the training labels shifted: val loss rises while training improves
    model = classifier()
    stopper = nn.EarlyStopping(patience=2)
    val = (X, (LABELS + 1) % 3)
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=nn.Adam(
        model.parameters(), lr=0.05), epochs=50, batch_size=30, validation_data=val,
        early_stopping=stopper, progress=False)
    epochs_run = len(history["loss"])
    best = int(np.argmin(history["val_loss"]))
    assert epochs_run == best + 1 + 2 < 50
    assert stopper.best_epoch == best + 1 and stopper.stopped_epoch == epochs_run
    restored = nn.evaluate(model, *val, loss=nn.cross_entropy)["loss"]
    assert restored == pytest.approx(history["val_loss"][best], rel=1e-6)


def test_early_stopping_as_an_int_and_its_errors():
    model = classifier()
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=nn.SGD(
        model.parameters(), lr=0.0), epochs=10, batch_size=120, early_stopping=0,
        progress=False)
    assert len(history["loss"]) == 2          # lr 0: no improvement after the first epoch
    with pytest.raises(ValueError, match="monitors 'val_loss'.*pass validation_data"):
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=2,
               batch_size=60, early_stopping=nn.EarlyStopping(), progress=False)
    with pytest.raises(TypeError, match="early_stopping must be"):
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=1,
               batch_size=60, early_stopping="yes", progress=False)
    assert nn.EarlyStopping(monitor="val_accuracy").mode == "max"


def test_progress_bar_shows_epoch_loss_and_metrics(capsys):
    model = classifier()
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="adam", epochs=2, batch_size=40,
           validation_data=(X, LABELS))
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err
    assert "loss=" in err and "accuracy=" in err and "val_accuracy=" in err
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="adam", epochs=1, batch_size=40,
           progress=False)
    assert capsys.readouterr().err == ""


def test_predict_and_evaluate_record_no_graph_and_restore_the_mode():
    model = classifier(dropout=0.5)
    out = nn.predict(model, X)
    assert isinstance(out, np.ndarray) and out.shape == (120, 3)
    assert model.training                              # mode restored
    np.testing.assert_array_equal(out, nn.predict(model, X))   # dropout off: deterministic
    np.testing.assert_allclose(nn.predict(model, X, batch_size=7), out, rtol=1e-6)
    model.eval()
    nn.evaluate(model, X, LABELS, batch_size=50)
    assert not model.training
    with autograd.no_grad():
        expected = model(X).data
    np.testing.assert_allclose(out, expected)
    assert autograd.is_grad_enabled()


def test_evaluate_batches_weight_by_samples():
    model = classifier()
    whole = nn.evaluate(model, X, LABELS, loss=nn.cross_entropy)
    parts = nn.evaluate(model, X, LABELS, loss=nn.cross_entropy, batch_size=50)
    assert parts["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    assert parts["accuracy"] == whole["accuracy"]
    assert list(nn.evaluate(model, X, LABELS, metrics=())) == []


def test_accuracy_variants():
    assert nn.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert nn.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.eye(2)[[1, 0]]) == 1.0
    assert nn.accuracy(np.array([[0.7], [0.2], [0.6]]), np.array([[1], [0], [0]])) == 2 / 3
    assert nn.accuracy(np.array([-1.0, 2.0]), np.array([0, 1]), threshold=0.0) == 1.0
    with pytest.raises(ValueError, match="do not match"):
        nn.accuracy(np.zeros((4, 3)), np.zeros(5))


def test_accuracy_takes_a_column_of_class_labels():
    scores = np.array([[0.7, 0.3], [0.2, 0.8], [0.1, 0.9]])
    assert nn.accuracy(scores, np.array([[0], [1], [0]])) == 2 / 3
    assert nn.accuracy(scores, np.array([0, 1, 0])) == 2 / 3
    assert nn.accuracy(np.zeros((3, 4)) + np.eye(4)[[2, 0, 3]], np.array([[2], [1], [3]])) == \
        2 / 3


def test_fit_on_no_samples_is_an_error():
    model = classifier()
    with pytest.raises(ValueError, match=r"fit: X has no samples \(shape \(0, 4\)\)"):
        nn.fit(model, X[:0], LABELS[:0], loss=nn.cross_entropy, optimizer="sgd", epochs=1,
               batch_size=10, progress=False)


def test_fit_warns_once_when_the_loss_becomes_non_finite():
    nn.manual_seed(0)
    model = nn.Linear(4, 3)
    with pytest.warns(RuntimeWarning, match=r"loss is (nan|inf) at epoch \d, batch \d of 3") \
            as record, np.errstate(all="ignore"):
        history = nn.fit(model, X * 1e30, LABELS, loss=nn.cross_entropy,
                         optimizer=nn.SGD(model.parameters(), lr=1e10), epochs=3,
                         batch_size=40, progress=False)
    assert not np.isfinite(history["loss"][-1])
    assert sum("loss is" in str(w.message) for w in record) == 1


def test_binary_accuracy_threshold_follows_the_loss():
    Xb = X[:, :2]
    yb = (Xb[:, :1] > 0).astype(np.float32)
    nn.manual_seed(0)
    model = nn.Linear(2, 1)
    history = nn.fit(model, Xb, yb, loss=nn.BCEWithLogitsLoss(), optimizer=nn.Adam(
        model.parameters(), lr=0.1), epochs=20, batch_size=40, progress=False)
    assert history["accuracy"][-1] > 0.9              # logits thresholded at 0, not 0.5


def test_custom_metric_and_bad_arguments():
    model = classifier()

    def top2(pred, target):
        return float(np.mean([t in np.argsort(p)[-2:] for p, t in zip(pred, target)]))

    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="adam", epochs=1,
                     batch_size=60, metrics=["accuracy", top2], progress=False)
    assert list(history) == ["loss", "accuracy", "top2"]
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="adam", epochs=1,
               batch_size=60, metrics=["f1"], progress=False)
    with pytest.raises(ValueError, match="epochs must be a non-negative int"):
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="adam", epochs=1.5,
               batch_size=60, progress=False)
    with pytest.raises(ValueError, match=r"input shape \(120, 3\) and target shape \(120,\)"):
        nn.fit(model, X, LABELS, loss="mse", optimizer="adam", epochs=1, batch_size=120,
               progress=False)


def test_accuracy_is_the_exact_fraction_np_mean_gives():
    draw = np.random.default_rng(3)
    for n in [1, 3, 7, 10, 49, 97, 128, 1000, 4099]:
        pred, target = draw.normal(size=(n, 4)), draw.integers(0, 4, n)
        assert nn.accuracy(pred, target) == float(np.mean(pred.argmax(axis=1) == target))
    assert nn.accuracy(np.zeros((0, 3)), np.zeros(0, int)) == 0.0


@pytest.mark.parametrize("epochs, signatures", [(1, 1), (2, 1), (3, 2)])
def test_fit_runs_a_last_batch_seen_fewer_than_three_times_eagerly(monkeypatch, epochs, signatures):
    """A compiled step records the first two calls of each batch shape: a shorter last batch met once
    or twice runs as an eager step instead (the same history); met three times, it is compiled too."""
    steps = []

    def capture(*args):
        steps.append(compiled_step(*args))
        return steps[-1]

    compiled_step = nn.train._compiled_step
    monkeypatch.setattr(nn.train, "_compiled_step", capture)

    def history(compiled):
        model = classifier(seed=2)
        return nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=nn.Adam(model.parameters()),
                      epochs=epochs, batch_size=25, progress=False, rng=0, compile=compiled)

    assert history(True) == history(False)
    (step,) = steps
    info = step.cache_info()
    assert info["signatures"] == signatures and info["eager"] == 0
    assert info["recordings"] + info["replays"] == 4 * epochs + (signatures == 2) * epochs  # (120 = 4 x 25 + 20)


def test_fit_calls_no_batch_hook_without_callbacks_and_every_one_with(monkeypatch):
    seen = []

    class Count(nn.callbacks.Callback):
        def on_batch_end(self, batch, loss):
            seen.append(batch)

    nn.fit(classifier(), X, LABELS, loss=nn.cross_entropy, optimizer="adam", epochs=2, batch_size=50,
           progress=False, callbacks=[Count()])
    assert seen == [1, 2, 3, 1, 2, 3]

"""fit's newer options: callbacks (early stopping's report, checkpoints, schedulers, CSV log),
verbose levels, validation_split, default metrics, dtype casting, train/eval modes, frozen
parameters."""

import csv

import numpy as np
import pytest

import nn
from autograd import Tensor

rng = np.random.default_rng(1)
X = rng.normal(size=(90, 4)).astype(np.float32)
LABELS = (X @ rng.normal(size=(4, 3))).argmax(axis=1)


def classifier(seed=0, dtype=np.float32):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Dense(4, 8, activation="tanh", dtype=dtype), nn.Linear(8, 3, dtype=dtype))


def adam(model, lr=0.05):
    return nn.Adam(model.parameters(), lr=lr)


def test_early_stopping_says_when_it_stopped_and_what_it_restored(capsys):
    model = classifier()
    stopper = nn.EarlyStopping(patience=2)
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=40,
                     batch_size=30, validation_data=(X, (LABELS + 1) % 3), early_stopping=stopper,
                     verbose=2)
    ran = len(history["loss"])
    assert stopper.stopped_epoch == ran < 40
    best = int(np.argmin(history["val_loss"])) + 1
    assert stopper.best_epoch == best == ran - 2
    out = capsys.readouterr().out
    expected = (f"early stopping: stopped after epoch {ran}/40, val_loss not improved for 2 epochs; "
                f"restored the weights of epoch {best} (val_loss {history['val_loss'][best - 1]:.4g})")
    assert stopper.message == expected and expected in out
    assert out.count("epoch ") >= ran                       # verbose=2: one line per epoch


def test_verbose_levels(capsys):
    model = classifier()
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=2, batch_size=30,
           verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=2, batch_size=30,
           verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "loss=" in lines[0] and "accuracy=" in lines[0]
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=1, batch_size=30,
           verbose=1)
    assert "epoch 1/1" in capsys.readouterr().err           # the tqdm bar
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=1, batch_size=30,
               verbose=3)


def test_validation_split_takes_the_last_samples_as_keras():
    model = classifier()
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=1,
                     batch_size=90, validation_split=0.2, verbose=0, shuffle=False)
    scores = nn.evaluate(model, X[72:], LABELS[72:], loss=nn.cross_entropy)
    assert history["val_loss"][0] == pytest.approx(scores["loss"], rel=1e-6)
    with pytest.raises(ValueError, match="not both"):
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=1, batch_size=9,
               validation_split=0.2, validation_data=(X, LABELS), verbose=0)
    with pytest.raises(ValueError, match="leaves no training or no validation sample"):
        nn.fit(model, X[:1], LABELS[:1], loss=nn.cross_entropy, optimizer="sgd", epochs=1,
               batch_size=1, validation_split=0.5, verbose=0)


def test_accuracy_is_reported_only_for_classification_losses():
    reg = nn.Sequential(nn.Linear(4, 1))
    history = nn.fit(reg, X, X[:, :1] * 2, loss=nn.mse_loss, optimizer="adam", epochs=1,
                     batch_size=30, validation_split=0.2, verbose=0)
    assert list(history) == ["loss", "val_loss"]
    history = nn.fit(reg, X, X[:, :1] * 2, loss="mse", optimizer="adam", epochs=1, batch_size=30,
                     metrics=["mae"], verbose=0)
    assert list(history) == ["loss", "mean_absolute_error"]
    assert list(nn.evaluate(reg, X, X[:, :1], loss=nn.MSELoss())) == ["loss"]
    model = classifier()
    for loss in (nn.cross_entropy, nn.CrossEntropyLoss(), "nll_loss"):
        assert "accuracy" in nn.evaluate(model, X, LABELS, loss=loss if loss != "nll_loss" else
                                         nn.cross_entropy)


def test_float64_data_trains_a_float32_model_in_float32():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(x.dtype)
            return x

    model = nn.Sequential(nn.Linear(4, 1), Probe())
    y = (X[:, :1] * 2).astype(np.float64)
    nn.fit(model, X.astype(np.float64), y, loss=nn.mse_loss, optimizer="sgd", epochs=1,
           batch_size=30, verbose=0)
    assert set(seen) == {np.dtype(np.float32)}
    assert nn.predict(model, X.astype(np.float64)).dtype == np.float32
    labels = LABELS.astype(np.int64)                         # integer labels are left alone
    clf = classifier()
    nn.fit(clf, X.astype(np.float64), labels, loss=nn.cross_entropy, optimizer="sgd", epochs=1,
           batch_size=30, verbose=0)
    assert labels.dtype == np.int64


def test_fit_trains_in_train_mode_and_evaluates_in_eval_mode():
    modes = []

    class Probe(nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x

    model = nn.Sequential(nn.Linear(4, 3), Probe())
    model.eval()
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=1, batch_size=45,
           validation_data=(X, LABELS), verbose=0)
    assert modes == [True, True, False, False] and model.training is False   # 2 + 2 batches
    model.train()
    nn.predict(model, X)
    assert modes[-1] is False and model.training is True


def test_dropout_is_off_in_eval_mode():
    drop = nn.Dropout(0.5)
    x = np.ones((20, 20))
    assert (drop(x).data == 0).any()
    drop.eval()
    assert drop.training is False
    np.testing.assert_array_equal(drop(x).data, x)


def test_fit_skips_frozen_parameters():
    model = classifier()
    model[0].requires_grad_(False)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="adam", epochs=2, batch_size=30,
           verbose=0)
    after = model.state_dict()
    np.testing.assert_array_equal(after["0.weight"], before["0.weight"])
    np.testing.assert_array_equal(after["0.bias"], before["0.bias"])
    assert not np.array_equal(after["1.weight"], before["1.weight"])


def test_model_checkpoint_keeps_the_best_epoch(tmp_path):
    model = classifier()
    checkpoint = nn.callbacks.ModelCheckpoint(tmp_path / "best.npz")
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=12,
                     batch_size=30, validation_data=(X, (LABELS + 1) % 3), callbacks=[checkpoint],
                     verbose=0)
    best = int(np.argmin(history["val_loss"])) + 1
    assert checkpoint.best_epoch == best
    restored = nn.load(tmp_path / "best.npz", model=classifier(seed=5))
    scores = nn.evaluate(restored, X, (LABELS + 1) % 3, loss=nn.cross_entropy)
    assert scores["loss"] == pytest.approx(history["val_loss"][best - 1], rel=1e-5)
    every = nn.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}.npz"), save_best_only=False)
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=2, batch_size=30,
           callbacks=[every], verbose=0)
    assert sorted(p.name for p in tmp_path.glob("e*.npz")) == ["e01.npz", "e02.npz"]


def test_scheduler_steps_per_epoch_and_logs_lr():
    model = classifier()
    opt = nn.SGD(model.parameters(), lr=0.1)
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=opt, epochs=4,
                     batch_size=30, callbacks=[nn.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)],
                     verbose=0)
    np.testing.assert_allclose(history["lr"], [0.1, 0.1, 0.05, 0.05])
    assert opt.lr == pytest.approx(0.025)


def test_one_cycle_steps_per_batch_and_plateau_uses_the_monitor():
    model = classifier()
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    one_cycle = nn.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=3)
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=opt, epochs=2, batch_size=30,
           callbacks=[one_cycle], verbose=0)
    assert one_cycle.last_epoch == 6
    opt = nn.SGD(model.parameters(), lr=0.1)
    plateau = nn.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    # a validation set the model cannot learn: the monitored val_loss stops improving
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=opt, epochs=6,
                     batch_size=30, validation_data=(X, (LABELS + 1) % 3), callbacks=[plateau],
                     verbose=0)
    expected, lr, best = [], 0.1, np.inf                # torch's rule with patience 0, by hand
    for value in history["val_loss"]:
        expected.append(lr)
        if value < best * (1 - 1e-4):
            best = value
        else:
            lr *= 0.5
    np.testing.assert_allclose(history["lr"], expected)
    assert opt.lr == pytest.approx(lr) and lr < 0.1


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    model = classifier()
    path = tmp_path / "log.csv"
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=3,
                     batch_size=30, validation_split=0.2, callbacks=[nn.callbacks.CSVLogger(path)],
                     verbose=0)
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], history["val_loss"])
    nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer=adam(model), epochs=1,
           batch_size=30, validation_split=0.2,
           callbacks=[nn.callbacks.CSVLogger(path, append=True)], verbose=0)
    assert len(list(csv.DictReader(path.open()))) == 4


def test_custom_callback_sees_every_hook_and_can_stop():
    calls = []

    class Recorder(nn.callbacks.Callback):
        def on_train_begin(self, run):
            super().on_train_begin(run)
            calls.append("begin")

        def on_batch_end(self, batch, loss):
            calls.append(batch)

        def on_epoch_end(self, epoch, logs):
            calls.append(f"end {epoch}")
            logs["custom"] = 1.0
            self.run.stop_training = epoch == 2

        def on_train_end(self):
            calls.append("done")

    model = classifier()
    history = nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=5,
                     batch_size=45, callbacks=[Recorder()], verbose=0)
    assert calls == ["begin", 1, 2, "end 1", 1, 2, "end 2", "done"]
    assert history["custom"] == [1.0, 1.0]
    with pytest.raises(TypeError, match="callbacks must be"):
        nn.fit(model, X, LABELS, loss=nn.cross_entropy, optimizer="sgd", epochs=1, batch_size=45,
               callbacks=[print], verbose=0)


def test_summary_table_counts_trainable_and_frozen():
    model = nn.Sequential(nn.Dense(4, 8, activation="relu"), nn.Dropout(0.1), nn.Linear(8, 3))
    model[2].requires_grad_(False)
    table = model.summary((5, 4))
    lines = table.splitlines()
    assert lines[0] == "Sequential summary"
    assert lines[4].split() == ["0", "(Dense)", "(5,", "8)", "40"]
    assert lines[5].split() == ["1", "(Dropout)", "(5,", "8)", "0"]
    assert lines[6].split() == ["2", "(Linear)", "(5,", "3)", "27"]
    assert lines[-3:] == ["Total params: 67", "Trainable params: 40", "Non-trainable params: 27"]
    assert model.training                                    # the trial pass restored the mode
    assert "-" in model.summary().splitlines()[4]              # no input shape, no output shapes
    assert model.num_parameters() == 67 == sum(p.size for p in model.parameters())


def test_module_name_scopes_carry_labels(monkeypatch):
    import autograd
    import nn.module

    opened = []

    def recording_scope(name, label=None):
        opened.append((name, label))
        return autograd.name_scope(name, label=label)

    monkeypatch.setattr(nn.module, "name_scope", recording_scope)
    model = nn.Sequential(nn.Dense(4, 8, activation="relu"), nn.Dense(8, 3), nn.Linear(3, 2))
    model(Tensor(X[:2]))
    assert opened == [("Sequential", "Sequential"), ("0", "Dense(4→8, relu)"),
                      ("1", "Dense(8→3)"), ("2", "Linear(3→2)")]

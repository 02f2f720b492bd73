"""Checkpoints: round trip, atomic writes, pickle off, corrupted/modified/truncated files."""

import os
import zipfile

import numpy as np
import pytest

import nn


def make_model(seed):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Dense(5, 7, activation="tanh"), nn.Dense(7, 3))


X = np.random.default_rng(0).normal(size=(11, 5)).astype(np.float32)


def test_save_load_gives_identical_predictions(tmp_path):
    model = make_model(0)
    path = tmp_path / "model.npz"
    assert nn.save(model, path) == str(path)
    other = make_model(1)
    assert not np.array_equal(nn.predict(other, X), nn.predict(model, X))
    assert nn.load(path, model=other) is other
    np.testing.assert_array_equal(nn.predict(other, X), nn.predict(model, X))
    state = nn.load(path)
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert state["0.weight"].dtype == np.float32
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]     # no temporary file left


def test_save_a_state_dict_and_overwrite(tmp_path):
    path = tmp_path / "ckpt"
    nn.save({"w": np.arange(3.0)}, path)
    nn.save({"w": np.arange(4.0)}, path)
    np.testing.assert_array_equal(nn.load(path)["w"], np.arange(4.0))


def test_load_lists_key_and_shape_mismatches(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(make_model(0), path)
    wrong = nn.Sequential(nn.Dense(5, 8, activation="tanh"), nn.Dense(8, 3), nn.Linear(3, 1))
    with pytest.raises(ValueError) as info:
        nn.load(path, model=wrong)
    message = str(info.value)
    assert "missing keys: 2.weight, 2.bias" in message
    assert "shape mismatch for 0.weight: checkpoint has (5, 7), model has (5, 8)" in message
    assert "shape mismatch for 1.weight: checkpoint has (7, 3), model has (8, 3)" in message


def test_interrupted_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    nn.save({"w": np.ones(3)}, path)

    def crash(file, *args, **kwargs):
        file.write(b"half an array")
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(KeyboardInterrupt):
        nn.save({"w": np.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(nn.load(path)["w"], np.ones(3))
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -1])
def test_truncated_checkpoint_is_a_clear_error(tmp_path, keep):
    path = tmp_path / "model.npz"
    nn.save(make_model(0), path)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:cut])
    with pytest.raises(nn.CheckpointError, match="model.npz"):
        nn.load(path)


def test_tampered_bytes_never_load_different_weights(tmp_path):
    """Flip one bit anywhere: either a CheckpointError, or (a flip in zip metadata that holds
    no data, such as a timestamp) exactly the saved weights."""
    path = tmp_path / "model.npz"
    model = make_model(0)
    nn.save(model, path)
    data = path.read_bytes()
    errors = 0
    for offset in range(0, len(data), 7):
        tampered = bytearray(data)
        tampered[offset] ^= 0x01
        path.write_bytes(bytes(tampered))
        try:
            state = nn.load(path)
        except nn.CheckpointError:
            errors += 1
            continue
        assert state.keys() == model.state_dict().keys()
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(state[key], value)
    assert errors > len(range(0, len(data), 7)) // 2


def test_rewritten_archive_with_changed_weights_is_detected(tmp_path):
    """Changed values in a well-formed archive (CRCs valid) fail the stored digest."""
    path = tmp_path / "model.npz"
    nn.save(make_model(0), path)
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["1.bias"] = arrays["1.bias"] + 1
    np.savez(path, **arrays)
    with pytest.raises(nn.CheckpointError, match="do not match the stored SHA-256 checksum"):
        nn.load(path)
    del arrays["__sha256__"]
    np.savez(path, **arrays)
    with pytest.raises(nn.CheckpointError, match="not written by nn.save"):
        nn.load(path)


def test_pickled_content_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(nn.CheckpointError, match="evil.npz"):
        nn.load(path)
    plain = tmp_path / "pickle.npy"
    np.save(plain, np.array([None], dtype=object), allow_pickle=True)
    with pytest.raises(nn.CheckpointError):
        nn.load(plain)


def test_not_a_checkpoint_and_missing_file(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello")
    with pytest.raises(nn.CheckpointError, match="not a readable .npz checkpoint"):
        nn.load(path)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        nn.load(tmp_path / "absent.npz")
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    with pytest.raises(nn.CheckpointError):
        nn.load(tmp_path / "empty.npz")


def test_save_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="Module or a dict"):
        nn.save([np.ones(2)], tmp_path / "x.npz")
    with pytest.raises(TypeError, match="only numeric arrays"):
        nn.save({"w": np.array(["a"])}, tmp_path / "x.npz")


@pytest.mark.parametrize("key", ["file", "allow_pickle", "args", "kwds", "a/b", "x.npy"])
def test_any_string_key_round_trips(tmp_path, key):
    """np.savez's own argument names used to clash with keys (unloadable file / TypeError)."""
    path = tmp_path / "ckpt.npz"
    state = {key: np.arange(3.0), "w": np.ones((2, 2), np.float32)}
    nn.save(state, path)
    loaded = nn.load(path)
    assert list(loaded) == [key, "w"]
    np.testing.assert_array_equal(loaded[key], state[key])
    assert loaded["w"].dtype == np.float32


def test_save_errors_name_the_given_path(tmp_path):
    missing = tmp_path / "no" / "such" / "model.npz"
    with pytest.raises(FileNotFoundError) as info:
        nn.save(make_model(0), missing)
    assert str(missing) in str(info.value) and ".tmp-" not in str(info.value)
    with pytest.raises(IsADirectoryError) as info:
        nn.save(make_model(0), tmp_path)
    assert repr(str(tmp_path)) in str(info.value) and ".tmp-" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_checksum_messages_say_corrupted_or_modified_not_tamper_proof(tmp_path):
    """The digest is stored in the file: a checksum against accidents, not tamper-proofing."""
    from nn import serialization

    path = tmp_path / "model.npz"
    nn.save(make_model(0), path)
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["0.bias"] = arrays["0.bias"] + 1
    np.savez(path, **arrays)
    with pytest.raises(nn.CheckpointError, match="corrupted or modified") as info:
        nn.load(path)
    assert "tamper" not in str(info.value)
    for text in (serialization.__doc__, nn.CheckpointError.__doc__, nn.load.__doc__):
        assert "tampered" not in text.replace("tampering:", "")
    assert "checksum" in serialization.__doc__ and "not deliberate" in serialization.__doc__

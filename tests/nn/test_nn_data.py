"""Mini-batches and the IDX reader (on small files the tests write themselves)."""

import gzip
import struct

import numpy as np
import pytest

import nn
from nn.datasets import DatasetError, load_mnist, read_idx

X = np.arange(20).reshape(10, 2)
Y = np.arange(10)


@pytest.mark.parametrize("batch_size, sizes", [(1, [1] * 10), (3, [3, 3, 3, 1]), (10, [10]),
                                               (25, [10])])
def test_batches_cover_every_sample_once(batch_size, sizes):
    parts = list(nn.data.batches(X, Y, batch_size, rng=0))
    assert [len(xb) for xb, _ in parts] == sizes
    assert nn.data.num_batches(10, batch_size) == len(sizes)
    seen = np.concatenate([yb for _, yb in parts])
    assert sorted(seen) == list(range(10))
    for xb, yb in parts:                         # X and y stay aligned
        np.testing.assert_array_equal(xb, X[yb])


def test_batches_unshuffled_are_in_order_and_drop_last():
    parts = list(nn.data.batches(X, Y, 4, shuffle=False, drop_last=True))
    assert [list(yb) for _, yb in parts] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert nn.data.num_batches(10, 4, drop_last=True) == 2
    assert [len(xb) for xb in nn.data.batches(X, None, 4, shuffle=False)] == [4, 4, 2]


def test_batches_shuffle_is_seeded_and_new_each_epoch():
    def order(rng):
        return np.concatenate([yb for _, yb in nn.data.batches(X, Y, 3, rng=rng)])

    np.testing.assert_array_equal(order(1), order(1))
    gen = np.random.default_rng(1)
    assert not np.array_equal(order(gen), order(gen))
    nn.manual_seed(4)
    a = order(None)
    nn.manual_seed(4)
    np.testing.assert_array_equal(a, order(None))


def test_batches_errors():
    with pytest.raises(ValueError, match=r"X has 10 samples but y has shape \(9,\)"):
        list(nn.data.batches(X, Y[:9], 2))
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        list(nn.data.batches(X, Y, 0))


# ---- IDX files ----------------------------------------------------------------------------------

def idx_bytes(array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload, compress=False):
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_raw_and_gzip(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    path = write(tmp_path / "images", idx_bytes(images), compress)
    np.testing.assert_array_equal(read_idx(path), images)
    values = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    out = read_idx(write(tmp_path / "floats", idx_bytes(values, 0x0D), compress))
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    ints = np.array([-5, 70000, 3], dtype=np.int32)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "i", idx_bytes(ints, 0x0C))), ints)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_truncated_or_corrupt(tmp_path, compress):
    good = idx_bytes(np.zeros((4, 3, 3), dtype=np.uint8))
    cases = {
        "truncated data": (good[:-5], r"truncated: header says shape \(4, 3, 3\) of uint8 "
                                      r"\(36 bytes of data\), the file holds 31"),
        "trailing bytes": (good + b"\0", "has trailing bytes"),
        "truncated header": (good[:9], "truncated IDX header: 3 dimensions need 16 bytes"),
        "tiny": (good[:2], "too short for an IDX header"),
        "magic": (b"<htm" + good[4:], "not an IDX file"),
        "type": (bytes([0, 0, 0x07, 3]) + good[4:], "unknown IDX data type code 0x07"),
    }
    for name, (payload, message) in cases.items():
        path = write(tmp_path / name.replace(" ", "_"), payload, compress)
        with pytest.raises(DatasetError, match=message):
            read_idx(path)


def test_read_idx_broken_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8).reshape(10, 10)))
    with pytest.raises(DatasetError, match="corrupt or truncated gzip"):
        read_idx(write(tmp_path / "cut.gz", packed[:-12]))
    flipped = bytearray(packed)
    flipped[len(packed) // 2] ^= 0xFF
    with pytest.raises(DatasetError, match="corrupt or truncated gzip"):
        read_idx(write(tmp_path / "flip.gz", bytes(flipped)))


def write_mnist(folder, n_train=6, n_test=4, compress=True):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write(folder / f"{split}-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
        write(folder / f"{split}-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist(tmp_path, compress):
    write_mnist(tmp_path, compress=compress)
    (X_train, y_train), (X_test, y_test) = load_mnist(tmp_path)
    assert X_train.shape == (6, 784) and X_test.shape == (4, 784)
    assert X_train.dtype == np.float32 and X_train.min() >= 0 and X_train.max() <= 1
    assert y_train.dtype == np.int64 and y_test.shape == (4,)
    (images, _), _ = load_mnist(tmp_path, normalize=False, flatten=False, dtype=np.uint8)
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8
    np.testing.assert_allclose(X_train, images.reshape(6, -1) / 255, rtol=1e-6)


def test_load_mnist_missing_and_mismatched_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, compress=False)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(3, dtype=np.uint8)))
    with pytest.raises(DatasetError, match="expected 4 labels"):
        load_mnist(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.full(4, 11, dtype=np.uint8)))
    with pytest.raises(DatasetError, match="labels must be digits 0-9, found 11"):
        load_mnist(tmp_path)


def test_sklearn_data_sets():
    pytest.importorskip("sklearn")
    (X_train, y_train), (X_test, y_test) = nn.datasets.load_digits(test_size=0.25, seed=0)
    assert X_train.shape[1] == 64 and len(X_train) + len(X_test) == 1797
    assert X_train.dtype == np.float32 and X_train.max() <= 1 and y_train.dtype == np.int64
    assert set(np.unique(y_test)) == set(range(10))
    X, y = nn.datasets.make_classification(n_samples=50, random_state=1, n_features=6)
    assert X.shape == (50, 6) and X.dtype == np.float32 and set(np.unique(y)) == {0, 1}

"""Data sets: scikit-learn's bundled digits and ``make_classification`` (the optional
``datasets`` extra), and a reader of MNIST's IDX files from a local folder.  Nothing here
downloads anything.
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

__all__ = ["DatasetError", "read_idx", "load_mnist", "load_digits", "make_classification"]

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


class DatasetError(ValueError):
    """A data file is corrupt, truncated or not of the expected format."""


def _read_bytes(path):
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: corrupt or truncated gzip file ({error}); delete it and "
                           "download it again") from None


def read_idx(path):
    """Read one IDX file (raw or gzip-compressed) into an ndarray of its stored shape.

    MNIST images come back as uint8 (N, 28, 28), labels as uint8 (N,).  A file whose header or
    length does not add up raises ``DatasetError`` saying what is wrong.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DatasetError(f"{path}: {len(raw)} bytes is too short for an IDX header (file "
                           "truncated?)")
    zero1, zero2, code, ndim = raw[:4]
    if zero1 or zero2:
        raise DatasetError(f"{path}: not an IDX file (magic number {raw[:4].hex()}; an IDX "
                           "file starts with two zero bytes)")
    if code not in IDX_DTYPES:
        raise DatasetError(f"{path}: unknown IDX data type code 0x{code:02x}; known: "
                           + ", ".join(f"0x{c:02x}" for c in IDX_DTYPES))
    if ndim == 0:
        raise DatasetError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header: {ndim} dimensions need {header} "
                           f"bytes, the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {what}: header says shape {shape} of {dtype.name} "
                           f"({expected} bytes of data), the file holds {actual}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(folder, stems):
    for stem in stems:
        for name in (stem, stem + ".gz"):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return path
    raise FileNotFoundError(
        f"no {stems[0]}[.gz] in {folder!r}; put MNIST's four IDX files there (train-images-"
        "idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, "
        "raw or .gz)")


def _load_split(folder, split):
    images_path = _find(folder, [f"{split}-images-idx3-ubyte", f"{split}-images.idx3-ubyte"])
    labels_path = _find(folder, [f"{split}-labels-idx1-ubyte", f"{split}-labels.idx1-ubyte"])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DatasetError(f"{images_path}: expected images of shape (N, rows, cols), got "
                           f"{images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DatasetError(f"{labels_path}: expected {len(images)} labels for the images in "
                           f"{images_path}, got shape {labels.shape}")
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{labels_path}: labels must be digits 0-9, found {labels.max()}")
    return images, labels


def load_mnist(folder, normalize=True, flatten=True, dtype=np.float32):
    """MNIST from the IDX files in ``folder``: ((X_train, y_train), (X_test, y_test)).

    X: (N, 784) when flatten else (N, 28, 28), scaled to [0, 1] when normalize, of ``dtype``;
    y: int64 (N,).  Missing files raise FileNotFoundError naming them; corrupt or truncated ones
    ``DatasetError``.
    """
    folder = os.fspath(folder)
    out = []
    for split in ("train", "t10k"):
        images, labels = _load_split(folder, split)
        X = images.reshape(len(images), -1) if flatten else images
        X = X.astype(dtype)
        if normalize:
            X /= 255
        out.append((X, labels.astype(np.int64)))
    return tuple(out)


def _sklearn_datasets():
    try:
        import sklearn.datasets
        import sklearn.model_selection
    except ImportError:
        raise ImportError("this data set comes from scikit-learn, which is not installed: "
                          "pip install 'dagrad[datasets]' (or scikit-learn)") from None
    return sklearn.datasets, sklearn.model_selection


def load_digits(test_size=0.2, seed=0, normalize=True, dtype=np.float32):
    """scikit-learn's bundled 8x8 digits (1797 images, ships with the package, no download).

    Returns ((X_train, y_train), (X_test, y_test)), split stratified by class with ``seed``;
    X: (N, 64) of ``dtype``, pixel values 0-16 scaled to [0, 1] when normalize; y: int64 (N,).
    """
    datasets, model_selection = _sklearn_datasets()
    X, y = datasets.load_digits(return_X_y=True)
    X = X.astype(dtype)
    if normalize:
        X /= 16
    X_train, X_test, y_train, y_test = model_selection.train_test_split(
        X, y.astype(np.int64), test_size=test_size, random_state=seed, stratify=y)
    return (X_train, y_train), (X_test, y_test)


def make_classification(n_samples=100, random_state=None, dtype=np.float32, **kwargs):
    """scikit-learn's ``make_classification`` with X cast to ``dtype``: returns (X, y).

    X: (n_samples, n_features), y: int64 (n_samples,); other keyword arguments are passed on.
    """
    datasets, _ = _sklearn_datasets()
    X, y = datasets.make_classification(n_samples=n_samples, random_state=random_state,
                                        **kwargs)
    return X.astype(dtype), y.astype(np.int64)

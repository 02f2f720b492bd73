"""Checkpoints: a model's state dict as an ``.npz`` archive, written atomically, read safely.

``save`` writes to a temporary file in the target's folder, flushes it to disk and renames it
over the target with ``os.replace``, so an interrupted save leaves the old checkpoint (or
none), never a half-written one.  Next to the arrays it stores a SHA-256 digest of every key,
dtype, shape and byte, which ``load`` checks: a tampered or truncated file raises
``CheckpointError`` instead of loading wrong weights.  ``load`` reads with ``allow_pickle=False``,
so a checkpoint can never run code.
"""

import hashlib
import os
import tempfile

import numpy as np

from autograd import Tensor

from .module import Module

__all__ = ["save", "load", "CheckpointError"]

DIGEST_KEY = "__sha256__"


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, truncated, tampered with or not a dagrad checkpoint."""


def _digest(arrays):
    h = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        h.update(f"{key}\0{array.dtype.str}\0{array.shape}\0".encode())
        h.update(array.tobytes())
    return h.hexdigest()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(model_or_state_dict, path):
    """Write a Module's ``state_dict()`` (or a dict name -> array) to ``path`` as .npz.

    The file is written exactly at ``path`` (no extension added).  Returns ``path``.
    """
    state = model_or_state_dict
    if isinstance(state, Module):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a Module or a dict of arrays, got {type(state).__name__}")
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str) or key == DIGEST_KEY:
            raise ValueError(f"save: invalid key {key!r}")
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"save: {key!r} has dtype {array.dtype}; only numeric arrays are "
                            "saved")
        arrays[key] = array
    arrays[DIGEST_KEY] = np.array(_digest(arrays))
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it a normal file's mode
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load(path, model=None, strict=True):
    """Read a checkpoint written by ``save``: returns the state dict (name -> ndarray).

    With ``model``, also loads it into the model (``model.load_state_dict(state, strict)``,
    which lists missing/unexpected keys and shape mismatches) and returns the model.
    Raises FileNotFoundError for a missing file and ``CheckpointError`` for a corrupt,
    truncated or tampered one.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # any failure to parse the file means it is not a valid one
        raise CheckpointError(f"{path}: not a readable .npz checkpoint (truncated, corrupt or "
                              f"tampered with): {type(error).__name__}: {error}") from None
    stored = arrays.pop(DIGEST_KEY, None)
    if stored is None:
        raise CheckpointError(f"{path}: no {DIGEST_KEY} entry; not written by nn.save (or the "
                              "entry was removed)")
    if str(stored) != _digest(arrays):
        raise CheckpointError(f"{path}: contents do not match the stored SHA-256 digest; the "
                              "file was modified after it was saved")
    if model is not None:
        model.load_state_dict(arrays, strict=strict)
        return model
    return arrays

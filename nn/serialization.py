"""Checkpoints: a model's or an optimizer's state as an ``.npz`` archive, written atomically,
read safely.

``save`` writes each array as a ``.npy`` member of a zip archive (the ``.npz`` layout) into a
temporary file in the target's folder, flushes it to disk and renames it over the target with
``os.replace``, so an interrupted save leaves the old checkpoint (or none), never a half-written
one.  A path that is a symbolic link is followed: the file it points to is replaced (atomically)
and the link stays.  A device, FIFO or other non-regular file is never replaced.  The temporary
file's name carries the target's name and the writing process's id, so the next save to that
path removes what a killed save left behind (and only that).  Any string is a valid key
(``np.savez``'s own argument names, ``file`` or ``allow_pickle``, included), except two that
would collide in the archive ("a" and "a.npy").  Next to the arrays it stores a SHA-256 checksum of every key,
dtype, shape and byte, which ``load`` verifies: a corrupted or truncated file, or one modified
by a tool that did not update the checksum, raises ``CheckpointError`` instead of loading wrong
weights.  The checksum lives in the file itself, so it detects accidents, not deliberate
tampering: anyone who can write the file can also write a matching checksum.  ``load`` reads
with ``allow_pickle=False``, so a checkpoint can never run code.

An optimizer's ``state_dict()`` (nested: per-parameter state and parameter groups) is stored
flat: each state array as ``state.<index>.<name>``, and the parameter groups and the scalar
state (such as ``step``) as JSON text under ``__optimizer__``; ``load`` rebuilds the nested dict
that ``Optimizer.load_state_dict`` takes.
"""

import contextlib
import glob
import hashlib
import json
import os
import stat
import tempfile
import zipfile

import numpy as np

from autograd import Tensor

from .module import Module
from .optim import Optimizer
from .utils import as_array

__all__ = ["save", "load", "CheckpointError"]

DIGEST_KEY = "__sha256__"
OPTIMIZER_KEY = "__optimizer__"
_RESERVED = (DIGEST_KEY, OPTIMIZER_KEY)


class CheckpointError(ValueError):
    """A checkpoint file is corrupted, truncated, modified or not a dagrad checkpoint."""


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


def _numeric(key, value):
    array = as_array(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"save: {key!r} has dtype {array.dtype}; only numeric arrays are saved")
    return array


def _is_optimizer_state(state):
    return isinstance(state.get("state"), dict) and isinstance(state.get("param_groups"), list)


def _json_number(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _flatten_optimizer_state(state):
    """Optimizer.state_dict() -> flat arrays plus one JSON text entry (groups, scalars)."""
    arrays, scalars = {}, {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            if isinstance(value, (np.ndarray, Tensor)):
                arrays[f"state.{int(index)}.{name}"] = _numeric(name, value)
            elif isinstance(value, (bool, int, float, np.number)):
                scalars.setdefault(str(int(index)), {})[name] = np.asarray(value).item()
            else:
                raise TypeError(f"save: optimizer state {name!r} of parameter {index} is a "
                                f"{type(value).__name__}; only arrays and numbers are saved")
    meta = {"param_groups": state["param_groups"], "scalars": scalars}
    try:
        text = json.dumps(meta, default=_json_number)
    except TypeError as error:
        raise TypeError(f"save: optimizer parameter groups must hold numbers, bools, strings "
                        f"and lists: {error}") from None
    arrays[OPTIMIZER_KEY] = np.array(text)
    return arrays


def _unflatten_optimizer_state(arrays, path):
    try:
        meta = json.loads(str(arrays.pop(OPTIMIZER_KEY)))
        groups, scalars = meta["param_groups"], meta["scalars"]
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: unreadable optimizer metadata: {error}") from None
    state = {int(index): dict(values) for index, values in scalars.items()}
    for key, array in arrays.items():
        prefix, index, name = key.split(".", 2) if key.count(".") >= 2 else (key, "", "")
        if prefix != "state" or not index.isdigit():
            raise CheckpointError(f"{path}: unexpected entry {key!r} in an optimizer checkpoint")
        state.setdefault(int(index), {})[name] = array
    # JSON has no tuples: options given as tuples (Adam's betas) come back as lists
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v)
               for k, v in group.items()} for group in groups]
    return {"state": dict(sorted(state.items())), "param_groups": groups}


def _write_npz(file, arrays):
    """What np.savez writes, without its keyword arguments (so no key can clash with them)."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _check_target(path):
    """The file to replace (a symlink's target) and its folder; clear errors naming the
    user's path (not the temporary file) before writing."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path!r} is a directory; give a file path, e.g. "
                                f"{os.path.join(path, 'model.npz')!r}")
    target = os.path.realpath(path)
    if os.path.exists(target) and not stat.S_ISREG(os.stat(target).st_mode):
        raise ValueError(f"save: {path!r} is not a regular file (a device, FIFO or socket); "
                         "refusing to replace it; give the path of a file")
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} of {path!r} does not exist "
                                "(create it first, e.g. os.makedirs(folder, exist_ok=True))")
    return target, folder


def _temp_prefix(target, pid):
    """``.model.npz.<pid>.tmp-``: which file a temporary belongs to and who writes it."""
    return f".{os.path.basename(target)}.{pid}.tmp-"


def _remove_stale_temporaries(target, folder):
    """Delete temporary files that earlier saves to ``target`` left when their process died."""
    head = f".{os.path.basename(target)}."
    for leftover in glob.glob(os.path.join(glob.escape(folder), glob.escape(head) + "*.tmp-*")):
        pid = os.path.basename(leftover)[len(head):].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.remove(leftover)


def _alive(pid):
    if pid == os.getpid():
        return False  # this process is not saving to this path right now (saves are sequential)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _check_keys(keys):
    """np.load strips ".npy" from member names: keys "a" and "a.npy" would read back mixed up."""
    clashes = sorted(key for key in keys if key.endswith(".npy") and key[:-4] in keys)
    if clashes:
        pairs = ", ".join(f"{key[:-4]!r} and {key!r}" for key in clashes)
        raise ValueError(f"save: keys {pairs} collide in the .npz format (NumPy reads a member "
                         "'a.npy' back as 'a'); rename one of them")


def save(model_or_state_dict, path):
    """Write a Module's ``state_dict()``, an Optimizer's ``state_dict()`` (or the Module or
    Optimizer itself), or a dict name -> numeric array, to ``path`` as .npz.

    The file is written exactly at ``path`` (no extension added; through a symlink, at its
    target), atomically.  Keys that would collide in the archive ("a" and "a.npy") are refused.
    Returns ``path``.
    """
    state = model_or_state_dict
    if isinstance(state, (Module, Optimizer)):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a Module or a dict of arrays (a model's or an "
                        f"optimizer's state_dict), got {type(state).__name__}")
    if _is_optimizer_state(state):
        arrays = _flatten_optimizer_state(state)
    else:
        arrays = {}
        for key, value in state.items():
            if not isinstance(key, str) or key in _RESERVED:
                raise ValueError(f"save: invalid key {key!r} (keys are strings other than "
                                 f"{', '.join(_RESERVED)})")
            arrays[key] = _numeric(key, value)
    _check_keys(arrays)
    arrays[DIGEST_KEY] = np.array(_digest(arrays))
    path = os.fspath(path)
    target, folder = _check_target(path)
    _remove_stale_temporaries(target, folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target, os.getpid()), suffix=".npz",
                                   dir=folder)
    except OSError as error:
        raise OSError(error.errno, f"save: cannot write a checkpoint in {folder!r}: "
                      f"{error.strerror}", path) from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it a normal file's mode
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, target)
        except OSError as error:
            raise OSError(error.errno, f"save: cannot write {path!r}: {error.strerror}",
                          path) from None
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load(path, model=None, strict=True):
    """Read a checkpoint written by ``save``: returns the state dict.

    For a model's checkpoint: name -> ndarray; with ``model``, also loads it into the model
    (``model.load_state_dict(state, strict)``, which lists missing/unexpected keys and shape
    mismatches) and returns the model.  For an optimizer's checkpoint: the nested dict to pass
    to ``optimizer.load_state_dict``.  Raises FileNotFoundError for a missing file and
    ``CheckpointError`` for a corrupted, truncated or modified one (checksum mismatch).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # any failure to parse the file means it is not a valid one
        raise CheckpointError(f"{path}: not a readable .npz checkpoint (truncated, corrupted or "
                              f"modified): {type(error).__name__}: {error}") from None
    stored = arrays.pop(DIGEST_KEY, None)
    if stored is None:
        raise CheckpointError(f"{path}: no {DIGEST_KEY} entry; not written by nn.save (or the "
                              "entry was removed)")
    if str(stored) != _digest(arrays):
        raise CheckpointError(f"{path}: contents do not match the stored SHA-256 checksum; the "
                              "file was corrupted or modified after it was saved")
    if OPTIMIZER_KEY in arrays:
        state = _unflatten_optimizer_state(arrays, path)
        if model is not None:
            raise ValueError(f"{path} holds an optimizer's state, not a model's; load it with "
                             "optimizer.load_state_dict(nn.load(path))")
        return state
    if model is not None:
        model.load_state_dict(arrays, strict=strict)
        return model
    return arrays

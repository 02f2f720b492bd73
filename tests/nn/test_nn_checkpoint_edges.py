"""Checkpoint edges: saving through a symlink, onto a non-regular file, after a killed save,
and with keys that would collide in the archive."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import nn


def test_save_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    nn.save({"w": np.ones(2)}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(os.path.join("real", "model.npz"))       # a relative link
    nn.save({"w": np.arange(3.0)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(nn.load(target)["w"], np.arange(3.0))
    np.testing.assert_array_equal(nn.load(link)["w"], np.arange(3.0))
    assert sorted(os.listdir(tmp_path / "real")) == ["model.npz"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path):
    link = tmp_path / "ckpt.npz"
    link.symlink_to(tmp_path / "new.npz")
    nn.save({"w": np.ones(1)}, link)
    assert link.is_symlink() and (tmp_path / "new.npz").is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_non_regular_files_are_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="pipe.* is not a regular file"):
        nn.save({"w": np.ones(1)}, fifo)
    assert not fifo.is_file() and fifo.exists()
    if os.path.exists("/dev/null"):
        with pytest.raises(ValueError, match="'/dev/null' is not a regular file"):
            nn.save({"w": np.ones(1)}, "/dev/null")
        assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    link = tmp_path / "to_pipe"
    link.symlink_to(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        nn.save({"w": np.ones(1)}, link)


KILLED_SAVE = """
import sys, time
import numpy as np
import nn

def slow(file, array, **kwargs):
    file.write(b"partial")
    file.flush()
    print("writing", flush=True)
    time.sleep(60)

np.lib.format.write_array = slow
nn.save({"w": np.ones(3)}, sys.argv[1])
"""


def test_the_next_save_cleans_up_after_a_killed_one(tmp_path):
    path = tmp_path / "model.npz"
    child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)],
                             stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(nn.__file__)))
    try:
        assert child.stdout.readline().strip() == "writing"
        leftovers = [name for name in os.listdir(tmp_path) if name != "model.npz"]
        assert len(leftovers) == 1 and leftovers[0].startswith(".model.npz.")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert os.listdir(tmp_path) == leftovers                  # a killed save leaves its file
    other = tmp_path / f".other.npz.{child.pid}.tmp-x.npz"    # another target's: not ours to clean
    other.write_bytes(b"")
    alive = tmp_path / f".model.npz.{os.getppid()}.tmp-y.npz"  # a live process's: in progress
    alive.write_bytes(b"")
    nn.save({"w": np.zeros(3)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["model.npz", other.name, alive.name])
    np.testing.assert_array_equal(nn.load(path)["w"], np.zeros(3))


def test_keys_that_collide_in_the_archive_are_refused_at_save(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(ValueError, match=r"keys 'a' and 'a.npy' collide"):
        nn.save({"a": np.ones(1), "a.npy": np.zeros(1)}, path)
    assert not path.exists()
    nn.save({"a.npy": np.zeros(1), "b": np.ones(1)}, path)   # alone, a ".npy" key is fine
    assert sorted(nn.load(path)) == ["a.npy", "b"]

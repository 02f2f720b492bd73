"""versions.mark_changed_many (one stamp for an optimizer step's in-place changes): seen as
mark_changed's stamps are, through views, by changed_since and by backward."""
import numpy as np
import pytest

from autograd import Tensor, versions


def test_one_stamp_marks_every_tensor_through_its_owner():
    a, c = Tensor(np.ones(3), requires_grad=True), Tensor(np.arange(6.0))
    b = c.detach().reshape(2, 3)[1:]  # a view of c's memory: stamped on its owner
    assert b.data.base is not None
    before = versions.next_stamp()
    assert not versions.changed_since(a, before) and not versions.changed_since(c, before)
    versions.mark_changed_many([a, b])
    assert versions.changed_since(a, before) and versions.changed_since(c, before)
    assert versions.last_change() > before
    assert not versions.changed_since(a, versions.next_stamp())


def test_a_value_saved_before_the_batch_stamp_refuses_backward():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    w.data[...] -= 1.0  # (an in-place change, as an optimizer step writes it)
    versions.mark_changed_many([w])
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()

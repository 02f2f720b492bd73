"""The optimizer step unrolled into a compiled replay (autograd.compile_optim.Emitter): bit for bit eager's."""
import numpy as np
import pytest

import nn
from autograd import Tensor
from autograd.compile import compile


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _twins(seed=0, shapes=((3, 2), (2,)), extra=()):
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=s) for s in (*shapes, *extra)]
    return [[Tensor(v.copy(), requires_grad=True) for v in values] for _ in range(2)]


def _step(params):
    def step(x):
        w, b = params[:2]
        loss = ((Tensor(x) @ w + b).sigmoid() ** 2).sum() * 0.5
        loss.backward()
        return loss
    return step


def _check(eager_params, compiled_params, eager_opt, compiled_opt, compiled, x):
    eager_opt.zero_grad()
    loss = _step(eager_params)(x)
    eager_opt.step()
    assert _same(loss.data, compiled(x).data)
    for pe, pc in zip(eager_params, compiled_params):
        assert _same(pe.data, pc.data)
        assert (pe.grad is None and pc.grad is None) or _same(pe.grad, pc.grad)


def test_unrolled_sgd_follows_option_changes_and_a_switch_to_momentum():
    (pe, pc) = _twins()
    oe, oc = nn.SGD(pe, lr=0.1), nn.SGD(pc, lr=0.1)
    compiled = compile(_step(pc), optimizer=oc)
    rng = np.random.default_rng(1)
    for call in range(10):
        if call == 4:
            oe.lr = oc.lr = 0.05
        if call == 6:  # no longer plain SGD: the replay written for lr * grad is generated again
            oe.momentum = oc.momentum = 0.9
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
    assert compiled.cache_info()["recordings"] == 4  # two, then two after the switch
    assert "_update(" in compiled.sources[0]


def test_an_optimizer_with_a_parameter_the_step_does_not_reach_and_a_group_added_later():
    (pe, pc) = _twins(extra=((2,),))  # the third parameter gets no gradient: left alone, .grad None
    oe, oc = nn.Adam(pe[:2], lr=1e-2), nn.Adam(pc[:2], lr=1e-2)
    compiled = compile(_step(pc), optimizer=oc)
    rng = np.random.default_rng(2)
    for call in range(9):
        if call == 5:  # a new group: the replay's checks see the groups changed, and it records again
            oe.param_groups.append({**oe.param_groups[0], "params": [pe[2]]})
            oc.param_groups.append({**oc.param_groups[0], "params": [pc[2]]})
            oe.state.append([{}])
            oc.state.append([{}])
            pe[2].grad = np.ones(2)
            pc[2].grad = np.ones(2)  # zero_grad() clears it in both
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
    assert compiled.cache_info()["recordings"] == 4


def test_read_only_or_view_parameter_data_is_updated_as_eager_mode_does():
    (pe, pc) = _twins(seed=3)
    oe, oc = nn.SGD(pe, lr=0.1), nn.SGD(pc, lr=0.1)
    compiled = compile(_step(pc), optimizer=oc)
    rng = np.random.default_rng(4)
    for call in range(10):
        if call == 4:  # read-only: Tensor's -= gives the parameter a new array
            for p in (pe[0], pc[0]):
                p.data.flags.writeable = False
        if call == 7:  # a view of a bigger array: never written through
            held = [np.zeros((2, 3, 2)) for _ in range(2)]
            for h, p in zip(held, (pe[0], pc[0])):
                h[1] = p.data
                p.data = h[1]
            before = held[1].copy()
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
        if call == 4:
            assert pc[0].data.flags.writeable  # (a new array, as eager mode gives)
    assert _same(held[0], before) and _same(held[1], before)
    assert "except Exception" in compiled.sources[0]


def test_a_parameter_passed_as_an_input_is_updated_by_the_generic_step():
    (pe, pc) = _twins(seed=5)
    oe, oc = nn.SGD(pe, lr=0.1), nn.SGD(pc, lr=0.1)

    def step(x, w):
        loss = ((Tensor(x) @ w + pc[1]).sigmoid() ** 2).sum() * 0.5
        loss.backward()
        return loss

    compiled = compile(step, optimizer=oc)
    rng = np.random.default_rng(6)
    for _ in range(6):
        x = rng.normal(size=(4, 3))
        oe.zero_grad()
        loss = _step(pe)(x)
        oe.step()
        assert _same(loss.data, compiled(x, pc[0]).data)
        for a, b in zip(pe, pc):
            assert _same(a.data, b.data) and _same(a.grad, b.grad)
    assert "_ostep(" in compiled.sources[0]


@pytest.mark.parametrize("make", [lambda p: nn.RMSprop(p, lr=1e-2, momentum=0.5), lambda p: nn.AdamW(p)])
def test_unrolled_updates_of_other_optimizers(make):
    (pe, pc) = _twins(seed=7)
    oe, oc = make(pe), make(pc)
    compiled = compile(_step(pc), optimizer=oc)
    rng = np.random.default_rng(8)
    for _ in range(7):
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
    state = oc.state_dict()
    oc.load_state_dict(state)  # new state dicts: the replay reads them at each call
    oe.load_state_dict(oe.state_dict())
    for _ in range(2):
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
    # each step subtracted in place as the plain SGD step is, the parameters stamped once
    assert compiled.sources[0].count(", _u, out=") == 2 and "_mark_many(" in compiled.sources[0]


def test_read_only_parameter_data_under_an_unrolled_adam_is_updated_as_eager_mode_does():
    (pe, pc) = _twins(seed=9)
    oe, oc = nn.Adam(pe, lr=0.05), nn.Adam(pc, lr=0.05)
    compiled = compile(_step(pc), optimizer=oc)
    rng = np.random.default_rng(10)
    for call in range(8):
        if call == 4:  # read-only: Tensor's -= gives the parameter a new array
            for p in (pe[1], pc[1]):
                p.data.flags.writeable = False
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
    assert pc[1].data.flags.writeable and ", _u, out=" in compiled.sources[0]


def test_an_update_that_raises_leaves_the_parameters_changed_before_it_stamped():
    (_, pc) = _twins(seed=11)
    oc = nn.Adam(pc, lr=0.05)
    compiled = compile(_step(pc), optimizer=oc)
    x = np.ones((4, 3))
    for _ in range(3):
        compiled(x)
    saved = (pc[0] * 1.0).sum()  # reads w, which the step updates in place before b
    before = pc[0].data.copy()
    oc.state[0][1]["exp_avg"] = np.zeros(5)  # b's state no longer fits: its update raises
    with pytest.raises(ValueError):
        compiled(x)
    assert not _same(pc[0].data, before)  # (w was updated, as eager mode would have)
    with pytest.raises(RuntimeError, match="changed in place"):
        saved.backward()


def test_parameters_updated_before_a_read_only_one_are_stamped_changed():
    (_, pc) = _twins(seed=7)
    compiled = compile(_step(pc), optimizer=nn.SGD(pc, lr=0.1))
    x = np.ones((4, 3))
    for _ in range(3):
        compiled(x)
    saved = (pc[0] * 1.0).sum()  # reads w, which the step updates in place (before b)
    pc[1].data.flags.writeable = False  # b: Tensor's -= gives it a new array instead
    compiled(x)
    assert pc[1].data.flags.writeable
    with pytest.raises(RuntimeError, match="changed in place"):
        saved.backward()


def test_a_parameter_replaced_in_the_optimizers_list_is_recorded_again():
    # the step reads the parameters through the list the closure holds (params), the optimizer through its groups:
    # replacing one object in both is another tensor, which the replay must not update in the old one's place
    (pe, pc) = _twins(seed=4)
    oe, oc = nn.Adam(pe, lr=1e-2), nn.Adam(pc, lr=1e-2)
    compiled = compile(_step(pc), optimizer=oc)
    rng = np.random.default_rng(5)
    for call in range(8):
        if call == 4:
            for params, opt in ((pe, oe), (pc, oc)):
                params[0] = Tensor(params[0].data * 0.5, requires_grad=True)
                opt.param_groups[0]["params"][0] = params[0]
                opt.state[0][0] = {}
            compiled.reset()  # the step's own closure read params[0]: Python state, reset after changing it
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
    assert compiled.cache_info()["recordings"] == 4  # two, and two after the reset


def test_a_replaced_parameter_only_in_the_optimizer_is_not_updated_through_the_old_code():
    # without reset(): the optimizer's list changed under an unchanged step, so its guard records again
    (pe, pc) = _twins(seed=6)
    oe, oc = nn.SGD(pe, lr=0.1), nn.SGD(pc, lr=0.1)
    compiled = compile(_step(pc), optimizer=oc)
    rng = np.random.default_rng(7)
    for call in range(7):
        if call == 4:
            extra_e, extra_c = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
            oe.param_groups[0]["params"][1], oc.param_groups[0]["params"][1] = extra_e, extra_c
        _check(pe, pc, oe, oc, compiled, rng.normal(size=(4, 3)))
    assert compiled.cache_info()["recordings"] == 4

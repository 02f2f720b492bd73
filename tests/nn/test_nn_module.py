"""Module semantics: discovery order, dotted names, state dicts, modes, dropout, dtype."""

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor


class Block(nn.Module):
    def __init__(self):
        self.scale = nn.Parameter(np.ones(2))
        self.inner = nn.Linear(2, 2)
        self.heads = [nn.Linear(2, 1), nn.Linear(2, 1)]
        self.extra = {"gate": nn.Linear(2, 2)}
        self.offset = nn.Parameter(np.zeros(2))

    def forward(self, x):
        return self.inner(x * self.scale) + self.offset


def test_named_parameters_in_registration_order_with_dotted_paths():
    names = [name for name, _ in Block().named_parameters()]
    assert names == ["scale", "inner.weight", "inner.bias", "heads.0.weight", "heads.0.bias",
                     "heads.1.weight", "heads.1.bias", "extra.gate.weight", "extra.gate.bias",
                     "offset"]


def test_fresh_model_parameters_carry_their_paths_as_names():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    assert [p.name for p in model.parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]

    class Net(nn.Module):
        def __init__(self):
            self.encoder = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2))
            self.head = Block()

    net = Net()
    assert net.encoder[2].bias.name == "encoder.2.bias"
    assert net.head.heads[1].weight.name == "head.heads.1.weight"
    # attaching later to an already attached module names from the root
    net.encoder.append(nn.Linear(2, 5))
    assert net.encoder[3].weight.name == "encoder.3.weight"
    assert [n for n, _ in net.named_parameters()] == [p.name for p in net.parameters()]


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.modules())) == 3   # the Sequential, the shared Linear, the ReLU
    assert len(model) == 3


def test_children_modules_and_sequential_indexing():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    assert [type(m).__name__ for m in model.children()] == ["Linear", "Sigmoid", "Linear"]
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "2"]
    assert isinstance(model[-1], nn.Linear) and model[-1] is list(model)[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[1] is model[2]
    assert head[1].weight.name == "2.weight"     # a slice does not rename the shared layers
    x = np.ones((1, 3))
    np.testing.assert_array_equal(head(x).data, model[2](model[1](x)).data)
    with pytest.raises(TypeError, match="Sequential takes Modules, got function at position 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_forward_runs_in_a_name_scope_of_the_module_path():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            with autograd.name_scope("probe") as scope:
                seen.append(scope)
            return x

    model = nn.Sequential(nn.Linear(2, 2), Probe())
    model(np.ones((1, 2)))
    assert seen == [("Sequential", "1", "probe")]


def test_repr_shows_structure():
    model = nn.Sequential(nn.Dense(4, 8, activation="relu"), nn.Dropout(0.2),
                          nn.Sequential(nn.Linear(8, 2, bias=False), nn.Softmax()))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Dense(in_features=4, out_features=8, bias=True, activation='relu')\n"
        "  (1): Dropout(p=0.2)\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=8, out_features=2, bias=False)\n"
        "    (1): Softmax(axis=-1)\n"
        "  )\n"
        ")")


def test_state_dict_round_trip_and_copies():
    nn.manual_seed(0)
    a = Block()
    nn.manual_seed(1)
    b = Block()
    state = a.state_dict()
    assert list(state) == [n for n, _ in a.named_parameters()]
    state["scale"][...] = 5.0        # a copy: the model is unchanged
    assert np.all(a.scale.data == 1.0)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_strict_load_lists_every_problem_and_changes_nothing():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1))
    before = model.state_dict()
    state = model.state_dict()
    del state["1.bias"]
    state["2.weight"] = np.zeros(3)
    state["0.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing keys: 1.bias" in message
    assert "unexpected keys: 2.weight" in message
    assert "shape mismatch for 0.weight: checkpoint has (3, 4), model has (4, 3)" in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_load_reports_skipped_keys_but_still_checks_shapes():
    model = nn.Sequential(nn.Linear(2, 2))
    result = model.load_state_dict({"0.weight": np.eye(2), "junk": np.ones(1)}, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(model[0].weight.data, np.eye(2))
    with pytest.raises(ValueError, match="shape mismatch for 0.bias"):
        model.load_state_dict({"0.bias": np.ones(3)}, strict=False)


def test_load_casts_to_the_parameter_dtype():
    model = nn.Linear(2, 2)                         # float32
    model.load_state_dict({"weight": np.full((2, 2), 0.1), "bias": Tensor([1.0, 2.0])})
    assert model.weight.dtype == np.float32
    np.testing.assert_allclose(model.weight.data, 0.1, rtol=1e-7)


def test_train_eval_flags_and_zero_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert model.training and model[1].training
    assert model.eval() is model
    assert not model.training and not model[1].training
    model.train()
    assert model[1].training
    model(np.ones((3, 2))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_dropout_is_inverted_and_identity_in_eval():
    drop = nn.Dropout(0.25, generator=0)
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, kept / 0.75)       # the gradient uses the same mask
    assert not np.array_equal(drop(x).data, y.data)          # a new mask each call
    drop.eval()
    assert drop(x) is x
    assert np.all(nn.Dropout(1.0)(x).data == 0)
    assert nn.Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match=r"\[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_dropout_follows_manual_seed():
    x = np.ones((4, 6))
    nn.manual_seed(3)
    a = nn.Dropout(0.5)(x).data
    nn.manual_seed(3)
    b = nn.Dropout(0.5)(x).data
    np.testing.assert_array_equal(a, b)


def test_to_converts_parameters_and_grads_in_place():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    model(np.ones((1, 3), dtype=np.float32)).sum().backward()
    params = list(model.parameters())
    assert model.to(np.float64) is model
    for before, p in zip(params, model.parameters()):
        assert before is p and p.dtype == np.float64 and p.grad.dtype == np.float64
    model.zero_grad()
    out = model(np.ones((1, 3), dtype=np.float32))
    out.sum().backward()
    assert out.dtype == np.float64 and all(p.grad.dtype == np.float64 for p in params)
    with pytest.raises(TypeError, match="float dtype"):
        model.to(np.int32)


def test_activation_modules():
    x = np.array([[-2.0, 0.5, 3.0]])
    np.testing.assert_allclose(nn.ReLU()(x).data, [[0, 0.5, 3]])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x))
    s = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(nn.Softmax()(x).data, s)
    np.testing.assert_allclose(nn.LogSoftmax(axis=1)(x).data, np.log(s))
    np.testing.assert_allclose(nn.Softmax(axis=0)(x).data, np.ones_like(x))


def test_forward_must_be_defined():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        Empty()(1.0)


def test_parameter_copies_and_requires_grad():
    data = np.arange(3)
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and p.dtype == np.float64
    p.data[0] = 10
    assert data[0] == 0
    assert nn.Parameter(np.ones(2, dtype=np.float32)).dtype == np.float32


def test_load_state_dict_makes_an_older_graph_refuse_backward():
    """Loading writes through the Parameter, so the engine sees the change (as in torch)."""
    model = nn.Linear(2, 1, dtype=np.float64)
    out = model(np.ones((1, 2))).sum()
    model.load_state_dict({k: v * 0 + 7 for k, v in model.state_dict().items()})
    with pytest.raises(RuntimeError, match="changed in place"):
        out.backward()
    np.testing.assert_array_equal(model.weight.data, 7.0)


def test_load_refuses_values_that_overflow_the_parameter_dtype():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))      # float32
    before = model.state_dict()
    state = {k: v.astype(np.float64) for k, v in before.items()}
    state["0.weight"][0, 0] = 1e300
    state["1.bias"][0] = -1e39
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "0.weight: float64 values up to 1e+300 overflow the parameter's float32" in message
    assert "1.bias: float64 values up to 1e+39 overflow" in message
    assert "0.bias" not in message and "1.weight" not in message
    for key, value in model.state_dict().items():             # nothing was changed
        np.testing.assert_array_equal(value, before[key])
    state = {k: v.astype(np.float64) for k, v in before.items()}
    state["0.bias"][:] = [np.inf, -np.inf, np.nan]             # non-finite already: loaded as is
    model.load_state_dict(state)
    assert np.isnan(model[0].bias.data[2]) and model[0].bias.data[0] == np.inf


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_dropout_scales_integer_input_in_float(dtype):
    drop = nn.Dropout(0.3, generator=0)
    y = drop(np.ones((50, 40), dtype=dtype)).data
    assert y.dtype == np.float64
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.05
    assert nn.Dropout(1.0)(np.ones(3, dtype=dtype)).dtype == np.float64


def test_every_forward_and_extra_repr_has_a_docstring():
    import inspect

    import nn.layers
    import nn.losses
    import nn.module

    missing = []
    for module in (nn.layers, nn.module, nn.losses):
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and issubclass(cls, nn.Module)
                    and cls.__module__ == module.__name__):
                continue
            for method in ("forward", "extra_repr"):
                fn = vars(cls).get(method)
                if fn is not None and not (fn.__doc__ or "").strip():
                    missing.append(f"{cls.__name__}.{method}")
    assert missing == []

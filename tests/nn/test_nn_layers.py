"""Linear / Dense layers and the initialisers."""

import math

import numpy as np
import pytest

import nn
from autograd import Tensor


def test_linear_shapes_init_and_output():
    nn.manual_seed(0)
    layer = nn.Linear(30, 20)
    assert layer.weight.shape == (30, 20) and layer.bias.shape == (20,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    limit = math.sqrt(6 / 50)
    assert np.abs(layer.weight.data).max() <= limit
    assert np.abs(layer.weight.data).max() > 0.9 * limit      # uniform over the whole range
    assert np.all(layer.bias.data == 0)
    x = np.random.default_rng(0).normal(size=(5, 30)).astype(np.float32)
    layer.bias.data[...] = np.arange(20)
    y = layer(x)
    assert y.shape == (5, 20) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, x @ layer.weight.data + np.arange(20), rtol=1e-5)
    assert layer(x[0]).shape == (20,)                         # (in,) -> (out,)
    assert layer(np.ones((2, 3, 30), dtype=np.float32)).shape == (2, 3, 20)


def test_linear_gradients_have_the_parameter_dtype():
    layer = nn.Linear(3, 2)
    x = np.ones((4, 3))                                       # float64 input: NumPy promotion
    out = layer(x)
    assert out.dtype == np.float64
    out.sum().backward()
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    np.testing.assert_allclose(layer.weight.grad, np.full((3, 2), 4.0))
    np.testing.assert_allclose(layer.bias.grad, [4.0, 4.0])


def test_linear_float64_and_no_bias():
    layer = nn.Linear(2, 3, bias=False, dtype=np.float64)
    assert layer.bias is None and layer.weight.dtype == np.float64
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="float dtype"):
        nn.Linear(2, 3, dtype=np.int64)


def test_linear_errors_name_the_shapes():
    layer = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=2\) got input of "
                                         r"shape \(8, 3\): its last dimension must be 4"):
        layer(np.ones((8, 3)))
    with pytest.raises(ValueError, match="in_features must be a positive int, got 0"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="out_features must be a positive int, got 2.5"):
        nn.Linear(3, 2.5)


def test_same_seed_same_weights_across_dtypes():
    nn.manual_seed(5)
    a = nn.Linear(4, 3, dtype=np.float64)
    nn.manual_seed(5)
    b = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight.data.astype(np.float32), b.weight.data)
    c = nn.Linear(4, 3, generator=11)
    d = nn.Linear(4, 3, generator=np.random.default_rng(11))
    np.testing.assert_array_equal(c.weight.data, d.weight.data)


@pytest.mark.parametrize("activation, fn", [
    (None, lambda z: z), ("linear", lambda z: z), ("relu", lambda z: np.maximum(z, 0)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))), ("tanh", np.tanh),
    ("softmax", lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)),
    ("log_softmax", lambda z: z - np.log(np.exp(z).sum(axis=-1, keepdims=True))),
])
def test_dense_activations(activation, fn):
    layer = nn.Dense(3, 4, activation=activation, dtype=np.float64)
    x = np.random.default_rng(1).normal(size=(5, 3))
    z = x @ layer.weight.data + layer.bias.data
    np.testing.assert_allclose(layer(x).data, fn(z), rtol=1e-12)


def test_dense_with_callable_activation_and_errors():
    layer = nn.Dense(2, 2, activation=lambda t: t * 2)
    np.testing.assert_allclose(layer(np.ones((1, 2))).data,
                               2 * (np.ones((1, 2)) @ layer.weight.data))
    module_act = nn.Dense(2, 2, activation=nn.ReLU())
    assert [n for n, _ in module_act.named_parameters()] == ["weight", "bias"]
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.Dense(2, 2, activation="swish")


def test_init_functions_fill_in_place():
    t = Tensor(np.empty((200, 300), dtype=np.float32), requires_grad=True)
    data = t.data
    gen = np.random.default_rng(0)
    assert nn.init.zeros(t) is t and np.all(t.data == 0) and t.data is data
    nn.init.ones(t)
    assert np.all(t.data == 1)
    nn.init.constant(t, 0.5)
    assert np.all(t.data == 0.5)
    nn.init.uniform(t, -2, 3, generator=gen)
    assert t.data.min() >= -2 and t.data.max() <= 3 and abs(t.data.mean() - 0.5) < 0.05
    nn.init.normal(t, 1.0, 2.0, generator=gen)
    assert abs(t.data.mean() - 1) < 0.05 and abs(t.data.std() - 2) < 0.05
    nn.init.xavier_normal(t, generator=gen)
    assert abs(t.data.std() - math.sqrt(2 / 500)) < 0.002
    nn.init.kaiming_uniform(t, generator=gen)                 # bound sqrt(6 / fan_in)
    assert np.abs(t.data).max() <= math.sqrt(6 / 200)
    assert abs(t.data.std() - math.sqrt(2 / 200)) < 0.002
    nn.init.he_normal(t, mode="fan_out", nonlinearity="tanh", generator=gen)
    assert abs(t.data.std() - 5 / 3 / math.sqrt(300)) < 0.002
    nn.init.glorot_uniform(t, gain=2.0, generator=gen)
    assert np.abs(t.data).max() <= 2 * math.sqrt(6 / 500)
    assert t.dtype == np.float32 and t.data is data


def test_fans_and_gains():
    assert nn.init.fans((3, 5)) == (3, 5)
    assert nn.init.fans((7,)) == (7, 7)
    assert nn.init.fans((3, 3, 16, 32)) == (9 * 16, 9 * 32)
    with pytest.raises(ValueError, match="0-d"):
        nn.init.fans(())
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        nn.init.calculate_gain("gelu")


def test_manual_seed_and_generator_arguments():
    t = Tensor(np.empty(5))
    nn.manual_seed(9)
    first = nn.init.normal(t).data.copy()
    nn.manual_seed(9)
    np.testing.assert_array_equal(nn.init.normal(t).data, first)
    np.testing.assert_array_equal(nn.init.normal(t, generator=9).data,
                                  np.random.default_rng(9).normal(size=5))
    with pytest.raises(TypeError, match="generator must be"):
        nn.init.normal(t, generator="seed")


def test_initialisers_make_an_older_graph_refuse_backward():
    """init.* writes through the Tensor, so a graph that saved the old values notices."""
    w = nn.Parameter(np.ones(3))
    loss = (w * w).sum()
    nn.init.zeros(w)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_dtype", [np.int64, np.int8, np.uint8, bool])
def test_linear_casts_integer_input_to_its_dtype(dtype, x_dtype):
    layer = nn.Linear(3, 2, dtype=dtype, generator=0)
    x = np.array([[1, 0, 1], [0, 1, 1]], dtype=x_dtype)
    out = layer(x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, x.astype(dtype) @ layer.weight.data, rtol=1e-6)
    out.sum().backward()
    assert layer.weight.grad.dtype == dtype
    assert nn.Dense(3, 2, activation="relu")(Tensor(x)).dtype == np.float32


def test_linear_keeps_numpy_promotion_for_float_input():
    assert nn.Linear(3, 2)(np.ones((1, 3), dtype=np.float64)).dtype == np.float64
    assert nn.Linear(3, 2, dtype=np.float64)(np.ones((1, 3), dtype=np.float32)).dtype == \
        np.float64


def test_one_registry_of_activations_for_dense_and_the_layers():
    from nn.layers import ACTIVATIONS
    assert ACTIVATIONS["relu"] is nn.ReLU.fn and ACTIVATIONS["tanh"] is nn.Tanh.fn
    assert ACTIVATIONS["sigmoid"] is nn.Sigmoid.fn and ACTIVATIONS["softmax"] is nn.Softmax.fn
    assert ACTIVATIONS["log_softmax"] is nn.LogSoftmax.fn
    x = np.random.default_rng(3).normal(size=(4, 5)).astype(np.float32)
    for name, layer in [("relu", nn.ReLU()), ("tanh", nn.Tanh()), ("sigmoid", nn.Sigmoid()),
                        ("softmax", nn.Softmax()), ("log_softmax", nn.LogSoftmax())]:
        dense = nn.Dense(5, 3, activation=name, generator=0)
        linear = nn.Linear(5, 3, generator=0)
        np.testing.assert_array_equal(dense(x).data, layer(linear(x)).data)
    assert not hasattr(__import__("nn.module").module, "ReLU")   # layers live in nn/layers.py

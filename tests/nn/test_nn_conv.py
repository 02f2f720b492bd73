"""nn.Conv2d, MaxPool2d, AvgPool2d, Flatten: shapes, PyTorch's parameter names, layout and
initialisation, gradients through a small CNN, errors, graph captions, and PyTorch parity."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Tensor, draw_graph, gradcheck
from autograd.conv import avg_pool2d, conv2d, max_pool2d


def test_conv2d_parameters_have_pytorch_names_layout_and_initialisation():
    layer = nn.Conv2d(16, 32, 3, generator=0)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (32, 16, 3, 3) and layer.bias.shape == (32,)
    assert layer.weight.dtype == layer.bias.dtype == np.float32
    bound = 1 / math.sqrt(16 * 3 * 3)  # kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.95 * bound
    assert np.std(layer.weight.data) == pytest.approx(bound / math.sqrt(3), rel=0.05)  # uniform's std
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert nn.Conv2d(1, 2, (3, 5), dtype=np.float64).weight.shape == (2, 1, 3, 5)


def test_conv2d_initialisation_is_seeded():
    a, b = nn.Conv2d(2, 3, 3, generator=7), nn.Conv2d(2, 3, 3, generator=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(a.weight.data, nn.Conv2d(2, 3, 3, generator=8).weight.data)


@settings(max_examples=25)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 1), st.integers(1, 2))
def test_conv2d_layer_is_the_conv2d_function_of_its_parameters(c, o, k, s, p, d):
    layer = nn.Conv2d(c, o, k, stride=s, padding=p, dilation=d, dtype=np.float64, generator=0)
    x = np.random.default_rng(0).standard_normal((2, c, 7, 6))
    expected = conv2d(x, layer.weight.data, layer.bias.data, s, p, d).data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12)


def test_layers_output_shapes():
    x = np.zeros((4, 3, 28, 28), np.float32)
    assert nn.Conv2d(3, 8, 5)(x).shape == (4, 8, 24, 24)
    assert nn.Conv2d(3, 8, 3, stride=2, padding=1)(x).shape == (4, 8, 14, 14)
    assert nn.Conv2d(3, 8, 3, dilation=2)(x).shape == (4, 8, 24, 24)
    assert nn.MaxPool2d(2)(x).shape == (4, 3, 14, 14)
    assert nn.MaxPool2d(3, stride=2, padding=1)(x).shape == (4, 3, 14, 14)
    assert nn.AvgPool2d((2, 4))(x).shape == (4, 3, 14, 7)
    assert nn.Flatten()(x).shape == (4, 3 * 28 * 28)
    assert nn.Flatten(2)(x).shape == (4, 3, 28 * 28)
    assert nn.Flatten(0, 1)(x).shape == (12, 28, 28)


def test_pooling_layers_are_the_pooling_functions():
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 7))
    np.testing.assert_array_equal(nn.MaxPool2d(3, 2, 1)(x).data, max_pool2d(x, 3, 2, 1).data)
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).data, avg_pool2d(x, 2).data)


def small_cnn(dtype=np.float64, pool=nn.MaxPool2d):
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, dtype=dtype, generator=0), nn.ReLU(), pool(2),
                         nn.Conv2d(3, 2, 2, dtype=dtype, generator=1), nn.Tanh(), nn.Flatten(),
                         nn.Linear(2 * 2 * 2, 3, dtype=dtype, generator=2))


@pytest.mark.parametrize("pool", [nn.MaxPool2d, nn.AvgPool2d])
def test_gradients_through_a_small_cnn(pool):
    model = small_cnn(pool=pool)
    x = Tensor(np.random.default_rng(3).uniform(0.1, 1.0, (2, 1, 6, 6)), requires_grad=True)
    names, params = zip(*model.named_parameters())
    assert gradcheck(lambda x, *ps: nn.functional_call(model, dict(zip(names, ps)), x), (x, *params))


def test_integer_images_are_cast_to_the_layer_dtype():
    layer = nn.Conv2d(1, 2, 3, generator=0)
    out = layer(np.ones((1, 1, 4, 4), dtype=np.uint8))
    assert out.dtype == np.float32


@pytest.mark.parametrize("make, x, match", [
    (lambda: nn.Conv2d(3, 8, 3), np.zeros((2, 1, 8, 8)), r"Conv2d\(3, 8, .*\) got input of shape \(2, 1, 8, 8\).*\(N, 3, H, W\)"),
    (lambda: nn.Conv2d(3, 8, 3), np.zeros((3, 8, 8)), r"x\[None\]"),
    (lambda: nn.Conv2d(1, 8, 5), np.zeros((1, 1, 3, 3)), r"too small for kernel \(5, 5\)"),
    (lambda: nn.MaxPool2d(2), np.zeros((1, 8, 8)), r"4-D"),
    (lambda: nn.Flatten(3, 1), np.zeros((1, 2, 3, 4)), r"cannot flatten an input of shape \(1, 2, 3, 4\)"),
])
def test_bad_input_names_the_layer_and_the_shape(make, x, match):
    with pytest.raises(ValueError, match=match):
        make()(x)


@pytest.mark.parametrize("make, match", [
    (lambda: nn.Conv2d(0, 8, 3), "in_channels must be a positive int"),
    (lambda: nn.Conv2d(1, 8, (3, 3, 3)), r"kernel_size must be an int >= 1 or a pair"),
    (lambda: nn.Conv2d(1, 8, 3, stride=0), "stride must be an int >= 1"),
    (lambda: nn.MaxPool2d(2, padding=2), r"padding \(2, 2\) must be at most half the kernel size"),
])
def test_bad_arguments_are_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_reprs_and_graph_captions():
    model = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.MaxPool2d(2), nn.AvgPool2d(2, stride=1), nn.Flatten())
    assert repr(model[0]) == "Conv2d(1, 8, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    out = model(Tensor(np.ones((1, 1, 8, 8), np.float32))).sum()
    source = draw_graph(out).source
    for caption in ("Conv2d(1→8, 5x5, padding=2)", "MaxPool2d(2)", "AvgPool2d(2, stride=1)", "Flatten"):
        assert caption in source


def test_conv_layers_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1, dtype=np.float64, generator=0), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 3, (2, 1), dilation=(1, 2), dtype=np.float64, generator=1),
                         nn.AvgPool2d(2, stride=1), nn.Flatten())
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, stride=2, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(4, 3, (2, 1), dilation=(1, 2)), torch.nn.AvgPool2d(2, stride=1),
                                 torch.nn.Flatten()).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})  # the same names
    x = np.random.default_rng(4).standard_normal((3, 2, 17, 15))
    xt = torch.tensor(x)
    out, ref = ours(x), theirs(xt)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(5).standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def _write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


def test_the_cnn_example_trains_on_mnist_idx_files(tmp_path):
    """examples/train_cnn.py --mnist DIR: a smoke run on tiny synthetic 28x28 IDX files."""
    import importlib.util
    import pathlib

    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 20)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = np.zeros((n, 28, 28), np.uint8)
        images[np.arange(n), 2 * labels + 4, 4:24] = 255  # one bright row per class
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte", images)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte", labels)
    script = pathlib.Path(__file__).parents[2] / "examples" / "train_cnn.py"
    spec = importlib.util.spec_from_file_location("train_cnn", script)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    accuracy = example.main(["--mnist", str(tmp_path), "--epochs", "1", "--batch-size", "20", "--no-progress",
                             "--out", str(tmp_path / "out")])
    assert 0.0 <= accuracy <= 1.0
    assert (tmp_path / "out" / "mnist_cnn_filters.png").stat().st_size > 0
    state = nn.load(tmp_path / "out" / "mnist_cnn.npz")
    assert state["13.weight"].shape == (64 * 7 * 7, 10)  # Linear: (in_features, out_features)


def test_check_graph_accepts_every_rule_recorded_by_a_cnn():
    from autograd.graphcheck import check_graph

    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, dtype=np.float64, generator=0), nn.BatchNorm2d(3, dtype=np.float64),
                          nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2, stride=1), nn.Flatten(),
                          nn.Linear(12, 4, dtype=np.float64, generator=1))
    x = np.random.default_rng(6).standard_normal((3, 1, 6, 6))
    assert check_graph(nn.cross_entropy(model(x), np.array([0, 1, 2])))

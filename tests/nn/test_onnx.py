"""nn.export_onnx: checked by onnx.checker and run in ONNX Runtime, outputs equal to dagrad's (1e-5,
float32) on the digits MLP, the example CNN and hypothesis-drawn random models, at batch sizes other
than the example's; unsupported operations named; works without onnx installed until called."""
import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn
from autograd import Tensor

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(path, x):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def assert_exports(model, example, inputs, tmp_path, atol=1e-5):
    """Export with ``example``; for each array in ``inputs`` ONNX Runtime must give dagrad's output."""
    path = nn.export_onnx(model, example, tmp_path / "model.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    was_training = model.training
    model.eval()
    for x in inputs:
        expected = model(Tensor(x)).data
        got = run_onnx(path, x)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=atol)
    model.train(was_training)
    return proto


def load_example():
    script = pathlib.Path(__file__).parents[2] / "examples" / "train_cnn.py"
    spec = importlib.util.spec_from_file_location("train_cnn", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits():
    return nn.datasets.load_digits()


def test_digits_mlp(digits, tmp_path):
    (X_train, y_train), (X_test, _) = digits
    nn.manual_seed(0)
    model = nn.Sequential(nn.Dense(64, 512, activation="relu"), nn.Dense(512, 10))
    nn.fit(model, X_train[:256], y_train[:256], loss=nn.cross_entropy, optimizer=nn.Adam(model.parameters()),
           epochs=1, batch_size=32, progress=False)
    proto = assert_exports(model, X_test[:4], [X_test[:1], X_test[:7], X_test], tmp_path)
    assert [i.name for i in proto.graph.input] == ["input"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_example_cnn_with_batch_norm_and_dropout(digits, tmp_path):
    (X_train, y_train), (X_test, _) = digits
    images, test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)
    nn.manual_seed(0)
    model = load_example().make_cnn(8)
    nn.fit(model, images[:128], y_train[:128], loss=nn.cross_entropy, optimizer=nn.Adam(model.parameters()),
           epochs=1, batch_size=32, progress=False)  # running statistics away from their start
    assert not np.allclose(model[1].running_mean, 0)
    model.train()
    proto = assert_exports(model, test[:2], [test[:1], test[:33]], tmp_path)
    ops = [node.op_type for node in proto.graph.node]
    assert ops.count("Conv") == 3 and ops.count("MaxPool") == 2 and "Dropout" not in ops
    assert model.training and model[12].training  # the modes the model had are restored


class RandomModel(nn.Module):
    """Many of the supported primitives around a convolution and a dense layer."""

    def __init__(self, channels, pool, window, activation, head):
        self.conv = nn.Conv2d(2, channels, 3, padding=1, stride=(1, 2), generator=1)  # (N, 2, 6, 5) -> (N, C, 6, 3)
        self.norm = nn.BatchNorm2d(channels)
        kernel, padding = window
        self.pool = pool(kernel, stride=1, padding=padding)
        side = (6 + 2 * padding - kernel + 1) * (3 + 2 * padding - kernel + 1)
        self.dense = nn.Dense(channels * side, 6, activation=activation, generator=2)
        self.head = head

    def forward(self, x):
        h = self.pool(self.norm(self.conv(x)).relu())
        h = nn.Flatten()(h)
        h = self.dense(h)
        h = autograd.concatenate([h, (h * 2.0 - 1.0).tanh(), autograd.maximum(h, 0.5)], axis=1)
        h = autograd.where(np.arange(18) % 2 == 0, h, h.sigmoid()).clip(-3.0, 3.0)
        h = h.reshape(len(h), 3, 6).transpose(0, 2, 1).sum(axis=2) + (h.exp().max(axis=1, keepdims=True)).sqrt()
        h = h / (h.abs() + 1.0) - h.min(axis=1, keepdims=True) * h.mean(axis=1, keepdims=True)
        return self.head(h @ np.ones((6, 4), np.float32))


@settings(max_examples=16, deadline=None)
@given(st.integers(1, 4), st.sampled_from([nn.MaxPool2d, nn.AvgPool2d]), st.sampled_from([(2, 0), (3, 1), (3, 0)]),
       st.sampled_from(["relu", "sigmoid", "tanh", None]),
       st.sampled_from([nn.Softmax(), nn.LogSoftmax(), nn.Sigmoid(), nn.Dropout(0.5)]),
       st.integers(1, 5), st.integers(0, 2 ** 16))
def test_random_models(tmp_path_factory, channels, pool, window, activation, head, batch, seed):
    rng = np.random.default_rng(seed)
    model = RandomModel(channels, pool, window, activation, head)
    model(rng.standard_normal((4, 2, 6, 5)).astype(np.float32))  # running statistics of one batch
    example = rng.standard_normal((batch, 2, 6, 5)).astype(np.float32)
    other = rng.standard_normal((batch + 3, 2, 6, 5)).astype(np.float32)
    assert_exports(model, example, [example, other], tmp_path_factory.mktemp("random"))


def test_float64_models_and_casts(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.Tanh())
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)  # float32 @ float64 -> float64
    proto = assert_exports(model, x, [x, x[:1]], tmp_path, atol=1e-12)
    assert "Cast" in [node.op_type for node in proto.graph.node]


class Slicing(nn.Module):
    def __init__(self):
        self.layer = nn.Linear(4, 6, generator=0)

    def forward(self, x):
        h = self.layer(x)
        parts = [h[:, 1:], h[:, ::-1], h[:, -1][:, None], h[..., 2:5:2], h[:, None, 3].reshape(len(h), 1),
                 h[:, -2::-2], h[:, :-4]]
        return autograd.concatenate(parts, axis=1)


def test_basic_indexing_becomes_slice_gather_unsqueeze(tmp_path):
    x = np.random.default_rng(2).standard_normal((4, 4)).astype(np.float32)
    proto = assert_exports(Slicing(), x, [x, x[:1], np.tile(x, (3, 1))], tmp_path)
    assert {"Slice", "Gather", "Unsqueeze"} <= {node.op_type for node in proto.graph.node}


class PickRows(nn.Module):
    def forward(self, x):
        return (x * 2.0)[:, [0, 2]]


softplus = autograd.primitive(lambda x: np.logaddexp(0, x), vjp=lambda i, g, out, x: g * (1 - np.exp(-out)),
                              name="softplus")


class Softplus(nn.Module):
    def forward(self, x):
        return softplus(x)


def test_an_unsupported_operation_is_named_with_its_module(tmp_path):
    with pytest.raises(NotImplementedError, match=r"primitive 'softplus' \(recorded in Softplus\).*supported: abs, add"):
        nn.export_onnx(Softplus(), np.zeros((2, 4), np.float32), tmp_path / "m.onnx")
    with pytest.raises(NotImplementedError, match=r"indexing with arrays or masks \(recorded in PickRows\)"):
        nn.export_onnx(PickRows(), np.zeros((2, 4), np.float32), tmp_path / "m.onnx")


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="example_input must be a float array"):
        nn.export_onnx(nn.Linear(2, 2), np.zeros((1, 2), np.int64), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="expected an nn.Module"):
        nn.export_onnx(lambda x: x, np.zeros((1, 2), np.float32), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="returns its input unchanged"):
        nn.export_onnx(nn.Sequential(), np.zeros((1, 2), np.float32), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="does not depend on its input"):
        nn.export_onnx(Constant(), np.zeros((1, 2), np.float32), tmp_path / "m.onnx")


class Constant(nn.Module):
    def __init__(self):
        self.value = nn.Parameter(np.ones(3, np.float32))

    def forward(self, x):
        return self.value * 2.0


def test_import_nn_works_without_onnx_and_export_says_what_to_install():
    code = (
        "import sys; sys.modules['onnx'] = None\n"  # makes `import onnx` fail as if it were not installed
        "import numpy as np, nn\n"
        "try:\n"
        "    nn.export_onnx(nn.Linear(2, 2), np.zeros((1, 2), np.float32), 'never.onnx')\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'dagrad[onnx]'" in result.stdout


def test_the_traced_input_is_not_the_callers(tmp_path):
    x = Tensor(np.ones((2, 3), np.float32))
    nn.export_onnx(nn.Linear(3, 1), x, tmp_path / "m.onnx")
    assert not x.requires_grad


class Tied(nn.Module):
    def __init__(self):
        self.layer = nn.Linear(3, 3, generator=0)

    def forward(self, x):
        return self.layer(self.layer(x).tanh())


def test_a_weight_used_twice_is_stored_once(tmp_path):
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    proto = assert_exports(Tied(), x, [x, x[:1]], tmp_path)
    assert len(proto.graph.initializer) == 2  # layer.weight and layer.bias


class Scalar(nn.Module):
    def forward(self, x):
        return (x * 2.0).sum() - x.max() + np.float32(0.5)


def test_a_scalar_output_and_scalar_constants_stay_0_d(tmp_path):
    x = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float32)
    assert_exports(Scalar(), x, [x, np.ones((5, 3), np.float32)], tmp_path)

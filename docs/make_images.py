"""Make the images shown in the README: ``python docs/make_images.py`` (needs Graphviz's ``dot``).

Writes into docs/images/:
- mlp_loss.{png,svg}: a small MLP's loss with every value and gradient, one cluster per layer;
- mlp_loss_collapsed.svg: the same graph, one node per layer;
- trace_frame_1.png, trace_frame_2.png: the two steps of backprop through g = (x + y) * z;
- tanh_second_derivative.png: the graph of d²tanh(x)/dx² recorded by grad(create_graph=True);
- digits_model_graph.png, digits_loss.png: the main job's images (it trains the digits model).
"""
import pathlib
import shutil
import sys
import tempfile

import numpy as np

import nn
from autograd import Tensor, draw_graph, grad, save_graph
from autograd.trace import backward_trace, retain_grads

IMAGES = pathlib.Path(__file__).resolve().parent / "images"
ROOT = IMAGES.parent.parent


def mlp_loss(seed=0):
    """The mean squared error of an nn 2-8-1 tanh MLP on 4 samples; each layer records in its own scope."""
    nn.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(4, 2)), name="x")
    y = Tensor(rng.normal(size=(4, 1)), name="y")
    model = nn.Sequential(nn.Dense(2, 8, activation="tanh", dtype=np.float64), nn.Linear(8, 1, dtype=np.float64))
    loss = nn.mse_loss(model(x), y)
    loss.name = "loss"
    return loss


def seed_001():
    """Notebook 01's g = (x + y) * z at x = 1, y = 3, z = -3."""
    x = Tensor(1.0, requires_grad=True, name="x")
    y = Tensor(3.0, requires_grad=True, name="y")
    z = Tensor(-3.0, requires_grad=True, name="z")
    q = x + y
    q.name = "q"
    g = q * z
    g.name = "g"
    return g


def tanh_second_derivative():
    x = Tensor(0.5, requires_grad=True, name="x")
    (d1,) = grad(x.tanh(), x, create_graph=True)
    (d2,) = grad(d1, x, create_graph=True)
    return d2


def main():
    IMAGES.mkdir(parents=True, exist_ok=True)
    loss = mlp_loss()
    with retain_grads():  # every intermediate keeps its gradient for the image
        loss.backward(retain_graph=True)
    full = draw_graph(loss, show_values=True, show_grads=True)  # the layout that fits a page
    written = [
        save_graph(IMAGES / "mlp_loss.png", full),
        save_graph(IMAGES / "mlp_loss.svg", full),
        save_graph(IMAGES / "mlp_loss_collapsed.svg", loss, collapse=True),
        save_graph(IMAGES / "tanh_second_derivative.png", tanh_second_derivative()),
    ]
    trace = backward_trace(seed_001())
    for n in (1, 2):
        written.append(save_graph(IMAGES / f"trace_frame_{n}.png", trace.frame(n)))
    sys.path.insert(0, str(ROOT / "examples"))
    import train_digits

    with tempfile.TemporaryDirectory() as out:
        train_digits.main(["--out", out, "--no-progress"])
        for name in ("digits_model_graph.png", "digits_loss.png"):
            written.append(pathlib.Path(shutil.copy(pathlib.Path(out) / name, IMAGES / name)))
    for path in written:
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()

"""Make the graph images shown in the README: ``python docs/make_images.py`` (needs Graphviz's ``dot``).

Writes docs/images/mlp_loss.{png,svg} (a small MLP's loss with every value and gradient, one
cluster per layer) and docs/images/mlp_loss_collapsed.svg (the same graph, one node per layer).
"""
import pathlib

import numpy as np

import nn
from autograd import Tensor, draw_graph, save_graph

IMAGES = pathlib.Path(__file__).resolve().parent / "images"


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


def main():
    IMAGES.mkdir(parents=True, exist_ok=True)
    loss = mlp_loss()
    loss.backward(retain_graph=True)  # keep the graph to draw it with its gradients
    full = draw_graph(loss, show_values=True, show_grads=True, rankdir="TB")  # top-down fits a README column
    written = [
        save_graph(IMAGES / "mlp_loss.png", full),
        save_graph(IMAGES / "mlp_loss.svg", full),
        save_graph(IMAGES / "mlp_loss_collapsed.svg", loss, collapse=True),
    ]
    for path in written:
        print(path.relative_to(IMAGES.parent.parent))


if __name__ == "__main__":
    main()

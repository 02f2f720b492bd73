"""Make the graph images shown in the README: ``python docs/make_images.py`` (needs Graphviz's ``dot``).

Writes docs/images/mlp_loss.{png,svg} (a small MLP's loss with every value and gradient, one
cluster per layer) and docs/images/mlp_loss_collapsed.svg (the same graph, one node per layer).
"""
import pathlib

import numpy as np

from autograd import Tensor, draw_graph, name_scope, save_graph

IMAGES = pathlib.Path(__file__).resolve().parent / "images"


def mlp_loss(seed=0):
    """The mean squared error of a 2-8-1 tanh MLP on 4 samples; each layer records in its own scope."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(4, 2)), name="x")
    y = Tensor(rng.normal(size=(4, 1)), name="y")
    sizes = [2, 8, 1]
    h = x
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = Tensor(rng.normal(size=(n_in, n_out)) / np.sqrt(n_in), requires_grad=True, name=f"{i}.weight")
        b = Tensor(np.zeros(n_out), requires_grad=True, name=f"{i}.bias")
        with name_scope(str(i)):  # what nn.Sequential does for its layer i
            h = h @ w + b
            if i < len(sizes) - 2:
                h = h.tanh()
    loss = ((h - y) ** 2).mean()
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

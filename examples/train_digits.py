"""The main job: train a digits classifier with dagrad and show what it learned.

Trains Dense(64 -> 512, relu) + Dense(512 -> 10) with softmax cross-entropy and Adam on
scikit-learn's bundled 8x8 digits (no download), with a progress bar; prints the test accuracy;
writes the model's graph image and the loss curves to ``out/`` (or ``--out DIR``).

    python examples/train_digits.py [--epochs 15] [--out out]
"""
import argparse
import os
import pathlib

import numpy as np

import autograd
import nn
from autograd.trace import retain_grads


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out", help="folder for the graph image, the plot and the checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    nn.manual_seed(args.seed)
    (X_train, y_train), (X_test, y_test) = nn.datasets.load_digits(seed=args.seed)
    # a validation set split off the training set: the test set is looked at once, at the end
    order = np.random.default_rng(args.seed).permutation(len(X_train))
    n_val = len(X_train) // 6
    (X_val, y_val), (X_train, y_train) = (
        (X_train[order[:n_val]], y_train[order[:n_val]]), (X_train[order[n_val:]], y_train[order[n_val:]]))
    model = nn.Sequential(nn.Dense(64, 512, activation="relu"), nn.Dense(512, 10))
    print(model)
    print(f"training on {len(X_train)} digits, validating on {len(X_val)}, testing on {len(X_test)}")
    history = nn.fit(
        model, X_train, y_train, loss=nn.cross_entropy, optimizer=nn.Adam(model.parameters(), lr=args.lr),
        epochs=args.epochs, batch_size=args.batch_size, validation_data=(X_val, y_val),
        progress=not args.no_progress, rng=np.random.default_rng(args.seed),
    )
    scores = nn.evaluate(model, X_test, y_test, loss=nn.cross_entropy)
    test_accuracy = scores["accuracy"]
    print(f"test accuracy: {test_accuracy:.2%} (test loss {scores['loss']:.4f})")

    # the graph of one small batch's loss, one cluster per layer, with every value and gradient
    loss = nn.cross_entropy(model(autograd.Tensor(X_test[:8])), y_test[:8])
    model.zero_grad()
    with retain_grads():  # the intermediates keep their gradients too, for the image
        loss.backward(retain_graph=True)
    graph_path = autograd.save_graph(out / "digits_model_graph.png", loss, show_values=True, show_grads=True)
    nn.save(model, out / "digits_model.npz")

    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], marker="o", label="training loss")
    ax.plot(epochs, history["val_loss"], marker="o", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_title(f"digits, Dense 512 relu + 10: test accuracy {test_accuracy:.1%}", fontsize=10)
    ax.legend()
    fig.tight_layout()
    curve_path = out / "digits_loss.png"
    fig.savefig(curve_path, dpi=110)
    print(f"wrote {graph_path}, {curve_path} and {out / 'digits_model.npz'}")
    return test_accuracy


if __name__ == "__main__":
    main()

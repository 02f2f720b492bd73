"""dagrad's ``nn``: dense layers, losses, optimizers and a training loop on ``autograd``.

PyTorch's and Keras's vocabulary side by side::

    import nn
    model = nn.Sequential(nn.Dense(64, 512, activation="relu"), nn.Dense(512, 10))
    history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.Adam(model.parameters()),
                     epochs=10, batch_size=32, validation_data=(X_val, y_val))
    nn.save(model, "digits.npz")

``nn`` uses only autograd's public API.
"""

from . import callbacks, data, datasets, init, losses, lr_scheduler, optim
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .functional_call import functional_call
from .init import manual_seed
from .layers import Dense, Dropout, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .losses import (
                     BCELoss,
                     BCEWithLogitsLoss,
                     CrossEntropyLoss,
                     MSELoss,
                     NLLLoss,
                     binary_cross_entropy,
                     binary_cross_entropy_with_logits,
                     categorical_crossentropy,
                     cross_entropy,
                     mse_loss,
                     nll_loss,
)
from .module import LoadResult, Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d
from .onnx import export_onnx
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .serialization import CheckpointError, load, save
from .train import EarlyStopping, accuracy, evaluate, fit, predict
from .utils import clip_grad_norm_, clip_grad_value_

__all__ = [
    "callbacks", "data", "datasets", "init", "losses", "lr_scheduler", "optim", "manual_seed",
    "Module", "Parameter", "Sequential", "Linear", "Dense", "ReLU", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "Dropout", "LoadResult",
    "mse_loss", "cross_entropy", "nll_loss", "categorical_crossentropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss",
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "clip_grad_norm_", "clip_grad_value_",
    "fit", "evaluate", "predict", "accuracy", "EarlyStopping",
    "save", "load", "CheckpointError",
    "functional_call",
    "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "BatchNorm1d", "BatchNorm2d", "export_onnx",
]

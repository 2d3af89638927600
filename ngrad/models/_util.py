"""Helpers shared by the model families: activations by name, output sizes, Sequential-backed models."""
from __future__ import annotations

from ngrad import nn
from ngrad.ops.elementwise import clip

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class ReLU6(nn.Module):
    """``min(max(x, 0), 6)`` (MobileNet's activation). Shape: (*) -> (*)."""

    def forward(self, x):
        return clip(x, 0.0, 6.0)


def keras_dense(in_features: int, out_features: int) -> nn.Linear:
    """``nn.Linear`` initialised as Keras's ``Dense``: Glorot-uniform weight, zero bias (the course's models)."""
    layer = nn.Linear(in_features, out_features)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def make_activation(name: str, owner: str) -> nn.Module:
    """A fresh activation layer by name (``'relu'``, ``'tanh'``, ``'sigmoid'``)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"{owner}: activation must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None


def conv_size(size: int, kernel: int, stride: int = 1, pad: int = 0) -> int:
    """Output size of a 'valid' window over ``size + 2 * pad`` pixels."""
    return (size + 2 * pad - kernel) // stride + 1


def same_size(size: int, stride: int) -> int:
    """Output size of a Keras 'same' window: ``ceil(size / stride)``."""
    return -(-size // stride)


def check_size(size: int, owner: str, image_size: int) -> int:
    """``size`` if the features left for the classifier are at least one pixel, else a clear error."""
    if size < 1:
        raise ValueError(f"{owner}: image_size {image_size} is too small for this architecture")
    return size


class SequentialModel(nn.Sequential):
    """A model that is a ``Sequential`` of named layers, built from a few constructor arguments.

    Subclasses build the layer dict in ``__init__``, call
    ``super().__init__(layers)`` and keep their arguments in ``self.args``.
    Indexing, slicing, ``len`` and iteration work as for any ``Sequential``
    (``model[-1]`` is the head). The config holds the arguments *and* every
    layer's config, so a model whose head was replaced (see
    :func:`ngrad.nn.transfer.replace_head`) is saved and rebuilt as it is.
    """

    args: dict

    def get_config(self) -> dict:
        return {"args": dict(self.args), **super().get_config()}

    @classmethod
    def from_config(cls, config: dict):
        model = cls.__new__(cls)
        layers = nn.Sequential.from_config({"layers": config["layers"]})
        nn.Sequential.__init__(model, dict(layers.named_children()))
        model.args = dict(config.get("args", {}))
        return model

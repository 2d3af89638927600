"""Containers: ``Sequential`` (a pipeline), ``ModuleList`` and ``ModuleDict`` (registered collections)."""
from __future__ import annotations

from ngrad.nn.config import from_config, to_config
from ngrad.nn.hooks import global_forward_hooks
from ngrad.nn.layers._image import check_image
from ngrad.nn.layers.activation import ReLU
from ngrad.nn.layers.conv import Conv2D
from ngrad.nn.layers.normalization_conv import BatchNorm2d, batch_norm_relu
from ngrad.nn.layers.pooling import MaxPool2D
from ngrad.nn.module import Module
from ngrad.ops.conv import conv2d_relu_max_pool2d
from ngrad.ops.conv_utils import conv_geometry

_NO_PADDING = ("valid", 0, (0, 0), ((0, 0), (0, 0)))


def _fusable(conv, act, pool) -> bool:
    """``Conv2D -> ReLU -> MaxPool2D`` with non-overlapping pooling and no hooks: one fused op.

    :func:`ngrad.nn.functional.conv2d_relu_max_pool2d` gives the same values
    and gradients as the three layers (it is their composition where it
    cannot fuse), so the layers stay what the user built, with their names,
    parameters and summary; only the computation is shared. Pools with
    Keras's ``'same'`` padding qualify when the windows tile the image
    exactly (checked per call by :func:`_conv_relu_pool`).
    """
    if type(conv) is not Conv2D or type(act) is not ReLU or type(pool) is not MaxPool2D:
        return False
    if global_forward_hooks or any(m._forward_hooks or m._forward_pre_hooks for m in (conv, act, pool)):
        return False
    return (conv.groups == 1 and pool.stride == pool.kernel_size and conv.data_format == pool.data_format
            and (pool.padding in _NO_PADDING or pool.padding == "same"))


def _bn_relu_fusable(bn, act) -> bool:
    """``BatchNorm2d -> ReLU`` without hooks on the ReLU: one op (:func:`batch_norm_relu`), with
    the values and gradients of the two layers (the ReLU layer is still there, only not called)."""
    return type(bn) is BatchNorm2d and type(act) is ReLU and not (act._forward_hooks or act._forward_pre_hooks)


def _conv_relu_pool(conv, act, pool, x):
    """The three layers' output, through the fused op where their geometry allows it."""
    check_image(conv, x, conv.in_channels)
    if pool.padding == "same":
        hw = x.shape[1:3] if conv.data_format == "channels_last" else x.shape[2:]
        g = conv_geometry(type(conv).__name__, hw, conv.kernel_size, conv.stride, conv.padding, conv.dilation)
        if g.ho % pool.kernel_size[0] or g.wo % pool.kernel_size[1]:  # 'same' pads: not the fused op's pool
            return pool(act(conv(x)))
    return conv2d_relu_max_pool2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation,
                                  pool.kernel_size, data_format=conv.data_format)


class Sequential(Module):
    """Layers applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Layers are named ``"0"``, ``"1"``, ... (or by the keys of a dict passed
    alone). Indexable (an int gives a layer, a slice a new ``Sequential``
    sharing the layers), ``len``, iterable, and ``append`` adds a layer.

    Two runs of layers are computed as one fused op, with the same values and
    gradients (the layers, their names and parameters stay as built; a hook
    on one of them keeps the run unfused): ``Conv2D -> ReLU -> MaxPool2D``
    with non-overlapping pools, and ``BatchNorm2d -> ReLU``.

    >>> from ngrad import nn
    >>> model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    >>> len(model), model[0]
    (3, Linear(in_features=784, out_features=256, bias=True))
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], dict):
            for name, layer in layers[0].items():
                self.add_module(name, layer)
        else:
            for i, layer in enumerate(layers):
                self.add_module(str(i), layer)

    def forward(self, x):
        layers = list(self._modules.values())
        i, n = 0, len(layers)
        while i < n:
            if i + 2 < n and _fusable(layers[i], layers[i + 1], layers[i + 2]):
                x = _conv_relu_pool(*layers[i:i + 3], x)
                i += 3
                continue
            if i + 1 < n and _bn_relu_fusable(layers[i], layers[i + 1]):
                x = batch_norm_relu(layers[i], x)
                i += 2
                continue
            x = layers[i](x)
            i += 1
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(dict(list(self._modules.items())[index]))
        return list(self._modules.values())[_index(index, len(self), "Sequential")]

    def __setitem__(self, index, layer):
        name = list(self._modules)[_index(index, len(self), "Sequential")]
        self.add_module(name, layer)

    def __delitem__(self, index):
        names = list(self._modules)
        del names[index]
        kept = [self._modules[n] for n in names]
        for n in list(self._modules):
            delattr(self, n)
        for i, layer in enumerate(kept):
            self.add_module(str(i), layer)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end; returns ``self``."""
        self.add_module(str(len(self)), layer)
        return self

    def extend(self, layers) -> Sequential:
        for layer in layers:
            self.append(layer)
        return self

    def get_config(self) -> dict:
        return {"layers": _configs(self._modules)}

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        layers = _rebuild(config["layers"])
        return cls(layers) if isinstance(layers, dict) else cls(*layers)


class ModuleList(Module):
    """A list of modules, registered so their parameters are found.

    Use it (not a plain ``list``) for a variable number of layers built in a loop.
    Not callable itself: the owner's ``forward`` iterates it.
    """

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(_index(index, len(self), "ModuleList"))]

    def __setitem__(self, index, module):
        self.add_module(str(_index(index, len(self), "ModuleList")), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        for n in list(self._modules):
            delattr(self, n)
        self.extend(items)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is not callable; iterate it in the owner's forward()")

    def get_config(self) -> dict:
        return {"modules": [to_config(m) for m in self._modules.values()]}

    @classmethod
    def from_config(cls, config: dict) -> ModuleList:
        return cls([from_config(c) for c in config["modules"]])


class ModuleDict(Module):
    """A dict of modules by name, registered so their parameters are found; keeps insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        if modules:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules) -> None:
        for key, m in (modules.items() if isinstance(modules, dict) else modules):
            self.add_module(key, m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is not callable; index it in the owner's forward()")

    def get_config(self) -> dict:
        return {"modules": {k: to_config(m) for k, m in self._modules.items()}}

    @classmethod
    def from_config(cls, config: dict) -> ModuleDict:
        return cls({k: from_config(c) for k, c in config["modules"].items()})


def _index(index, n, owner):
    if not isinstance(index, int):
        raise TypeError(f"{owner} indices must be integers or slices, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"{owner} index {index} is out of range for {n} layers")
    return index % n


def _configs(modules: dict) -> list:
    """Layer configs; names are kept only where they are not the default ``"0"``, ``"1"``, ..."""
    out = []
    for i, (name, m) in enumerate(modules.items()):
        cfg = to_config(m)
        if name != str(i):
            cfg["name"] = name
        out.append(cfg)
    return out


def _rebuild(layers: list):
    if any("name" in c for c in layers):
        return {c.get("name", str(i)): from_config(c) for i, c in enumerate(layers)}
    return [from_config(c) for c in layers]

"""The ConvNets of the benchmarks, described once and built for each framework.

A model is a list of layer specs; :func:`init_params` draws every weight from
one NumPy generator in PyTorch's layouts (conv (F, C, kh, kw), dense (out,
in)) and each side is built from those arrays: the NumPy reference (NHWC,
hand-written backward, see :mod:`._np`) and PyTorch (NCHW). Both flatten in
(C, H, W) order so the dense weights are the same arrays. Training step:
softmax cross-entropy, Adam (lr 1e-3), one fixed batch.

Specs: ``("conv", cin, cout, k, stride, pad, bias)`` with ``pad`` an int or
``"same"``; ``("bn", c)``; ``("relu",)``; ``("maxpool", k)`` (stride k);
``("flatten",)``; ``("gap",)`` (global average pool + flatten);
``("dense", fin, fout)``; ``("block", cin, cout, stride)`` (a ResNet basic
block: conv3x3-BN-ReLU-conv3x3-BN plus identity or conv1x1-BN shortcut, ReLU).
"""
from __future__ import annotations

import numpy as np

from benchmarks.harness import Pending
from benchmarks.workloads import _np

f32 = np.float32
LR = 1e-3


# --------------------------------------------------------------------------- shared weights
def _expand(spec):
    """Blocks expanded into their layers (for parameter drawing in one fixed order)."""
    for s in spec:
        if s[0] == "block":
            _, cin, cout, stride = s
            yield ("conv", cin, cout, 3, stride, 1, False)
            yield ("bn", cout)
            yield ("conv", cout, cout, 3, 1, 1, False)
            yield ("bn", cout)
            if stride != 1 or cin != cout:
                yield ("conv", cin, cout, 1, stride, 0, False)
                yield ("bn", cout)
        else:
            yield s


def init_params(spec, seed):
    """Arrays for every parameterised layer, in :func:`_expand` order (PyTorch layouts)."""
    rng = np.random.default_rng(seed)
    out = []
    for s in _expand(spec):
        if s[0] == "conv":
            _, cin, cout, k, _, _, bias = s
            fan = cin * k * k
            out.append([_np.uniform(rng, (cout, cin, k, k), fan), _np.uniform(rng, (cout,), fan) if bias else None])
        elif s[0] == "bn":
            out.append([np.ones(s[1], f32), np.zeros(s[1], f32)])
        elif s[0] == "dense":
            _, fin, fout = s
            out.append([_np.uniform(rng, (fout, fin), fin), _np.uniform(rng, (fout,), fin)])
    return out


def data(shape_nhwc, classes, seed):
    rng = np.random.default_rng(seed + 1000)
    x = rng.standard_normal(shape_nhwc).astype(f32)
    y = rng.integers(0, classes, size=shape_nhwc[0])
    return x, y


# --------------------------------------------------------------------------- NumPy reference layers
class _Conv:
    def __init__(self, w, b, stride, pad, need_dx=True):
        k = w.shape[-1]
        self.w = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # (kh, kw, C, F)
        self.b = b
        self.stride = stride
        self.pad = _np.pad_same(k) if pad == "same" else (pad, pad)
        self.need_dx = need_dx
        self.params = [self.w] + ([b] if b is not None else [])

    def forward(self, x):
        y, self.cache = _np.conv_forward(x, self.w, self.b, self.stride, self.pad)
        return y

    def backward(self, d):
        dx, dw, db = _np.conv_backward(d, self.w, self.cache, self.need_dx)
        self.cache = None
        self.grads = [dw] + ([db] if self.b is not None else [])
        return dx


class _BN:
    def __init__(self, gamma, beta):
        self.params = [gamma, beta]
        self.rm, self.rv = np.zeros_like(gamma), np.ones_like(gamma)

    def forward(self, x):
        y, self.cache = _np.batchnorm_forward(x, *self.params, self.rm, self.rv)
        return y

    def backward(self, d):
        dx, dg, db = _np.batchnorm_backward(d, self.cache)
        self.grads = [dg, db]
        return dx


class _ReLU:
    params = ()

    def forward(self, x):
        self.y = _np.relu_(x)
        return self.y

    def backward(self, d):
        return _np.relu_back_(d, self.y)


class _MaxPool:
    params = ()

    def __init__(self, k):
        self.k = k

    def forward(self, x):
        y, self.cache = _np.maxpool_forward(x, self.k)
        return y

    def backward(self, d):
        return _np.maxpool_backward(d, self.cache)


class _Flatten:
    """NHWC -> (N, C*H*W) in PyTorch's (C, H, W) order."""

    params = ()

    def forward(self, x):
        self.shape = x.shape
        return x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)

    def backward(self, d):
        n, h, w, c = self.shape
        return d.reshape(n, c, h, w).transpose(0, 2, 3, 1)


class _GAP:
    params = ()

    def forward(self, x):
        self.shape = x.shape
        return x.mean(axis=(1, 2))

    def backward(self, d):
        n, h, w, c = self.shape
        dx = np.empty(self.shape, dtype=d.dtype)
        dx[...] = (d * f32(1.0 / (h * w)))[:, None, None, :]
        return dx


class _Dense:
    def __init__(self, w, b):
        self.wt = np.ascontiguousarray(w.T)  # (in, out)
        self.params = [self.wt, b]

    def forward(self, x):
        self.x = x
        return x @ self.wt + self.params[1]

    def backward(self, d):
        self.grads = [self.x.T @ d, d.sum(axis=0)]
        return d @ self.wt.T


class _Block:
    def __init__(self, layers):
        self.main = layers[:5]  # conv, bn, relu, conv, bn
        self.short = layers[5:]  # [] or [conv, bn]
        self.relu = _ReLU()
        self.params = [p for l in layers for p in l.params]
        self.layers = layers

    def forward(self, x):
        h = x
        for l in self.main:
            h = l.forward(h)
        s = x
        for l in self.short:
            s = l.forward(s)
        return self.relu.forward(h + s)

    def backward(self, d):
        d = self.relu.backward(d)
        dm = d
        for l in reversed(self.main):
            dm = l.backward(dm)
        ds = d
        for l in reversed(self.short):
            ds = l.backward(ds)
        self.grads = [g for l in self.layers for g in getattr(l, "grads", ())]
        return dm + ds


class NumpyNet:
    def __init__(self, spec, params):
        it = iter(params)
        self.layers = []
        first = True
        for s in spec:
            if s[0] == "block":
                _, cin, cout, stride = s
                ls = [_Conv(*next(it), stride, 1), _BN(*next(it)), _ReLU(), _Conv(*next(it), 1, 1), _BN(*next(it))]
                if stride != 1 or cin != cout:
                    ls += [_Conv(*next(it), stride, 0), _BN(*next(it))]
                self.layers.append(_Block(ls))
            elif s[0] == "conv":
                w, b = next(it)
                self.layers.append(_Conv(w, b, s[4], s[5], need_dx=not first))
            elif s[0] == "bn":
                self.layers.append(_BN(*next(it)))
            elif s[0] == "dense":
                self.layers.append(_Dense(*next(it)))
            else:
                self.layers.append({"relu": _ReLU, "flatten": _Flatten, "gap": _GAP}.get(s[0], None)()
                                   if s[0] != "maxpool" else _MaxPool(s[1]))
            first = False
        self.opt = _np.Adam([p for l in self.layers for p in l.params], lr=LR)

    def train_step(self, x, y):
        h = x
        for l in self.layers:
            h = l.forward(h)
        loss, d = _np.softmax_ce(h, y)
        for l in reversed(self.layers):
            d = l.backward(d)
        self.opt.step([g for l in self.layers for g in getattr(l, "grads", ())])
        return loss


# --------------------------------------------------------------------------- PyTorch
def torch_net(spec, params):
    import torch
    from torch import nn

    it = iter(params)

    def conv(s):
        _, cin, cout, k, stride, pad, bias = s
        m = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=bias)
        w, b = next(it)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(w))
            if bias:
                m.bias.copy_(torch.from_numpy(b))
        return m

    def bn(s):
        m = nn.BatchNorm2d(s[1])
        g, b = next(it)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(g))
            m.bias.copy_(torch.from_numpy(b))
        return m

    class Block(nn.Module):
        def __init__(self, s):
            super().__init__()
            _, cin, cout, stride = s
            self.main = nn.Sequential(conv(("conv", cin, cout, 3, stride, 1, False)), bn(("bn", cout)), nn.ReLU(),
                                      conv(("conv", cout, cout, 3, 1, 1, False)), bn(("bn", cout)))
            self.short = nn.Identity()
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(conv(("conv", cin, cout, 1, stride, 0, False)), bn(("bn", cout)))

        def forward(self, x):
            return torch.relu(self.main(x) + self.short(x))

    mods = []
    for s in spec:
        kind = s[0]
        if kind == "conv":
            mods.append(conv(s))
        elif kind == "bn":
            mods.append(bn(s))
        elif kind == "block":
            mods.append(Block(s))
        elif kind == "dense":
            m = nn.Linear(s[1], s[2])
            w, b = next(it)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(w))
                m.bias.copy_(torch.from_numpy(b))
            mods.append(m)
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "maxpool":
            mods.append(nn.MaxPool2d(s[1]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
        elif kind == "gap":
            mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*mods)


# --------------------------------------------------------------------------- ngrad
def _ngrad_layer(*names):
    """An ``ngrad.nn`` layer class by any of its names (public first, then the layer modules), or None."""
    import importlib

    import ngrad.nn

    for n in names:
        if hasattr(ngrad.nn, n):
            return getattr(ngrad.nn, n)
    for mod in ("conv", "pooling", "normalization_conv"):
        try:
            m = importlib.import_module(f"ngrad.nn.layers.{mod}")
        except ImportError:
            continue
        for n in names:
            if hasattr(m, n):
                return getattr(m, n)
    return None


def ngrad_net(spec, params):
    """The model as ``ngrad.nn`` layers (NCHW), or raises Pending naming the missing layers."""
    import ngrad
    from ngrad import nn

    kinds = {s[0] for s in spec}
    needed = {"Conv2d": ("Conv2d", "Conv2D")}
    if "maxpool" in kinds:
        needed["MaxPool2d"] = ("MaxPool2d", "MaxPool2D")
    if kinds & {"bn", "block"}:
        needed["BatchNorm2d"] = ("BatchNorm2d", "BatchNorm2D")
    if "gap" in kinds:
        needed["GlobalAvgPool2D"] = ("GlobalAvgPool2D", "GlobalAvgPool2d")
    found = {k: _ngrad_layer(*v) for k, v in needed.items()}
    missing = [k for k, v in found.items() if v is None]
    if missing:
        raise Pending("ngrad side waits for " + ", ".join(f"ngrad.nn.{n}" for n in missing))
    Conv, Pool, BN, GAP = (found.get(k) for k in ("Conv2d", "MaxPool2d", "BatchNorm2d", "GlobalAvgPool2D"))
    it = iter(params)

    def conv(s):
        _, cin, cout, k, stride, pad, bias = s
        m = Conv(cin, cout, k, stride=stride, padding=pad, bias=bias)
        w, b = next(it)
        with ngrad.no_grad():
            m.weight.data[...] = w
            if bias:
                m.bias.data[...] = b
        return m

    def bn(s):
        m = BN(s[1])
        g, b = next(it)
        with ngrad.no_grad():
            m.weight.data[...] = g
            m.bias.data[...] = b
        return m

    mods = []
    for s in spec:
        kind = s[0]
        if kind == "conv":
            mods.append(conv(s))
        elif kind == "bn":
            mods.append(bn(s))
        elif kind == "block":
            _, cin, cout, stride = s
            main = nn.Sequential(conv(("conv", cin, cout, 3, stride, 1, False)), bn(("bn", cout)), nn.ReLU(),
                                 conv(("conv", cout, cout, 3, 1, 1, False)), bn(("bn", cout)))
            short = None
            if stride != 1 or cin != cout:
                short = nn.Sequential(conv(("conv", cin, cout, 1, stride, 0, False)), bn(("bn", cout)))
            mods.append(_ngrad_block_class()(main, short))
        elif kind == "dense":
            m = nn.Linear(s[1], s[2])
            w, b = next(it)
            with ngrad.no_grad():
                m.weight.data[...] = w
                m.bias.data[...] = b
            mods.append(m)
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "maxpool":
            mods.append(Pool(s[1]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
        elif kind == "gap":
            mods.append(GAP())
    return nn.Sequential(*mods)


_BLOCK = None


def _ngrad_block_class():
    """A ResNet basic block as an ``ngrad.nn.Module`` (defined once, on first use)."""
    global _BLOCK
    if _BLOCK is None:
        from ngrad import nn

        class BenchBasicBlock(nn.Module):
            def __init__(self, main, short=None):
                super().__init__()
                self.main = main
                self.short = short if short is not None else nn.Identity()

            def forward(self, x):
                return (self.main(x) + self.short(x)).relu()

        _BLOCK = BenchBasicBlock
    return _BLOCK


# --------------------------------------------------------------------------- sides
def sides(spec, shape_nhwc, classes, seed):
    """``{framework: () -> train_step}`` for a ConvNet (train_step returns the loss)."""

    def numpy_side():
        x, y = data(shape_nhwc, classes, seed)
        net = NumpyNet(spec, init_params(spec, seed))
        return lambda: net.train_step(x, y)

    def torch_side():
        import torch
        import torch.nn.functional as F

        x, y = data(shape_nhwc, classes, seed)
        net = torch_net(spec, init_params(spec, seed))
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        yt = torch.from_numpy(y)

        def step():
            loss = F.cross_entropy(net(xt), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()

        return step

    def ngrad_side():
        import ngrad
        from ngrad.nn import functional as F
        from ngrad.optim import Adam

        x, y = data(shape_nhwc, classes, seed)
        net = ngrad_net(spec, init_params(spec, seed))
        net.train()
        opt = Adam(list(net.parameters()), lr=LR)
        xt = ngrad.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        yt = ngrad.tensor(y)

        def step():
            loss = F.cross_entropy(net(xt), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()

        return step

    return {"numpy": numpy_side, "torch": torch_side, "ngrad": ngrad_side}

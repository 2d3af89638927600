"""MLP 784-256-256-10 with ReLU, softmax cross-entropy and Adam (lr 1e-3).

Cases: one training step on a batch of 128 (forward, loss, backward, Adam
update) and batch-1 inference latency (forward only: ``ngrad.no_grad()``,
``torch.inference_mode()``). The ngrad side is written with ``ngrad.nn.Linear``,
``ngrad.nn.functional.relu`` / ``cross_entropy`` and ``ngrad.optim.Adam``.
"""
from __future__ import annotations

import numpy as np

from benchmarks.harness import Pending
from benchmarks.workloads import _np

NAME = "mlp"
TITLE = "MLP 784-256-256-10, ReLU, softmax CE, Adam"
DESCRIPTION = __doc__
SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 1e-3


def cases(quick: bool):
    return [
        {"id": "train_b128", "label": "train step, batch 128", "unit": "ms/step", "items": BATCH, "item": "samples"},
        {"id": "infer_b1", "label": "inference, batch 1", "unit": "us/call", "items": 1, "item": "samples"},
    ]


def init():
    """Weights (in, out) and biases, the batch and its labels, the batch-1 input."""
    rng = np.random.default_rng(1)
    params = []
    for fin, fout in zip(SIZES[:-1], SIZES[1:]):
        params += [_np.uniform(rng, (fin, fout), fin), _np.uniform(rng, (fout,), fin)]
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=BATCH)
    return params, x, y, x[:1].copy()


# --------------------------------------------------------------------------- NumPy reference
class _NumpyMLP:
    def __init__(self):
        self.params, self.x, self.y, self.x1 = init()
        self.opt = _np.Adam(self.params, lr=LR)

    def infer(self, x):
        W1, b1, W2, b2, W3, b3 = self.params
        h = _np.relu_(x @ W1 + b1)
        h = _np.relu_(h @ W2 + b2)
        return h @ W3 + b3

    def train_step(self):
        W1, b1, W2, b2, W3, b3 = self.params
        x = self.x
        a1 = _np.relu_(x @ W1 + b1)
        a2 = _np.relu_(a1 @ W2 + b2)
        loss, d3 = _np.softmax_ce(a2 @ W3 + b3, self.y)
        gW3, gb3 = a2.T @ d3, d3.sum(axis=0)
        d2 = _np.relu_back_(d3 @ W3.T, a2)
        gW2, gb2 = a1.T @ d2, d2.sum(axis=0)
        d1 = _np.relu_back_(d2 @ W2.T, a1)
        gW1, gb1 = x.T @ d1, d1.sum(axis=0)
        self.opt.step([gW1, gb1, gW2, gb2, gW3, gb3])
        return loss


def _numpy():
    m = _NumpyMLP()
    return {"train_b128": m.train_step, "infer_b1": lambda: m.infer(m.x1)}, m.train_step


# --------------------------------------------------------------------------- PyTorch
def _torch():
    import torch
    import torch.nn.functional as F

    params, x, y, x1 = init()
    layers = []
    for i in range(3):
        W, b = params[2 * i], params[2 * i + 1]
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
    l1, l2, l3 = layers
    model = torch.nn.ModuleList(layers)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    xt, yt, x1t = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(x1)

    def forward(x):
        return l3(F.relu(l2(F.relu(l1(x)))))

    def train_step():
        loss = F.cross_entropy(forward(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    def infer():
        with torch.inference_mode():
            return forward(x1t)

    return {"train_b128": train_step, "infer_b1": infer}, train_step


# --------------------------------------------------------------------------- ngrad
def _ngrad():
    import ngrad

    try:
        from ngrad.nn import Linear
        from ngrad.nn import functional as F
        from ngrad.optim import Adam
    except ImportError as e:
        raise Pending(f"needs ngrad.nn.Linear and ngrad.optim.Adam ({e})") from None

    params, x, y, x1 = init()
    layers = []
    for i in range(3):
        W, b = params[2 * i], params[2 * i + 1]
        lin = Linear(*W.shape)
        if tuple(lin.weight.shape) != W.T.shape:
            raise RuntimeError(f"ngrad.nn.Linear weight is {lin.weight.shape}, expected (out, in) = {W.T.shape}")
        with ngrad.no_grad():
            lin.weight.data[...] = W.T
            lin.bias.data[...] = b
        layers.append(lin)
    l1, l2, l3 = layers
    opt = Adam([p for lin in layers for p in lin.parameters()], lr=LR)
    xt, yt, x1t = ngrad.tensor(x), ngrad.tensor(y), ngrad.tensor(x1)

    def forward(x):
        return l3(F.relu(l2(F.relu(l1(x)))))

    def train_step():
        loss = F.cross_entropy(forward(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    def infer():
        with ngrad.no_grad():
            return forward(x1t)

    return {"train_b128": train_step, "infer_b1": infer}, train_step


_SIDES = {"numpy": _numpy, "torch": _torch, "ngrad": _ngrad}


def build(framework: str, quick: bool):
    return _SIDES[framework]()[0]


def check(framework: str, steps: int):
    train_step = _SIDES[framework]()[1]
    return [float(train_step()) for _ in range(steps)]

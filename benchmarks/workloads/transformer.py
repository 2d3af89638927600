"""Transformer encoder LM head: d_model 128, 4 heads, ff 512, 2 layers, seq 64, batch 32.

Token embedding (vocab 65) + learned positions, two post-norm encoder layers
(PyTorch's ``nn.TransformerEncoderLayer``: multi-head self-attention without a
mask, add & LayerNorm, ReLU feed-forward, add & LayerNorm; dropout 0 on every
side, so the comparison is fair and deterministic), Dense 65 on every token,
softmax cross-entropy over all 2,048 tokens, Adam (lr 1e-3).
"""
from __future__ import annotations

import math

import numpy as np

from benchmarks.harness import ngrad_pending
from benchmarks.workloads import _np

NAME = "transformer"
TITLE = "Transformer encoder (d 128, 4 heads, ff 512, 2 layers, seq 64, batch 32)"
DESCRIPTION = __doc__
V, D, NH, FF, LAYERS = 65, 128, 4, 512, 2
LR = 1e-3
f32 = np.float32


def _shape(quick):
    return (4, 16) if quick else (32, 64)


def cases(quick: bool):
    b, t = _shape(quick)
    return [{"id": "train", "label": f"train step, batch {b} x seq {t}", "unit": "ms/step", "items": b * t,
             "item": "tokens"}]


def init(batch, seq, seed=31):
    rng = np.random.default_rng(seed)
    p = {"emb": rng.standard_normal((V, D)).astype(f32), "pos": (rng.standard_normal((seq, D)) * 0.1).astype(f32)}
    for l in range(LAYERS):
        p[f"{l}.in_w"] = _np.uniform(rng, (3 * D, D), D)
        p[f"{l}.in_b"] = _np.uniform(rng, (3 * D,), D)
        p[f"{l}.out_w"] = _np.uniform(rng, (D, D), D)
        p[f"{l}.out_b"] = _np.uniform(rng, (D,), D)
        p[f"{l}.ff1_w"] = _np.uniform(rng, (FF, D), D)
        p[f"{l}.ff1_b"] = _np.uniform(rng, (FF,), D)
        p[f"{l}.ff2_w"] = _np.uniform(rng, (D, FF), FF)
        p[f"{l}.ff2_b"] = _np.uniform(rng, (D,), FF)
        for n in (1, 2):
            p[f"{l}.ln{n}_g"] = np.ones(D, f32)
            p[f"{l}.ln{n}_b"] = np.zeros(D, f32)
    p["head_w"] = _np.uniform(rng, (V, D), D)
    p["head_b"] = _np.uniform(rng, (V,), D)
    text = rng.integers(0, V, size=(batch, seq + 1))
    return p, text[:, :-1].copy(), text[:, 1:].copy()


# --------------------------------------------------------------------------- NumPy reference
class NumpyTransformer:
    """Rows are tokens (B*T, D); dense weights kept as (in, out)."""

    def __init__(self, p, x, y):
        self.p = {}
        for k, v in p.items():
            self.p[k] = np.ascontiguousarray(v.T) if k.endswith("_w") else v
        self.names = list(self.p)
        self.opt = _np.Adam([self.p[k] for k in self.names], lr=LR)
        self.x, self.y = x, y.reshape(-1)

    def _attn_fwd(self, h, l, B, T):
        p = self.p
        dh = D // NH
        qkv = h @ p[f"{l}.in_w"] + p[f"{l}.in_b"]  # (BT, 3D)
        qkv = qkv.reshape(B, T, 3, NH, dh).transpose(2, 0, 3, 1, 4)  # (3, B, NH, T, dh)
        q, k, v = qkv[0], qkv[1], qkv[2]
        s = q @ k.transpose(0, 1, 3, 2)
        s *= f32(1 / math.sqrt(dh))
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)  # probabilities (B, NH, T, T)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(B * T, D)
        out = o @ p[f"{l}.out_w"] + p[f"{l}.out_b"]
        return out, (h, q, k, v, s, o)

    def _attn_bwd(self, d, cache, l, B, T, g):
        p = self.p
        h, q, k, v, P, o = cache
        dh = D // NH
        g[f"{l}.out_w"] = o.T @ d
        g[f"{l}.out_b"] = d.sum(axis=0)
        do = (d @ p[f"{l}.out_w"].T).reshape(B, T, NH, dh).transpose(0, 2, 1, 3)  # (B, NH, T, dh)
        dP = do @ v.transpose(0, 1, 3, 2)
        dv = P.transpose(0, 1, 3, 2) @ do
        dS = P * (dP - np.sum(dP * P, axis=-1, keepdims=True))
        dS *= f32(1 / math.sqrt(dh))
        dq = dS @ k
        dk = dS.transpose(0, 1, 3, 2) @ q
        dqkv = np.stack([dq, dk, dv]).transpose(1, 3, 0, 2, 4).reshape(B * T, 3 * D)
        g[f"{l}.in_w"] = h.T @ dqkv
        g[f"{l}.in_b"] = dqkv.sum(axis=0)
        return dqkv @ p[f"{l}.in_w"].T

    def train_step(self):
        p = self.p
        B, T = self.x.shape
        h = (p["emb"][self.x] + p["pos"][:T]).reshape(B * T, D)
        caches = []
        for l in range(LAYERS):
            a, ca = self._attn_fwd(h, l, B, T)
            h1, c1 = _np.layernorm_forward(h + a, p[f"{l}.ln1_g"], p[f"{l}.ln1_b"])
            u = _np.relu_(h1 @ p[f"{l}.ff1_w"] + p[f"{l}.ff1_b"])
            f = u @ p[f"{l}.ff2_w"] + p[f"{l}.ff2_b"]
            h2, c2 = _np.layernorm_forward(h1 + f, p[f"{l}.ln2_g"], p[f"{l}.ln2_b"])
            caches.append((ca, c1, h1, u, c2))
            h = h2
        loss, dz = _np.softmax_ce(h @ p["head_w"] + p["head_b"], self.y)
        g = {"head_w": h.T @ dz, "head_b": dz.sum(axis=0)}
        d = dz @ p["head_w"].T
        for l in reversed(range(LAYERS)):
            ca, c1, h1, u, c2 = caches[l]
            d, g[f"{l}.ln2_g"], g[f"{l}.ln2_b"] = _np.layernorm_backward(d, c2)
            g[f"{l}.ff2_w"], g[f"{l}.ff2_b"] = u.T @ d, d.sum(axis=0)
            du = _np.relu_back_(d @ p[f"{l}.ff2_w"].T, u)
            g[f"{l}.ff1_w"], g[f"{l}.ff1_b"] = h1.T @ du, du.sum(axis=0)
            d = d + du @ p[f"{l}.ff1_w"].T
            d, g[f"{l}.ln1_g"], g[f"{l}.ln1_b"] = _np.layernorm_backward(d, c1)
            d = d + self._attn_bwd(d, ca, l, B, T, g)
        d = d.reshape(B, T, D)
        g["pos"] = np.zeros_like(p["pos"])
        g["pos"][:T] = d.sum(axis=0)
        g["emb"] = np.zeros_like(p["emb"])
        np.add.at(g["emb"], self.x.reshape(-1), d.reshape(B * T, D))
        self.opt.step([g[k] for k in self.names])
        return loss


# --------------------------------------------------------------------------- PyTorch
def _torch_step(p, x, y):
    import torch
    import torch.nn.functional as F
    from torch import nn

    T = x.shape[1]
    emb = nn.Embedding(V, D)
    pos = nn.Parameter(torch.from_numpy(p["pos"].copy()))
    layers = nn.ModuleList(
        nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, batch_first=True) for _ in range(LAYERS)
    )
    head = nn.Linear(D, V)
    t = lambda a: torch.from_numpy(a)  # noqa: E731
    with torch.no_grad():
        emb.weight.copy_(t(p["emb"]))
        for l, layer in enumerate(layers):
            layer.self_attn.in_proj_weight.copy_(t(p[f"{l}.in_w"]))
            layer.self_attn.in_proj_bias.copy_(t(p[f"{l}.in_b"]))
            layer.self_attn.out_proj.weight.copy_(t(p[f"{l}.out_w"]))
            layer.self_attn.out_proj.bias.copy_(t(p[f"{l}.out_b"]))
            layer.linear1.weight.copy_(t(p[f"{l}.ff1_w"]))
            layer.linear1.bias.copy_(t(p[f"{l}.ff1_b"]))
            layer.linear2.weight.copy_(t(p[f"{l}.ff2_w"]))
            layer.linear2.bias.copy_(t(p[f"{l}.ff2_b"]))
        head.weight.copy_(t(p["head_w"]))
        head.bias.copy_(t(p["head_b"]))
    params = [pos, *emb.parameters(), *layers.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=LR)
    xt, yt = t(x), t(y).reshape(-1)

    def step():
        h = emb(xt) + pos[:T]
        for layer in layers:
            h = layer(h)
        loss = F.cross_entropy(head(h).reshape(-1, V), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _make(framework, batch, seq):
    p, x, y = init(batch, seq)
    if framework == "numpy":
        return NumpyTransformer(p, x, y).train_step
    if framework == "torch":
        return _torch_step(p, x, y)
    raise ngrad_pending("Embedding", "MultiheadAttention", "LayerNorm")


def build(framework: str, quick: bool):
    return {"train": _make(framework, *_shape(quick))}


def check(framework: str, steps: int):
    step = _make(framework, 8, 32)
    return [float(step()) for _ in range(steps)]

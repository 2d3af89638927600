"""Char-level LSTM language model: vocab 65, embedding 64, hidden 256, seq 100, batch 32.

Embedding, one LSTM layer (full backpropagation through time over the 100
steps, zero initial state), Dense 65 on every step, softmax cross-entropy over
all 3,200 tokens, Adam (lr 1e-3). One bias per gate (PyTorch's ``bias_hh`` is
held at zero and frozen, so both sides train the same model). Gate order
i, f, g, o as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from benchmarks.harness import ngrad_pending
from benchmarks.workloads import _np

NAME = "lstm"
TITLE = "Char-LSTM LM (vocab 65, emb 64, hidden 256, seq 100, batch 32)"
DESCRIPTION = __doc__
V, E, H = 65, 64, 256
LR = 1e-3
f32 = np.float32


def _shape(quick):
    return (4, 10) if quick else (32, 100)  # batch, seq


def cases(quick: bool):
    b, t = _shape(quick)
    return [{"id": "train", "label": f"train step, batch {b} x seq {t}", "unit": "ms/step", "items": b * t,
             "item": "tokens"}]


def init(batch, seq, seed=21):
    rng = np.random.default_rng(seed)
    p = {
        "emb": rng.standard_normal((V, E)).astype(f32),
        "w_ih": _np.uniform(rng, (4 * H, E), H),
        "w_hh": _np.uniform(rng, (4 * H, H), H),
        "b": _np.uniform(rng, (4 * H,), H),
        "w_out": _np.uniform(rng, (V, H), H),
        "b_out": _np.uniform(rng, (V,), H),
    }
    text = rng.integers(0, V, size=(batch, seq + 1))
    return p, text[:, :-1].copy(), text[:, 1:].copy()


# --------------------------------------------------------------------------- NumPy reference
class NumpyLSTM:
    """Time-major loop; input projection, output layer and weight gradients as single GEMMs."""

    def __init__(self, p, x, y):
        self.emb = p["emb"]
        self.wx = np.ascontiguousarray(p["w_ih"].T)  # (E, 4H)
        self.wh = np.ascontiguousarray(p["w_hh"].T)  # (H, 4H)
        self.b = p["b"]
        self.wo = np.ascontiguousarray(p["w_out"].T)  # (H, V)
        self.bo = p["b_out"]
        self.params = [self.emb, self.wx, self.wh, self.b, self.wo, self.bo]
        self.opt = _np.Adam(self.params, lr=LR)
        self.x = np.ascontiguousarray(x.T)  # (T, B) time-major
        self.y = np.ascontiguousarray(y.T).reshape(-1)

    def train_step(self):
        T, B = self.x.shape
        xe = self.emb[self.x.reshape(-1)]  # (T*B, E)
        xp = (xe @ self.wx + self.b).reshape(T, B, 4 * H)
        hs = np.zeros((T + 1, B, H), f32)  # hs[t+1] = h_t
        cs = np.zeros((T + 1, B, H), f32)
        acts = np.empty((T, B, 4 * H), f32)  # i, f, g, o after their nonlinearities
        tcs = np.empty((T, B, H), f32)
        for t in range(T):
            a = acts[t]
            np.matmul(hs[t], self.wh, out=a)
            a += xp[t]
            a[:, : 2 * H] = 1 / (1 + np.exp(-a[:, : 2 * H]))
            np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
            a[:, 3 * H :] = 1 / (1 + np.exp(-a[:, 3 * H :]))
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c = cs[t + 1]
            np.multiply(f, cs[t], out=c)
            c += i * g
            np.tanh(c, out=tcs[t])
            np.multiply(o, tcs[t], out=hs[t + 1])
        hflat = hs[1:].reshape(T * B, H)
        loss, dz = _np.softmax_ce(hflat @ self.wo + self.bo, self.y)
        gwo, gbo = hflat.T @ dz, dz.sum(axis=0)
        dh_all = (dz @ self.wo.T).reshape(T, B, H)
        dgates = np.empty((T, B, 4 * H), f32)
        dh_next = np.zeros((B, H), f32)
        dc_next = np.zeros((B, H), f32)
        for t in reversed(range(T)):
            a = acts[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            dh = dh_all[t] + dh_next
            tc = tcs[t]
            dc = dc_next + dh * o * (1 - tc * tc)
            dg = dgates[t]
            dg[:, :H] = dc * g * i * (1 - i)
            dg[:, H : 2 * H] = dc * cs[t] * f * (1 - f)
            dg[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
            dg[:, 3 * H :] = dh * tc * o * (1 - o)
            dc_next = dc * f
            dh_next = dg @ self.wh.T
        dG = dgates.reshape(T * B, 4 * H)
        gwh = hs[:-1].reshape(T * B, H).T @ dG
        gwx = xe.T @ dG
        gb = dG.sum(axis=0)
        gemb = np.zeros_like(self.emb)
        np.add.at(gemb, self.x.reshape(-1), dG @ self.wx.T)
        self.opt.step([gemb, gwx, gwh, gb, gwo, gbo])
        return loss


# --------------------------------------------------------------------------- PyTorch
def _torch_step(p, x, y):
    import torch
    import torch.nn.functional as F
    from torch import nn

    emb = nn.Embedding(V, E)
    lstm = nn.LSTM(E, H, batch_first=True)
    out = nn.Linear(H, V)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(p["emb"]))
        lstm.weight_ih_l0.copy_(torch.from_numpy(p["w_ih"]))
        lstm.weight_hh_l0.copy_(torch.from_numpy(p["w_hh"]))
        lstm.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        lstm.bias_hh_l0.zero_()
        out.weight.copy_(torch.from_numpy(p["w_out"]))
        out.bias.copy_(torch.from_numpy(p["b_out"]))
    lstm.bias_hh_l0.requires_grad_(False)
    params = [q for m in (emb, lstm, out) for q in m.parameters() if q.requires_grad]
    opt = torch.optim.Adam(params, lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).reshape(-1)

    def step():
        h, _ = lstm(emb(xt))  # (B, T, H)
        loss = F.cross_entropy(out(h).reshape(-1, V), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _make(framework, batch, seq):
    p, x, y = init(batch, seq)
    if framework == "numpy":
        return NumpyLSTM(p, x, y).train_step
    if framework == "torch":
        return _torch_step(p, x, y)
    raise ngrad_pending("Embedding", "LSTM")


def build(framework: str, quick: bool):
    return {"train": _make(framework, *_shape(quick))}


def check(framework: str, steps: int):
    step = _make(framework, 8, 30)
    return [float(step()) for _ in range(steps)]

"""Building blocks of the hand-written NumPy reference (forward and backward by hand).

Written plainly and vectorized, float32 throughout (float32 scalars, ``out=``
where it saves a temporary): the speed a NumPy library could reach if it had
no overhead of its own. Layouts: dense weights (in, out); images NHWC with
convolution weights (kh, kw, C, F), so im2col is a strided view plus one copy.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

f32 = np.float32


class Adam:
    """Adam with PyTorch's update order and bias correction, updating in place."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.tmp = [np.empty_like(p) for p in self.params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.b1, self.b2
        step_size = f32(self.lr / (1 - b1**self.t))
        bc2_sqrt = f32(math.sqrt(1 - b2**self.t))
        c1, c2, eps = f32(1 - b1), f32(1 - b2), f32(self.eps)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= f32(b1)
            np.multiply(g, c1, out=tmp)
            m += tmp
            v *= f32(b2)
            np.multiply(g, g, out=tmp)
            tmp *= c2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= bc2_sqrt
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


def softmax_ce(z, y):
    """Mean softmax cross-entropy of logits ``z`` (N, C) and labels ``y`` (N,); returns (loss, dz)."""
    n = z.shape[0]
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[rows, y]))
    dz = e
    dz /= s
    dz[rows, y] -= f32(1)
    dz *= f32(1.0 / n)
    return loss, dz


def relu_(z):
    """ReLU in place; returns ``z``."""
    return np.maximum(z, f32(0), out=z)


def relu_back_(d, a):
    """``d *= (a > 0)`` in place (``a`` the ReLU output)."""
    return np.multiply(d, a > 0, out=d)


# ------------------------------------------------------------------ convolution (NHWC)
def pad_same(k: int):
    """TensorFlow/PyTorch ``padding='same'`` for stride 1: (before, after)."""
    total = k - 1
    return total // 2, total - total // 2


def conv_forward(x, w, b, stride=1, pad=(0, 0)):
    """x (N, H, W, C), w (kh, kw, C, F), b (F,) -> y (N, Ho, Wo, F), cache.

    im2col: a strided window view of the padded input, copied once into a
    (N*Ho*Wo, kh*kw*C) matrix, times the (kh*kw*C, F) weight matrix.
    """
    kh, kw, c, f = w.shape
    p0, p1 = pad
    xp = np.pad(x, ((0, 0), (p0, p1), (p0, p1), (0, 0))) if (p0 or p1) else x
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # (N, Ho, Wo, C, kh, kw)
    n, ho, wo = win.shape[:3]
    cols = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n * ho * wo, kh * kw * c)
    y = cols @ w.reshape(-1, f)
    if b is not None:
        y += b
    return y.reshape(n, ho, wo, f), (cols, xp.shape, stride, pad, w.shape)


def conv_backward(dy, w, cache, need_dx=True):
    """Gradients (dx, dw, db) of :func:`conv_forward`; col2im by kernel-offset scatter-add."""
    cols, xp_shape, stride, pad, wshape = cache
    kh, kw, c, f = wshape
    n, ho, wo, _ = dy.shape
    d2 = dy.reshape(-1, f)
    dw = (cols.T @ d2).reshape(wshape)
    db = d2.sum(axis=0)
    dx = None
    if need_dx:
        dcols = (d2 @ w.reshape(-1, f).T).reshape(n, ho, wo, kh, kw, c)
        dxp = np.zeros(xp_shape, dtype=dy.dtype)
        for i in range(kh):
            for j in range(kw):
                dxp[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :] += dcols[:, :, :, i, j, :]
        p0, p1 = pad
        dx = dxp[:, p0 : xp_shape[1] - p1, p0 : xp_shape[2] - p1, :] if (p0 or p1) else dxp
    return dx, dw, db


def maxpool_forward(x, k):
    """Non-overlapping k x k max pooling (stride k) of x (N, H, W, C), H and W multiples of k."""
    n, h, w, c = x.shape
    x6 = x.reshape(n, h // k, k, w // k, k, c)
    y = x6.max(axis=(2, 4))
    return y, (x6, y)


def maxpool_backward(dy, cache):
    """Gradient to every position equal to its window's max (ties: each; none occur in practice)."""
    x6, y = cache
    mask = x6 == y[:, :, None, :, None, :]
    dx6 = mask * dy[:, :, None, :, None, :]
    n, a, k, b, _, c = x6.shape
    return dx6.reshape(n, a * k, b * k, c)


# ------------------------------------------------------------------ normalization
def batchnorm_forward(x, gamma, beta, run_mean, run_var, momentum=0.1, eps=1e-5):
    """Training-mode BatchNorm over all axes but the last; updates the running stats in place."""
    axes = tuple(range(x.ndim - 1))
    m = x.size // x.shape[-1]
    mu = x.mean(axis=axes)
    xc = x - mu
    var = np.mean(xc * xc, axis=axes)
    inv = f32(1) / np.sqrt(var + f32(eps))
    xhat = xc * inv
    y = xhat * gamma + beta
    run_mean *= f32(1 - momentum)
    run_mean += f32(momentum) * mu
    run_var *= f32(1 - momentum)
    run_var += f32(momentum * m / (m - 1)) * var
    return y, (xhat, inv, gamma)


def batchnorm_backward(dy, cache):
    xhat, inv, gamma = cache
    axes = tuple(range(dy.ndim - 1))
    dbeta = dy.sum(axis=axes)
    dgamma = np.sum(dy * xhat, axis=axes)
    m = dy.size // dy.shape[-1]
    dx = (gamma * inv / f32(m)) * (f32(m) * dy - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    inv = f32(1) / np.sqrt(var + f32(eps))
    xhat = xc * inv
    return xhat * gamma + beta, (xhat, inv, gamma)


def layernorm_backward(dy, cache):
    xhat, inv, gamma = cache
    d = dy.shape[-1]
    lead = tuple(range(dy.ndim - 1))
    dgamma = np.sum(dy * xhat, axis=lead)
    dbeta = dy.sum(axis=lead)
    dxhat = dy * gamma
    dx = (inv / f32(d)) * (
        f32(d) * dxhat - dxhat.sum(axis=-1, keepdims=True) - xhat * np.sum(dxhat * xhat, axis=-1, keepdims=True)
    )
    return dx, dgamma, dbeta


# ------------------------------------------------------------------ shared initial weights
def uniform(rng, shape, fan_in):
    """PyTorch's default Linear/Conv init range, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), float32."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(f32)

"""The dense layer's affine map ``y = x @ W.T + b`` as one fused op.

One graph node instead of three (transpose, matmul, add): the forward is one
matrix product and one in-place add, the backward three products at most.
``W`` is shaped (out_features, in_features), as the course's ``W`` and PyTorch.
"""
from __future__ import annotations

from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops._util import as_tensor


class Linear(Function):
    """``x @ W.T + b``.

    Shapes: x (*, in), W (out, in), b (out,) or None -> (*, out).
    """

    name = "linear"

    def forward(ctx, x, W, b=None):
        if x.ndim == 0 or W.ndim != 2 or x.shape[-1] != W.shape[1]:
            raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape {W.shape} "
                             f"(expected (*, {W.shape[1] if W.ndim == 2 else '?'}))")
        ctx.save_for_backward(x, W)
        return affine(x, W, b)

    def backward(ctx, g):
        x, W = ctx.saved_tensors
        need_x, need_W, need_b = ctx.needs_input_grad
        if g.ndim == 2:
            gx = g.dot(W) if need_x else None  # (N, in)
            gW = g.T.dot(x) if need_W else None  # (out, in)
            return gx, gW, (g.sum(axis=0) if need_b else None)
        gx = g @ W if need_x else None  # (*, in)
        g2 = g.reshape(-1, g.shape[-1])  # (N, out)
        gW = g2.T @ x.reshape(-1, x.shape[-1]) if need_W else None  # (out, in)
        gb = g2.sum(axis=0) if need_b else None  # (out,)
        return gx, gW, gb


def affine(x, W, b=None):
    """The forward's arrays only: ``x @ W.T + b`` for x (*, in), W (out, in), b (out,) or None.

    Also the layer's inference path (no graph node is recorded under ``no_grad``).
    """
    # ndarray.dot: the same BLAS product as @ for 2-D operands, with less per-call overhead
    out = x.dot(W.T) if x.ndim == 2 else x @ W.T  # (*, out)
    if b is not None:
        if out.shape[0] == 1 and out.ndim == 2:  # one row (batch-1 inference): a 1-D add, no broadcasting
            row = out[0]
            row += b
        else:
            out += b
    return out


def linear(x, W, b=None):
    """``x @ W.T + b`` (PyTorch's ``F.linear``): W shaped (out, in), b (out,) or None."""
    return Linear.apply(as_tensor(x), as_tensor(W), None if b is None else as_tensor(b))

"""Normalization layers: ``BatchNorm1d`` and ``LayerNorm`` over the fused ops of ``ngrad.ops.normalization``."""
from __future__ import annotations


from ngrad.backend import get_default_dtype
from ngrad.creation import ones, tensor, zeros
from ngrad.errors import ShapeError
from ngrad.nn import init
from ngrad.nn.module import Module
from ngrad.nn.parameter import Parameter
from ngrad.ops.normalization import batch_norm, layer_norm


class BatchNorm1d(Module):
    """Batch normalization (Course 2 week 3): normalise each feature over the batch, then scale and shift.

    In training mode the batch's mean and variance normalise the input and
    update the running averages ``running = (1 - momentum) * running +
    momentum * batch`` (the unbiased variance for ``running_var``, as PyTorch;
    ``momentum=None`` gives the cumulative average). In evaluation mode the
    running averages normalise it. ``weight`` (gamma) and ``bias`` (beta) are
    learned; ``running_mean``, ``running_var`` and ``num_batches_tracked`` are
    buffers (saved in ``state_dict``, counted as non-trainable by ``summary``).

    Parameters
    ----------
    num_features : int
        C, the number of features (channels).
    eps : float
        Added to the variance for stability.
    momentum : float or None
    affine : bool
        Learn ``weight`` and ``bias``.
    track_running_stats : bool
        Keep running averages; without them the batch statistics are used in both modes.

    Shape:
        - Input: (N, C) or (N, C, L)
        - Output: same shape as the input
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = dtype or get_default_dtype()
        if self.affine:
            self.weight = Parameter(ones(self.num_features, dtype=dtype))  # gamma (C,)
            self.bias = Parameter(zeros(self.num_features, dtype=dtype))  # beta (C,)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Running statistics to (0, 1), gamma to 1, beta to 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ShapeError(f"{self!r}: expected input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {tuple(x.shape)}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.data)
        use_batch = self.training or not self.track_running_stats
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          training=use_batch, momentum=momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")

    def get_config(self) -> dict:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "track_running_stats": self.track_running_stats}


class LayerNorm(Module):
    """Layer normalization: normalise each example over its last ``len(normalized_shape)`` axes.

    The same computation in training and evaluation mode; no running statistics.
    ``weight`` and ``bias`` (shaped ``normalized_shape``) are learned when
    ``elementwise_affine``.

    Shape:
        - Input: (*, *normalized_shape)
        - Output: same shape as the input
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dtype = dtype or get_default_dtype()
        if self.elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and bias:
            self.bias = Parameter(zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            dims = ", ".join(map(str, self.normalized_shape))
            raise ShapeError(f"{self!r}: expected input of shape (*, {dims}), got {tuple(x.shape)}")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}, elementwise_affine={self.elementwise_affine}"

    def get_config(self) -> dict:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine, "bias": self.bias is not None}



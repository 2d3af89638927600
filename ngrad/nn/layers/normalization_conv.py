"""``BatchNorm2d``: batch normalization of image batches, per channel.

Over the fused op :func:`ngrad.ops.batchnorm2d.batch_norm2d`.

>>> import ngrad
>>> from ngrad.nn.layers.normalization_conv import BatchNorm2d
>>> bn = BatchNorm2d(8)
>>> bn(ngrad.randn(4, 8, 5, 5)).shape
(4, 8, 5, 5)
>>> [name for name, _ in bn.named_buffers()]
['running_mean', 'running_var', 'num_batches_tracked']
"""
from __future__ import annotations

from ngrad.backend import get_default_dtype
from ngrad.creation import ones, tensor, zeros
from ngrad.nn import init
from ngrad.nn.hooks import global_forward_hooks
from ngrad.nn.layers._image import check_image, data_format_arg
from ngrad.nn.module import Module
from ngrad.nn.parameter import Parameter
from ngrad.ops.activation import relu
from ngrad.ops.batchnorm2d import batch_norm2d


class BatchNorm2d(Module):
    """Batch normalization over (N, H, W) of every channel of an image batch.

    In training mode each channel is normalised with the batch's mean and
    variance over its ``N * H * W`` values and the running averages move
    towards them, ``running = (1 - momentum) * running + momentum * batch``
    (unbiased variance for ``running_var``, as PyTorch; ``momentum=None``: the
    cumulative average). In evaluation mode the running averages normalise
    it. Then ``y = gamma * x_hat + beta``.

    Defaults are PyTorch's (``momentum=0.1``, ``eps=1e-5``), as
    :class:`~ngrad.nn.BatchNorm1d`; Keras's ``BatchNormalization()`` (the
    course's) is ``BatchNorm2d(C, momentum=0.01, eps=1e-3)``, since Keras's
    momentum weighs the running value (0.99) instead of the batch.

    A **frozen** layer (``layer.frozen = True``, set by
    :func:`ngrad.nn.transfer.freeze` on a frozen base) behaves as Keras's
    BatchNormalization with ``trainable = False``: it normalises with its
    running statistics and leaves them untouched even in training mode.
    Freezing only the parameters (``requires_grad_(False)``) keeps PyTorch's
    behaviour (batch statistics in training mode).

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
    momentum : float or None
    affine : bool
        Learn ``weight`` (gamma) and ``bias`` (beta), shape (C,).
    track_running_stats : bool
        Keep ``running_mean``, ``running_var`` (C,) and ``num_batches_tracked``
        as buffers (saved in ``state_dict``; counted as non-trainable by
        :func:`ngrad.nn.summary`, as Keras counts its moving statistics).
        Without them the batch statistics are used in both modes.
    data_format : 'channels_first' (NCHW, default) or 'channels_last' (NHWC)

    Shape:
        - Input: (N, C, H, W), or (N, H, W, C) with ``channels_last``
        - Output: same shape as the input
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, data_format: str = "channels_first", dtype=None):
        super().__init__()
        self.num_features, self.eps = int(num_features), float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.data_format = data_format_arg(data_format, type(self).__name__)
        self.frozen = False
        dtype = dtype or get_default_dtype()
        c = self.num_features
        if self.affine:
            self.weight = Parameter(ones(c, dtype=dtype))  # gamma (C,)
            self.bias = Parameter(zeros(c, dtype=dtype))  # beta (C,)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", zeros(c, dtype=dtype))  # (C,)
            self.register_buffer("running_var", ones(c, dtype=dtype))  # (C,)
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen."""
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

    def uses_batch_stats(self) -> bool:
        """True when a forward pass normalises with the batch's statistics (and updates the running ones)."""
        return not self.track_running_stats or (self.training and not self.frozen)

    def forward(self, x, activation=None):
        """x (N, C, H, W) (or NHWC) -> like x; ``activation='relu'``: ``relu`` of the output as
        one fused op (what :class:`~ngrad.nn.Sequential` does for ``BatchNorm2d -> ReLU``)."""
        check_image(self, x, self.num_features)
        use_batch = self.uses_batch_stats()
        momentum = self.momentum
        if use_batch and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.data)
        return batch_norm2d(x, self.running_mean, self.running_var, self.weight, self.bias, training=use_batch,
                            momentum=momentum if momentum is not None else 0.0, eps=self.eps,
                            data_format=self.data_format, activation=activation)

    def extra_repr(self) -> str:
        text = (f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
        if self.data_format == "channels_last":
            text += ", data_format='channels_last'"
        return text + (", frozen=True" if self.frozen else "")

    def get_config(self) -> dict:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "track_running_stats": self.track_running_stats,
                "data_format": self.data_format}


def batch_norm_relu(bn: BatchNorm2d, x):
    """``relu(bn(x))``: one fused op when ``bn`` has no hooks (a hook then sees what it would
    see unfused: the layer's own output), else the two calls."""
    if global_forward_hooks or bn._forward_hooks or bn._forward_pre_hooks:
        return relu(bn(x))
    return bn(x, activation="relu")


__all__ = ["BatchNorm2d", "batch_norm_relu"]

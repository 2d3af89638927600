"""``Sequential`` runs Conv2D -> ReLU -> MaxPool2D as the fused op: same values and gradients as the layers."""
import numpy as np
import pytest

import ngrad
from ngrad import models, nn
from ngrad.ops import conv as conv_mod


@pytest.fixture(params=["numpy", "numba"])
def path(request):
    """Both paths of the fused op (the Numba one only where Numba is installed)."""
    if request.param == "numba":
        pytest.importorskip("numba")
    prev = conv_mod.set_numba_enabled(request.param == "numba")
    yield request.param
    conv_mod.set_numba_enabled(prev)


def _layer_by_layer(seq, x):
    for layer in seq:
        x = layer.forward(x)
    return x


def _grads(seq, x, fn):
    x = ngrad.tensor(x, dtype=ngrad.float64, requires_grad=True)
    seq.zero_grad()
    y = fn(seq, x)
    (y * y).sum().backward()
    return y, [x.grad.numpy()] + [p.grad.numpy().copy() for p in seq.parameters()]


CASES = {  # name: (layers, input shape (N, C, H, W))
    "signs-like": (lambda: [nn.Conv2D(3, 4, 4, padding="same"), nn.ReLU(), nn.MaxPool2D(8),
                            nn.Conv2D(4, 6, 2, padding="same"), nn.ReLU(), nn.MaxPool2D(4, padding="same"),
                            nn.Flatten(), nn.Linear(6, 3)], (2, 3, 32, 32)),
    "lenet-like": (lambda: [nn.Conv2D(1, 3, 5), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(3, 4, 3, stride=2),
                            nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(4, 2)], (3, 1, 20, 20)),
    "same-pool-not-tiling": (lambda: [nn.Conv2D(2, 3, 3), nn.ReLU(), nn.MaxPool2D(4, padding="same")],
                             (2, 2, 11, 11)),
    "channels-last": (lambda: [nn.Conv2D(2, 3, 3, padding="same", data_format="channels_last"), nn.ReLU(),
                               nn.MaxPool2D(4, data_format="channels_last")], (2, 8, 8, 2)),
}


@pytest.mark.parametrize("name", CASES)
def test_fused_sequential_matches_the_layers(name, path, monkeypatch):
    monkeypatch.setattr(conv_mod, "FUSE_MIN_POOL", 1)  # every pool through the kernel where it can
    make, shape = CASES[name]
    ngrad.manual_seed(0)
    seq = nn.Sequential(*make()).to(ngrad.float64)
    x = np.random.default_rng(1).standard_normal(shape)
    y_fused, g_fused = _grads(seq, x, lambda s, t: s(t))
    y_plain, g_plain = _grads(seq, x, _layer_by_layer)
    np.testing.assert_allclose(y_fused.numpy(), y_plain.numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(g_fused, g_plain):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_the_fused_op_is_what_runs(path, monkeypatch):
    monkeypatch.setattr(conv_mod, "FUSE_MIN_POOL", 1)
    seq = nn.Sequential(nn.Conv2D(3, 4, 3, padding="same"), nn.ReLU(), nn.MaxPool2D(4))
    y = seq(ngrad.randn(2, 3, 16, 16, requires_grad=True))
    assert (type(y.grad_fn).__name__ == "Conv2dReluMaxPool2d") == (path == "numba")
    assert y.shape == (2, 4, 4, 4)


def test_hooks_see_every_layer():
    seq = nn.Sequential(nn.Conv2D(3, 4, 3, padding="same"), nn.ReLU(), nn.MaxPool2D(4))
    seen = []
    handle = seq[1].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    y = seq(ngrad.randn(2, 3, 16, 16))
    handle.remove()
    assert seen == [(2, 4, 16, 16)] and y.shape == (2, 4, 4, 4)


def test_summary_and_counts_unchanged():
    net = models.SignsConvNet()
    text = net.summary((3, 64, 64), print_fn=lambda *a: None)
    assert "relu1 (ReLU)" in text and "(None, 8, 64, 64)" in text and "Total params: 1,310" in text


def test_overlapping_or_grouped_layers_are_not_fused(path, monkeypatch):
    monkeypatch.setattr(conv_mod, "FUSE_MIN_POOL", 1)
    x = ngrad.randn(1, 4, 12, 12, requires_grad=True)
    overlapping = nn.Sequential(nn.Conv2D(4, 4, 3), nn.ReLU(), nn.MaxPool2D(3, stride=2))
    grouped = nn.Sequential(nn.Conv2D(4, 4, 3, groups=2), nn.ReLU(), nn.MaxPool2D(2))
    for seq in (overlapping, grouped):
        assert type(seq(x).grad_fn).__name__ != "Conv2dReluMaxPool2d"

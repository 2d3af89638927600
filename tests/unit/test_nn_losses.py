"""Loss modules, L2 regularization (the course's cost term) and gradient clipping."""
import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.nn import functional as F
from ngrad.nn.utils import clip_grad_norm_, clip_grad_value_, grad_norm


def f64(a, requires_grad=False):
    return ngrad.tensor(a, dtype=ngrad.float64, requires_grad=requires_grad)


# ------------------------------------------------------------------ losses
def test_loss_modules_match_the_functional_losses():
    rng = np.random.default_rng(0)
    z, y = f64(rng.standard_normal((4, 3))), f64((rng.random((4, 3)) > 0.5).astype(float))
    labels = ngrad.tensor(rng.integers(0, 3, 4))
    cases = [
        (nn.BCELoss(), (z.sigmoid(), y), F.binary_cross_entropy(z.sigmoid(), y)),
        (nn.BCEWithLogitsLoss(), (z, y), F.binary_cross_entropy_with_logits(z, y)),
        (nn.CrossEntropyLoss(), (z, labels), F.cross_entropy(z, labels)),
        (nn.CrossEntropyLoss(axis=0, reduction="sum"), (z.T, labels), F.cross_entropy(z, labels, reduction="sum")),
        (nn.MSELoss(reduction="sum"), (z, y), F.mse_loss(z, y, reduction="sum")),
        (nn.L1Loss(reduction="none"), (z, y), F.l1_loss(z, y, reduction="none")),
    ]
    for module, args, expected in cases:
        np.testing.assert_allclose(module(*args).numpy(), expected.numpy(), err_msg=repr(module))


def test_loss_module_validates_reduction_and_reprs():
    with pytest.raises(ValueError, match="MSELoss: reduction"):
        nn.MSELoss(reduction="avg")
    assert repr(nn.CrossEntropyLoss(axis=-1, reduction="sum")) == "CrossEntropyLoss(axis=-1, reduction='sum')"
    assert repr(nn.MSELoss()) == "MSELoss()"


# ---------------------------------------------------------------- l2_penalty
@pytest.mark.parametrize("dtype", [ngrad.float32, ngrad.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reduced_label_cross_entropy_equals_per_sample_losses_then_reduced(dtype, reduction):
    # (N, C) logits with a mean or sum take one fused node; the numbers must be
    # exactly those of the per-sample losses reduced afterwards
    rng = np.random.default_rng(3)
    x = rng.standard_normal((37, 11)) * 5
    y = ngrad.tensor(rng.integers(0, 11, 37))
    a = ngrad.tensor(x, dtype=dtype, requires_grad=True)
    b = ngrad.tensor(x, dtype=dtype, requires_grad=True)
    fused = F.cross_entropy(a, y, reduction=reduction)
    losses = F.cross_entropy(b, y, reduction="none")
    reference = losses.mean() if reduction == "mean" else losses.sum()
    assert fused.shape == () and fused.dtype == dtype
    assert fused.item() == reference.item()
    (fused * 3).backward()
    (reference * 3).backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    result = ngrad.gradcheck(lambda t: F.cross_entropy(t, y, reduction=reduction), x / 5)
    assert result.passed, str(result)


def test_l2_penalty_is_the_course_cost_term_over_weights_only():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1)).to(ngrad.float64)
    W1, W2 = model[0].weight.numpy(), model[3].weight.numpy()
    expected = 0.7 / (2 * 5) * (np.sum(np.square(W1)) + np.sum(np.square(W2)))
    np.testing.assert_allclose(nn.l2_penalty(model, lambd=0.7, m=5).item(), expected)
    all_params = sum(np.sum(np.square(p.numpy())) for p in model.parameters())
    np.testing.assert_allclose(nn.l2_penalty(model.parameters(), 0.7, 5, weights_only=False).item(),
                               0.7 / 10 * all_params)


def test_l2_penalty_gradient_is_lambd_over_m_times_W():
    layer = nn.Linear(3, 2).to(ngrad.float64)
    nn.l2_penalty(layer.named_parameters(), lambd=0.1, m=4).backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), 0.1 / 4 * layer.weight.numpy())
    assert layer.bias.grad is None
    assert ngrad.gradcheck(lambda: nn.l2_penalty(layer, 0.1, 4), params=[layer.weight]).passed


def test_l2_penalty_edge_cases():
    assert nn.l2_penalty(nn.ReLU(), 0.1, 3).item() == 0.0
    with pytest.raises(ValueError, match="positive"):
        nn.l2_penalty(nn.Linear(2, 2), 0.1, 0)


# ---------------------------------------------------------------- clipping
def with_grads(*arrays):
    params = [nn.Parameter(f64(a)) for a in arrays]
    for p, a in zip(params, arrays):
        p.grad = f64(a)
    return params


def test_clip_grad_norm_scales_jointly_and_returns_the_total_norm():
    params = with_grads(np.array([3.0, 0.0]), np.array([[4.0]]))
    old = [p.grad for p in params]
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(params[1].grad.numpy(), [[0.8]], rtol=1e-5)
    assert all(p.grad is not g for p, g in zip(params, old))  # new tensors
    np.testing.assert_array_equal(old[0].numpy(), [3.0, 0.0])  # the old arrays are untouched


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing():
    params = with_grads(np.array([0.3, 0.4]))
    params.append(nn.Parameter(f64([1.0])))
    before = params[0].grad
    assert clip_grad_norm_(params, 1.0) == pytest.approx(0.5)
    assert params[0].grad is before and params[1].grad is None


def test_clip_grad_norm_other_norms_and_nonfinite():
    params = with_grads(np.array([1.0, -5.0]), np.array([2.0]))
    assert grad_norm(params, float("inf")) == 5.0
    assert grad_norm(params, 1) == pytest.approx(8.0)
    bad = with_grads(np.array([np.inf]))
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_into_new_tensors():
    params = with_grads(np.array([-3.0, 0.5, 2.0]))
    old = params[0].grad
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(old.numpy(), [-3.0, 0.5, 2.0])


def test_clipping_accepts_a_module():
    model = nn.Linear(3, 3)
    model(ngrad.randn(4, 3) * 100).sum().backward()
    clip_grad_norm_(model, 0.5)
    assert grad_norm(model) == pytest.approx(0.5, rel=1e-4)

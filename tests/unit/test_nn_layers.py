"""Layers: Linear, activations, Dropout, BatchNorm1d, LayerNorm, Flatten, Identity.

Gradchecks in float64 (``layer.to(ngrad.float64)``), forward values against
NumPy, and shape errors that name the layer and both shapes.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngrad
from ngrad import nn
from ngrad.nn import functional as F

dims = st.integers(1, 5)


def f64(a):
    return ngrad.tensor(a, dtype=ngrad.float64)


# ------------------------------------------------------------------ Linear
@settings(max_examples=15, deadline=None)
@given(n=dims, i=dims, o=dims, bias=st.booleans(), seed=st.integers(0, 2**16))
def test_linear_gradcheck(n, i, o, bias, seed):
    layer = nn.Linear(i, o, bias=bias).to(ngrad.float64)
    x = np.random.default_rng(seed).standard_normal((n, i))
    result = ngrad.gradcheck(layer, x, params=list(layer.parameters()))
    assert result.passed, str(result)


def test_linear_is_x_at_W_T_plus_b():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = x @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(layer(ngrad.tensor(x)).numpy(), expected, rtol=1e-6)


def test_linear_batched_leading_axes_and_no_bias():
    layer = nn.Linear(3, 2, bias=False).to(ngrad.float64)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    assert layer(f64(x)).shape == (2, 4, 2)
    assert ngrad.gradcheck(layer, x, params=[layer.weight]).passed


def test_linear_default_init_bound():
    layer = nn.Linear(100, 50)
    assert np.abs(layer.weight.numpy()).max() <= 0.1 and np.abs(layer.bias.numpy()).max() <= 0.1


def test_linear_shape_error_names_layer_and_shapes():
    with pytest.raises(ngrad.ShapeError) as e:
        nn.Linear(4, 3)(ngrad.randn(2, 5))
    msg = str(e.value)
    assert "Linear(in_features=4, out_features=3" in msg and "(*, 4)" in msg and "(2, 5)" in msg


def test_functional_linear_matches_the_layer():
    layer = nn.Linear(3, 2)
    x = ngrad.randn(4, 3)
    np.testing.assert_allclose(F.linear(x, layer.weight, layer.bias).numpy(), layer(x).numpy())


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (1, 3), (2, 4, 3), (3,)])
def test_linear_under_no_grad_gives_the_same_numbers_and_records_nothing(bias, shape):
    layer = nn.Linear(3, 2, bias=bias)
    x = ngrad.randn(*shape, requires_grad=True)
    expected = layer(x)
    assert expected.grad_fn is not None
    reference = x.numpy() @ layer.weight.numpy().T + (layer.bias.numpy() if bias else 0)
    np.testing.assert_allclose(expected.numpy(), reference, rtol=1e-6, atol=1e-7)
    with ngrad.no_grad():
        y = layer(x)
    assert not y.requires_grad and y.grad_fn is None and y.dtype == expected.dtype
    np.testing.assert_array_equal(y.numpy(), expected.numpy())
    with ngrad.no_grad(), pytest.raises(ngrad.ShapeError, match="Linear"):
        layer(ngrad.randn(4, 5))
    with ngrad.no_grad(), pytest.raises(ngrad.ShapeError, match=r"expected input of shape \(\*, 3\), got \(\)"):
        layer(ngrad.tensor(1.0))


@pytest.mark.parametrize("size", [5, 5000])  # NumPy's maximum and the compiled kernel
def test_relu_under_no_grad_gives_the_same_numbers_and_records_nothing(size):
    x = ngrad.randn(size, requires_grad=True)
    x.data[:3] = (np.nan, -0.0, 0.0)
    expected = F.relu(x)
    assert expected.grad_fn is not None
    with ngrad.no_grad():
        outs = [F.relu(x), nn.ReLU()(x), F.relu(nn.Parameter(x.data)), F.relu(x.data)]
    for y in outs:
        assert not y.requires_grad and y.grad_fn is None and y.dtype == expected.dtype
        np.testing.assert_array_equal(y.numpy(), expected.numpy())
    assert np.signbit(outs[0].numpy()[1]) == np.signbit(expected.numpy()[1])


# ------------------------------------------------------------- activations
ACTIVATIONS = [
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.ELU(1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Softmax(axis=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
]


@pytest.mark.parametrize("layer,ref", ACTIVATIONS, ids=[type(a).__name__ for a, _ in ACTIVATIONS])
def test_activation_modules(layer, ref):
    x = np.random.default_rng(2).standard_normal((3, 4)) + 0.05
    np.testing.assert_allclose(layer(f64(x)).numpy(), ref(x), rtol=1e-10, atol=1e-12)
    assert ngrad.gradcheck(layer, x).passed


# ----------------------------------------------------------------- Dropout
def test_dropout_keep_prob_and_p_are_two_names_for_one_thing():
    assert nn.Dropout(keep_prob=0.86).keep_prob == 0.86
    assert nn.Dropout(0.14).keep_prob == pytest.approx(0.86)
    assert nn.Dropout().p == 0.5
    with pytest.raises(ValueError, match="not both"):
        nn.Dropout(p=0.5, keep_prob=0.8)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(p=1.5)


def test_dropout_is_inverted_and_identity_in_eval():
    layer = nn.Dropout(keep_prob=0.8, rng=0)
    x = ngrad.ones(200, 50, dtype=ngrad.float64)
    y = layer(x).numpy()
    assert set(np.unique(y)) == {0.0, 1.25}
    assert abs((y > 0).mean() - 0.8) < 0.02
    layer.eval()
    assert layer(x) is x


def test_dropout_reproduces_the_course_recipe():
    rng = np.random.RandomState(1)
    A = np.random.RandomState(7).standard_normal((5, 3))
    D = np.random.RandomState(1).rand(5, 3) < 0.86
    expected = A * D / 0.86
    out = F.dropout(f64(A), keep_prob=0.86, rng=rng).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    np.testing.assert_array_equal(F.dropout(f64(A), keep_prob=0.86, mask=D).numpy() != 0, D)


def test_dropout_masks_follow_the_library_generator():
    layer = nn.Dropout(0.5)
    ngrad.manual_seed(3)
    a = layer(ngrad.ones(4, 4)).numpy()
    b = layer(ngrad.ones(4, 4)).numpy()
    ngrad.manual_seed(3)
    np.testing.assert_array_equal(layer(ngrad.ones(4, 4)).numpy(), a)
    assert not np.array_equal(a, b)  # a new mask per call


def test_dropout_seeded_layer_draws_a_reproducible_sequence():
    a, b = nn.Dropout(0.5, rng=5), nn.Dropout(0.5, rng=5)
    x = ngrad.ones(6, 6)
    first = a(x).numpy()
    np.testing.assert_array_equal(first, b(x).numpy())
    assert not np.array_equal(first, a(x).numpy())


def test_dropout_gradcheck_with_a_fixed_mask():
    layer = nn.Dropout(keep_prob=0.7)
    x = np.random.default_rng(0).standard_normal((4, 5))

    def fn(t):
        layer.rng = np.random.default_rng(11)  # the same mask on every call
        return layer(t)

    assert ngrad.gradcheck(fn, x).passed


def test_dropout_gradient_uses_the_forward_mask():
    x = ngrad.ones(10, 10, requires_grad=True)
    y = F.dropout(x, p=0.3, rng=2)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # x = 1, so dy/dx = mask / keep = y


# -------------------------------------------------------------- BatchNorm1d
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2)])
def test_batchnorm_train_gradcheck(shape):
    bn = nn.BatchNorm1d(3).to(ngrad.float64)
    rng = np.random.default_rng(0)
    with ngrad.no_grad():
        bn.weight[...] = rng.standard_normal(3)
        bn.bias[...] = rng.standard_normal(3)
    x = rng.standard_normal(shape) * 2 + 1
    result = ngrad.gradcheck(bn, x, params=list(bn.parameters()))
    assert result.passed, str(result)


def test_batchnorm_eval_gradcheck():
    bn = nn.BatchNorm1d(3).to(ngrad.float64)
    bn(f64(np.random.default_rng(1).standard_normal((8, 3))))
    bn.eval()
    x = np.random.default_rng(2).standard_normal((5, 3))
    assert ngrad.gradcheck(bn, x, params=list(bn.parameters())).passed


def test_batchnorm_normalises_and_tracks_running_stats():
    bn = nn.BatchNorm1d(2, momentum=0.1).to(ngrad.float64)
    x = np.random.default_rng(3).standard_normal((50, 2)) * [2.0, 0.5] + [3.0, -1.0]
    y = bn(f64(x)).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-4)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0))
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1))
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    expected = (x - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(bn(f64(x)).numpy(), expected)
    assert int(bn.num_batches_tracked.item()) == 1


def test_batchnorm_cumulative_average_with_momentum_none():
    bn = nn.BatchNorm1d(1, momentum=None).to(ngrad.float64)
    batches = [np.random.default_rng(s).standard_normal((4, 1)) + s for s in range(3)]
    for b in batches:
        bn(f64(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean() for b in batches]))


def test_batchnorm_buffers_and_parameters():
    bn = nn.BatchNorm1d(4)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    plain = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert list(plain.parameters()) == [] and list(plain.buffers()) == []
    y = plain.eval()(ngrad.randn(8, 4, dtype=ngrad.float64))  # batch statistics even in eval
    np.testing.assert_allclose(y.numpy().mean(0), 0, atol=1e-12)


def test_batchnorm_errors_name_the_layer():
    with pytest.raises(ngrad.ShapeError, match=r"BatchNorm1d\(3.*\(N, 3\).*\(2, 4\)"):
        nn.BatchNorm1d(3)(ngrad.randn(2, 4))
    with pytest.raises(ngrad.ShapeError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ngrad.randn(1, 3))


# ---------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("normalized", [3, (2, 3)])
def test_layernorm_gradcheck(normalized):
    ln = nn.LayerNorm(normalized).to(ngrad.float64)
    rng = np.random.default_rng(4)
    with ngrad.no_grad():
        ln.weight[...] = rng.standard_normal(ln.weight.shape)
        ln.bias[...] = rng.standard_normal(ln.bias.shape)
    x = rng.standard_normal((4, 2, 3))
    result = ngrad.gradcheck(ln, x, params=list(ln.parameters()))
    assert result.passed, str(result)


def test_layernorm_normalises_each_example():
    x = np.random.default_rng(5).standard_normal((4, 6)) * 3 + 2
    y = nn.LayerNorm(6, elementwise_affine=False)(f64(x)).numpy()
    np.testing.assert_allclose(y, (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5))
    with pytest.raises(ngrad.ShapeError, match=r"LayerNorm\(\(6,\).*\(\*, 6\).*\(4, 5\)"):
        nn.LayerNorm(6)(ngrad.randn(4, 5))


# ------------------------------------------------------------ Flatten/Identity
def test_flatten_and_identity():
    x = ngrad.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)
    assert nn.Identity()(x) is x
    with pytest.raises(ngrad.ShapeError, match="Flatten"):
        nn.Flatten()(ngrad.randn(3))


def test_layers_have_shape_sections_in_docstrings():
    for cls in (nn.Linear, nn.Dropout, nn.BatchNorm1d, nn.LayerNorm, nn.Flatten, nn.Identity, nn.ReLU):
        assert "Shape:" in cls.__doc__, cls.__name__

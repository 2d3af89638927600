"""Tensor basics: construction, dtypes, conversions, operators, constructors, seeding."""
import numpy as np
import pytest

import ngrad


def test_float_data_defaults_to_float32_and_float64_on_request():
    assert ngrad.tensor([1.0, 2.0]).dtype == np.float32
    assert ngrad.tensor(np.zeros(3)).dtype == np.float32  # float64 arrays too
    assert ngrad.tensor([1.0], dtype=ngrad.float64).dtype == np.float64
    ngrad.set_default_dtype(ngrad.float64)
    assert ngrad.tensor([1.0]).dtype == np.float64
    assert ngrad.randn(2).dtype == np.float64


def test_integer_and_bool_data_keep_their_kind():
    assert ngrad.tensor([1, 2]).dtype == np.int64
    assert ngrad.tensor([True, False]).dtype == np.bool_


def test_set_default_dtype_rejects_integers():
    with pytest.raises(TypeError):
        ngrad.set_default_dtype(np.int32)


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    t, s = ngrad.tensor(a), ngrad.from_numpy(a)
    a[0] = 1
    assert t.numpy()[0] == 0 and s.numpy()[0] == 1


def test_attributes_and_conversions():
    t = ngrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and len(t) == 2
    assert t.is_leaf and t.grad is None and t.requires_grad
    assert ngrad.tensor([2.5]).item() == 2.5 and float(ngrad.tensor(2.5)) == 2.5
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(np.asarray(t), t.numpy())
    assert [row.shape for row in t] == [(2,), (2,)]
    with pytest.raises(ValueError, match="one-element"):
        t.item()


def test_repr_is_readable():
    assert repr(ngrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ngrad.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "dtype=float64" in repr(ngrad.tensor([1.0], dtype=ngrad.float64))
    assert "grad_fn=<Mul>" in repr(ngrad.tensor([1.0], requires_grad=True) * 2)


def test_python_scalars_keep_the_tensor_dtype():
    x = ngrad.ones(2)
    for y in (x + 1, 1 + x, x * 2.5, x / 3, 2 - x, x**2, 2**x):
        assert y.dtype == np.float32


def test_numpy_operands_take_the_tensor_dtype():
    x = ngrad.ones(2)
    assert (x + np.ones(2)).dtype == np.float32
    assert (np.ones(2) + x).dtype == np.float32 and isinstance(np.ones(2) + x, ngrad.Tensor)


def test_comparisons_give_boolean_tensors_without_grad():
    x = ngrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for c in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert c.dtype == np.bool_ and not c.requires_grad
    assert (x > 2).tolist() == [False, False, True]
    assert (x > 0).all() and (x > 2).any()


def test_tensors_are_hashable_by_identity():
    a, b = ngrad.ones(1), ngrad.ones(1)
    assert len({a, b}) == 2


def test_constructors():
    assert ngrad.zeros(2, 3).shape == (2, 3) and ngrad.zeros((2, 3)).shape == (2, 3)
    assert ngrad.ones(4).numpy().sum() == 4
    assert ngrad.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert ngrad.arange(5).dtype == np.int64 and ngrad.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert ngrad.eye(3).numpy().trace() == 3
    assert ngrad.zeros_like(ngrad.ones(2, dtype=ngrad.float64)).dtype == np.float64
    r = ngrad.rand(1000)
    assert 0 <= r.numpy().min() and r.numpy().max() < 1
    assert ngrad.randn(3, requires_grad=True).requires_grad


def test_manual_seed_makes_draws_repeatable():
    ngrad.manual_seed(123)
    a = ngrad.randn(5).numpy()
    ngrad.manual_seed(123)
    b = ngrad.randn(5).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ngrad.randn(5, rng=7).numpy(), ngrad.randn(5, rng=7).numpy())


def test_astype_is_differentiable_between_floats():
    x = ngrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])
    assert not x.astype(np.int64).requires_grad


def test_methods_cover_the_op_library():
    x = ngrad.tensor([[1.0, -2.0], [3.0, 0.5]])
    np.testing.assert_allclose(x.abs().numpy(), np.abs(x.numpy()))
    np.testing.assert_allclose(x.clip(-1, 1).numpy(), np.clip(x.numpy(), -1, 1))
    np.testing.assert_allclose(x.max(axis=0).numpy(), [3.0, 0.5])
    assert x.argmax(axis=1).tolist() == [0, 0]
    np.testing.assert_allclose(x.T.numpy(), x.numpy().T)
    assert x.unsqueeze(0).shape == (1, 2, 2) and x.flatten().shape == (4,)
    assert [p.shape for p in x.split(2, axis=1)] == [(2, 1), (2, 1)]
    assert x.pad(1).shape == (4, 4)
    np.testing.assert_allclose(x.std().numpy(), x.numpy().std(), rtol=1e-6)
    np.testing.assert_allclose(ngrad.where(x > 0, x, 0).numpy(), np.where(x.numpy() > 0, x.numpy(), 0))


def test_setitem_without_grad():
    x = ngrad.zeros(2, 2)
    x[0, 1] = 5.0
    x[ngrad.tensor([1])] = ngrad.tensor([[1.0, 2.0]])
    assert x.tolist() == [[0.0, 5.0], [1.0, 2.0]]

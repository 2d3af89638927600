"""The backward walk: deep chains, diamonds, repeated backward, no_grad, detach."""
import sys

import numpy as np
import pytest

import ngrad


def test_chain_of_100k_ops_does_not_recurse():
    x = ngrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0  # two ops per step: 200,000 nodes
    limit = sys.getrecursionlimit()
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad.item() == pytest.approx(1.0)


def test_diamond_accumulates_gradients():
    x = ngrad.tensor([2.0, 3.0], requires_grad=True)
    a = x * 3          # da/dx = 3
    b = x * x          # db/dx = 2x
    (a + b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 + 2 * x.numpy())


def test_tensor_used_many_times():
    x = ngrad.tensor(1.5, requires_grad=True)
    y = x * x * x * x  # x^4
    y.backward()
    assert x.grad.item() == pytest.approx(4 * 1.5**3)


def test_leaf_gradients_accumulate_across_backward_calls():
    x = ngrad.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_second_backward_on_freed_graph_raises():
    x = ngrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = ngrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_backward_frees_saved_arrays():
    x = ngrad.tensor(np.ones(3), requires_grad=True)
    y = x.exp()
    z = y.sum()
    z.backward()
    assert not hasattr(y.grad_fn, "saved_tensors")


def test_non_scalar_backward_needs_gradient():
    x = ngrad.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"pass gradient= of that shape"):
        y.backward()
    y.backward(np.ones((2, 3)))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))


def test_backward_gradient_shape_is_checked():
    y = ngrad.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_without_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ngrad.ones(2).sum().backward()


def test_no_grad_records_nothing():
    x = ngrad.ones(3, requires_grad=True)
    with ngrad.no_grad():
        y = x * 2
        assert not ngrad.is_grad_enabled()
    assert ngrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = ngrad.ones(3, requires_grad=True)

    @ngrad.no_grad()
    def f():
        with ngrad.enable_grad():
            inner = x * 2
        return x * 2, inner

    outer, inner = f()
    assert not outer.requires_grad
    assert inner.requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = ngrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.data, y.data)
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), d.numpy())  # no gradient through d


def test_only_used_inputs_get_gradients():
    a = ngrad.ones(2, requires_grad=True)
    b = ngrad.ones(2, requires_grad=True)
    (a * 2).sum().backward()
    assert a.grad is not None and b.grad is None


def test_broadcast_gradients_are_summed():
    x = ngrad.ones(4, 3, requires_grad=True)
    b = ngrad.zeros(3, requires_grad=True)
    c = ngrad.zeros(4, 1, requires_grad=True)
    (x + b + c).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [4, 4, 4])
    np.testing.assert_allclose(c.grad.numpy(), [[3]] * 4)


def test_mixed_dtypes_give_each_input_its_own_dtype():
    a = ngrad.ones(2, requires_grad=True)                    # float32
    b = ngrad.ones(2, dtype=ngrad.float64, requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_leaf_grads_never_share_memory():
    a = ngrad.ones(3, requires_grad=True)
    b = ngrad.ones(3, requires_grad=True)
    (a + b).sum().backward()  # Add hands the same gradient array to both
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 0  # in-place use of one leaf's grad leaves the other intact
    np.testing.assert_allclose(b.grad.numpy(), 1)


def test_retain_grad_on_intermediate():
    x = ngrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * y.numpy())


def test_user_function_with_constant_argument():
    class Scale(ngrad.Function):
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        def backward(ctx, g):
            return g * ctx.k, None

    x = ngrad.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_backward_returning_wrong_count_is_reported():
    class Bad(ngrad.Function):
        def forward(ctx, a, b):
            return a + b

        def backward(ctx, g):
            return g

    a = ngrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="bad.backward returned 1 gradients for 2 inputs"):
        Bad.apply(a, a).sum().backward()


def test_staticmethod_style_functions_work():
    class Double(ngrad.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    x = ngrad.tensor([1.0], requires_grad=True)
    Double.apply(x).sum().backward()
    assert x.grad.item() == 2.0


def test_one_input_op_records_whether_its_input_needs_a_gradient():
    a = ngrad.tensor([-1.0, 2.0], requires_grad=True)
    c = ngrad.tensor([-1.0, 2.0])
    y = ngrad.relu(a)
    assert y.requires_grad and y.grad_fn is not None
    z = ngrad.relu(c)
    assert not z.requires_grad and z.grad_fn is None
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 1.0])

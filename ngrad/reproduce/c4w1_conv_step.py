"""C4W1 Convolution model, step by step: the notebook's checks, computed with ngrad's ops.

The notebook writes ``zero_pad``, ``conv_single_step``, ``conv_forward``,
``pool_forward``, ``conv_backward``, ``create_mask_from_window``,
``distribute_value`` and ``pool_backward`` as NumPy loops and prints their
results on inputs drawn after ``np.random.seed(1)``. Here the same inputs
(drawn in the notebook's order, float64, NHWC images, (f, f, C_prev, C)
kernels) go through ``zero_pad2d``, ``conv2d``, ``max_pool2d`` /
``avg_pool2d`` with ``data_format="channels_last"`` and autograd; the
notebook's backward functions are the gradients of those ops (the course
back-propagates ``dZ = Z`` through ``conv_backward``). Everything is
deterministic, so the numbers agree to the printed digits.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad.ops.conv import conv2d, hwio_to_oihw
from ngrad.ops.pool import avg_pool2d, max_pool2d
from ngrad.ops.upsample import zero_pad2d
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

NHWC = {"data_format": "channels_last"}
#: printed arrays of the 2021+ notebook (8 decimals)
Z_021 = [-2.17796037, 8.07171329, -0.5772704, 3.36286738, 4.48113645, -2.89198428, 10.99288867, 3.03171932]
CACHE_1_2_3 = [-1.1191154, 1.9560789, -0.3264995, -1.34267579]
POOL_MAX_S1 = [1.96710175, 0.84616065, 1.27375593]
POOL_AVG_S1 = [0.44497696, -0.00261695, -0.31040307]
POOL_MAX_S2 = [[1.74481176, 0.90159072, 1.65980218], [1.74481176, 1.6924546, 1.65980218]]
POOL_2017_MAX = [[1.74481176, 1.6924546, 2.10025514], [1.19891788, 1.51981682, 2.18557541]]
POOL_2017_AVG = [[-0.09498456, 0.11180064, -0.14263511], [-0.09525108, 0.28325018, 0.33035185]]
MASK = [[True, False, False], [False, False, False]]
DA_MAX = [[0, 0], [5.05844394, -1.68282702], [0, 0]]
DA_AVG = [[0.08485462, 0.2787552], [1.26461098, -0.25749373], [1.17975636, -0.53624893]]
PRINTED_TOL = 5e-9  # half a unit in the 8th decimal


def T(a, grad=False):
    return ngrad.tensor(a, dtype=ngrad.float64, requires_grad=grad)


def conv(A_prev, W, b, pad, stride, grad=False):
    """The notebook's conv_forward: A_prev (m, H, W, C), W (f, f, C, F), b (1, 1, 1, F) -> Z (m, H', W', F)."""
    A, Wt, bt = T(A_prev, grad), T(W, grad), T(np.reshape(b, -1), grad)
    return conv2d(A, hwio_to_oihw(Wt), bt, stride=stride, padding=pad, **NHWC), (A, Wt, bt)


def array_row(metric: str, expected, got, note: str = "") -> Row:
    """The largest difference to a printed array: a match within half a unit of its last decimal."""
    diff = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - np.asarray(expected, dtype=np.float64))))
    size = np.size(expected)
    return Row(f"{metric}: max |diff| over {size} printed values", 0.0, diff, "exact", PRINTED_TOL,
               "0.00000000", note)


def check_zero_pad() -> list:
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    x_pad = zero_pad2d(T(x), 3, **NHWC).numpy()  # (4, 9, 9, 2)
    inside = float(np.array_equal(x_pad[:, 3:-3, 3:-3], x))
    return [Row.printed("zero_pad: x_pad.shape[1] (pad 3)", "9", x_pad.shape[1]),
            Row.printed("zero_pad: x_pad.shape[2]", "9", x_pad.shape[2]),
            Row.printed("zero_pad: x_pad[1, 1] is all zeros", "1", float(not x_pad[1, 1].any())),
            Row.printed("zero_pad: the middle is x", "1", inside)]


def check_conv_single_step() -> list:
    np.random.seed(1)
    a_slice_prev = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)
    Z, _ = conv(a_slice_prev[None], W[..., None], b, pad=0, stride=1)  # (1, 1, 1, 1)
    return [Row.printed("conv_single_step: Z", "-6.999089450680221", Z.item())]


def check_conv_forward() -> list:
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 7, 4)
    W = np.random.randn(3, 3, 4, 8)
    b = np.random.randn(1, 1, 1, 8)
    Z, _ = conv(A_prev, W, b, pad=1, stride=2)
    Z = Z.numpy()  # (2, 3, 4, 8)
    return [Row.printed("conv_forward: Z's mean", "0.5511276474566768", Z.mean()),
            Row.printed("conv_forward: Z.shape[1] (pad 1, stride 2)", "3", Z.shape[1]),
            Row.printed("conv_forward: Z.shape[2]", "4", Z.shape[2]),
            array_row("conv_forward: Z[0, 2, 1]", Z_021, Z[0, 2, 1]),
            array_row("conv_forward: cache_conv[0][1][2][3]", CACHE_1_2_3, A_prev[1, 2, 3])]


def check_pool_forward() -> list:
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 5, 3)
    rows = []
    A = max_pool2d(T(A_prev), 3, stride=1, **NHWC).numpy()  # (2, 3, 3, 3)
    rows.append(Row.printed("pool_forward stride 1: A.shape[1]", "3", A.shape[1]))
    rows.append(array_row("pool_forward max stride 1: A[1, 1, 0]", POOL_MAX_S1, A[1, 1, 0]))
    A = avg_pool2d(T(A_prev), 3, stride=1, **NHWC).numpy()
    rows.append(array_row("pool_forward avg stride 1: A[1, 1, 0]", POOL_AVG_S1, A[1, 1, 0]))
    A = max_pool2d(T(A_prev), 3, stride=2, **NHWC).numpy()  # (2, 2, 2, 3)
    rows.append(Row.printed("pool_forward stride 2: A.shape[1]", "2", A.shape[1]))
    rows.append(array_row("pool_forward max stride 2: A[0, 0]", POOL_MAX_S2, A[0, 0]))
    np.random.seed(1)
    A_prev = np.random.randn(2, 4, 4, 3)
    note = "2017 notebook: A_prev (2, 4, 4, 3), f = 4, stride 1"
    for mode, pool, expected in (("max", max_pool2d, POOL_2017_MAX), ("avg", avg_pool2d, POOL_2017_AVG)):
        A = pool(T(A_prev), 4, 1, **NHWC).numpy()  # (2, 1, 1, 3)
        rows.append(array_row(f"pool_forward {mode} (2017)", expected, A[:, 0, 0], note))
    return rows


def check_conv_backward() -> list:
    np.random.seed(1)
    A_prev = np.random.randn(10, 4, 4, 3)
    W = np.random.randn(2, 2, 3, 8)
    b = np.random.randn(1, 1, 1, 8)
    Z, (A, Wt, bt) = conv(A_prev, W, b, pad=2, stride=2, grad=True)
    Z.backward(Z.numpy())  # the notebook's conv_backward(Z, cache_conv)
    return [Row.printed("conv_backward: dA_mean", "1.4524377775388075", A.grad.numpy().mean()),
            Row.printed("conv_backward: dW_mean", "1.7269914583139097", Wt.grad.numpy().mean()),
            Row.printed("conv_backward: db_mean", "7.839232564616838", bt.grad.numpy().mean())]


def check_mask_and_distribute() -> list:
    np.random.seed(1)
    x = np.random.randn(2, 3)
    X = T(x[None, None], grad=True)  # one window covering x
    max_pool2d(X, (2, 3)).backward(np.ones((1, 1, 1, 1)))
    mask = X.grad.numpy()[0, 0] != 0  # where the gradient of the max goes
    same = int((mask == np.array(MASK)).sum())
    X = T(np.zeros((1, 1, 2, 2)), grad=True)
    avg_pool2d(X, 2).backward(np.array([[[[2.0]]]]))  # distribute_value(2, (2, 2))
    spread = X.grad.numpy()[0, 0]
    return [Row.printed("create_mask_from_window: cells equal to the course's mask", "6", same),
            array_row("distribute_value(2, (2, 2))", [[0.5, 0.5], [0.5, 0.5]], spread)]


def check_pool_backward() -> list:
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    dA = np.random.randn(5, 4, 2, 2)
    rows = [Row.printed("pool_backward: mean of dA", "0.14571390272918056", dA.mean())]
    for mode, pool, expected in (("max", max_pool2d, DA_MAX), ("average", avg_pool2d, DA_AVG)):
        X = T(A_prev, grad=True)
        pool(X, 2, stride=1, **NHWC).backward(dA)
        dA_prev = X.grad.numpy()  # (5, 5, 3, 2)
        rows.append(array_row(f"pool_backward {mode}: dA_prev[1, 1]", expected, dA_prev[1, 1]))
    return rows


def run(ctx) -> Result:
    result = Result()
    for check in (check_zero_pad, check_conv_single_step, check_conv_forward, check_pool_forward,
                  check_conv_backward, check_mask_and_distribute, check_pool_backward):
        ctx.log(check.__name__.replace("check_", ""))
        result.rows += check()
    return result


EXPERIMENT = Experiment(
    id="c4w1-conv-step",
    title="the step-by-step convolution checks (padding, conv, pooling and their backward) with ngrad's ops",
    needs_data=False,
    run=run,
    source="C4W1 Convolution model step by step, 2021+ notebook",
)

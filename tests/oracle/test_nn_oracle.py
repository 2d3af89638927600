"""ngrad.nn layers and losses against torch.nn, forward and backward, in float32."""
import numpy as np
import pytest

import ngrad
from ngrad import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle

RTOL, ATOL = 1e-5, 1e-5


def pair(x):
    """The same float32 data as an ngrad tensor and a torch tensor, both requiring grad."""
    x = np.asarray(x, dtype=np.float32)
    return ngrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def copy_params(ours, theirs):
    """Load our parameters into the torch module (same names, same layouts)."""
    with torch.no_grad():
        for name, p in ours.named_parameters():
            dict(theirs.named_parameters())[name].copy_(torch.from_numpy(p.numpy().copy()))


def backward_both(y, ty, seed=0):
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    ty.backward(torch.from_numpy(g))


def assert_close(a, b, what, rtol=RTOL, atol=ATOL):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    a = a.numpy() if hasattr(a, "numpy") and not isinstance(a, np.ndarray) else a
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def assert_grads_match(ours, theirs):
    their = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad.numpy(), their[name].grad, f"grad of {name}", rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ Linear
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_linear(bias, shape):
    ours, theirs = nn.Linear(4, 3, bias=bias), torch.nn.Linear(4, 3, bias=bias)
    copy_params(ours, theirs)
    x, tx = pair(np.random.default_rng(0).standard_normal(shape))
    y, ty = ours(x), theirs(tx)
    assert_close(y, ty, "forward")
    backward_both(y, ty)
    assert_close(x.grad, tx.grad, "input grad")
    assert_grads_match(ours, theirs)


# ------------------------------------------------------------- BatchNorm1d
def make_bn(momentum=0.1, shape_c=4):
    ours = nn.BatchNorm1d(shape_c, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(shape_c, momentum=momentum)
    rng = np.random.default_rng(1)
    with ngrad.no_grad():
        ours.weight[...] = rng.standard_normal(shape_c)
        ours.bias[...] = rng.standard_normal(shape_c)
    copy_params(ours, theirs)
    return ours, theirs


def assert_buffers_match(ours, theirs):
    their = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        assert_close(b.numpy(), their[name], f"buffer {name}")


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)])
def test_batchnorm_train_then_eval(momentum, shape):
    ours, theirs = make_bn(momentum)
    rng = np.random.default_rng(2)
    for step in range(4):  # several training steps move the running statistics
        x, tx = pair(rng.standard_normal(shape) * (1 + step) + step)
        y, ty = ours(x), theirs(tx)
        assert_close(y, ty, f"train forward, step {step}", rtol=1e-4, atol=1e-4)
        backward_both(y, ty, seed=step)
        assert_close(x.grad, tx.grad, f"train input grad, step {step}", rtol=1e-4, atol=1e-4)
    assert_grads_match(ours, theirs)  # accumulated over the steps
    assert_buffers_match(ours, theirs)
    ours.eval(), theirs.eval()
    ours.zero_grad(), theirs.zero_grad()
    x, tx = pair(rng.standard_normal(shape))
    y, ty = ours(x), theirs(tx)
    assert_close(y, ty, "eval forward", rtol=1e-4, atol=1e-4)
    backward_both(y, ty)
    assert_close(x.grad, tx.grad, "eval input grad", rtol=1e-4, atol=1e-4)
    assert_grads_match(ours, theirs)
    assert_buffers_match(ours, theirs)  # eval leaves them alone


def test_batchnorm_state_dict_keys_match_torch():
    ours, theirs = make_bn()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    loaded = nn.BatchNorm1d(4)
    loaded.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k], v.numpy())


# --------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("normalized", [(6,), (3, 6)])
def test_layernorm(normalized):
    ours, theirs = nn.LayerNorm(normalized), torch.nn.LayerNorm(normalized)
    rng = np.random.default_rng(3)
    with ngrad.no_grad():
        ours.weight[...] = rng.standard_normal(normalized)
        ours.bias[...] = rng.standard_normal(normalized)
    copy_params(ours, theirs)
    x, tx = pair(rng.standard_normal((2, 3, 6)) * 3 + 1)
    y, ty = ours(x), theirs(tx)
    assert_close(y, ty, "forward", rtol=1e-4, atol=1e-4)
    backward_both(y, ty)
    assert_close(x.grad, tx.grad, "input grad", rtol=1e-4, atol=1e-4)
    assert_grads_match(ours, theirs)


# ----------------------------------------------------------------- Dropout
def _dropout_run(layer, x, lib):
    """Forward, backward of ones and eval forward; everything as NumPy arrays."""
    y = layer(x)
    y_np = y.detach().numpy() if lib is torch else y.numpy()
    y.backward(torch.ones_like(y) if lib is torch else np.ones_like(y_np))
    layer.eval()
    z = layer(x)
    return y_np, x.grad.numpy(), (z.detach().numpy() if lib is torch else z.numpy())


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_scaling_mask_reuse_and_eval(p):
    """Both keep x / (1 - p) where the mask keeps and 0 elsewhere, backward reuses that mask, eval is identity."""
    data = np.random.default_rng(4).uniform(0.5, 1.5, (100, 40)).astype(np.float32)
    ngrad.manual_seed(0)
    torch.manual_seed(0)
    x, tx = pair(data)
    for layer, xin, lib in ((nn.Dropout(p), x, ngrad), (torch.nn.Dropout(p), tx, torch)):
        y, grad, evaluated = _dropout_run(layer, xin, lib)
        kept = y != 0
        assert abs(kept.mean() - (1 - p)) < 0.03, lib.__name__
        np.testing.assert_allclose(y[kept], (data / np.float32(1 - p))[kept], rtol=1e-6, err_msg=lib.__name__)
        np.testing.assert_allclose(grad, kept / np.float32(1 - p), rtol=1e-6, err_msg=lib.__name__)
        np.testing.assert_array_equal(evaluated, data, err_msg=lib.__name__)


# ------------------------------------------------------------------ losses
def loss_cases():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((6, 3))
    y01 = (rng.random((6, 3)) > 0.5).astype(np.float32)
    labels = rng.integers(0, 3, 6)
    probs = np.eye(3, dtype=np.float32)[labels]
    for red in ("mean", "sum", "none"):
        yield f"bce-{red}", nn.BCELoss(reduction=red), torch.nn.BCELoss(reduction=red), "sigmoid", z, y01
        yield f"bcelogits-{red}", nn.BCEWithLogitsLoss(reduction=red), torch.nn.BCEWithLogitsLoss(reduction=red), \
            None, z, y01
        yield f"ce-labels-{red}", nn.CrossEntropyLoss(reduction=red), torch.nn.CrossEntropyLoss(reduction=red), \
            None, z, labels
        yield f"ce-probs-{red}", nn.CrossEntropyLoss(reduction=red), torch.nn.CrossEntropyLoss(reduction=red), \
            None, z, probs
        yield f"mse-{red}", nn.MSELoss(reduction=red), torch.nn.MSELoss(reduction=red), None, z, y01
        yield f"l1-{red}", nn.L1Loss(reduction=red), torch.nn.L1Loss(reduction=red), None, z, y01


CASES = list(loss_cases())


@pytest.mark.parametrize("name,ours,theirs,pre,z,target", CASES, ids=[c[0] for c in CASES])
def test_loss_modules(name, ours, theirs, pre, z, target):
    x, tx = pair(z)
    xin, txin = (x.sigmoid(), tx.sigmoid()) if pre == "sigmoid" else (x, tx)
    t = ngrad.tensor(target) if target.dtype.kind != "f" else ngrad.tensor(target, dtype=np.float32)
    loss, tloss = ours(xin, t), theirs(txin, torch.as_tensor(target))
    assert_close(loss, tloss, f"{name} value")
    if loss.ndim:
        backward_both(loss, tloss)
    else:
        loss.backward()
        tloss.backward()
    assert_close(x.grad, tx.grad, f"{name} grad")


# ------------------------------------------------------------ whole model
def test_mlp_training_step_matches_torch():
    ours = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                 torch.nn.Linear(16, 3))
    copy_params(ours, theirs)
    rng = np.random.default_rng(6)
    x, tx = pair(rng.standard_normal((32, 10)))
    labels = rng.integers(0, 3, 32)
    loss = nn.CrossEntropyLoss()(ours(x), ngrad.tensor(labels)) + nn.l2_penalty(ours, 0.1, 32)
    tl2 = 0.1 / 64 * sum((p**2).sum() for n, p in theirs.named_parameters() if p.ndim >= 2)
    tloss = torch.nn.CrossEntropyLoss()(theirs(tx), torch.as_tensor(labels)) + tl2
    assert_close(loss, tloss, "loss")
    loss.backward(), tloss.backward()
    assert_grads_match(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())

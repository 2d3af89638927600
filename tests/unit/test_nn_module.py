"""Module and Parameter: registration, iteration, modes, dtype, state dicts, hooks, repr."""
import copy

import numpy as np
import pytest

import ngrad
from ngrad import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 3)
        self.out = nn.Linear(3, 1)
        self.register_buffer("steps", ngrad.zeros(1))

    def forward(self, X):
        return self.out(self.hidden(X).relu())


def mlp():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


# ---------------------------------------------------------------- Parameter
def test_parameter_is_a_tensor_requiring_grad():
    p = nn.Parameter(ngrad.zeros(2, 3))
    assert isinstance(p, ngrad.Tensor) and p.requires_grad and p.is_leaf
    assert type(p * 2) is ngrad.Tensor
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(ngrad.zeros(2), requires_grad=False).requires_grad


def test_parameter_shares_a_tensors_array_and_copies_other_data():
    t = ngrad.zeros(3)
    assert nn.Parameter(t).data is t.data
    a = np.zeros(3)
    p = nn.Parameter(a)
    assert p.data is not a and p.dtype == ngrad.get_default_dtype()


# ------------------------------------------------------------- registration
def test_named_parameters_are_qualified_in_order():
    names = [n for n, _ in TwoLayer().named_parameters()]
    assert names == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert [n for n, _ in mlp().named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_buffers_children_and_modules():
    m = TwoLayer()
    assert [n for n, _ in m.named_buffers()] == ["steps"]
    assert [n for n, _ in m.named_children()] == ["hidden", "out"]
    assert [n for n, _ in m.named_modules()] == ["", "hidden", "out"]
    assert len(list(m.parameters())) == 4 and len(list(m.modules())) == 3


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(m.parameters())) == 2
    assert len(list(m.modules())) == 3


def test_reassigning_and_deleting_attributes_keeps_registries_in_sync():
    m = TwoLayer()
    m.hidden = nn.Linear(4, 3, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["hidden.weight", "out.weight", "out.bias"]
    del m.out
    assert [n for n, _ in m.named_parameters()] == ["hidden.weight"]
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.hidden.weight = ngrad.zeros(3, 4)
    m.hidden.weight = None
    assert list(m.parameters()) == []


def test_assigning_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ngrad.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad()

    class Forgot(nn.Module):
        def __init__(self):
            pass

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgot()(1)


def test_register_buffer_rejects_clashes_and_non_tensors():
    m = TwoLayer()
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("forward", ngrad.zeros(1))
    with pytest.raises(KeyError, match="'.'"):
        m.register_buffer("a.b", ngrad.zeros(1))
    with pytest.raises(TypeError, match="buffer 'steps'"):
        m.steps = 3


# ------------------------------------------------------------------- modes
def test_train_eval_flags_propagate():
    m = mlp()
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m
    assert not any(c.training for c in m.modules())
    m.train()
    assert all(c.training for c in m.modules())


def test_zero_grad_sets_none_or_zeros():
    m = mlp()
    m(ngrad.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_requires_grad_freezes_parameters():
    m = mlp()
    m[0].requires_grad_(False)
    m(ngrad.randn(5, 4)).sum().backward()
    assert m[0].weight.grad is None and m[2].weight.grad is not None


def test_apply_visits_children_first():
    seen = []
    mlp().apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Sequential"]


def test_to_converts_parameters_grads_and_floating_buffers():
    m = TwoLayer()
    m.register_buffer("count", ngrad.tensor(0))
    m(ngrad.randn(2, 4)).sum().backward()
    assert m.to(ngrad.float64) is m
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in m.parameters())
    assert m.steps.dtype == np.float64 and m.count.dtype == np.int64
    with pytest.raises(TypeError):
        m.to(ngrad.int64)


# ------------------------------------------------------------- state dicts
def test_state_dict_holds_copies_of_params_and_buffers():
    m = TwoLayer()
    sd = m.state_dict()
    assert list(sd) == ["steps", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]  # PyTorch order
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["out.bias"][...] = 99
    assert m.out.bias.numpy()[0] != 99


def test_state_dict_round_trip():
    a, b = mlp(), mlp()
    x = ngrad.randn(3, 4)
    assert not np.allclose(a(x).numpy(), b(x).numpy())
    keys = b.load_state_dict(a.state_dict())
    assert keys.missing_keys == [] and keys.unexpected_keys == []
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_accepts_tensors_and_casts():
    m = mlp()
    sd = {k: ngrad.tensor(v, dtype=ngrad.float64) for k, v in mlp().state_dict().items()}
    m.load_state_dict(sd)
    assert m[0].weight.dtype == np.float32
    np.testing.assert_allclose(m[0].weight.numpy(), sd["0.weight"].numpy(), rtol=1e-6)


def test_strict_load_reports_missing_and_unexpected_keys():
    m = mlp()
    sd = m.state_dict()
    sd.pop("2.bias")
    sd["extra.weight"] = np.zeros(1)
    before = m[0].weight.numpy().copy()
    sd["0.weight"] = sd["0.weight"] + 1
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    assert 'Missing key(s) in state_dict: "2.bias"' in str(e.value)
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in str(e.value)
    np.testing.assert_array_equal(m[0].weight.numpy(), before)  # nothing copied on failure
    keys = m.load_state_dict(sd, strict=False)
    assert keys.missing_keys == ["2.bias"] and keys.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(m[0].weight.numpy(), before + 1)


def test_shape_mismatch_is_an_error_even_when_not_strict():
    m = mlp()
    sd = m.state_dict()
    sd["0.weight"] = np.zeros((3, 5))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight.*\(3, 5\).*\(3, 4\)"):
        m.load_state_dict(sd, strict=False)


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    m = nn.Module()
    m.register_buffer("cache", ngrad.zeros(2), persistent=False)
    assert m.state_dict() == {} and [n for n, _ in m.named_buffers()] == ["cache"]


def test_deepcopy_gives_independent_parameters():
    m = mlp()
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter)
    c[0].weight.data[...] = 0
    assert m[0].weight.numpy().any()


# ------------------------------------------------------------------- hooks
def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(2, 2)
    seen = []
    h = lin.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    pre = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    out = lin(ngrad.ones(3, 2))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(lin.bias.numpy(), (3, 2)))
    assert seen == [(3, 2)]
    h.remove()
    pre.remove()
    lin(ngrad.ones(1, 2))
    assert seen == [(3, 2)]


def test_global_forward_hook_sees_every_module():
    calls = []
    with nn.register_module_forward_hook(lambda mod, args, out: calls.append(type(mod).__name__)):
        mlp()(ngrad.randn(1, 4))
    mlp()(ngrad.randn(1, 4))
    assert calls == ["Linear", "ReLU", "Linear", "Sequential"]


# -------------------------------------------------------------------- repr
def test_repr_is_a_pytorch_like_tree():
    text = repr(nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.ReLU(), nn.LeakyReLU(0.2))))
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): LeakyReLU(negative_slope=0.2)\n"
        "  )\n"
        ")"
    )


def test_forward_missing_is_named():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        nn.Module()(1)

"""Optimizer machinery: params and groups, names, zero_grad, step rules, state dicts."""
import doctest
import importlib
import json

import numpy as np
import pytest

import ngrad
from ngrad import optim

SHAPES = {"fc1.W": (3, 4), "fc1.b": (4,), "fc2.W": (4, 2)}

# every optimizer, with every option that adds state or touches the gradient
CONFIGS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-momentum-wd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "momentum": lambda p: optim.Momentum(p, lr=0.1, beta=0.9),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01, weight_decay=0.01),
    "rmsprop-momentum": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam-wd": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


def _named(seed=0, dtype=ngrad.float64):
    rng = np.random.default_rng(seed)
    return [(n, ngrad.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True)) for n, s in SHAPES.items()]


def _grads(step, params):
    """The fixed gradient of ``step`` for each parameter (same for every run)."""
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(p.shape) for p in params]


def _train(opt, params, steps, start=0):
    for k in range(start, start + steps):
        for p, g in zip(params, _grads(k, params)):
            p.grad = ngrad.tensor(g, dtype=p.dtype)
        opt.step()


def _weights(params):
    return [p.numpy().copy() for p in params]


# ---------------------------------------------------------------- params
def test_plain_tensors_get_stable_positional_names():
    a, b = (ngrad.zeros(2, requires_grad=True) for _ in range(2))
    opt = optim.SGD([a, b], lr=0.1)
    opt.add_param_group({"params": [ngrad.zeros(1, requires_grad=True)], "lr": 0.01})
    assert opt.param_groups[0]["param_names"] == ["group0.param0", "group0.param1"]
    assert opt.param_groups[1]["param_names"] == ["group1.param0"]
    saved = [g["params"] for g in opt.state_dict()["param_groups"]]
    assert saved == [["group0.param0", "group0.param1"], ["group1.param0"]]


def test_named_pairs_from_a_generator_keep_their_names():
    named = _named()
    opt = optim.Adam((pair for pair in named), lr=0.1)
    assert opt.param_groups[0]["param_names"] == list(SHAPES)
    assert opt.param_groups[0]["params"] == [p for _, p in named]


def test_group_dicts_take_defaults_and_overrides():
    named = _named()
    opt = optim.SGD([{"params": named[:2]}, {"params": [named[2][1]], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    g0, g1 = opt.param_groups
    assert (g0["lr"], g0["momentum"], g1["lr"], g1["momentum"]) == (0.1, 0.0, 0.5, 0.9)
    assert g0["param_names"] == ["fc1.W", "fc1.b"] and g1["param_names"] == ["group1.param0"]


def test_a_single_tensor_is_accepted_as_a_group():
    p = ngrad.zeros(2, requires_grad=True)
    opt = optim.SGD([{"params": p}], lr=0.1)
    assert opt.param_groups[0]["params"] == [p]


@pytest.mark.parametrize(
    "params, error, match",
    [
        (ngrad.zeros(2, requires_grad=True), TypeError, "got a Tensor; wrap it in a list"),
        ({"params": [ngrad.zeros(2, requires_grad=True)]}, TypeError, "got a dict; wrap it in a list"),
        ([], ValueError, "empty parameter list"),
        ([np.zeros(2)], TypeError, "expected a Tensor"),
        ([{"lr": 0.1}], ValueError, "'params'"),
        ([{"params": {ngrad.zeros(1, requires_grad=True)}}], TypeError, "not a set"),
        ([{"params": []}], ValueError, "group 0 is empty"),
        ([ngrad.zeros(2, requires_grad=True) * 2], ValueError, "non-leaf"),
        ([ngrad.tensor([1, 2])], ngrad.DTypeError, "non-floating"),
    ],
)
def test_bad_params_are_rejected(params, error, match):
    with pytest.raises(error, match=match):
        optim.SGD(params, lr=0.1)


def test_a_module_itself_gets_a_hint():
    Linear = getattr(ngrad.nn, "Linear", None)
    if Linear is None:
        pytest.skip("ngrad.nn.Linear is not available")
    with pytest.raises(TypeError, match="pass model.named_parameters()"):
        optim.Adam(Linear(2, 2))


def test_a_parameter_or_a_name_twice_is_rejected():
    p = ngrad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([p, p], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one group"):
        opt.add_param_group({"params": [p]})
    q = ngrad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"duplicate parameter names \['w'\]"):
        optim.SGD([("w", p), ("w", q)], lr=0.1)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "SGD: invalid lr -0.1"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.5, nesterov=True), "nesterov"),
        (lambda p: optim.SGD(p, lr="0.1"), "invalid lr"),
        (lambda p: optim.Momentum(p, lr=0.1, beta=1.0), "Momentum: invalid beta 1.0"),
        (lambda p: optim.RMSprop(p, alpha=1.5), "invalid alpha"),
        (lambda p: optim.RMSprop(p, eps=-1e-8), "invalid eps"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"invalid betas\[1\] 1.0"),
        (lambda p: optim.Adam(p, betas=(0.9,)), "pair"),
        (lambda p: optim.AdamW(p, weight_decay=-1), "AdamW: invalid weight_decay"),
        (lambda p: optim.Adam(p, lr=float("nan")), "invalid lr"),
    ],
)
def test_bad_hyperparameters_name_the_optimizer(make, match):
    with pytest.raises(ValueError, match=match):
        make([ngrad.zeros(2, requires_grad=True)])


def test_add_param_group_checks_its_hyperparameters():
    opt = optim.Adam([ngrad.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="invalid lr"):
        opt.add_param_group({"params": [ngrad.zeros(2, requires_grad=True)], "lr": -1})
    assert len(opt.param_groups) == 1


# ------------------------------------------------------------------ step
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_step_updates_in_place_and_never_writes_the_gradient(config):
    params = [p for _, p in _named()]
    opt = CONFIGS[config](params)
    arrays = [p.data for p in params]
    for k in range(3):
        grads = [ngrad.tensor(g) for g in _grads(k, params)]
        saved = [g.numpy().copy() for g in grads]
        before = _weights(params)
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        for p, a, g, s, b in zip(params, arrays, grads, saved, before):
            assert p.data is a and p.grad is g
            np.testing.assert_array_equal(g.numpy(), s)
            assert not np.array_equal(p.numpy(), b)
            assert p.is_leaf and p.requires_grad


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_float32_stays_float32(config):
    params = [p for _, p in _named(dtype=ngrad.float32)]
    opt = CONFIGS[config](params)
    _train(opt, params, 2)
    assert all(p.dtype == np.float32 for p in params)
    arrays = [v for s in opt.state.values() for v in s.values() if hasattr(v, "dtype")]
    assert all(a.dtype == np.float32 for a in arrays)


def test_parameters_without_gradient_are_skipped():
    a, b = ngrad.ones(2, requires_grad=True), ngrad.ones(2, requires_grad=True)
    opt = optim.Adam([("a", a), ("b", b)], lr=0.1)
    a.grad = ngrad.tensor([1.0, 1.0])
    opt.step()
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    assert b not in opt.state and list(opt.state_dict()["state"]) == ["a"]
    assert opt.state[a]["step"] == 1


def test_a_gradient_of_the_wrong_shape_names_the_parameter():
    p = ngrad.zeros((2, 3), requires_grad=True)
    opt = optim.SGD([("fc.W", p)], lr=0.1)
    p.grad = ngrad.zeros(3)
    with pytest.raises(ngrad.ShapeError, match=r"'fc.W' has shape \(3,\), the parameter has shape \(2, 3\)"):
        opt.step()


def test_zero_grad_sets_none_or_fresh_zeros():
    p = ngrad.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    old = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is not old and p.grad.numpy().tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(old.numpy(), [2.0, 2.0])
    opt.zero_grad()
    assert p.grad is None


def test_step_runs_the_closure_with_recording_on_and_returns_its_loss():
    p = ngrad.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ngrad.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(p.numpy(), [3.0 - 0.1 * 6.0])


def test_changing_lr_in_the_group_takes_effect():
    p = ngrad.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = 0.5
    p.grad = ngrad.ones(1)
    opt.step()
    np.testing.assert_allclose(p.numpy(), [-0.5])


def test_repr_lists_groups():
    text = repr(optim.Adam(_named(), lr=0.1))
    assert text.startswith("Adam (") and "3 params" in text and "lr=0.1" in text


def test_docstring_examples_run():
    for name in ["ngrad.optim", "ngrad.optim.sgd", "ngrad.optim.lr_scheduler"]:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0


# ------------------------------------------------------------ state dict
def test_state_dict_is_keyed_by_name_and_holds_copies():
    named = _named()
    params = [p for _, p in named]
    opt = optim.Adam(named, lr=0.01, betas=(0.8, 0.9))
    _train(opt, params, 2)
    sd = opt.state_dict()
    assert list(sd["state"]) == list(SHAPES)
    assert sd["state"]["fc1.W"]["step"] == 2 and type(sd["state"]["fc1.W"]["step"]) is int
    assert sd["param_groups"] == [
        {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-8, "weight_decay": 0.0, "params": list(SHAPES)}
    ]
    saved = sd["state"]["fc1.W"]["exp_avg"]
    assert isinstance(saved, np.ndarray) and saved is not opt.state[params[0]]["exp_avg"]
    copy = saved.copy()
    _train(opt, params, 1, start=2)
    np.testing.assert_array_equal(saved, copy)


def _round_trip(config, save, steps_before=3, steps_after=3, reorder=False):
    """Weights after an interrupted run (state saved, loaded into a fresh optimizer) and an uninterrupted one."""
    named = _named()
    params = [p for _, p in named]
    opt = CONFIGS[config](named)
    _train(opt, params, steps_before)
    checkpoint = save(opt)
    weights = _weights(params)

    fresh = _named()
    for (_, p), w in zip(fresh, weights):
        p.data[...] = w
    order = fresh[::-1] if reorder else fresh
    opt2 = CONFIGS[config](order)
    opt2.load_state_dict(checkpoint)
    params2 = [p for _, p in fresh]
    _train(opt2, params2, steps_after, start=steps_before)
    _train(opt, params, steps_after, start=steps_before)
    return _weights(params2), _weights(params)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_resuming_from_a_state_dict_equals_never_stopping(config):
    resumed, uninterrupted = _round_trip(config, lambda o: o.state_dict())
    for a, b in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("config", ["adam", "sgd-momentum-wd", "rmsprop-momentum"])
def test_loading_matches_by_name_not_position(config):
    resumed, uninterrupted = _round_trip(config, lambda o: o.state_dict(), reorder=True)
    for a, b in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_flat_state_dict_survives_json(config):
    def save(opt):
        arrays, meta = opt.flat_state_dict()
        assert all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in arrays.items())
        return {k: v.copy() for k, v in arrays.items()}, json.dumps(meta)

    named = _named()
    params = [p for _, p in named]
    opt = CONFIGS[config](named)
    _train(opt, params, 3)
    arrays, meta = save(opt)
    opt2 = CONFIGS[config](_named(seed=9))
    opt2.load_flat_state_dict(arrays, meta)
    before, after = opt.state_dict(), opt2.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert list(after["state"]) == list(before["state"])
    for name, entry in before["state"].items():
        for key, value in entry.items():
            np.testing.assert_array_equal(after["state"][name][key], value)


def test_flat_state_dict_layout():
    named = _named()
    opt = optim.Adam(named, lr=0.01)
    _train(opt, [p for _, p in named], 1)
    arrays, meta = opt.flat_state_dict()
    assert sorted(arrays) == sorted(f"optimizer/state/{n}/{k}" for n in SHAPES for k in ("exp_avg", "exp_avg_sq"))
    assert meta["state"]["fc1.W"]["step"] == 1
    assert meta["param_groups"][0]["params"] == list(SHAPES)
    json.dumps(meta)
    assert sorted(opt.flat_state_dict(prefix="opt")[0])[0].startswith("opt/state/")


def test_flat_state_dict_through_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    named = _named()
    params = [p for _, p in named]
    opt = optim.AdamW(named, lr=0.01)
    _train(opt, params, 2)
    arrays, meta = opt.flat_state_dict()
    path = str(tmp_path / "opt.safetensors")
    st.save_file(arrays, path, metadata={"optimizer": json.dumps(meta)})
    from safetensors import safe_open

    with safe_open(path, framework="np") as f:
        text = f.metadata()["optimizer"]
    opt2 = optim.AdamW(_named(), lr=0.5)
    opt2.load_flat_state_dict(st.load_file(path), text)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    assert opt2.state_dict()["state"]["fc2.W"]["step"] == 2
    np.testing.assert_array_equal(opt2.state_dict()["state"]["fc2.W"]["exp_avg"], opt.state[params[2]]["exp_avg"])


def test_load_flat_state_dict_names_a_missing_array():
    named = _named()
    opt = optim.Adam(named, lr=0.01)
    _train(opt, [p for _, p in named], 1)
    arrays, meta = opt.flat_state_dict()
    del arrays["optimizer/state/fc1.b/exp_avg"]
    with pytest.raises(ValueError, match="'optimizer/state/fc1.b/exp_avg' is missing"):
        optim.Adam(_named()).load_flat_state_dict(arrays, meta)


def test_checkpoint_round_trip_through_ngrad_io(tmp_path):
    io = pytest.importorskip("ngrad.io")
    Linear = getattr(ngrad.nn, "Linear", None)
    if Linear is None or not hasattr(io, "save_checkpoint"):
        pytest.skip("ngrad.nn.Linear or ngrad.io.save_checkpoint is not available")
    layer = Linear(3, 2)
    opt = optim.Adam(layer.named_parameters(), lr=0.01)
    for p in layer.parameters():
        p.grad = ngrad.ones_like(p)
    opt.step()
    path = str(tmp_path / "ckpt.npz")
    io.save_checkpoint(layer, path, optimizer=opt)
    opt2 = optim.Adam(layer.named_parameters(), lr=0.5)
    io.load_checkpoint(path, layer, optimizer=opt2)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.state_dict()["state"]["weight"]["step"] == 1


def test_load_restores_hyperparameters_and_turns_json_lists_back_into_tuples():
    opt = optim.Adam(_named(), lr=0.01)
    sd = json.loads(json.dumps(optim.Adam(_named(), lr=0.3, betas=(0.5, 0.6)).state_dict()))
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.3 and opt.param_groups[0]["betas"] == (0.5, 0.6)


def _adam_state(steps=1):
    named = _named()
    opt = optim.Adam(named, lr=0.01)
    _train(opt, [p for _, p in named], steps)
    return opt.state_dict()


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda sd: sd["param_groups"][0]["params"].remove("fc2.W"), r"missing parameters \['fc2.W'\]"),
        (lambda sd: sd["param_groups"][0]["params"].append("fc3.W"), r"unexpected parameters \['fc3.W'\]"),
        (lambda sd: sd["param_groups"].append({"lr": 0.1, "params": []}), "2 param groups, this optimizer has 1"),
        (
            lambda sd: sd["state"]["fc1.b"].update(exp_avg=np.zeros(5)),
            r"shape mismatch for 'fc1.b'\['exp_avg'\]: saved \(5,\), the parameter has \(4,\)",
        ),
        (lambda sd: sd["state"]["fc1.b"].pop("exp_avg_sq"), r"'fc1.b' has keys \['exp_avg', 'step'\], Adam expects"),
        (lambda sd: sd["state"]["fc1.b"].update(exp_avg="zeros"), r"'fc1.b'\]\['exp_avg'\] is a str|is a str"),
        (lambda sd: sd["param_groups"][0].update(lr=-1.0), "Adam: invalid lr -1.0"),
        (lambda sd: sd.pop("state"), "as returned by state_dict"),
    ],
)
def test_load_errors_name_the_problem_and_change_nothing(edit, match):
    named = _named(seed=5)
    opt = optim.Adam(named, lr=0.02)
    _train(opt, [p for _, p in named], 1)
    before = opt.state_dict()
    sd = _adam_state()
    edit(sd)
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for name in before["state"]:
        np.testing.assert_array_equal(after["state"][name]["exp_avg"], before["state"][name]["exp_avg"])


def test_all_name_problems_are_reported_together():
    sd = _adam_state()
    sd["param_groups"][0]["params"] = ["fc1.W", "head.W"]
    with pytest.raises(ValueError) as info:
        optim.Adam(_named()).load_state_dict(sd)
    message = str(info.value)
    assert "missing parameters ['fc1.b', 'fc2.W']" in message and "unexpected parameters ['head.W']" in message


def test_parameters_in_the_wrong_group_are_reported():
    named = _named()
    sd = optim.SGD([{"params": named[:1]}, {"params": named[1:]}], lr=0.1).state_dict()
    opt = optim.SGD([{"params": named[:2]}, {"params": named[2:]}], lr=0.1)
    with pytest.raises(ValueError, match=r"param group 0 holds other parameters in the saved state: \['fc1.b'\]"):
        opt.load_state_dict(sd)


def test_state_of_another_optimizer_is_rejected():
    opt = optim.SGD(_named(), lr=0.1, momentum=0.9)
    sd = _adam_state()
    sd["param_groups"][0] = {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": False,
                             "weight_decay": 0.0, "params": list(SHAPES)}
    with pytest.raises(ValueError, match="SGD expects \\['momentum_buffer'\\]"):
        opt.load_state_dict(sd)


def test_a_partial_state_loads_and_the_rest_starts_fresh():
    named = _named()
    opt = optim.Adam(named, lr=0.01)
    sd = _adam_state()
    del sd["state"]["fc2.W"]
    opt.load_state_dict(sd)
    assert named[2][1] not in opt.state and opt.state[named[0][1]]["step"] == 1


# ----------------------------------------------------------- integration
def test_training_an_nn_linear_with_named_parameters():
    Linear = getattr(ngrad.nn, "Linear", None)
    if Linear is None:
        pytest.skip("ngrad.nn.Linear is not available")
    ngrad.manual_seed(0)
    layer = Linear(3, 1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 3)).astype(np.float32)
    y = X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    opt = optim.Adam(layer.named_parameters(), lr=0.05)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = ((layer(ngrad.tensor(X)) - ngrad.tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]
    names = [n for n, _ in layer.named_parameters()]
    assert list(opt.state_dict()["state"]) == names
    optim.Adam(layer.named_parameters()).load_state_dict(opt.state_dict())

"""Saving and loading: formats, round trips, atomic writes, corrupt files."""
import json
import os

import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.io import (
    CorruptFileError,
    atomic_write,
    flatten_state,
    load,
    load_checkpoint,
    load_model,
    load_tensors,
    load_weights,
    save,
    save_checkpoint,
    save_model,
    save_weights,
    unflatten_state,
)

FORMATS = ["safetensors", "npz"]


def make_mlp(seed=0):
    ngrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))


def predict(module, X):
    module.eval()
    with ngrad.no_grad():
        return module(ngrad.tensor(X)).numpy()


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)


@pytest.mark.parametrize("fmt", FORMATS)
def test_weights_roundtrip_identical_predictions(tmp_path, fmt, X):
    src, dst = make_mlp(0), make_mlp(1)
    path = tmp_path / f"w.{fmt}"
    save_weights(src, path)
    load_weights(dst, path)
    np.testing.assert_array_equal(predict(src, X), predict(dst, X))


@pytest.mark.parametrize("fmt", FORMATS)
def test_model_roundtrip_rebuilds_architecture(tmp_path, fmt, X):
    src = make_mlp(0)
    path = tmp_path / f"m.{fmt}"
    save_model(src, path, extra={"standardizer": {"mean": [1.0]}})
    module, extra = load_model(path, return_extra=True)
    assert isinstance(module, nn.Sequential) and not module.training
    assert extra == {"standardizer": {"mean": [1.0]}}
    np.testing.assert_array_equal(predict(src, X), predict(module, X))
    np.testing.assert_array_equal(predict(src, X), predict(load(path), X))


@pytest.mark.parametrize("fmt", FORMATS)
def test_model_with_buffers_roundtrip(tmp_path, fmt, X):
    ngrad.manual_seed(0)
    src = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3))
    src.train()
    with ngrad.no_grad():
        src(ngrad.tensor(X * 3 + 1))  # move the running statistics away from their initial values
    path = tmp_path / f"bn.{fmt}"
    save(src, path)
    dst = load(path)
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[k], v)
    np.testing.assert_array_equal(predict(src, X), predict(dst, X))


@pytest.mark.parametrize("fmt", FORMATS)
def test_generic_save_load_of_arrays(tmp_path, fmt):
    arrays = {"a": np.arange(6, dtype=np.int32).reshape(2, 3), "b": np.float64(2.5) * np.ones(()), "c": np.array([True])}
    save(arrays, tmp_path / f"t.{fmt}")
    got = load(tmp_path / f"t.{fmt}")
    assert set(got) == set(arrays)
    for k in arrays:
        assert got[k].dtype == arrays[k].dtype and got[k].shape == arrays[k].shape
        np.testing.assert_array_equal(got[k], arrays[k])


def test_npz_is_loaded_without_pickle(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CorruptFileError, match="evil.npz"):
        load_tensors(path)


def test_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.safetensors.*\.npz"):
        save_weights(make_mlp(), tmp_path / "w.pt")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_corrupt_file_clear_error_and_good_file_untouched(tmp_path, fmt, damage):
    good = tmp_path / f"good.{fmt}"
    save_weights(make_mlp(0), good)
    good_bytes = good.read_bytes()
    bad = tmp_path / f"bad.{fmt}"
    data = bytearray(good_bytes)
    if damage == "truncate":
        data = data[: len(data) * 2 // 3]
    elif damage == "flip":
        data[-40] ^= 0xFF  # inside the array data (npz: the zip directory is at the end)
        data[len(data) // 2] ^= 0xFF
    elif damage == "empty":
        data = b""
    else:
        data = b"this is not a model file at all" * 3
    bad.write_bytes(bytes(data))
    target = make_mlp(1)
    before = target.state_dict()
    with pytest.raises(CorruptFileError, match="bad." + fmt) as info:
        load_weights(target, bad)
    err = info.value  # no chained traceback from inside safetensors / numpy / zipfile
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert good.read_bytes() == good_bytes
    load_weights(target, good)  # the good file still loads


def test_shape_mismatch_leaves_module_unchanged(tmp_path):
    save_weights(nn.Sequential(nn.Linear(5, 4)), tmp_path / "w.npz")
    target = nn.Sequential(nn.Linear(5, 3))
    before = target.state_dict()
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_weights(target, tmp_path / "w.npz")
    np.testing.assert_array_equal(target.state_dict()["0.weight"], before["0.weight"])


def test_atomic_write_failure_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write(path, b"old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_save_error_before_writing_keeps_old_file(tmp_path):
    path = tmp_path / "t.npz"
    save({"a": np.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="unsupported dtype"):
        save({"a": np.array(["text"])}, path)
    assert path.read_bytes() == before


def test_flatten_state_roundtrip_exact():
    state = {
        "state": {0: {"m": np.ones(3, np.float32), "step": np.int64(4)}, 1: {}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": ["0.weight"], "nesterov": False}],
        "rng": ngrad.random.get_rng_state(),
    }
    arrays, skeleton = flatten_state(state, "opt")
    skeleton = json.loads(json.dumps(skeleton))
    back = unflatten_state(skeleton, arrays)
    assert back["param_groups"] == state["param_groups"]
    assert back["rng"] == state["rng"]
    assert type(back["state"][0]["step"]) is np.int64
    np.testing.assert_array_equal(back["state"][0]["m"], state["state"][0]["m"])


class _FakeOptimizer:
    def __init__(self):
        self.state = {"exp_avg": {"0.weight": np.full((2, 2), 0.5, np.float32)}, "step": np.int64(7), "lr": 0.01}

    def state_dict(self):
        return self.state

    def load_state_dict(self, state):
        self.state = state


@pytest.mark.parametrize("fmt", FORMATS)
def test_checkpoint_roundtrip(tmp_path, fmt, X):
    src, opt = make_mlp(0), _FakeOptimizer()
    path = tmp_path / f"ckpt.{fmt}"
    rng_state = ngrad.random.get_rng_state()
    save_checkpoint(src, path, optimizer=opt, state={"epoch": 3, "loss": 0.25, "rng": rng_state})
    dst, opt2 = make_mlp(1), _FakeOptimizer()
    opt2.state = None
    state = load_checkpoint(path, dst, optimizer=opt2)
    assert state["epoch"] == 3 and state["loss"] == 0.25
    assert state["rng"] == rng_state
    np.testing.assert_array_equal(opt2.state["exp_avg"]["0.weight"], opt.state["exp_avg"]["0.weight"])
    assert opt2.state["step"] == 7 and opt2.state["lr"] == 0.01
    np.testing.assert_array_equal(predict(src, X), predict(dst, X))
    # weights-only loading and load_model also read checkpoints
    load_weights(make_mlp(2), path)
    np.testing.assert_array_equal(predict(src, X), predict(load_model(path), X))


def test_load_checkpoint_rejects_weights_file(tmp_path):
    save_weights(make_mlp(), tmp_path / "w.npz")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "w.npz", make_mlp())


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


def test_module_with_a_child_named_module_saves_whole(tmp_path):
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.module = nn.Linear(2, 2)
            self.head = nn.Linear(2, 1)

        def forward(self, X):
            return self.head(self.module(X))

    save_weights(Wrapper(), tmp_path / "w.npz")
    assert set(load(tmp_path / "w.npz")) == {"module.weight", "module.bias", "head.weight", "head.bias"}

"""Hyperparameter search: spaces on the right scale, zoom, executors (processes, Dask), crashes, babysitting."""
import concurrent.futures as cf
import csv
import json
import math
import os
import re

import numpy as np
import pytest

from ngrad.tune import (
    babysit,
    choice,
    coarse_to_fine,
    loguniform,
    one_minus_loguniform,
    randint,
    random_search,
    sample,
    space_from_config,
    space_to_config,
    uniform,
    zoom,
)

PNG = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------ objectives (module level: picklable)
def dev_error(params):
    """A smooth "dev error", best at lr = 1e-2 and beta = 0.99."""
    return abs(math.log10(params["lr"]) + 2) + abs(math.log10(1 - params["beta"]) + 2)


def crashes_sometimes(params):
    if params["lr"] > 0.1:
        raise RuntimeError(f"diverged at lr={params['lr']:.3g}")
    return {"accuracy": 1 - params["lr"], "epochs_run": 3}


def kills_its_worker(params):
    if params["lr"] > 0.1:
        os._exit(3)  # the process dies: no exception, no traceback
    return params["lr"]


def returns_nan(params):
    return float("nan")


SPACE = {"lr": loguniform(1e-4, 1), "beta": one_minus_loguniform(0.9, 0.999)}


# ------------------------------------------------------------------ spaces
def test_loguniform_is_uniform_in_the_exponent():
    rng = np.random.default_rng(0)
    x = np.array([loguniform(1e-4, 1).sample(rng) for _ in range(4000)])
    assert x.min() >= 1e-4 and x.max() <= 1
    # each decade gets about a quarter of the samples (not 90 % in 0.1..1 as on a linear scale)
    counts = np.histogram(np.log10(x), bins=[-4, -3, -2, -1, 0])[0] / len(x)
    np.testing.assert_allclose(counts, 0.25, atol=0.03)


def test_one_minus_loguniform_samples_one_minus_beta_on_a_log_scale():
    rng = np.random.default_rng(0)
    b = np.array([one_minus_loguniform(0.9, 0.999).sample(rng) for _ in range(4000)])
    assert b.min() >= 0.9 and b.max() <= 0.999
    counts = np.histogram(np.log10(1 - b), bins=[-3, -2, -1])[0] / len(b)
    np.testing.assert_allclose(counts, 0.5, atol=0.03)  # 0.9..0.99 as often as 0.99..0.999


def test_uniform_randint_choice_and_constants():
    rng = np.random.default_rng(1)
    space = {"p": uniform(0.1, 0.5), "units": randint(16, 20), "act": choice(["relu", "tanh"]), "epochs": 7}
    pts = [sample(space, rng) for _ in range(300)]
    assert all(0.1 <= p["p"] <= 0.5 for p in pts)
    assert {p["units"] for p in pts} == {16, 17, 18, 19}
    assert {p["act"] for p in pts} == {"relu", "tanh"}
    assert all(p["epochs"] == 7 and isinstance(p["units"], int) for p in pts)


def test_sampling_is_seeded():
    a = [sample(SPACE, np.random.default_rng(5)) for _ in range(3)]
    b = [sample(SPACE, np.random.default_rng(5)) for _ in range(3)]
    assert a == b


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: loguniform(0, 1), "positive"),
        (lambda: loguniform(1, 0.1), "low < high"),
        (lambda: one_minus_loguniform(0.9, 1.0), "high < 1"),
        (lambda: randint(3, 3), "low < high"),
        (lambda: choice([]), "at least one"),
        (lambda: uniform(0, float("inf")), "finite"),
    ],
)
def test_bad_distributions(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_config_round_trip():
    cfg = {"lr": {"loguniform": [1e-4, 1]}, "beta": {"one_minus_loguniform": [0.9, 0.999]},
           "units": {"randint": [16, 257]}, "act": {"choice": ["relu", "tanh"]}, "p": {"uniform": [0, 0.5]}, "e": 3}
    space = space_from_config(cfg)
    assert space["lr"] == loguniform(1e-4, 1) and space["e"] == 3
    assert json.loads(json.dumps(space_to_config(space))) == {**cfg, "p": {"uniform": [0.0, 0.5]}}
    with pytest.raises(ValueError, match="unknown distribution"):
        space_from_config({"lr": {"logunifrom": [1e-4, 1]}})
    with pytest.raises(ValueError, match=r"space\['lr'\].*positive"):
        space_from_config({"lr": {"loguniform": [0, 1]}})
    with pytest.raises(ValueError, match=r"takes \[low, high\]"):
        space_from_config({"lr": {"loguniform": [1e-4]}})


# -------------------------------------------------------------------- zoom
def test_zoom_narrows_on_the_log_scale():
    trials = [{"score": s, "lr": lr, "beta": b, "act": a, "status": "ok"}
              for s, lr, b, a in [(0.1, 1e-3, 0.99, "relu"), (0.2, 1e-2, 0.995, "relu"),
                                  (0.9, 0.5, 0.9, "tanh"), (0.5, 1e-4, 0.95, "tanh")]]
    trials.append({"score": "", "lr": 0.7, "beta": 0.91, "act": "tanh", "status": "failed"})
    space = {**SPACE, "act": choice(["relu", "tanh", "elu"]), "epochs": 5}
    fine = zoom(space, trials, top_k=2, margin=0.5, maximize=False)
    # log10 lr in [-3, -2], widened by half a decade each side
    assert fine["lr"].low == pytest.approx(10**-3.5) and fine["lr"].high == pytest.approx(10**-1.5)
    # log10(1 - beta) spans [log10 0.005, -2]; the new range stays inside [0.9, 0.999]
    assert 0.9 <= fine["beta"].low < 0.99 and 0.995 < fine["beta"].high <= 0.999
    assert fine["act"].options == ["relu"] and fine["epochs"] == 5
    assert type(fine["beta"]).__name__ == "OneMinusLogUniform"


def test_zoom_single_best_and_ints():
    space = {"units": randint(1, 101)}
    fine = zoom(space, [{"score": 1.0, "units": 50}], top_k=1, margin=0.1)
    assert fine["units"].low == 40 and fine["units"].high == 61


def test_zoom_errors():
    with pytest.raises(ValueError, match="no successful trial"):
        zoom(SPACE, [{"score": "", "lr": 0.1, "beta": 0.9, "status": "failed"}])
    with pytest.raises(ValueError, match="top_k"):
        zoom(SPACE, [], top_k=0)


# ------------------------------------------------------------------ search
def test_random_search_serial_finds_the_optimum(tmp_path):
    res = random_search(dev_error, SPACE, n_trials=40, executor="serial", maximize=False, seed=0)
    assert len(res.trials) == 40 and not res.failed
    assert res.best.score == min(t.score for t in res.trials)
    assert 1e-3 < res.best.params["lr"] < 1e-1
    assert [t.number for t in res.trials] == list(range(40))
    assert "minimizing score" in str(res)


def test_process_pool_is_the_default_and_matches_serial():
    serial = random_search(dev_error, SPACE, n_trials=6, executor="serial", seed=3, maximize=False)
    pooled = random_search(dev_error, SPACE, n_trials=6, seed=3, maximize=False)  # ProcessPoolExecutor, 2 workers
    assert [t.params for t in pooled.trials] == [t.params for t in serial.trials]
    assert [t.score for t in pooled.trials] == [t.score for t in serial.trials]


def test_any_executor_passed_in_stays_open():
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        res = random_search(dev_error, SPACE, n_trials=4, executor=pool, maximize=False)
        assert len(res.ok) == 4
        assert pool.submit(int, "3").result() == 3  # still usable


def test_crashing_trial_is_recorded_and_the_search_goes_on(tmp_path):
    res = random_search(crashes_sometimes, SPACE, n_trials=12, seed=0, metric="accuracy",
                        executor="processes", output_dir=tmp_path)
    assert res.failed and res.ok
    bad = res.failed[0]
    assert bad.status == "failed" and bad.score is None
    assert bad.error.startswith("RuntimeError: diverged at lr=")
    assert "Traceback" in bad.traceback and "crashes_sometimes" in bad.traceback
    assert res.best.params["lr"] <= 0.1 and res.best.metrics == {"epochs_run": 3}
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert len(rows) == 12 and set(rows[0]) >= {"trial", "status", "score", "lr", "beta", "epochs_run", "error"}
    assert {r["status"] for r in rows} == {"ok", "failed"}
    assert "diverged" in (tmp_path / "failures.txt").read_text()
    assert (tmp_path / "results.png").read_bytes()[:8] == PNG


def test_a_dying_worker_fails_only_its_own_trial():
    res = random_search(kills_its_worker, SPACE, n_trials=10, seed=0)
    killers = [t.params["lr"] > 0.1 for t in res.trials]
    assert any(killers) and not all(killers)
    assert [t.status == "failed" for t in res.trials] == killers
    assert all("worker process died" in t.error for t in res.failed)


def test_nan_score_and_dict_without_metric_are_failures():
    res = random_search(returns_nan, SPACE, n_trials=2, executor="serial")
    assert all(t.status == "failed" and "non-finite" in t.error for t in res.trials)
    assert res.best is None
    res = random_search(crashes_sometimes, {"lr": 1e-3}, n_trials=1, executor="serial")
    assert "pass metric=" in res.trials[0].error


def test_unpicklable_objective_gets_a_clear_error():
    with pytest.raises(TypeError, match="define it at module level"):
        random_search(lambda p: 0.0, SPACE, n_trials=2, executor="processes")
    res = random_search(lambda p: p["lr"], SPACE, n_trials=2, executor="threads")
    assert len(res.ok) == 2


def test_bad_search_arguments():
    with pytest.raises(ValueError, match="n_trials"):
        random_search(dev_error, SPACE, n_trials=0)
    with pytest.raises(ValueError, match="executor must be"):
        random_search(dev_error, SPACE, n_trials=1, executor="gpu")
    with pytest.raises(ValueError, match="search space"):
        random_search(dev_error, {}, n_trials=1)


def test_plot_log_axes(tmp_path):
    pytest.importorskip("matplotlib")
    space = {**SPACE, "units": randint(8, 64), "act": choice(["relu", "tanh"])}
    res = random_search(lambda p: dev_error(p) + (p["act"] == "tanh"), space, n_trials=10, executor="serial",
                        maximize=False)
    assert res.plot(tmp_path / "p.png").read_bytes()[:8] == PNG


def test_coarse_to_fine_zooms_in(tmp_path):
    rounds = coarse_to_fine(dev_error, SPACE, rounds=2, n_trials=20, top_k=4, executor="serial", maximize=False,
                            output_dir=tmp_path)
    coarse, fine = rounds
    assert fine.space["lr"].low >= coarse.space["lr"].low and fine.space["lr"].high <= coarse.space["lr"].high
    assert math.log10(fine.space["lr"].high / fine.space["lr"].low) < 4
    assert fine.best.score <= coarse.best.score + 0.2
    assert (tmp_path / "round1" / "results.csv").exists()


def test_dask_cluster_executor_unchanged():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        res = random_search(crashes_sometimes, SPACE, n_trials=6, seed=0, metric="accuracy",
                            executor=client.get_executor())
    serial = random_search(crashes_sometimes, SPACE, n_trials=6, seed=0, metric="accuracy", executor="serial")
    assert [t.params for t in res.trials] == [t.params for t in serial.trials]
    assert [t.status for t in res.trials] == [t.status for t in serial.trials]
    assert [t.score for t in res.trials] == [t.score for t in serial.trials]


# --------------------------------------------------------------- babysitting
class Quadratic:
    """A tiny model with a state_dict: gradient descent on w**2."""

    def __init__(self, w=5.0):
        self.w = np.array(w)

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, d):
        self.w = np.array(d["w"])


def gd_epoch(model, lr):
    model.w = model.w - lr * 2 * model.w
    return {"loss": float(model.w**2), "w": float(model.w)}


def test_babysit_lr_plan_and_curve(tmp_path):
    model = Quadratic()
    run = babysit(gd_epoch, model, epochs=6, lr=0.1, lr_plan={3: 0.01})
    assert [h["lr"] for h in run.history] == [0.1] * 3 + [0.01] * 3
    assert run.history[3]["event"] == "lr 0.1 -> 0.01"
    assert np.all(np.diff(run.curve) < 0) and run.best_epoch == 5
    run.restore(1)
    assert model.w == pytest.approx(5.0 * 0.8**2)
    assert run.plot(tmp_path / "b.png").read_bytes()[:8] == PNG
    rows = list(csv.DictReader(open(run.to_csv(tmp_path / "b.csv"))))
    assert rows[0]["epoch"] == "0" and "w" in rows[0]


def test_babysit_restores_after_divergence_on_disk(tmp_path):
    def epoch(model, lr):
        if lr > 1:  # too large a step: the weights blow up
            model.w = np.array(np.nan)
            return float("nan")
        return gd_epoch(model, lr)["loss"]

    model = Quadratic()
    run = babysit(epoch, model, epochs=5, lr=0.1, lr_plan={2: 10.0}, checkpoint_dir=tmp_path, backoff=0.01)
    diverged = run.history[2]
    assert math.isnan(diverged["loss"]) and "restored epoch 1, lr -> 0.1" in diverged["event"]
    assert model.w == pytest.approx(5.0 * 0.8**4)  # epochs 0, 1, then 3, 4 at lr 0.1
    assert run.history[3]["lr"] == pytest.approx(0.1) and math.isfinite(run.history[4]["loss"])
    assert sorted(os.listdir(tmp_path)) == ["epoch_000.npz", "epoch_001.npz", "epoch_003.npz", "epoch_004.npz"]


def test_babysit_callable_plan_dict_state_and_stop():
    state = {"model": Quadratic(), "steps": 0}

    def epoch(state, lr):
        state["steps"] += 1
        return gd_epoch(state["model"], lr)["loss"]

    def halve_when_slow(epoch, lr, history):
        if len(history) >= 2 and history[-1]["loss"] > 0.9 * history[-2]["loss"]:
            return lr / 2

    run = babysit(epoch, state, epochs=4, lr=0.01, lr_plan=halve_when_slow)
    assert run.history[2]["lr"] == 0.005
    run.restore(0)
    assert state["steps"] == 1 and state["model"].w == pytest.approx(5 * 0.98)
    run = babysit(lambda s, lr: float("nan"), Quadratic(), epochs=3, lr=0.1, on_divergence="stop")
    assert len(run.history) == 1 and "stopped" in run.history[0]["event"]


def test_babysit_hooks_and_errors(tmp_path):
    saved = []
    run = babysit(lambda s, lr: 1.0, object(), epochs=2, lr=0.1, checkpoint_dir=tmp_path,
                  save=lambda s, p: saved.append(p), load=lambda s, p: None)
    assert saved == [tmp_path / "epoch_000", tmp_path / "epoch_001"] and run.checkpoints[1] == saved[1]
    with pytest.raises(TypeError, match="save="):
        babysit(lambda s, lr: 1.0, object(), epochs=1, lr=0.1)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        babysit(lambda s, lr: 1.0, object(), epochs=1, lr=0.1, save=print, load=print)
    with pytest.raises(ValueError, match="lr must be"):
        babysit(lambda s, lr: 1.0, Quadratic(), epochs=1, lr=-1)
    with pytest.raises(KeyError, match="no checkpoint for epoch 7"):
        babysit(gd_epoch, Quadratic(), epochs=1, lr=0.1).restore(7)


# --------------------------------------------------------------------- CLI
OBJECTIVE_MODULE = '''
import math

def dev_error(params):
    if params["lr"] > 0.3:
        raise RuntimeError("diverged")
    return {"dev_error": abs(math.log10(params["lr"]) + 2) + params["hidden"] / 1000, "epochs": params["epochs"]}
'''

TOML = '''
objective = "tune_objective_{tag}:dev_error"
n_trials = 8
seed = 1
maximize = false
metric = "dev_error"
executor = "{executor}"
output_dir = "{out}"
rounds = {rounds}
top_k = 3

[space]
lr = {{ loguniform = [1e-4, 1] }}
hidden = {{ randint = [16, 65] }}
epochs = 3
'''


def _write_config(tmp_path, tag, executor="processes", rounds=1, suffix=".toml"):
    (tmp_path / f"tune_objective_{tag}.py").write_text(OBJECTIVE_MODULE)
    text = TOML.format(tag=tag, executor=executor, out=(tmp_path / "out").as_posix(), rounds=rounds)
    path = tmp_path / f"tune{suffix}"
    if suffix == ".json":
        import tomllib

        path.write_text(json.dumps(tomllib.loads(text)))
    else:
        path.write_text(text)
    return path


def test_cli_tune_toml_process_pool(tmp_path, capsys):
    from ngrad.cli import main

    assert main(["tune", str(_write_config(tmp_path, "a")), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "best: dev_error" in out
    rows = list(csv.DictReader(open(tmp_path / "out" / "results.csv")))
    assert len(rows) == 8 and {"trial", "status", "score", "lr", "hidden", "epochs"} <= set(rows[0])
    assert (tmp_path / "out" / "results.png").read_bytes()[:8] == PNG
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    assert saved["spaces"][0]["lr"] == {"loguniform": [1e-4, 1.0]}


def test_cli_tune_json_rounds_and_overrides(tmp_path, capsys):
    from ngrad.cli import main

    cfg = _write_config(tmp_path, "b", executor="serial", rounds=2, suffix=".json")
    assert main(["tune", str(cfg), "--n-trials", "5", "--quiet"]) == 0
    for r in ("round0", "round1"):
        assert len(list(csv.DictReader(open(tmp_path / "out" / r / "results.csv")))) == 5


def test_cli_tune_subprocess(tmp_path):
    import subprocess
    import sys

    cfg = _write_config(tmp_path, "c", executor="serial")
    done = subprocess.run([sys.executable, "-m", "ngrad", "tune", str(cfg), "--quiet"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "results.csv").exists()


@pytest.mark.parametrize(
    "text, match",
    [
        ('objective = "m:f"', "missing 'space'"),
        ('objective = "m:f"\nspace = {}\nn_trails = 3', "unknown keys \\['n_trails'\\]"),
        ('objective = "nomodule_xyz:f"\n[space]\nlr = 1', "cannot import module 'nomodule_xyz'"),
        ('objective = "math:nothing"\n[space]\nlr = 1', "no callable 'nothing'"),
        ('objective = "math"\n[space]\nlr = 1', "module:function"),
        ('objective = "math:log"\nn_trials = 0\n[space]\nlr = 1', "n_trials must be a positive integer"),
        ('objective = "math:log"\nexecutor = "gpu"\n[space]\nlr = 1', "executor must be one of"),
        ('objective = "math:log"\n[space]\nlr = { logunifrom = [1, 2] }', "unknown distribution"),
        ("objective = ", "invalid TOML"),
    ],
)
def test_cli_tune_bad_config_exits_2(tmp_path, capsys, text, match):
    from ngrad.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["tune", str(path)]) == 2
    assert re.search(match, capsys.readouterr().err)


def test_cli_tune_missing_file_and_all_failed(tmp_path, capsys):
    from ngrad.cli import main

    assert main(["tune", str(tmp_path / "nope.toml")]) == 2
    assert "no config file" in capsys.readouterr().err
    (tmp_path / "always_fails.py").write_text("def f(params):\n    raise ValueError('boom')\n")
    (tmp_path / "t.json").write_text(json.dumps({"objective": "always_fails:f", "space": {"x": {"uniform": [0, 1]}},
                                                 "n_trials": 2, "executor": "serial",
                                                 "output_dir": str(tmp_path / "o")}))
    assert main(["tune", str(tmp_path / "t.json"), "--quiet"]) == 1
    assert "every trial failed" in capsys.readouterr().err
    assert "boom" in (tmp_path / "o" / "failures.txt").read_text()


def test_babysit_model_with_the_training_loop(tmp_path):
    ngrad = pytest.importorskip("ngrad")
    train = pytest.importorskip("ngrad.train")
    from ngrad import nn
    from ngrad.tune import babysit_model

    ngrad.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = train.Model(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2)))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.02)
    run = babysit_model(model, X, y, epochs=4, lr_plan={2: 0.002}, validation_data=(X[:16], y[:16]),
                        checkpoint_dir=tmp_path, batch_size=16)
    assert [h["lr"] for h in run.history] == [0.02, 0.02, 0.002, 0.002]
    assert run.metric == "val_loss" and {"loss", "accuracy", "val_accuracy"} <= set(run.history[0])
    assert len(list(tmp_path.glob("epoch_*.npz"))) == 4
    after = {k: np.array(v) for k, v in model.module.state_dict().items()}
    run.restore(0)
    restored = model.module.state_dict()
    assert any(not np.allclose(after[k], np.array(restored[k])) for k in after)
    assert model.optimizer.param_groups[0]["lr"] == 0.02
    with pytest.raises(RuntimeError, match="compile"):
        babysit_model(train.Model(nn.Linear(3, 2)), X, y, epochs=1)


@pytest.mark.parametrize("name", ["ngrad.tune", "ngrad.tune.space", "ngrad.tune.search", "ngrad.tune.panda"])
def test_docstring_examples(name):
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0

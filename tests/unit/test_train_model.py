"""Model: compile / fit / evaluate / predict, metrics, errors, progress output, History."""
import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.errors import DTypeError, ShapeError
from ngrad.train import Callback, History, Model
from ngrad.train.metrics import Accuracy, BinaryAccuracy, CategoricalAccuracy, Mean


def blobs(n=120, seed=0):
    """Three separable 2-D classes: X (n, 2) float32, y (n,) int64."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return (centers[y] + rng.standard_normal((n, 2)) * 0.5).astype(np.float32), y


def classifier(seed=0, dropout=0.0):
    ngrad.manual_seed(seed)
    layers = [nn.Linear(2, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(16, 3))


def compiled(seed=0, dropout=0.0, **kw):
    model = Model(classifier(seed, dropout))
    model.compile(**{"optimizer": "adam", "loss": "cross_entropy", "metrics": ["accuracy"], "lr": 0.05, **kw})
    return model


def test_fit_learns_and_history_has_per_epoch_lists():
    X, y = blobs()
    model = compiled()
    history = model.fit(X, y, epochs=5, batch_size=16, verbose=0, validation_split=0.25, seed=0)
    assert history is model.history and isinstance(history, History)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.history.values())
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


def test_evaluate_matches_predict_and_returns_list_or_dict():
    X, y = blobs()
    model = compiled()
    model.fit(X, y, epochs=3, batch_size=32, verbose=0, seed=1)
    loss, acc = model.evaluate(X, y, batch_size=7, verbose=0)
    logits = model.predict(X, batch_size=11)
    assert logits.shape == (120, 3) and isinstance(logits, np.ndarray)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == y))
    ref = ngrad.nn.functional.cross_entropy(ngrad.tensor(logits), y).item()
    assert loss == pytest.approx(ref, rel=1e-5)
    assert model.evaluate(X, y, batch_size=7, verbose=0, return_dict=True) == {"loss": loss, "accuracy": acc}


def test_evaluate_without_metrics_returns_a_float():
    X, y = blobs()
    model = compiled(metrics=None)
    assert isinstance(model.evaluate(X, y, verbose=0), float)


def test_fit_is_deterministic_given_seeds():
    X, y = blobs()
    a = compiled(0, dropout=0.2)  # seeds the library generator (init and dropout)
    ha = a.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=3)
    b = compiled(0, dropout=0.2)
    hb = b.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=3)
    assert ha.history == hb.history
    for (k, va), vb in zip(a.module.state_dict().items(), b.module.state_dict().values()):
        assert np.array_equal(va, vb), k


def test_train_mode_in_fit_eval_mode_in_evaluate_and_predict():
    X, y = blobs(40)
    modes = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = classifier()

        def forward(self, X):
            modes.append((self.training, ngrad.is_grad_enabled()))
            return self.net(X)

    model = Model(Spy())
    model.compile(loss="cross_entropy", lr=0.01)
    model.fit(X, y, epochs=1, batch_size=40, verbose=0, validation_data=(X, y))
    assert modes == [(True, True), (False, False)]
    modes.clear()
    model.evaluate(X, y, verbose=0, batch_size=40)
    model.predict(X, batch_size=40)
    assert modes == [(False, False), (False, False)]
    assert model.module.training  # the mode from before is restored


@pytest.mark.parametrize("loss, out_features, target", [
    ("bce", 1, "int01"), ("bce_with_logits", 1, "float01"), ("mse", 1, "float"), ("mse", 2, "float2"),
])
def test_binary_and_regression_losses(loss, out_features, target):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = {"int01": (X[:, 0] > 0).astype(np.int64), "float01": (X[:, 0] > 0).astype(np.float64),
         "float": X[:, 0] * 2.0, "float2": X[:, :2] * 2.0}[target]
    ngrad.manual_seed(0)
    layers = [nn.Linear(3, out_features)] + ([nn.Sigmoid()] if loss == "bce" else [])
    model = Model(nn.Sequential(*layers))
    model.compile("adam", loss, metrics=["accuracy"] if "bce" in loss else ["mae"], lr=0.05)
    h = model.fit(X, y, epochs=10, batch_size=16, verbose=0, seed=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    if "bce" in loss:
        assert h.history["accuracy"][-1] > 0.85


def test_callable_loss_and_metric_function():
    X, y = blobs(60)
    model = Model(classifier())
    calls = []

    def my_loss(y_hat, target):
        calls.append((type(y_hat).__name__, type(target).__name__))
        return ngrad.nn.functional.cross_entropy(y_hat, target)

    def error_rate(y_hat, target):
        return float(np.mean(y_hat.argmax(1) != target))

    model.compile("sgd", my_loss, metrics=[error_rate, "accuracy"], lr=0.1)
    h = model.fit(X, y, epochs=2, batch_size=30, verbose=0)
    assert calls[0] == ("Tensor", "Tensor")
    np.testing.assert_allclose(np.array(h.history["error_rate"]) + h.history["accuracy"], 1.0)


def test_loss_module_works():
    X, y = blobs(60)
    model = Model(classifier())
    model.compile("rmsprop", nn.CrossEntropyLoss(), lr=0.01)
    assert model.fit(X, y, epochs=1, verbose=0).history["loss"][0] > 0


def test_streaming_metrics_weight_by_batch_size():
    loss = Mean()
    loss.update_value(1.0, 10)
    loss.update_value(4.0, 2)  # a small last batch counts for 2 examples
    assert loss.result() == pytest.approx(1.5)
    acc = CategoricalAccuracy()
    acc.update(np.eye(3)[[0, 1, 2, 0]], np.array([0, 1, 0, 0]))
    acc.update(np.eye(3)[[2]], np.array([2]))
    assert acc.result() == pytest.approx(4 / 5)
    one_hot = CategoricalAccuracy()
    one_hot.update(np.eye(3)[[0, 1]], np.eye(3)[[0, 2]])
    assert one_hot.result() == 0.5
    binary = BinaryAccuracy()
    binary.update(np.array([[0.9], [0.2], [0.6]]), np.array([1.0, 0.0, 0.0]))
    assert binary.result() == pytest.approx(2 / 3)
    logits = BinaryAccuracy(from_logits=True)
    logits.update(np.array([1.5, -0.2]), np.array([1, 1]))
    assert logits.result() == 0.5
    auto = Accuracy()
    auto.update(np.array([[0.2, 0.8]]), np.array([1]))
    auto.update(np.array([[0.7]]), np.array([0]))
    assert auto.result() == 0.5


def test_batch_logs_are_running_epoch_means():
    X, y = blobs(50)
    seen = []

    class Recorder(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, logs["loss"]))

    model = compiled()
    h = model.fit(X, y, epochs=1, batch_size=20, verbose=0, callbacks=[Recorder()], shuffle=False)
    assert [b for b, _ in seen] == [0, 1, 2]
    assert seen[-1][1] == pytest.approx(h.history["loss"][0])


# ------------------------------------------------------------------ errors
def test_errors_are_clear():
    X, y = blobs(30)
    model = Model(classifier())
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        model.compile(loss="hinge")
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        model.compile(optimizer="adagrad")
    model.compile()
    with pytest.raises(ShapeError, match=r"X has shape \(30, 2\), y has shape \(29,\)"):
        model.fit(X, y[:29], verbose=0)
    with pytest.raises(DTypeError, match=r"integer class labels.*y.astype\(int\)"):
        model.fit(X, y.astype(np.float64), verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(X, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="batch size"):
        model.fit(X, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile(metrics=["f7"])


def test_bce_targets_out_of_range():
    model = Model(nn.Sequential(nn.Linear(2, 1)))
    model.compile(loss="bce_with_logits")
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        model.fit(np.zeros((4, 2)), np.array([0, 1, 2, 1]), verbose=0)


# --------------------------------------------------------- progress output
def test_progress_one_line_per_epoch_when_not_a_tty(capsys):
    X, y = blobs(60)
    compiled().fit(X, y, epochs=3, batch_size=8, verbose=1, validation_split=0.2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, start=1):
        assert line.startswith(f"Epoch {i}/3 - 6/6 - ")
        assert "loss: " in line and "val_accuracy: " in line
        assert "\r" not in line


def test_progress_silent_with_verbose_0(capsys):
    X, y = blobs(60)
    model = compiled()
    model.fit(X, y, epochs=2, verbose=0, validation_split=0.2)
    model.evaluate(X, y, verbose=0)
    model.predict(X)
    assert capsys.readouterr().out == ""


def test_progress_verbose_2_one_line_per_epoch_even_on_a_tty(capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    X, y = blobs(60)
    compiled().fit(X, y, epochs=2, batch_size=8, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line[:10] for line in lines] == ["Epoch 1/2 ", "Epoch 2/2 "]


def test_progress_redraws_in_place_on_a_tty(monkeypatch):
    import io

    from ngrad.train import progbar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    monkeypatch.setattr(progbar, "_make_tqdm", lambda *a: None)  # the plain fallback
    bar = progbar.Progbar(4, "Epoch 1/1", verbose=1, stream=out, interval=0.0)
    for step in range(1, 5):
        bar.update(step, {"loss": 1.0 / step})
    bar.close(4, {"loss": 0.25})
    text = out.getvalue()
    assert text.count("\r") == 5 and text.count("\n") == 1 and text.endswith("loss: 0.2500\x1b[K\n")


def test_evaluate_prints_one_line(capsys):
    X, y = blobs(60)
    model = compiled()
    model.evaluate(X, y)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("evaluate - 2/2 - ") and "accuracy: " in out


# ----------------------------------------------------------------- history
def test_history_plot_writes_png(tmp_path):
    X, y = blobs(60)
    h = compiled().fit(X, y, epochs=2, verbose=0, validation_split=0.2)
    path = h.plot(tmp_path / "curves.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_model_save_and_load_roundtrip(tmp_path):
    from ngrad.io import load_model

    X, y = blobs(60)
    model = compiled()
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.safetensors")
    np.testing.assert_array_equal(load_model(tmp_path / "model.safetensors")(ngrad.tensor(X)).numpy(),
                                  model.predict(X))

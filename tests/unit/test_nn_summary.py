"""summary(): Keras layout, output shapes from a dummy forward, Keras's parameter counts."""
import numpy as np

import ngrad
from ngrad import nn


def totals(text):
    lines = text.splitlines()
    return [l for l in lines if l.startswith(("Total", "Trainable", "Non-trainable"))]


def test_mlp_counts_and_shapes():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    text = model.summary(input_shape=(784,), print_fn=None)
    assert text.startswith('Model: "Sequential"')
    assert "0 (Linear)" in text and "(None, 256)" in text and "(None, 10)" in text
    assert "200,960" in text and "65,792" in text and "2,570" in text
    assert totals(text) == ["Total params: 269,322", "Trainable params: 269,322", "Non-trainable params: 0"]


def test_batchnorm_running_stats_are_non_trainable():
    model = nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 1))
    text = nn.summary(model, (20,), print_fn=None)
    # Linear 1344 + BN 4*64 (gamma, beta trainable; running mean/var not) + Linear 65
    assert totals(text) == ["Total params: 1,665", "Trainable params: 1,537", "Non-trainable params: 128"]
    assert "256" in text.splitlines()[6]  # the BN row counts its buffers, as Keras


def test_frozen_layer_is_non_trainable():
    model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2))
    model[0].requires_grad_(False)
    assert totals(nn.summary(model, print_fn=None)) == [
        "Total params: 67", "Trainable params: 12", "Non-trainable params: 55"]


def test_summary_has_no_side_effects_and_prints():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    before = model.state_dict()
    state = ngrad.random.get_rng_state()
    printed = []
    text = model.summary((None, 3), print_fn=printed.append)
    assert printed == [text]
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert ngrad.random.get_rng_state() == state


def test_nested_and_custom_modules_use_qualified_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(ngrad.ones(1))
            self.body = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
            self.head = nn.Linear(3, 2)

        def forward(self, x):
            return self.head(self.body(x)) * self.scale

    text = nn.summary(Net(), (4,), print_fn=None)
    assert "body.0 (Linear)" in text and "(None, 3)" in text and "head (Linear)" in text
    assert "Total params: 24" in text  # 15 + 8 + 1


def test_without_input_shape_counts_only():
    text = nn.summary(nn.Sequential(nn.Linear(2, 2)), print_fn=None)
    assert "0 (Linear)" in text and "Total params: 6" in text

"""get_config / from_config: a model saved as JSON architecture plus weights is rebuilt exactly."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngrad
from ngrad import nn

LAYERS = [
    nn.Linear(4, 3, bias=False), nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(0.3), nn.ELU(0.5),
    nn.Softmax(axis=0), nn.LogSoftmax(), nn.Softplus(), nn.Dropout(keep_prob=0.86), nn.Dropout(0.2, rng=4),
    nn.BatchNorm1d(3, eps=1e-3, momentum=None), nn.LayerNorm((2, 3), elementwise_affine=False), nn.Flatten(2),
    nn.Identity(), nn.BCELoss(), nn.BCEWithLogitsLoss(reduction="sum"), nn.CrossEntropyLoss(axis=-1),
    nn.MSELoss(reduction="none"), nn.L1Loss(),
]


@pytest.mark.parametrize("layer", LAYERS, ids=[type(x).__name__ for x in LAYERS])
def test_every_layer_round_trips_through_json(layer):
    cfg = json.loads(json.dumps(nn.to_config(layer)))
    assert cfg["class"] == type(layer).__name__
    rebuilt = nn.from_config(cfg)
    assert type(rebuilt) is type(layer) and repr(rebuilt) == repr(layer)
    assert rebuilt.get_config() == layer.get_config()


def test_sequential_config_lists_its_layers():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
    cfg = model.get_config()
    assert [c["class"] for c in cfg["layers"]] == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert cfg["layers"][0] == {"class": "Linear", "config": {"in_features": 4, "out_features": 8, "bias": True}}


def test_architecture_plus_weights_rebuilds_the_same_function():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    model(ngrad.randn(16, 4))  # move the running statistics
    text = json.dumps(nn.to_config(model))
    weights = model.state_dict()
    clone = nn.from_config(json.loads(text))
    clone.load_state_dict(weights)
    x = ngrad.randn(5, 4)
    model.eval(), clone.eval()
    np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())


def test_nested_containers_and_names_round_trip():
    model = nn.Sequential({
        "features": nn.Sequential(nn.Linear(2, 3), nn.ReLU()),
        "heads": nn.ModuleDict({"a": nn.Linear(3, 1)}),
        "extra": nn.ModuleList([nn.Tanh(), nn.Identity()]),
    })
    rebuilt = nn.from_config(json.loads(json.dumps(nn.to_config(model))))
    assert repr(rebuilt) == repr(model)
    assert list(rebuilt.state_dict()) == list(model.state_dict())


def test_custom_modules_are_registered_by_class_name():
    class Scaler(nn.Module):
        def __init__(self, factor=2.0):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    assert nn.get_layer_class("Scaler") is Scaler
    assert nn.from_config({"class": "Scaler", "config": {"factor": 3.0}}).factor == 3.0


def test_helpful_errors():
    with pytest.raises(KeyError, match="no layer class named 'Nope'"):
        nn.from_config({"class": "Nope", "config": {}})

    class NeedsArgs(nn.Module):
        def __init__(self, width):
            super().__init__()

    with pytest.raises(NotImplementedError, match=r"NeedsArgs.get_config\(\).*width"):
        NeedsArgs(3).get_config()
    with pytest.raises(ValueError, match="expected"):
        nn.from_config(["Linear"])


def test_a_user_class_cannot_hijack_a_builtin_name():
    class Linear(nn.Module):  # noqa: F811 - a user's own "Linear"
        def forward(self, x):
            return x

    assert nn.get_layer_class("Linear") is nn.Linear
    cfg = nn.to_config(Linear())
    assert cfg["class"].endswith("test_a_user_class_cannot_hijack_a_builtin_name.<locals>.Linear")
    assert type(nn.from_config(cfg)) is Linear
    assert type(nn.from_config(nn.to_config(nn.Linear(2, 2)))) is nn.Linear


@settings(max_examples=15, deadline=None)
@given(dims=st.lists(st.integers(1, 6), min_size=2, max_size=4), bn=st.booleans(), seed=st.integers(0, 99))
def test_random_mlps_round_trip(dims, bn, seed):
    layers = []
    for a, b in zip(dims, dims[1:]):
        layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b)] if bn else []) + [nn.Tanh()]
    model = nn.Sequential(*layers)
    clone = nn.from_config(json.loads(json.dumps(nn.to_config(model))))
    clone.load_state_dict(model.state_dict())
    x = ngrad.randn(3, dims[0], rng=seed)
    np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())

"""Sequential, ModuleList, ModuleDict."""
import numpy as np
import pytest

import ngrad
from ngrad import nn


def test_sequential_indexing_len_iter_append():
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    assert len(m) == 2 and isinstance(m[0], nn.Linear) and isinstance(m[-1], nn.ReLU)
    assert [type(x).__name__ for x in m] == ["Linear", "ReLU"]
    m.append(nn.Linear(3, 1))
    assert m(ngrad.randn(5, 4)).shape == (5, 1)
    head = m[:2]
    assert isinstance(head, nn.Sequential) and head[0] is m[0]
    with pytest.raises(IndexError, match="out of range"):
        m[3]


def test_sequential_delitem_and_setitem_renumber():
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    del m[1]
    assert [n for n, _ in m.named_children()] == ["0", "1"]
    m[1] = nn.Tanh()
    assert isinstance(m[1], nn.Tanh)


def test_sequential_from_dict_keeps_names():
    m = nn.Sequential({"fc1": nn.Linear(2, 3), "act": nn.ReLU()})
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias"]
    assert m.fc1 is m[0]


def test_module_list_registers_its_modules():
    class Deep(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    d = Deep([4, 3, 2])
    assert [n for n, _ in d.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]
    assert d(ngrad.randn(1, 4)).shape == (1, 2)
    d.layers.insert(0, nn.Identity())
    assert len(d.layers) == 3 and isinstance(d.layers[0], nn.Identity)
    with pytest.raises(NotImplementedError):
        d.layers(1)


def test_module_dict():
    md = nn.ModuleDict({"a": nn.Linear(2, 2)})
    md["b"] = nn.ReLU()
    assert list(md) == ["a", "b"] and "a" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    del md["a"]
    assert list(md.keys()) == ["b"]
    np.testing.assert_equal(list(md.values())[0](ngrad.tensor([-1.0])).numpy(), [0.0])

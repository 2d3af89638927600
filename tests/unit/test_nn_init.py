"""Initializers: statistics, fan conventions, gains, and exact reproducibility with an rng."""
import math

import numpy as np
import pytest

import ngrad
from ngrad.nn import init


def W(out=300, inp=200, dtype=ngrad.float64):
    return ngrad.zeros(out, inp, dtype=dtype)


def test_constant_initializers():
    assert (init.zeros_(ngrad.ones(3)).numpy() == 0).all()
    assert (init.ones_(ngrad.zeros(3)).numpy() == 1).all()
    assert (init.constant_(ngrad.zeros(2, 2), 0.3).numpy() == np.float32(0.3)).all()


def test_fan_in_is_the_input_axis_of_an_out_in_weight():
    assert init.fan_in_and_fan_out(W(30, 20)) == (20, 30)
    assert init.fan_in_and_fan_out(ngrad.zeros(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.fan_in_and_fan_out(ngrad.zeros(3))


@pytest.mark.parametrize("fn,std", [
    (lambda t: init.normal_(t, mean=0.5, std=2.0, rng=0), 2.0),
    (lambda t: init.xavier_normal_(t, rng=0), math.sqrt(2 / 500)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu", rng=0), math.sqrt(2 / 200)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", rng=0), math.sqrt(2 / 300)),
    (lambda t: init.xavier_uniform_(t, rng=0), math.sqrt(6 / 500) / math.sqrt(3)),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu", rng=0), math.sqrt(2 / 200)),
    (lambda t: init.uniform_(t, -1, 3, rng=0), 4 / math.sqrt(12)),
    (lambda t: init.course_random_(t, rng=0), 0.01),
    (lambda t: init.course_xavier_(t, rng=0), math.sqrt(1 / 200)),
    (lambda t: init.course_he_(t, rng=0), math.sqrt(2 / 200)),
])
def test_random_initializer_statistics(fn, std):
    a = fn(W()).numpy()
    assert abs(a.std() - std) < 0.03 * std


def test_uniform_bounds():
    a = init.xavier_uniform_(W(), gain=init.calculate_gain("tanh"), rng=1).numpy()
    bound = 5 / 3 * math.sqrt(6 / 500)
    assert a.max() <= bound and a.min() >= -bound and a.max() > 0.95 * bound


def test_gains_match_pytorch():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError):
        init.calculate_gain("swish")


def test_same_seed_same_values_and_generator_is_consumed():
    a = init.kaiming_uniform_(W(5, 4), rng=42).numpy()
    b = init.kaiming_uniform_(W(5, 4), rng=42).numpy()
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(0)
    c, d = init.normal_(W(5, 4), rng=g).numpy(), init.normal_(W(5, 4), rng=g).numpy()
    assert not np.array_equal(c, d)


def test_library_generator_by_default():
    ngrad.manual_seed(9)
    a = init.normal_(W(3, 3)).numpy()
    ngrad.manual_seed(9)
    np.testing.assert_array_equal(init.normal_(W(3, 3)).numpy(), a)


@pytest.mark.parametrize("recipe,factor", [
    (init.course_random_, lambda n_prev: 0.01),
    (init.course_xavier_, lambda n_prev: np.sqrt(1 / n_prev)),
    (init.course_he_, lambda n_prev: np.sqrt(2 / n_prev)),
])
def test_course_recipes_reproduce_numpy_random_seed_exactly(recipe, factor):
    layers_dims = [3, 2, 1]
    np.random.seed(3)
    expected = [np.random.randn(layers_dims[l], layers_dims[l - 1]) * factor(layers_dims[l - 1])
                for l in range(1, len(layers_dims))]
    rng = np.random.RandomState(3)
    got = [recipe(ngrad.zeros(layers_dims[l], layers_dims[l - 1], dtype=ngrad.float64), rng=rng).numpy()
           for l in range(1, len(layers_dims))]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g, e)


def test_initializers_fill_in_place_and_record_no_graph():
    p = ngrad.nn.Parameter(ngrad.zeros(3, 2))
    data = p.data
    out = init.xavier_normal_(p, rng=0)
    assert out is p and p.data is data and p.is_leaf and p.dtype == np.float32
    with pytest.raises(TypeError):
        init.zeros_(np.zeros(3))

"""The reproductions agree with the numbers the course's deterministic notebooks print.

Short runs only (the first iterations, the initial parameters, one epoch);
the full runs are in ``tests/e2e/test_reproduce.py`` (marked slow).
"""
import json
from pathlib import Path

import numpy as np
import pytest

import ngrad
from ngrad.reproduce import course
from ngrad.reproduce.report import Result, Row, format_table, printed_tolerance, write_results
from ngrad.reproduce.runner import Context

COURSE_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "coursera"


class Log:
    """A context stand-in that keeps the progress lines."""

    def __init__(self):
        self.lines = []

    def log(self, message):
        self.lines.append(message)


@pytest.fixture
def course_data():
    if not (COURSE_DATA / "cat_vs_noncat" / "train_catvnoncat.h5").is_file():
        pytest.skip(f"the course's data directory is not at {COURSE_DATA}")
    return str(COURSE_DATA)


def printed(value, decimals=6):
    return f"{value:.{decimals}f}"


# ------------------------------------------------------------------- C1W2
def test_c1w2_costs_of_the_first_200_iterations(course_data):
    from ngrad.reproduce import c1w2_logreg as exp

    X, y, _, _ = exp.load(course_data)
    with course.float64():
        _, costs = exp.fit(X, y, exp.LR, 201, Log())
    assert {i: printed(c) for i, c in costs.items()} == {i: exp.COSTS[i] for i in (0, 100, 200)}


# ------------------------------------------------------------------- C1W3
def test_c1w3_initial_parameters_are_the_courses():
    from ngrad.reproduce import c1w3_planar as exp

    with course.float64():
        W1, W2 = (layer.weight.numpy() for layer in course.linears(exp.build(4, seed=2)))
    np.testing.assert_array_equal(np.round(W1, 8), [[-0.00416758, -0.00056267], [-0.02136196, 0.01640271],
                                                    [-0.01793436, -0.00841747], [0.00502881, -0.01245288]])
    np.testing.assert_array_equal(np.round(W2, 8), [[-0.01057952, -0.00909008, 0.00551454, 0.02292208]])


def test_c1w3_first_costs_both_notebook_versions():
    from ngrad.data import datasets
    from ngrad.reproduce import c1w3_planar as exp

    X, y = datasets.load_planar_dataset()
    with course.float64():
        _, v6c = exp.fit(X, y, 4, 1001, seed=2, ctx=Log())
        _, new = exp.fit(X, y, 4, 1001, seed=3, ctx=Log())
    assert [printed(v6c[0]), printed(v6c[1000])] == ["0.693048", "0.288083"]
    assert [printed(new[0]), printed(new[1000])] == ["0.693162", "0.258625"]


def test_c1w3_logistic_regression_baseline():
    from ngrad.data import datasets
    from ngrad.reproduce import c1w3_planar as exp

    pytest.importorskip("sklearn")
    _, accuracy = exp.baseline(*datasets.load_planar_dataset())
    assert int(accuracy) == 47


# ------------------------------------------------------------------- C1W4
def test_c1w4_costs_at_iteration_0(course_data):
    from ngrad.reproduce import c1w2_logreg, c1w4_deep

    X, y, _, _ = c1w2_logreg.load(course_data)
    with course.float64():
        costs = {name: course.bce(c1w4_deep.build(name)(ngrad.tensor(X)), course.column(y)).item()
                 for name in c1w4_deep.MODELS}
    assert costs["2-layer"] == pytest.approx(0.693049735659989, rel=1e-12)
    assert costs["4-layer"] == pytest.approx(0.7717493284237686, rel=1e-12)


# ------------------------------------------------------------------- C2W1
def test_c2w1_he_and_random_initial_weights():
    from ngrad.reproduce import c2w1_init as exp

    with course.float64():
        W1, W2 = (layer.weight.numpy() for layer in course.linears(exp.build("he", [2, 4, 1])))
        R1, R2 = (layer.weight.numpy() for layer in course.linears(exp.build("random", [3, 2, 1])))
    np.testing.assert_array_equal(np.round(W1, 8), [[1.78862847, 0.43650985], [0.09649747, -1.8634927],
                                                    [-0.2773882, -0.35475898], [-0.08274148, -0.62700068]])
    np.testing.assert_array_equal(np.round(W2, 8), [[-0.03098412, -0.33744411, -0.92904268, 0.62552248]])
    np.testing.assert_array_equal(np.round(R1, 8), [[17.88628473, 4.36509851, 0.96497468],
                                                    [-18.63492703, -2.77388203, -3.54758979]])
    np.testing.assert_array_equal(np.round(R2, 8), [[-0.82741481, -6.27000677]])


def test_c2w1_init_costs_at_iteration_0():
    from ngrad.data import datasets
    from ngrad.reproduce import c2w1_init as exp

    X, y, _, _ = datasets.load_circles()
    with course.float64():
        cost = {r: course.bce(exp.build(r)(ngrad.tensor(X)), course.column(y)).item() for r in ("zeros", "he")}
    assert cost["zeros"] == pytest.approx(0.6931471805599453, rel=1e-15)
    assert cost["he"] == pytest.approx(0.8830537463419761, rel=1e-14)


def test_c2w1_regularization_costs_at_iteration_0(course_data):
    from ngrad.data import datasets
    from ngrad.reproduce import c2w1_regularization as exp

    X, y, _, _ = datasets.load_football(course_data)
    with course.float64():
        for variant in ("none", "L2", "dropout"):
            _, costs = exp.fit(variant, X, y, 1, Log())
            assert costs[0] == pytest.approx(float(exp.VARIANTS[variant][0][0]), rel=1e-12), variant


def test_c2w1_gradcheck_differences():
    from ngrad.reproduce import c2w1_gradcheck as exp

    x, y, params = exp.test_case()
    buggy, fixed = exp.check(exp.BuggyCourseNet, x, y, params), exp.check(exp.CourseNet, x, y, params)
    assert buggy.difference == pytest.approx(0.2850931567761623, rel=1e-12)
    assert not buggy.passed
    assert sorted(c.name for c in buggy.inputs if not c.passed) == ["W2", "b1"]  # the two planted bugs
    assert fixed.difference == pytest.approx(1.1890913024229996e-07, rel=1e-6)
    assert fixed.passed
    assert exp.check_1d().difference == pytest.approx(7.814075313343006e-11, rel=1e-6)
    assert exp.check_autograd(x, y, params).passed


# ------------------------------------------------------------------- C2W2
def test_c2w2_epoch_0_costs_of_every_variant():
    from ngrad.data import datasets
    from ngrad.reproduce import c2w2_optimizers as exp

    X, y = datasets.load_moons()
    with course.float64():
        got = {name: printed(exp.fit(name, X, y, 1, Log())[1][0]) for name in exp.VARIANTS}
    assert got == {name: spec[3][0] for name, spec in exp.VARIANTS.items()}


def test_c2w2_decay_follows_the_courses_epoch_lag():
    """The course sets decay(lr0, i) at the end of epoch i: epochs 0 and 1 both train with lr0."""
    from ngrad.reproduce import c2w2_optimizers as exp

    model = exp.build()
    opt = exp.make_optimizer("gd", model.parameters(), 0.1)
    schedule = exp.make_schedule("update_lr", opt)
    rates = []
    for epoch in range(4):
        rates.append(opt.param_groups[0]["lr"])
        if epoch >= 1:
            schedule.step()
    assert rates == [0.1, 0.1, 0.1 / 2, 0.1 / 3]


# ----------------------------------------------------------- rows and files
def test_printed_tolerance_follows_the_printed_digits():
    assert printed_tolerance("0.584508") == pytest.approx(5e-7)
    assert printed_tolerance("70") == 0.5
    assert printed_tolerance("1.1890913024229996e-07") == pytest.approx(1.1890913024229996e-16)
    assert printed_tolerance("2.5e-05") == pytest.approx(5e-7)


def test_row_status():
    assert Row.printed("c", "0.584508", 0.5845084).status == "match"
    assert Row.printed("c", "0.584508", 0.584509).status == "differs"
    assert Row.approx("a", 0.95, 0.93, 0.03).status == "in range"
    assert Row.approx("a", 0.95, 0.90, 0.03).status == "out of range"
    assert Row.info("x", 1.0).status == ""


def test_results_json_shape(tmp_path):
    rows = [Row.printed("cost it. 0", "0.693147", 0.6931471), Row.info("random: cost it. 0", 1773.6,
                                                                        course_text="inf")]
    path = write_results(tmp_path / "out" / "results.json", "c9-demo", rows)
    data = json.loads(path.read_text())
    assert data == {"experiment": "c9-demo", "rows": [
        {"metric": "cost it. 0", "course": 0.693147, "ngrad": 0.6931471},
        {"metric": "random: cost it. 0", "course": None, "ngrad": 1773.6}]}


def test_table_marks_mismatches_and_notes():
    table = format_table([Row.printed("cost", "0.5", 0.7, note="why"), Row.accuracy("acc", 0.9, 0.9)])
    lines = table.splitlines()
    assert [cell.strip() for cell in lines[0].split(" | ")] == ["metric", "course", "ngrad", "check"]
    assert "differs" in lines[2] and "[1]" in lines[2]
    assert "match" in lines[3]
    assert lines[-1] == "[1] why"


def test_context_length(tmp_path):
    ctx = Context(experiment=None, out=tmp_path, quick=True)
    assert ctx.length(2000, quick=200) == 200
    ctx.epochs = 7
    assert ctx.length(2000, quick=200) == 7
    assert Result(rows=[Row.approx("a", 1, 2, 0.1)]).counts == {"match": 0, "differs": 1, "info": 0}


def test_report_docstring_examples():
    import doctest

    from ngrad.reproduce import report

    assert doctest.testmod(report).failed == 0

"""Bad input gets errors that name the op and the shapes or dtypes involved."""
import numpy as np
import pytest

import ngrad
from ngrad.nn import functional as F


def test_broadcast_mismatch_names_op_and_both_shapes():
    with pytest.raises(ngrad.ShapeError, match=r"add: .*\(2, 3\) and \(4,\)"):
        ngrad.ones(2, 3) + ngrad.ones(4)
    with pytest.raises(ngrad.ShapeError, match=r"mul: .*\(2, 3\) and \(2,\)"):
        ngrad.ones(2, 3) * ngrad.ones(2)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ngrad.ShapeError, match=r"matmul: inner dimensions differ: \(2, 3\) @ \(4, 5\)"):
        ngrad.ones(2, 3) @ ngrad.ones(4, 5)
    with pytest.raises(ngrad.ShapeError, match=r"matmul: operands must be at least 1-d"):
        ngrad.ones(2, 3) @ ngrad.tensor(2.0)


def test_shape_errors_are_value_errors():
    assert issubclass(ngrad.ShapeError, ValueError)


def test_reshape_error_names_op():
    with pytest.raises(ngrad.ShapeError, match=r"reshape: .*size 6"):
        ngrad.ones(2, 3).reshape(4)


def test_loss_target_shape_mismatch():
    with pytest.raises(ngrad.ShapeError, match=r"mse_loss: target shape \(4,\) does not match input shape \(4, 1\)"):
        F.mse_loss(ngrad.ones(4, 1), ngrad.ones(4))
    with pytest.raises(ngrad.ShapeError, match=r"binary_cross_entropy_with_logits: target shape"):
        F.binary_cross_entropy_with_logits(ngrad.zeros(3), ngrad.zeros(2))
    with pytest.raises(ngrad.ShapeError, match=r"cross_entropy: integer labels must have shape \(4,\)"):
        F.cross_entropy(ngrad.zeros(4, 3), ngrad.tensor([[0], [1], [2], [0]]))


def test_integer_labels_where_floats_are_needed():
    with pytest.raises(ngrad.DTypeError, match=r"targets must be floating point .*astype"):
        F.binary_cross_entropy(ngrad.full((3,), 0.5), ngrad.tensor([0, 1, 1]))
    with pytest.raises(TypeError):  # DTypeError is a TypeError
        F.mse_loss(ngrad.zeros(3), ngrad.tensor([0, 1, 1]))


def test_label_range_is_checked():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\] for 3 classes"):
        F.cross_entropy(ngrad.zeros(2, 3), ngrad.tensor([0, 3]))


def test_bce_rejects_probabilities_out_of_range():
    with pytest.raises(ValueError, match="with_logits"):
        F.binary_cross_entropy(ngrad.tensor([2.0, -1.0]), ngrad.tensor([1.0, 0.0]))


def test_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(ngrad.zeros(2), ngrad.zeros(2), reduction="avg")


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(ngrad.DTypeError, match="only floating-point tensors can require gradients"):
        ngrad.tensor([1, 2, 3], requires_grad=True)


def test_string_data_is_rejected():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        ngrad.tensor(["a", "b"])


def test_in_place_assignment_on_grad_tensor_is_refused():
    x = ngrad.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 1.0
    with ngrad.no_grad():
        x[0] = 1.0
    assert x.numpy()[0] == 1.0


def test_index_out_of_range_names_shape():
    with pytest.raises(ngrad.ShapeError, match=r"getitem: .*\(2, 3\)"):
        ngrad.ones(2, 3)[5]


def test_concatenate_and_stack_shape_checks():
    with pytest.raises(ngrad.ShapeError, match=r"stack: all tensors must have the same shape, got \(2,\) and \(3,\)"):
        ngrad.stack([ngrad.ones(2), ngrad.ones(3)])
    with pytest.raises(ngrad.ShapeError, match=r"concatenate: shapes \(2, 3\) and \(2, 4\) differ off axis 0"):
        ngrad.concatenate([ngrad.ones(2, 3), ngrad.ones(2, 4)], axis=0)


def test_transpose_and_squeeze_checks():
    with pytest.raises(ngrad.ShapeError, match="not a permutation"):
        ngrad.ones(2, 3).transpose(0, 0)
    with pytest.raises(ngrad.ShapeError, match="axis 0 has size 2"):
        ngrad.ones(2, 3).squeeze(0)


def test_truth_value_of_many_elements():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ngrad.ones(3))

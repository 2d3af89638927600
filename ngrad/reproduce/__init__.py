"""The Deep Learning Specialization's experiments, reproduced with ngrad.

Each experiment trains the course's network with ngrad (tensors, autograd,
``ngrad.nn`` layers, ``ngrad.optim`` optimizers) on the course's data and
prints a table ``metric | course | ngrad | check`` against the numbers the
course's notebooks print. Where the course is deterministic (fixed seeds,
float64 NumPy) ngrad follows its recipe draw for draw and must agree to the
printed digits; where it is not (TensorFlow's initializers), it must land
within the course's range.

==========================  =====  ===============================================
id                          data   what
==========================  =====  ===============================================
``c1w2-logreg``             yes    logistic regression, cat vs non-cat
``c1w3-planar``             no     one hidden layer (tanh) on the flower
``c1w4-deep``               yes    2-layer and 4-layer networks, cat vs non-cat
``c2w1-init``               no     zeros / large random / He initialization
``c2w1-regularization``     yes    none / L2 / dropout on the football data
``c2w1-gradcheck``          no     gradient checking with the buggy backward
``c2w2-optimizers``         no     GD / momentum / Adam and learning-rate decay
``c2w3-signs``              yes    12288-25-12-6 softmax network on SIGNS
``c4w1-conv-step``          no     the step-by-step convolution and pooling checks
``c4w1-signs-cnn``          yes    the SIGNS ConvNet with Adam
``c4w2-resnet``             yes    ResNet-50's counts and blocks, ResNets on SIGNS
``c4w2-transfer``           yes    a small MobileNetV2 pretrained, then transferred
``c4-digits-cnn``           no     a ConvNet on scikit-learn's bundled digits
==========================  =====  ===============================================

From the command line: ``ngrad reproduce list``, ``ngrad reproduce c2w1-init``,
``ngrad reproduce all-embedded``. From Python::

    from ngrad import reproduce
    result = reproduce.run_experiment(reproduce.get("c2w1-gradcheck"), out="runs/gc")
"""
from ngrad.reproduce.registry import Experiment, UnknownExperiment, embedded, experiments, get, ids
from ngrad.reproduce.report import Result, Row, format_table, write_results
from ngrad.reproduce.runner import Context, run_experiment

__all__ = [
    "Context",
    "Experiment",
    "Result",
    "Row",
    "UnknownExperiment",
    "embedded",
    "experiments",
    "format_table",
    "get",
    "ids",
    "run_experiment",
    "write_results",
]

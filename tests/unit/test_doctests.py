"""The docstring examples of the core modules run and print what they claim."""
import doctest
import importlib

import pytest

MODULES = [
    "ngrad", "ngrad.backend", "ngrad.creation", "ngrad.function", "ngrad.tensor",
    "ngrad.testing.gradcheck", "ngrad.testing.registry", "ngrad.nn", "ngrad.data",
    "ngrad.io", "ngrad.data.loader", "ngrad.data.preprocessing", "ngrad.train.model", "ngrad.train.metrics",
    "ngrad.train.history",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0

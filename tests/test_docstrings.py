"""Every docstring Example in the package runs and shows what it says."""

import doctest
import importlib

import pytest

MODULES = [
    "aae",
    "callbacks",
    "checkpoint",
    "cli",
    "data",
    "dcgan",
    "distribute",
    "engine",
    "gaussian",
    "layers",
    "metrics",
    "moments",
    "viz",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"keras_gan.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed (above)"

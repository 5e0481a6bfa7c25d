"""The examples in the library's docstrings run and give what they show (the README's
`python -m pytest -q` runs them)."""

from __future__ import annotations

import doctest
import io
from types import ModuleType

import pytest

import losscli
import losscli.api


@pytest.mark.parametrize("module", [losscli, losscli.api], ids=lambda m: m.__name__)
def test_docstring_examples_give_what_they_show(module: ModuleType) -> None:
    tests = [t for t in doctest.DocTestFinder().find(module, module.__name__) if t.examples]
    assert tests, f"{module.__name__} shows no example"
    runner = doctest.DocTestRunner()
    report = io.StringIO()
    for test in tests:
        runner.run(test, out=report.write)
    assert runner.summarize(verbose=False).failed == 0, report.getvalue()

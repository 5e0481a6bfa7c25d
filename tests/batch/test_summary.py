"""batch --summary: the statistics of every finite per-example loss, whatever the order and
the cut of the parts they came in (QA10 F10: a Dask run's mean differed from the local run's
in its last digit when an input was cut into tasks)."""

from __future__ import annotations

import numpy as np

from losscli.batch.summary import Summary
from losscli.model import FileResult


def _summary(parts: list[np.ndarray]) -> dict:
    s = Summary()
    for n, part in enumerate(parts):
        s.add(FileResult(f"part{n}", "triplet", {}, "mean", per_example=part))
    record = s.record("triplet")
    record.pop("files")  # the parts, not the statistics
    return record


def test_the_summary_does_not_depend_on_the_order_or_cut_of_its_parts():
    rng = np.random.default_rng(1)
    values = rng.lognormal(size=10_001) * 1e-5
    whole = _summary([values])
    for cuts in ([3, 5000, 7777], [1, 2, 3, 4], [9999]):
        parts = np.split(values, cuts)
        assert _summary(parts) == whole
        assert _summary(parts[::-1]) == whole
    assert whole["mean"] == np.sort(values).mean()

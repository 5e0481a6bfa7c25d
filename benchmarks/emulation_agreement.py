"""How close `--emulate` comes to torch autocast, beside how close float64 comes.

    python benchmarks/emulation_agreement.py

Reads tests/fixtures/emulation.json (torch 2.13 autocast on the CPU) and prints, per case,
the largest relative difference of losscli's emulated per-example losses from torch's, the
same for the float64 losses, and their ratio.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import losscli

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "emulation.json"


def largest(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-30)))


def main() -> None:
    print(f"{'loss':<13} {'format':<9} {'emulated':>10} {'float64':>10} {'ratio':>9}  lost")
    for case in json.loads(FIXTURES.read_text()):
        params = {k: v for k, v in case["params"].items() if v is not None}
        result = losscli.evaluate(case["loss"], case["inputs"], reduction="none",
                                  emulate=case["format"], **params)
        torch = np.array([np.nan if v is None else v for v in case["per_example"]])
        emulated = np.array([np.nan if v is None else v
                             for v in result.emulation["per_example"]])
        e, f = largest(emulated, torch), largest(result.per_example, torch)
        ratio = f"{f / e:9.3g}" if e > 0 else "    exact"
        lost = int(np.isnan(torch).sum())
        same = np.array_equal(np.isnan(torch), np.isnan(emulated))
        print(f"{case['loss']:<13} {case['format']:<9} {e:>10.2e} {f:>10.2e} {ratio}  "
              f"{lost} torch, {'same' if same else 'DIFFERENT'} here")


if __name__ == "__main__":
    main()

"""What the tests share: one tolerance, finite differences, and the CLI run in process.

Every comparison of a computed number with its expected value goes through `close`: a
relative tolerance (1e-12 unless a test says why it needs another) with an absolute floor of
1e-15 times the scale of the terms, so that a difference of large terms that rounds to about
zero does not fail for its last bits. NaN equals NaN and an infinity only itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

import losscli
from losscli.cli import run

REL = 1e-12
FLOOR = 1e-15

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SEED1 = str(SAMPLES / "seed-example-1.json")


def sample(name: str) -> dict[str, Any]:
    """The roles of samples/<name> (.json or .npz), as evaluate takes them."""
    path = SAMPLES / name
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            return dict(arrays)
    return json.loads(path.read_text())


# ---------------------------------------------------------------- the tolerance


def close(actual: float, expected: float, rel: float = REL, scale: float = 1.0,
          floor: float = FLOOR) -> bool:
    """|actual - expected| <= max(rel |expected|, floor * scale)."""
    if math.isnan(expected):
        return math.isnan(actual)
    if math.isinf(expected):
        return actual == expected
    return abs(actual - expected) <= max(rel * abs(expected), floor * scale)


def assert_close(actual: Any, expected: Any, rel: float = REL, scale: float = 1.0,
                 floor: float = FLOOR) -> None:
    """Each entry of `actual` close to `expected`: numbers, nested lists or arrays of one
    shape. `scale` is the size of the terms the numbers came from (the floor's unit)."""
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    e = np.atleast_1d(np.asarray(expected, dtype=float))
    assert a.shape == e.shape, (a.shape, e.shape)
    bad = [(i, x, y) for i, (x, y) in enumerate(zip(a.ravel(), e.ravel(), strict=True))
           if not close(float(x), float(y), rel, scale, floor)]
    assert not bad, f"not within rel {rel}: (index, actual, expected) {bad[:5]}"


def assert_records_close(got: Any, want: Any, path: str = "$") -> None:
    """Two JSON documents equal, their floats up to rounding (`close`); `path` names the
    first place they differ."""
    if isinstance(want, float) and isinstance(got, (int, float)):
        assert close(float(got), want), (path, got, want)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (path, got, want)
        for k in want:
            assert_records_close(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_records_close(g, w, f"{path}[{i}]")
    else:
        assert got == want, (path, got, want)


# ---------------------------------------------------------------- finite differences


def per_example_of(name: str, **params: Any) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """inputs -> the per-example losses of `name` with `params` (a copy)."""

    def f(arrays: dict[str, np.ndarray]) -> np.ndarray:
        return losscli.evaluate(name, arrays, **params).per_example.copy()

    return f


def jacobian(per_example: Callable[[dict[str, np.ndarray]], np.ndarray],
             inputs: Mapping[str, Any], role: str, h: float = 1e-6,
             relative: bool = True) -> np.ndarray:
    """Central differences d per_example[b] / d inputs[role][idx]: shape (B,) + role shape.

    The step is h times max(1, |x|) (relative) or h itself."""
    base = {k: np.array(v, dtype=float) for k, v in inputs.items()}
    x = base[role]
    B = per_example(base).shape[0]
    out = np.empty((B,) + x.shape)
    for idx in np.ndindex(*x.shape):
        step = h * max(1.0, abs(x[idx])) if relative else h
        plus, minus = dict(base), dict(base)
        plus[role], minus[role] = x.copy(), x.copy()
        plus[role][idx] += step
        minus[role][idx] -= step
        out[(slice(None),) + idx] = (per_example(plus) - per_example(minus)) / (2 * step)
    return out


def own_rows(jac: np.ndarray) -> np.ndarray:
    """d loss_b / d (row b of a per-example role): jac[b, b] for each b."""
    return np.stack([jac[b, b] for b in range(jac.shape[0])])


GRADIENT_RTOL, GRADIENT_ATOL = 1e-6, 1e-8
MODES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "own": own_rows,  # each example's own row of a per-example role
    "all": lambda jac: jac,  # a bank every example shares: each example's derivative
    "sum": lambda jac: jac.sum(axis=0),  # of the summed loss (examples coupled)
}


def check_gradients(name: str, inputs: Mapping[str, Any], modes: Mapping[str, str],
                    **params: Any) -> dict[str, np.ndarray]:
    """grad=True's gradients of every role in `modes` equal central finite differences
    (mode per role: own, all or sum), and no other role has one; the gradients."""
    r = losscli.evaluate(name, inputs, grad=True, **params)
    assert r.gradients is not None
    assert set(r.gradients) == set(modes), (set(r.gradients), set(modes))
    f = per_example_of(name, **params)
    for role, mode in modes.items():
        expected = MODES[mode](jacobian(f, inputs, role))
        got = r.gradients[role]
        assert got.shape == expected.shape, (role, got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL,
                                   err_msg=f"{name} {params} {role}")
    return r.gradients


# ---------------------------------------------------------------- the CLI in process


def losscli_process(args: list[str], cwd: Path, stdin: bytes | None = None, text: bool = True,
                    **env: str) -> Any:
    """`python -m losscli args` in a process of its own (interpreted kernels: no compile),
    stdout and stderr captured; `stdin` bytes piped in (then output is bytes too)."""
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, input=stdin,
                          env={**os.environ, "LOSSCLI_JIT": "never", **env},
                          capture_output=True, text=text and stdin is None, timeout=120)


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """`losscli argv` through losscli.cli.run: exit code, stdout, stderr."""
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_cli_json(capsys: Any, *argv: str) -> Any:
    """The JSON document of a `losscli argv --format json` that must succeed."""
    code, out, err = run_cli(capsys, *argv, "--format", "json")
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out)


def optional_module(name: str) -> Any:
    """An optional extra's module, or skip the test: also when it is installed but cannot
    load (pyarrow 26 beside numpy 1.24, as in CI's lowest-versions run), which
    pytest.importorskip reports as an error rather than a skip."""
    import importlib

    import pytest

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"{name} cannot be imported: {exc}", allow_module_level=True)


# ---------------------------------------------------------------- batch's own peak memory

_BATCH_PEAK_CHILD = r"""
import json, sys
from losscli.cli import run

def status_mb(field):
    # VmHWM / VmRSS of this process's own memory map: ru_maxrss would also count the
    # parent's pages at fork time (Linux carries it across exec)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)

small, big, chunk = sys.argv[1:4]
# the same kernels on a small input first: imports, compilation and caches are not the input's
assert run(["batch", "infonce", small, "-q", "--chunk", chunk, "--out", small + ".jsonl"]) == 0
before = status_mb("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # restart the high-water mark from the current RSS
code = run(["batch", "infonce", big, "-q", "--chunk", chunk, "--out", big + ".jsonl"])
print(json.dumps({"code": code, "before": before, "after": status_mb("VmHWM")}))
"""


def batch_peak_growth(small: Path, big: Path, chunk: int) -> dict[str, Any]:
    """`batch infonce` over `small`, then over `big`, in a child process that measures its
    own memory: {"code": big's exit code, "before": RSS before it, "after": the high-water
    RSS during it} (MiB); the outputs go to INPUT.jsonl."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _BATCH_PEAK_CHILD, str(small), str(big),
                           str(chunk)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_until_reading_stdin(pid: int, timeout: float) -> None:
    """Return once process `pid` is blocked reading its stdin pipe (or `timeout` passed)."""
    import time

    deadline = time.monotonic() + timeout
    while not waiting_on_stdin(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def waiting_on_stdin(pid: int) -> bool:
    """Whether process `pid` is inside losscli's run (numpy loaded) and blocked reading a
    pipe: the moment to signal or close it."""
    try:
        with open(f"/proc/{pid}/wchan") as fh:
            wchan = fh.read()
        with open(f"/proc/{pid}/maps") as fh:
            started = "_multiarray_umath" in fh.read()
    except OSError:
        return False
    return started and "pipe" in wchan

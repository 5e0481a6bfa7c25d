"""kernels/float_text.py writes numbers as Python does: float.__repr__ (json.dumps' floats)
on random bit patterns, every power of two, subnormals, integers, the layout's switch points
(1e-4 / 1e-5, 1e16) and non-finite values (JSON's null); str() of int64 values."""

from __future__ import annotations

import math

import numpy as np

from losscli.kernels import float_text as ft


def _written(values: np.ndarray, kind: int) -> list[str]:
    """Each value through fill_rows, one row per value with no literal pieces."""
    n = len(values)
    floats = np.zeros((1, n), dtype=np.uint64)
    ints = np.zeros((1, n), dtype=np.int64)
    if kind == ft.FLOAT:
        floats[0] = values.astype(np.float64).view(np.uint64)
    else:
        ints[0] = values
    out = np.empty(n * (ft.FLOAT_WIDTH + 2), dtype=np.uint8)
    ends = np.empty(n, dtype=np.int64)
    pos, inv = ft.pow5_tables()
    ft.fill_rows.jit(out, ends, 1, np.zeros(0, dtype=np.uint8), np.zeros(3, dtype=np.int64),
                     np.array([kind]), np.array([0]), floats, ints,
                     np.zeros((1, n), dtype=np.int64), np.zeros(1, dtype=np.uint8),
                     np.zeros(2, dtype=np.int64), pos, inv, np.zeros(0, dtype=np.uint8),
                     np.frombuffer(b"null", dtype=np.uint8))
    text = out[:ends[-1]].tobytes().decode()
    starts = [0, *ends[:-1].tolist()]
    return [text[s:e] for s, e in zip(starts, ends.tolist(), strict=True)]


def _python(values: np.ndarray) -> list[str]:
    return [float.__repr__(v) if math.isfinite(v) else "null" for v in values.tolist()]


def test_random_bit_patterns_are_written_as_repr() -> None:
    rng = np.random.default_rng(20261203)
    bits = rng.integers(0, 2**64, size=300_000, dtype=np.uint64, endpoint=False)
    values = bits.view(np.float64)
    assert _written(values, ft.FLOAT) == _python(values)


def test_powers_of_two_subnormals_and_integers_are_written_as_repr() -> None:
    rng = np.random.default_rng(7)
    powers = np.ldexp(1.0, np.arange(-1074, 1024))
    subnormal = rng.integers(1, 2**52, size=20_000, dtype=np.uint64).view(np.float64)
    whole = rng.integers(-2**60, 2**60, size=20_000).astype(np.float64)
    scaled = rng.normal(size=50_000) * 10.0 ** rng.integers(-320, 300, size=50_000)
    single = rng.normal(size=20_000).astype(np.float32).astype(np.float64)
    values = np.concatenate([powers, -powers, np.nextafter(powers, 0), np.nextafter(powers, 2e308),
                             subnormal, whole, scaled, single])
    assert _written(values, ft.FLOAT) == _python(values)


def test_the_layout_switch_points_and_specials_are_written_as_repr() -> None:
    edges = [0.0, -0.0, 1.0, 0.1, 0.3, 1e-4, 1e-5, 9.999999999999999e-05, 1.0000000000000001e-4,
             1e15, 1e16, 9999999999999998.0, 1234567890123456.0, 12345678901234568.0, 1e22,
             1e23, 1e100, 1e-100, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
             math.inf, -math.inf, math.nan, 123.0, 0.001, 2.5e-07, 1e-07]
    values = np.array(edges + [-v for v in edges])
    assert _written(values, ft.FLOAT) == _python(values)


def test_int64_values_are_written_as_str() -> None:
    rng = np.random.default_rng(3)
    info = np.iinfo(np.int64)
    values = np.concatenate([[0, 1, -1, 9, 10, -10, info.min, info.max, info.min + 1],
                             rng.integers(info.min, info.max, size=50_000),
                             rng.integers(-1000, 1000, size=5_000)]).astype(np.int64)
    assert _written(values, ft.INT) == [str(v) for v in values.tolist()]


def test_non_finite_text_and_the_row_separator_are_the_callers() -> None:
    """CSV's empty cell for NaN and inf, and no separator between rows (its rows end in a
    newline piece), where JSON has null and ",\\n"."""
    values = np.array([1.5, math.nan, -math.inf, -0.0])
    out = np.empty(200, dtype=np.uint8)
    ends = np.empty(1, dtype=np.int64)
    pos, inv = ft.pow5_tables()
    ft.fill_rows.jit(out, ends, 4, np.frombuffer(b"<>\n", dtype=np.uint8),
                     np.array([0, 1, 3]), np.array([ft.FLOAT]), np.array([0]),
                     values.view(np.uint64)[None, :], np.zeros((1, 4), dtype=np.int64),
                     np.zeros((1, 4), dtype=np.int64), np.zeros(1, dtype=np.uint8),
                     np.zeros(2, dtype=np.int64), pos, inv, np.zeros(0, dtype=np.uint8),
                     np.zeros(0, dtype=np.uint8))
    assert out[:ends[0]].tobytes() == b"<1.5>\n<>\n<>\n<-0.0>\n"

"""compute's CSV rows written by the compiled filler (render/csv_rows.py) are byte for byte
the csv module's (csvout's Python path): random blocks of float columns (tiny, huge,
subnormal, negative zero, NaN and inf as an empty cell, float32), int, bool, string columns
that need quoting and object columns of mixed values, with every term, the top terms, chosen
examples and --grad's grad_norm; and through the CLI for a few losses."""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pytest

from losscli.model import Result, Terms
from losscli.render import breakdown, csv_rows, csvout, row_filler
from tests.helpers import run_cli

STRINGS = ["a->p", "p->a", "comma, inside", 'a "quoted" word', "two\nlines", "é", "",
           " padded ", "\r"]


def _floats(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    x = rng.normal(size=shape) * 10.0 ** rng.integers(-320, 300, size=shape)
    x.flat[::7] = rng.integers(0, 2**64, size=x.flat[::7].shape, dtype=np.uint64).view(
        np.float64)  # every bit pattern: NaNs, infs, subnormals
    x.flat[1::11] = -0.0
    x.flat[2::13] = 1e16
    x.flat[3::17] = 1e-5
    x.flat[4::19] = 5e-324
    x.flat[5::23] = np.nan
    x.flat[6::29] = -np.inf
    return x


def _single(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """float32: huge values overflow to inf, tiny ones to float32's subnormals and zero."""
    with np.errstate(over="ignore"):
        return _floats(rng, shape).astype(np.float32)


def _mixed(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """An object column of values that are equal keys of a dict but different cells."""
    pool = [None, 1, 1.0, True, False, 0.0, -0.0, np.nan, np.inf, 2.5e-300, "x,y", 'q"',
            [1.0, np.nan, 2], np.float32(-0.0), np.float32(0.0), np.int64(7), np.True_]
    picks = rng.integers(0, len(pool), size=shape)
    out = np.empty(shape, dtype=object)
    for at, k in np.ndenumerate(picks):
        out[at] = pool[k]
    return out


def _result(seed: int, B: int = 23, T: int = 9, grad: bool = False) -> Result:
    rng = np.random.default_rng(seed)
    per_example = _floats(rng, (1, B))[0]
    per_example[:3] = [np.nan, np.inf, -0.0]
    columns = {
        "similarity": _floats(rng, (B, T)),
        "gradient": rng.normal(size=(B, T)),
        "single": _single(rng, (B, T)),
        "count": rng.integers(-2**62, 2**62, size=(B, T)),
        "small": rng.integers(0, 255, size=(B, T)).astype(np.uint8),
        "active": rng.random((B, T)) < 0.5,
        "label": np.array(rng.choice(STRINGS, size=(B, T)), dtype=object),
        "plain": np.array(rng.choice(["easy", "hard"], size=(B, T))),  # numpy's str dtype
        "mixed": _mixed(rng, (B, T)),
    }
    role = tuple("positive" if t == 0 else "negative" for t in range(T))
    gradients = None
    if grad:
        negatives = rng.normal(size=(B, T - 1, 4))
        negatives[0, 0, 0], negatives[1, 1, 1] = np.nan, np.inf
        positive = rng.normal(size=(B, 4))
        positive[0, 0] = positive[5, 1] = np.nan  # kept by every view: a positive term
        gradients = {"anchor": rng.normal(size=(B, 4)), "positive": positive,
                     "negatives": negatives}
    return Result(loss="infonce", params={"temperature": 0.07}, reduction="mean",
                  per_example=per_example, value=0.5, shape={"batch": B, "dim": 4},
                  terms=Terms(role=role, index=(0, *range(T - 1)), columns=columns),
                  gradients=gradients)


def _csv(monkeypatch, jit: str, result: Result, view: breakdown.TermsView = breakdown.TermsView(),
         order: list[int] | None = None) -> str:
    monkeypatch.setenv("LOSSCLI_JIT", jit)
    return "".join(csvout.csv_chunks(result, view, order))


@pytest.fixture
def filled(monkeypatch):
    """The blocks the filler wrote (not None): the comparisons go through it, not the
    Python path's fallback."""
    texts: list[list[str]] = []
    terms = csv_rows.csv_terms

    def counted(*args):
        out = terms(*args)
        assert out is not None
        texts.append(out)
        return out

    monkeypatch.setattr(csv_rows, "csv_terms", counted)
    return texts


@pytest.mark.parametrize("grad", [False, True], ids=["terms", "grad_norm"])
@pytest.mark.parametrize("order", [None, [5, 0, 22, 5]], ids=["all examples", "chosen"])
@pytest.mark.parametrize("mode", ["all", "top", "none"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_filler_writes_the_csv_modules_bytes(monkeypatch, filled, seed, mode, order, grad):
    result = _result(seed, grad=grad)
    view = breakdown.TermsView(mode, top=3, strength="gradient")
    python = _csv(monkeypatch, "never", result, view, order)
    assert not filled
    assert _csv(monkeypatch, "always", result, view, order) == python
    assert bool(filled) == (mode != "none")
    if grad and mode != "none":
        assert ",\n" in python  # a NaN gradient's norm: an empty last cell


def test_non_finite_floats_and_losses_are_empty_cells(monkeypatch, filled):
    """Read back: NaN and inf are empty cells (JSON writes null), -0.0 and a subnormal keep
    repr's text, a quoted string its commas, quotes and line breaks."""
    result = _result(2, B=3, T=4)
    result.terms.columns["similarity"][0, :] = [np.nan, np.inf, -0.0, 5e-324]
    result.terms.columns["label"][:] = "x"  # no bare carriage return: csv's reader refuses it
    result.terms.columns["label"][0, :] = ["comma, inside", 'a "quoted" word', "two\nlines",
                                           "é"]
    text = _csv(monkeypatch, "always", result)
    assert filled
    rows = list(csv.DictReader(io.StringIO(text)))
    first = rows[:4]
    assert [r["similarity"] for r in first] == ["", "", "-0.0", "5e-324"]
    assert [r["label"] for r in first] == ["comma, inside", 'a "quoted" word', "two\nlines",
                                           "é"]
    assert [r["example_loss"] for r in rows] == [""] * 8 + ["-0.0"] * 4
    numbers = {r[name] for r in rows for name in ("example_loss", "similarity", "gradient",
                                                   "single")}
    assert not numbers & {"null", "nan", "inf", "-inf"}


def test_a_few_kept_terms_of_many_take_their_own_labels(monkeypatch, filled):
    """--terms top of an in-batch loss: fewer kept terms in a block than the breakdown has,
    each at its own role and index."""
    result = _result(6, B=3, T=500)
    view = breakdown.TermsView("top", top=4, strength="gradient")
    for order in (None, [2, 0]):
        python = _csv(monkeypatch, "never", result, view, order)
        assert _csv(monkeypatch, "always", result, view, order) == python
    assert filled


def test_roles_and_indices_that_need_quoting(monkeypatch, filled):
    """Role and index cells go to the csv module as they are (not through csv_cell): 1,
    True and 1.0, 0.0 and -0.0 are each their own cell."""
    result = _result(7, B=4, T=8)
    result = dataclasses.replace(result, terms=Terms(
        role=("positive", "neg, a", 'say "x"', "two\nlines", "", "n", "n", "n"),
        index=(1, True, 1.0, "k,1", None, 0.0, -0.0, 2.5), columns=result.terms.columns))
    python = _csv(monkeypatch, "never", result)
    assert _csv(monkeypatch, "always", result) == python
    assert filled


def test_a_column_the_filler_does_not_write_goes_the_python_way(monkeypatch):
    result = _result(6)
    result.terms.columns["huge"] = np.full((result.batch, result.terms.count), 2**63 + 5,
                                           dtype=np.uint64)
    block = next(breakdown.blocks(result, breakdown.TermsView()))
    labels = csv_rows.labels(result.terms.role, result.terms.index)
    assert csv_rows.csv_terms(labels, block, list(result.terms.names),
                              result.per_example[:block.n], None) is None
    python = _csv(monkeypatch, "never", result)
    assert _csv(monkeypatch, "always", result) == python
    assert "9223372036854775813" in python


def _inputs(tmp_path, B: int = 6, D: int = 3, K: int = 4) -> dict[str, str]:
    rng = np.random.default_rng(11)
    arrays = {"anchor": rng.normal(size=(B, D)), "positive": rng.normal(size=(B, D)),
              "negatives": rng.normal(size=(B, K, D))}
    arrays["anchor"][1] = 0.0  # a zero vector: cosine's NaN where the loss keeps it
    arrays["negatives"][2, 0] = arrays["anchor"][2]  # a tie with the anchor
    paths = {}
    for name, value in arrays.items():
        paths[name] = str(tmp_path / f"{name}.npy")
        np.save(paths[name], value.astype(np.float32))
    return paths


@pytest.mark.parametrize("loss,roles,extra", [
    ("infonce", ("anchor", "positive", "negatives"), ()),
    ("npair", ("anchor", "positive"), ()),
    ("clip", ("anchor", "positive"), ()),
    ("triplet", ("anchor", "positive", "negatives"), ("--margin", "0.5")),
    ("contrastive", ("anchor", "positive", "negatives"), ()),
])
@pytest.mark.parametrize("options", [("--terms", "all"), ("--terms", "all", "--grad"),
                                     ("--terms", "top", "--top", "2"), ("--worst", "3")],
                         ids=["all", "grad", "top", "worst"])
def test_the_cli_csv_is_the_same_either_way(monkeypatch, capsys, tmp_path, filled, loss,
                                            roles, extra, options):
    """Both runs compiled (LOSSCLI_JIT=always: the interpreted kernels' last digits may
    differ), the first with the CSV filler declined, as below the threshold."""
    paths = _inputs(tmp_path)
    argv = ["compute", loss, *(a for r in roles for a in (f"--{r}", paths[r])), *extra,
            *options, "-f", "csv"]
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    with monkeypatch.context() as python_path:
        python_path.setattr(row_filler, "wanted", lambda cells: False)
        code, python, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert not filled
    code, fast, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert filled
    assert fast == python
    if loss == "triplet":
        assert "regime" in python.splitlines()[0]

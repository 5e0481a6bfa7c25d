"""batch --per-example --columns (terms beside each example's loss, at its hardest term) and
batch --worst / --best (the examples over every input, ranked)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import numpy as np
import pytest

import losscli
from tests.helpers import assert_close, run_cli


@pytest.fixture
def shards(tmp_path):
    rng = np.random.default_rng(7)
    paths = []
    for i in range(2):
        a, p, n = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 5, 4))
        path = tmp_path / f"s{i}.npz"
        np.savez(path, anchor=a, positive=p, negatives=n)
        paths.append(str(path))
    return paths


def records(out):
    return [json.loads(line) for line in out.splitlines()]


def test_columns_are_the_hardest_negatives_terms(capsys, shards):
    code, out, err = run_cli(capsys, "batch", "triplet", *shards, "--per-example",
                             "--columns", "d_ap,d_an,hardest,regime", "-f", "jsonl",
                             "--chunk", "4")
    assert code == 0, err
    rows = records(out)
    assert len(rows) == 12
    for path in shards:
        with np.load(path) as z:
            result = losscli.evaluate("triplet", dict(z))
        d_an = result.terms.columns["d_an"]
        mine = [r for r in rows if r["file"] == path]
        for b, row in enumerate(mine):
            k = int(np.argmin(d_an[b]))
            assert row["columns"]["hardest"] == k
            assert_close(row["columns"]["d_an"], d_an[b, k])
            assert_close(row["columns"]["d_ap"], result.terms.columns["d_ap"][b, k])
            assert row["columns"]["regime"] == result.terms.columns["regime"][b, k]
            assert_close(row["loss"], result.per_example[b])


def test_columns_in_csv(capsys, shards):
    code, out, _ = run_cli(capsys, "batch", "infonce", shards[0], "--per-example",
                           "--columns", "probability,hardest", "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["file", "index", "loss", "probability", "hardest", "error"]
    with np.load(shards[0]) as z:
        result = losscli.evaluate("infonce", dict(z))
    prob = result.terms.columns["probability"][:, 1:]  # the negatives after the positive
    assert [int(r["hardest"]) for r in rows] == prob.argmax(axis=1).tolist()


def test_unknown_column_lists_the_valid_ones(capsys, shards):
    code, _, err = run_cli(capsys, "batch", "triplet", *shards, "--per-example", "--columns",
                           "d_ap,dan")
    assert code == 2
    assert "'dan' is not a column of triplet; choose from hardest, d_ap, d_an" in err
    code, _, err = run_cli(capsys, "batch", "triplet", *shards, "--columns", "d_ap")
    assert code == 2 and "--columns needs per-example records" in err


def test_worst_over_every_input(capsys, shards):
    code, out, _ = run_cli(capsys, "batch", "triplet", *shards, "--per-example", "-f", "jsonl")
    every = [(r["loss"], r["file"], r["index"]) for r in records(out)]
    code, out, _ = run_cli(capsys, "batch", "triplet", *shards, "--worst", "4", "-f", "jsonl")
    assert code == 0
    got = [(r["loss"], r["file"], r["index"]) for r in records(out)]
    assert got == sorted(every, key=lambda x: (-x[0], shards.index(x[1]), x[2]))[:4]
    code, out, _ = run_cli(capsys, "batch", "triplet", *shards, "--best", "3", "-f", "json")
    got = [(r["loss"], r["file"], r["index"]) for r in json.loads(out)]
    assert got == sorted(every, key=lambda x: (x[0], shards.index(x[1]), x[2]))[:3]


IN_BATCH = [("clip", {}), ("siglip", {}), ("ntxent-batch", {}), ("npair", {}), ("dcl", {}),
            ("hard-infonce", {}), ("infonce", {"like": "sentence-transformers"}),
            ("supcon", {"like": "supcontrast"})]


@pytest.mark.parametrize("name,params", IN_BATCH)
def test_an_in_batch_losss_hardest_term_is_its_strongest_negative(name, params):
    """The hardest term is a negative (clip and siglip named the matching pair: their
    `hardest` still asked for the role their breakdowns called every candidate before the
    labels were fixed), the one with the largest value of the spec's column."""
    from losscli.losses import get_spec
    from losscli.losses.example_columns import example_columns

    rng = np.random.default_rng(11)
    inputs = {"anchor": rng.normal(size=(7, 4)), "positive": rng.normal(size=(7, 4))}
    spec = get_spec(name)
    role, column = spec.hardest
    r = losscli.evaluate(name, inputs, **params)
    got = example_columns(spec, r, ("hardest", column))
    roles = np.array(r.terms.role)
    values = r.terms.columns[column]
    assert role == "negative"
    for b in range(r.batch):
        negatives = values[b][roles == "negative"]
        assert got[column][b] == negatives.max(), (name, b)


def test_columns_are_read_a_block_of_examples_at_a_time(monkeypatch):
    """Blocks of a few examples (a tiled loss's breakdown does not fit in memory whole) give
    what the whole breakdown gives."""
    from losscli.losses import example_columns as ec
    from losscli.losses import get_spec

    rng = np.random.default_rng(12)
    inputs = {"anchor": rng.normal(size=(9, 4)), "positive": rng.normal(size=(9, 4))}
    r = losscli.evaluate("clip", inputs)
    names = ("hardest", "probability", "j", "direction")
    whole = ec.example_columns(get_spec("clip"), r, names)
    asked = []

    def recorded(start: int, stop: int) -> dict[str, np.ndarray]:
        asked.append((start, stop))
        return r.terms.block(start, stop)

    blocked = replace(r, terms=replace(r.terms, compute=recorded))
    from losscli import model

    monkeypatch.setattr(model, "SCAN_TERMS", 2 * 18)  # two examples of 18 terms a block
    assert ec.example_columns(get_spec("clip"), blocked, names) == whole
    assert asked == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 9)]


CONVENTION_COLUMNS = [("infonce", "sentence-transformers", "negatives"),
                      ("supcon", "supcontrast", None)]


def test_the_conventions_with_columns_of_their_own_are_these():
    from losscli.losses import LOSSES

    assert sorted((name, lib) for name, spec in LOSSES.items()
                  for lib, c in spec.conventions.items() if getattr(c, "columns", ())) == \
        sorted((name, lib) for name, lib, _ in CONVENTION_COLUMNS)


@pytest.mark.parametrize("name,like,extra", CONVENTION_COLUMNS)
def test_a_conventions_own_columns_are_in_its_breakdown_and_batch_takes_them(
        capsys, tmp_path, name, like, extra):
    """MNRL's candidate_role and candidate_index (and SupContrast's views) are declared on
    the convention: its breakdown has them, and batch --columns gives them at each example's
    hardest term (they were refused: not among the loss's own columns)."""
    from losscli.losses import get_spec

    rng = np.random.default_rng(13)
    inputs = {"anchor": rng.normal(size=(6, 4)), "positive": rng.normal(size=(6, 4))}
    if extra:
        inputs[extra] = rng.normal(size=(6, 2, 4))
    r = losscli.evaluate(name, inputs, like=like)
    declared = [c.name for c in get_spec(name).conventions[like].columns]
    assert set(declared) <= set(r.terms.names)
    path = tmp_path / "in.json"
    path.write_text(json.dumps({k: v.tolist() for k, v in inputs.items()}))
    code, out, err = run_cli(capsys, "batch", name, str(path), "--like", like, "--per-example",
                             "--columns", ",".join(["hardest", *declared]), "-f", "jsonl")
    assert code == 0, err
    from losscli.losses.example_columns import hardest_terms

    columns = r.terms.columns
    at = hardest_terms(get_spec(name), columns, np.array(r.terms.role), r.batch)
    for b, row in enumerate(records(out)):
        for column in declared:
            assert row["columns"][column] == columns[column][b, at[b]], (b, column)

"""`losses` and `explain` read everything from the registry."""

from __future__ import annotations

import json

import pytest

import losscli
from losscli.cli import run
from losscli.cli.catalog import explain_text
from losscli.errors import BadData
from losscli.losses import LIBRARIES, LOSSES, Convention
from losscli.losses.spec import CORE_LIBRARIES
from tests.helpers import run_cli as invoke


def test_the_batch_losses_describe_their_anchor_as_a_batch(capsys) -> None:
    """clip and ntxent-batch refuse one example (B >= 2): their help (explain, the loss's
    paragraph and its --anchor option) must not offer (D,); the forms with optional
    negatives say when a batch is needed. The others keep the common description."""
    for name in ("clip", "ntxent-batch"):
        text = explain_text(LOSSES[name])
        assert "  anchor: (B, D), B >= 2" in text and "(D,) for one example" not in text
        code, out, _ = invoke(capsys, "compute", name, "--help")
        assert code == 0 and "anchor ((B, D), B >= 2" in out
        assert "(D,) for one example" not in out
        with pytest.raises(BadData, match="B >= 2"):
            losscli.evaluate(name, {"anchor": [1.0, 0.0], "positive": [0.8, 0.6]})
    for name in ("npair", "dcl", "hard-infonce"):
        assert "without negatives a batch of B >= 2" in explain_text(LOSSES[name])
    assert "  anchor: (D,) for one example, (B, D) for a batch" in explain_text(LOSSES["infonce"])


def test_explain_shows_every_registry_fact() -> None:
    for spec in LOSSES.values():
        text = explain_text(spec)
        assert spec.formula.splitlines()[0] in text
        for role in spec.roles:
            optional = " (optional)" if role in spec.optional else ""
            assert f"  {role}{optional}: {spec.shape(role)}\n" in text
        for p in spec.params:
            assert f"{p.option}" in text and f"(default {p.default})" in text
        for c in spec.columns:
            assert f"  {c.name}: {c.help}" in text
        for item in spec.pitfalls + spec.references:
            assert item in text
        assert spec.gradient in text
        # The five loss libraries always (a missing one says so), other codebases where the
        # loss names them.
        for lib in LIBRARIES:
            conv = spec.conventions.get(lib)
            if lib not in CORE_LIBRARIES and conv is None:
                assert f"  {lib}:" not in text
            elif isinstance(conv, Convention):
                defaults = {p.name: p.default for p in spec.params}
                assert conv.call({**defaults, **conv.params}) in text and conv.summary in text
                assert all(str(note) in text for note in conv.notes)
            elif isinstance(conv, str):
                assert f"{lib}: {conv} (described" in text
            else:
                assert f"{lib}: no {spec.name} loss" in text


def test_pitfalls_name_temperature_zero_vectors_and_zero_distance() -> None:
    joined = " ".join(p for spec in LOSSES.values() for p in spec.pitfalls)
    for needle in ("tiny temperature", "Zero vectors under cosine", "sqrt at zero distance"):
        assert needle.lower() in joined.lower()


def test_explain_says_which_contrastive_is_which(capsys):
    code, out, _ = invoke(capsys, "explain", "infonce")
    assert code == 0 and "contrastive_loss" in out and "--temperature" in out
    code, out, _ = invoke(capsys, "explain", "contrastive")
    assert code == 0 and "`infonce`" in out


@pytest.mark.parametrize("name", ["supcon", "clip", "dcl", "hard-infonce", "circle",
                                  "lifted-structure", "margin-ranking"])
def test_explain_table_has_columns_and_libraries(capsys, name):
    code, out, _ = invoke(capsys, "explain", name, "--format", "table")
    assert code == 0
    assert out.startswith(f"{name}:") and "breakdown columns" in out
    assert "other libraries" in out


def test_losses_lists_the_registry_as_json(capsys):
    code, out, _ = invoke(capsys, "losses", "-f", "json")
    assert code == 0
    names = [entry["name"] for entry in json.loads(out)]
    assert names[:5] == ["softmax-ce", "infonce", "contrastive", "triplet", "quadruplet"]
    from losscli.losses import LOSSES

    assert names == list(LOSSES)


def test_losses_json_lists_roles_params_and_conventions(capsys):
    code, out, _ = invoke(capsys, "losses", "--format", "json")
    assert code == 0
    specs = {s["name"]: s for s in json.loads(out)}
    assert {"supcon", "ntxent-batch", "clip", "npair", "dcl", "hard-infonce", "siglip",
            "multi-similarity", "circle", "lifted-structure", "margin", "cosine-embedding",
            "hinge-embedding", "margin-ranking"} <= set(specs)
    assert specs["hard-infonce"]["params"][1] == {
        "name": "beta", "option": "--beta", "default": 1.0, "kind": "float", "choices": None,
        "help": specs["hard-infonce"]["params"][1]["help"]}
    assert specs["cosine-embedding"]["roles"] == {"required": ["x1", "x2", "label"],
                                                  "optional": [], "stand_ins": {}}
    # either of positive / positives does (LOSSES-MORE.md): the lists stay literal, and
    # stand_ins says which optional role may take a required one's place
    assert specs["circle"]["roles"] == {"required": ["anchor", "positives", "negatives"],
                                        "optional": ["positive"],
                                        "stand_ins": {"positives": "positive"}}
    assert specs["lifted-structure"]["roles"]["stand_ins"] == {"positive": "positives"}
    assert "supcontrast" in specs["supcon"]["conventions"]


def test_losses_json_carries_conventions(capsys) -> None:
    assert run(["losses", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    triplet = next(d for d in doc if d["name"] == "triplet")
    assert triplet["conventions"]["optax"]["flags"] == {"eps": 1e-6, "eps_placement": "root"}
    quad = next(d for d in doc if d["name"] == "quadruplet")
    assert all(not c["defined"] for c in quad["conventions"].values())


def test_explain_like_line_sets_only_what_the_convention_always_sets(capsys) -> None:
    """PML's triplet keeps the margin in its soft term (smooth_loss) only with --soft:
    `compute triplet --like pml` has no soft term, so explain must not say --like sets it."""
    code, out, _ = invoke(capsys, "explain", "triplet", "-f", "table")
    assert code == 0
    assert ("      --like pytorch-metric-learning sets: margin 0.05; normalize=True; "
            "reduction mean-nonzero | mean | sum | none\n"
            "      --like pytorch-metric-learning with --soft also sets: soft_margin=True\n"
            ) in out


@pytest.mark.parametrize("name", list(LOSSES))
def test_each_flag_explain_shows_is_applied_where_it_says(name: str) -> None:
    """Every formula flag of every convention: on the `sets:` line exactly when --like
    applies it at the loss's defaults; otherwise on a `with OPTION also sets:` line, and
    --like applies it with each value that line names."""
    from losscli.losses.conventions import apply

    spec = LOSSES[name]
    lines = explain_text(spec).splitlines()
    for lib, conv in spec.conventions.items():
        if not isinstance(conv, Convention):
            continue
        sets = next(line for line in lines if line.startswith(f"      --like {lib} sets: "))
        shown = {part.split("=")[0] for part in sets.split(": ", 1)[1].split("; ")
                 if "=" in part}
        assert shown == set(apply(spec, lib, {}, None).flags), (lib, sets)
        for flag, when in conv.flag_conditions(spec.params).items():
            if not when:
                continue
            assert flag not in shown
            assert any(line.startswith(f"      --like {lib} with ") and f"{flag}=" in line
                       for line in lines), (lib, flag)
            for param, values in when.items():
                for value in values:
                    assert flag in apply(spec, lib, {param: value}, None).flags, (lib, flag)


def _breakdown_runs(name: str) -> list[tuple[list[str], bool]]:
    """(compute's input arguments, whether the loss reads explicit negatives from them):
    the sample input of each loss, and for a loss whose negatives are optional the batch
    form too (anchor and positive only)."""
    from tests.cli.test_schemas import SAMPLES, sample

    spec = LOSSES[name]
    args = sample(name)
    runs = [(args, "negatives" in spec.roles and _holds_negatives(args))]
    if "negatives" in spec.optional and "positive" in spec.roles:
        runs.append(([str(SAMPLES / "views.npz")], False))
    return runs


def _holds_negatives(args: list[str]) -> bool:
    import numpy as np

    if "--negatives" in args:
        return True
    path = args[0]
    if path.endswith(".npz"):
        with np.load(path) as arrays:
            return "negatives" in arrays
    if path.endswith(".json"):
        with open(path) as fh:
            return "negatives" in json.load(fh)
    return False


@pytest.mark.parametrize("name", list(LOSSES))
def test_explain_columns_are_compute_terms_in_each_form(capsys, name: str) -> None:
    """Every term of compute's JSON has role, index, then exactly the columns explain and
    losses list, in their order: all of them in the batch form, those not marked
    form="batch" with explicit negatives; a batch-only column's help says so."""
    spec = LOSSES[name]
    for column in spec.columns:
        assert column.form in ("", "batch")
        assert (column.form == "batch") == ("batch form, without negatives" in column.help), \
            column
    for args, explicit in _breakdown_runs(name):
        code, out, err = invoke(capsys, "compute", name, *args, "-f", "json")
        assert code == 0, err
        want = ["role", "index"] + [c.name for c in spec.columns
                                    if not (explicit and c.form == "batch")]
        keys = {tuple(term) for ex in json.loads(out)["examples"] for term in ex["terms"]}
        assert keys == {tuple(want)}, (args, keys, want)


def test_explain_lists_siglips_candidate_index_and_marks_batch_only_columns(capsys) -> None:
    code, out, _ = invoke(capsys, "explain", "siglip", "-f", "table")
    assert code == 0 and "  candidate_index: j, the positive's example index" in out
    code, out, _ = invoke(capsys, "explain", "dcl", "-f", "table")
    assert code == 0 and ("  view: which view's softmax the row belongs to: anchor or "
                          "positive (only in the two-view batch form, without negatives)\n"
                          ) in out


# ---------------------------------------------------------------- losses/explain output


def test_losses_jsonl_is_one_compact_record_per_loss(capsys) -> None:
    from losscli.cli.catalog import spec_to_dict

    code, out, _ = invoke(capsys, "losses", "-f", "jsonl")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(LOSSES) and out.endswith("\n")
    for line, spec in zip(lines, LOSSES.values(), strict=True):
        assert json.loads(line) == spec_to_dict(spec)
        assert line == json.dumps(spec_to_dict(spec), ensure_ascii=False)  # compact


def test_explain_jsonl_is_the_record_on_one_line(capsys) -> None:
    code, out, _ = invoke(capsys, "explain", "triplet", "-f", "jsonl", "--batch-size", "4",
                          "--num-negatives", "3")
    assert code == 0 and out.count("\n") == 1
    code, doc, _ = invoke(capsys, "explain", "triplet", "-f", "json", "--batch-size", "4",
                          "--num-negatives", "3")
    assert json.loads(out) == json.loads(doc) and "reference_values" in json.loads(out)


def test_losses_csv_has_one_row_per_loss_with_its_scalar_fields(capsys) -> None:
    import csv
    import io

    code, out, _ = invoke(capsys, "losses", "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["name", "title", "aliases", "required", "optional", "parameters",
                             "columns", "like", "summary"]
    assert [r["name"] for r in rows] == list(LOSSES)
    infonce = rows[1]
    spec = LOSSES["infonce"]
    assert infonce["aliases"] == "; ".join(spec.aliases) and infonce["summary"] == spec.summary
    assert infonce["required"] == "anchor; positive" and infonce["optional"] == "negatives"
    assert infonce["parameters"] == "temperature=0.07; similarity=dot"
    assert infonce["like"].split("; ")[0] == "torch"
    npair = next(r for r in rows if r["name"] == "npair")
    assert npair["columns"].endswith("gradient; candidate_index (batch form)")
    supcon = next(r for r in rows if r["name"] == "supcon")
    assert supcon["required"] == "anchor; positives or positive"
    assert supcon["optional"] == "negatives"


def test_explain_refuses_csv_in_one_line(capsys, tmp_path) -> None:
    for args in (["-f", "csv"], ["--out", str(tmp_path / "x.csv")]):
        code, out, err = invoke(capsys, "explain", "triplet", *args)
        assert code == 2 and out == "" and not (tmp_path / "x.csv").exists()
        assert err == ("error: explain writes no CSV: an explanation is not a table; use "
                       "--format table, json or jsonl (`losscli losses -f csv` has one row "
                       "per loss)\n")


@pytest.mark.parametrize("command", [["losses"], ["explain", "triplet"]])
def test_losses_and_explain_write_out_atomically_in_the_suffixs_format(capsys, tmp_path,
                                                                        command) -> None:
    for suffix, fmt in ((".json", "json"), (".jsonl", "jsonl"), (".txt", "table")):
        path = tmp_path / f"out{suffix}"
        code, out, err = invoke(capsys, *command, "--out", str(path))
        assert code == 0 and out == "", err
        code, want, _ = invoke(capsys, *command, "-f", fmt)
        assert code == 0
        if fmt != "table":  # the table on a console is fitted to its width
            assert path.read_text() == want
        else:
            assert path.read_text().startswith("triplet:" if len(command) > 1 else "")
            assert "triplet" in path.read_text()
        code, _, err = invoke(capsys, *command, "--out", str(path))
        assert code == 6 and "--force" in err  # exists: refused
        path.write_text("old")
        code, _, _ = invoke(capsys, *command, "--out", str(path), "--force")
        assert code == 0 and path.read_text() != "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "out.jsonl", "out.txt"]


def test_losses_csv_out(capsys, tmp_path) -> None:
    path = tmp_path / "losses.csv"
    code, _, _ = invoke(capsys, "losses", "--out", str(path))
    assert code == 0
    code, want, _ = invoke(capsys, "losses", "-f", "csv")
    assert path.read_text() == want and want.startswith("name,title,")


def test_losses_and_explain_help_name_their_formats(capsys) -> None:
    code, out, _ = invoke(capsys, "losses", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "--out" in text and "--force" in text
    assert "table, json (one array), jsonl (one loss per line) or csv (one row per loss" in text
    code, out, _ = invoke(capsys, "explain", "triplet", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "--out" in text and "--force" in text
    assert "table (text), json or jsonl (the record on one line); no csv: an explanation is " \
        "not a table" in text
    assert "auto, table or json" not in text

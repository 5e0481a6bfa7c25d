"""Shell completion: commands, loss names and aliases, --like libraries and --param names of
the loss on the line, parameter choices; the scripts typer installs; no numpy on the way."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from losscli.cli import run
from losscli.losses import ALIASES, LOSSES
from losscli.losses.spec import LIBRARIES, Convention


def bash(capsys, monkeypatch, line: str) -> list[str]:
    """What bash's completion function gets for `line` (the last word being completed)."""
    words = line.split(" ")
    monkeypatch.setenv("_LOSSCLI_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    assert run([]) == 0
    return capsys.readouterr().out.split()


def test_commands_and_loss_names(capsys, monkeypatch):
    assert bash(capsys, monkeypatch, "losscli co") == ["compute", "compare"]
    assert bash(capsys, monkeypatch, "losscli compute ") == list(LOSSES)
    assert bash(capsys, monkeypatch, "losscli explain ") == list(LOSSES)
    # an alias only once the word typed matches it
    assert bash(capsys, monkeypatch, "losscli batch simc") == ["simclr"]
    assert bash(capsys, monkeypatch, "losscli sweep tri") == ["triplet", "triplet-margin"]


@pytest.mark.parametrize("loss", ["triplet", "ms", "clip", "softmax-ce"])
def test_like_offers_the_libraries_that_reproduce_the_loss(capsys, monkeypatch, loss):
    spec = LOSSES[ALIASES.get(loss, loss)]
    expected = [lib for lib in LIBRARIES if isinstance(spec.conventions.get(lib), Convention)]
    assert expected
    # after the option (click leaves the arguments unparsed there) and after other words
    assert bash(capsys, monkeypatch, f"losscli compute {loss} --like ") == expected
    assert bash(capsys, monkeypatch, f"losscli stats {loss} in.npz -q --like ") == expected


def test_like_without_a_loss_and_by_alias(capsys, monkeypatch):
    assert bash(capsys, monkeypatch, "losscli compute --like ") == list(LIBRARIES)
    assert bash(capsys, monkeypatch, "losscli compute triplet --like p") == [
        "pytorch-metric-learning", "pytorch", "pml"]


@pytest.mark.parametrize("loss", list(LOSSES))
def test_param_offers_the_numeric_parameters_of_the_loss(capsys, monkeypatch, loss):
    expected = [p.option[2:] for p in LOSSES[loss].params if p.kind == "float"]
    assert bash(capsys, monkeypatch, f"losscli sweep {loss} in.json --param ") == expected


def test_choices_and_formats(capsys, monkeypatch):
    assert bash(capsys, monkeypatch, "losscli compute triplet --distance ") == [
        "euclidean", "sqeuclidean", "cosine"]
    assert bash(capsys, monkeypatch, "losscli compute triplet --negatives-reduction mean") \
        == ["mean", "mean-active"]
    assert bash(capsys, monkeypatch, "losscli batch infonce -f ") == [
        "auto", "table", "json", "jsonl", "csv"]
    # QA22b L1, L2: compute writes JSON Lines too; the layouts and --terms are choices
    assert bash(capsys, monkeypatch, "losscli compute infonce -f j") == ["json", "jsonl"]
    for layout in ("--negatives-layout", "--positives-layout"):
        assert bash(capsys, monkeypatch, f"losscli compute supcon {layout} ") == [
            "shared", "per-anchor"]
    assert bash(capsys, monkeypatch, "losscli compute clip --terms ") == ["all", "top", "none"]
    # QA10 F15: --reduction and batch --dtype are choices too
    for command in ("compute", "batch", "stats", "compare"):
        assert bash(capsys, monkeypatch, f"losscli {command} triplet --reduction ") == [
            "mean", "sum", "none"]
    assert bash(capsys, monkeypatch, "losscli sweep triplet --reduction ") == ["mean", "sum"]
    assert bash(capsys, monkeypatch, "losscli batch triplet --dtype ") == ["float64", "float32"]


def test_options_are_the_loss_own(capsys, monkeypatch):
    options = bash(capsys, monkeypatch, "losscli compute triplet --")
    assert {"--anchor", "--negatives", "--margin", "--swap", "--like"} <= set(options)
    assert not {"--temperature", "--logits", "--x1", "--beta"} & set(options)
    every = bash(capsys, monkeypatch, "losscli compute --")
    assert {"--temperature", "--logits", "--x1", "--beta"} <= set(every)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_get_one_line_per_value_with_its_help(capsys, monkeypatch, shell):
    monkeypatch.setenv("_LOSSCLI_COMPLETE", f"complete_{shell}")
    monkeypatch.setenv("_TYPER_COMPLETE_ARGS", "losscli compute triplet x.json --like ")
    monkeypatch.setenv("_TYPER_COMPLETE_FISH_ACTION", "get-args")
    assert run([]) == 0
    out = capsys.readouterr().out
    if shell == "fish":
        values = [line.split("\t")[0] for line in out.splitlines()]
        assert values == ["torch", "pytorch-metric-learning", "sentence-transformers",
                          "tf-addons", "optax"]
        assert all("\t" in line for line in out.splitlines())
    else:
        assert out.startswith("_arguments") and '"optax":"optax.losses' in out


def test_show_and_install_completion(tmp_path):
    # typer's --show-completion/--install-completion are flags: the shell is detected from the
    # parent processes, so the command runs under a bash that stays its parent (not exec'd).
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}

    def under_bash(flag: str) -> subprocess.CompletedProcess:
        line = f"{shlex.quote(sys.executable)} -m losscli {flag}; exit $?"
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=env,
                              timeout=120)

    shown = under_bash("--show-completion")
    assert shown.returncode == 0, shown.stderr
    assert "_LOSSCLI_COMPLETE=complete_bash" in shown.stdout
    done = under_bash("--install-completion")
    assert done.returncode == 0, done.stderr
    assert "_LOSSCLI_COMPLETE" in (tmp_path / ".bash_completions" / "losscli.sh").read_text()


def test_completion_imports_neither_numpy_nor_numba():
    code = ("import sys; from losscli.cli import run; run([]); "
            "print(*(m in sys.modules for m in ('numpy', 'numba')))")
    env = {**os.environ, "_LOSSCLI_COMPLETE": "complete_bash",
           "COMP_WORDS": "losscli sweep triplet x.json --param ", "COMP_CWORD": "5"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.stdout.split() == ["margin", "False", "False"], done.stderr

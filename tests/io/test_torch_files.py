"""A torch .pt file is refused, never unpickled (issue 13.5), with a recipe that works: run
as printed, it converts a dict of tensors that need grad, in bfloat16, to an .npz that
compute reads. Skipped where torch is not installed (torch is never a dependency)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import losscli
from tests.helpers import assert_close, run_cli

torch = pytest.importorskip("torch")


def test_a_pt_file_is_refused_with_a_recipe_that_works(tmp_path, capsys):
    gen = torch.Generator().manual_seed(0)
    tensors = {"anchor": torch.randn(3, 4, generator=gen).bfloat16().requires_grad_(),
               "positive": torch.randn(3, 4, generator=gen, dtype=torch.float64),
               "negatives": torch.randn(3, 2, 4, generator=gen)}
    torch.save(tensors, tmp_path / "x.pt")
    code, out, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "x.pt"))
    assert code == 4 and out == "" and err.count("\n") == 1
    assert "never loads pickles" in err
    recipe = re.search(r'python -c "([^"]+)"', err).group(1)
    subprocess.run([sys.executable, "-c", recipe], cwd=tmp_path, check=True, timeout=300)
    code, out, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "x.npz"), "-f",
                             "json")
    assert code == 0, err
    want = losscli.evaluate("triplet", {k: v.detach().double().numpy()
                                        for k, v in tensors.items()})
    assert_close(json.loads(out)["value"], want.value)


def test_a_single_tensor_file_converts_too(tmp_path, capsys):
    torch.save(torch.ones(3, 4, 4), tmp_path / "x.pt")
    code, _, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "x.pt"))
    recipe = re.search(r'python -c "([^"]+)"', err).group(1)
    subprocess.run([sys.executable, "-c", recipe], cwd=tmp_path, check=True, timeout=300)
    with np.load(tmp_path / "x.npz") as saved:  # written by the recipe itself: trusted
        assert list(saved) == ["anchor"] and saved["anchor"].shape == (3, 4, 4)

"""Inputs that cannot be seeked or read twice (issue 12.6): process substitution `<(...)`, a
named FIFO and /dev/stdin, for INPUT and every per-role option, in every format (JSON, .npy,
.npz), for compute and batch: read once into memory within the size caps, the same numbers
as from a regular file. Through the real CLI (bash for `<(...)`, a writer process for FIFOs).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from losscli.errors import BadData
from losscli.io import formats, read_stream

ENV = dict(os.environ, LOSSCLI_JIT="never")
RNG = np.random.default_rng(12)
B, K, D, C = 3, 2, 4, 5

# Every role, with a loss that reads it and the other roles it needs.
ROLE_CASES = {
    "anchor": "triplet", "positive": "triplet", "negatives": "triplet",
    "negatives2": "quadruplet", "logits": "softmax-ce", "target": "softmax-ce",
    "weight": "softmax-ce", "positives": "supcon", "x1": "cosine-embedding",
    "x2": "cosine-embedding", "label": "cosine-embedding",
}
ARRAYS = {
    "anchor": RNG.normal(size=(B, D)), "positive": RNG.normal(size=(B, D)),
    "negatives": RNG.normal(size=(B, K, D)), "negatives2": RNG.normal(size=(B, K, D)),
    "logits": RNG.normal(size=(B, C)), "target": np.array([0.0, 3.0, 1.0]),
    "weight": RNG.uniform(0.5, 2.0, size=C), "positives": RNG.normal(size=(B, 2, D)),
    "x1": RNG.normal(size=(B, D)), "x2": RNG.normal(size=(B, D)),
    "label": np.array([1.0, -1.0, 1.0]),
}
LOSS_ROLES = {
    "triplet": ("anchor", "positive", "negatives"),
    "quadruplet": ("anchor", "positive", "negatives", "negatives2"),
    "softmax-ce": ("logits", "target", "weight"),
    "supcon": ("anchor", "positives"),
    "cosine-embedding": ("x1", "x2", "label"),
}


def write(root: Path, name: str, arr: np.ndarray) -> None:
    if name.endswith(".npy"):
        np.save(root / name, arr)
    else:
        (root / name).write_text(json.dumps(arr.tolist()))


def bash(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """`losscli` inside bash, so that `<(...)` is bash's own process substitution."""
    py = shlex.quote(sys.executable)
    return subprocess.run(["bash", "-c", command.replace("LOSSCLI", f"{py} -m losscli")],
                          cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)


def value(proc: subprocess.CompletedProcess) -> list[float]:
    assert proc.returncode == 0, proc.stderr
    assert "seekable" not in proc.stderr
    return json.loads(proc.stdout)["per_example"]


@pytest.fixture
def roles_dir(tmp_path: Path) -> Path:
    for role, arr in ARRAYS.items():
        write(tmp_path, f"{role}.npy", arr)
        write(tmp_path, f"{role}.json", arr)
    return tmp_path


@pytest.mark.parametrize("suffix", [".npy", ".json"])
@pytest.mark.parametrize("role", sorted(ROLE_CASES))
def test_every_role_option_reads_process_substitution(role: str, suffix: str,
                                                      roles_dir: Path) -> None:
    loss = ROLE_CASES[role]
    regular = " ".join(f"--{r} {r}.npy" for r in LOSS_ROLES[loss])
    piped = " ".join(f"--{r} <(cat {r}{suffix})" if r == role else f"--{r} {r}.npy"
                     for r in LOSS_ROLES[loss])
    want = value(bash(f"LOSSCLI compute {loss} {regular} -f json", roles_dir))
    got = value(bash(f"LOSSCLI compute {loss} {piped} -f json", roles_dir))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def documents(root: Path) -> None:
    doc = {r: ARRAYS[r] for r in LOSS_ROLES["quadruplet"]}
    (root / "doc.json").write_text(json.dumps({r: a.tolist() for r, a in doc.items()}))
    np.savez(root / "doc.npz", **doc)
    np.save(root / "doc.npy", np.concatenate([doc["anchor"][:, None], doc["positive"][:, None],
                                              doc["negatives"]], axis=1))


@pytest.mark.parametrize("fmt", ["json", "npz", "npy"])
@pytest.mark.parametrize("way", ["process-substitution", "fifo", "dev-stdin"])
def test_input_reads_every_format_from_a_stream(fmt: str, way: str, tmp_path: Path) -> None:
    documents(tmp_path)
    want = value(bash(f"LOSSCLI compute triplet doc.{fmt} -f json", tmp_path))
    if way == "process-substitution":
        got = bash(f"LOSSCLI compute triplet <(cat doc.{fmt}) -f json", tmp_path)
    elif way == "dev-stdin":
        got = bash(f"cat doc.{fmt} | LOSSCLI compute triplet /dev/stdin -f json", tmp_path)
    else:
        os.mkfifo(tmp_path / "pipe")
        got = bash(f"(cat doc.{fmt} > pipe &) ; LOSSCLI compute triplet pipe -f json", tmp_path)
    np.testing.assert_allclose(value(got), want, rtol=1e-12)


def test_a_fifo_role_option_written_by_another_process(roles_dir: Path) -> None:
    os.mkfifo(roles_dir / "neg.fifo")
    data = (roles_dir / "negatives.npy").read_bytes()

    def writer() -> None:
        with open(roles_dir / "neg.fifo", "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=writer)
    thread.start()
    proc = subprocess.run([sys.executable, "-m", "losscli", "compute", "triplet", "--anchor",
                           "anchor.npy", "--positive", "positive.npy", "--negatives",
                           "neg.fifo", "-f", "json"], cwd=roles_dir, env=ENV,
                          capture_output=True, text=True, timeout=120)
    thread.join(timeout=60)
    want = value(bash("LOSSCLI compute triplet --anchor anchor.npy --positive positive.npy "
                      "--negatives negatives.npy -f json", roles_dir))
    np.testing.assert_allclose(value(proc), want, rtol=1e-12)


def batch_records(proc: subprocess.CompletedProcess) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_reads_streams_as_inputs_and_role_options(jobs: str, tmp_path: Path) -> None:
    """A piped INPUT (read here even with --jobs: a worker cannot open /dev/fd/N), and a
    piped per-role option shared by two inputs (read once, not once per input)."""
    documents(tmp_path)
    np.save(tmp_path / "shared.npy", ARRAYS["negatives"])
    regular = batch_records(bash(f"LOSSCLI batch triplet doc.npz doc.npy --negatives shared.npy"
                                 f" -f jsonl --jobs {jobs}", tmp_path))
    piped = batch_records(bash(f"LOSSCLI batch triplet <(cat doc.npz) doc.npy --negatives "
                               f"<(cat shared.npy) -f jsonl --jobs {jobs}", tmp_path))
    assert len(piped) == len(regular) == 2
    for got, want in zip(sorted(piped, key=lambda r: r["file"].endswith("npy")),
                         sorted(regular, key=lambda r: r["file"].endswith("npy")), strict=True):
        assert got["error"] is None, got["error"]
        np.testing.assert_allclose(got["per_example"], want["per_example"], rtol=1e-12)


def test_batch_role_options_alone_from_streams(roles_dir: Path) -> None:
    regular = batch_records(bash("LOSSCLI batch triplet --anchor anchor.npy --positive "
                                 "positive.npy --negatives negatives.npy -f jsonl", roles_dir))
    piped = batch_records(bash("LOSSCLI batch triplet --anchor <(cat anchor.npy) --positive "
                               "<(cat positive.json) --negatives <(cat negatives.npy) -f jsonl",
                               roles_dir))
    np.testing.assert_allclose(piped[0]["per_example"], regular[0]["per_example"], rtol=1e-12)


# ---------------------------------------------------------------- the caps hold for streams


class Pipe(io.RawIOBase):
    """A readable stream that cannot seek (what a FIFO is to the reader)."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self.data.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def test_a_stream_over_the_json_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_JSON_BYTES", 1000)
    data = json.dumps({"anchor": [0.5] * 1000}).encode()
    read = read_stream(io.BufferedReader(Pipe(data)), "<pipe>")
    with pytest.raises(BadData, match="limit"):
        formats.parse_json(read, "<pipe>")


def test_a_stream_over_the_array_cap_is_refused_not_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_JSON_BYTES", 1000)
    monkeypatch.setattr(formats, "MAX_ARRAY_BYTES", 10_000)
    buf = io.BytesIO()
    np.save(buf, np.zeros(200_000))
    with pytest.raises(BadData, match="over the"):
        read_stream(io.BufferedReader(Pipe(buf.getvalue())), "<pipe>")
    small = io.BytesIO()
    np.save(small, np.arange(500.0))
    assert read_stream(io.BufferedReader(Pipe(small.getvalue())), "<pipe>") == small.getvalue()

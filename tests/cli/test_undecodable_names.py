"""A file name whose bytes are not valid UTF-8 (`caf\\xe9.json`, from a Latin-1 system): JSON
writes it as `\\udcXX` escapes, valid UTF-8 that Python's json.loads and os.fsencode turn
back into the name's bytes; the raw byte 0xE9 made every line that named the file unreadable
to a strict UTF-8 reader (and `jq` showed U+FFFD without a word)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="names as bytes")

NAME = b"caf\xe9.json"
TRIPLE = '{"anchor": [1, 0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}'


def run(args: list[str | bytes], cwd: Path, encoding: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd,
                          capture_output=True, timeout=300,
                          env={**os.environ, "LOSSCLI_JIT": "never",
                               "PYTHONIOENCODING": encoding})


# utf-8:surrogateescape is what Python gives stdout in the C and C.UTF-8 locales
@pytest.mark.parametrize("encoding", ["utf-8:surrogateescape", "utf-8", "ascii"])
def test_batch_json_lines_name_the_file_in_escapes(tmp_path: Path, encoding: str):
    (tmp_path / os.fsdecode(NAME)).write_text(TRIPLE)
    proc = run(["batch", "triplet", NAME, "-f", "jsonl"], tmp_path, encoding)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.decode("utf-8")  # strict: a raw 0xE9 fails here
    assert '"file": "caf\\udce9.json"' in line
    assert os.fsencode(json.loads(line)["file"]) == NAME


def test_compute_json_warnings_name_the_file_in_escapes(tmp_path: Path):
    name = b"stap\xe9l.npy"
    np.save(tmp_path / os.fsdecode(name), np.random.default_rng(1).normal(size=(3, 6, 4)))
    proc = run(["compute", "infonce", name, "-f", "json"], tmp_path, "utf-8:surrogateescape")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.decode("utf-8"))
    assert doc["warnings"] and doc["warnings"][0].startswith("stap\udce9l.npy: ")


def test_csv_on_a_strict_utf8_stdout_says_the_name_is_not_utf8(tmp_path: Path):
    (tmp_path / os.fsdecode(NAME)).write_text(TRIPLE)
    proc = run(["batch", "triplet", NAME, "-f", "csv"], tmp_path, "utf-8")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("ascii").splitlines()[1].startswith("caf\\udce9.json,1,")
    assert proc.stderr.decode().splitlines() == [
        "warning: <stdout>: a file name is not valid UTF-8: its bytes are written as "
        "\\udcXX escapes (\\udce9 for the byte 0xE9)"]


@pytest.mark.parametrize("args", [["batch", "triplet", NAME, "--out", "r.csv"],
                                  ["batch", "triplet", NAME, "--per-example", "--out", "r.csv"],
                                  ["batch", "triplet", NAME, "-f", "table", "--out", "r.txt"]])
def test_csv_and_tables_to_a_file_write_the_names_bytes(tmp_path: Path, args: list):
    """--out's file wrote text in strict UTF-8: the name's lone surrogate ended the run with
    exit 6 and "<stdout>: its encoding (utf-8) cannot write ...; give --out FILE" (QA21 M1).
    The file gets the name's own bytes, as stdout does in the C.UTF-8 locale."""
    (tmp_path / os.fsdecode(NAME)).write_text(TRIPLE)
    proc = run(args, tmp_path, "utf-8")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / args[-1]
    assert NAME in out.read_bytes()


def test_a_failed_records_error_names_the_file_as_its_file_field_does(tmp_path: Path):
    # QA21 L1: `error` escaped the name a second time: it decoded to the six characters
    # "\udce9", which a consumer could not match against `file`
    (tmp_path / os.fsdecode(NAME)).write_text("{bad")
    proc = run(["batch", "triplet", NAME, "-f", "jsonl"], tmp_path, "utf-8:surrogateescape")
    record = json.loads(proc.stdout.decode("utf-8"))
    assert record["error"].startswith(record["file"] + ": invalid JSON")
    assert os.fsencode(record["file"]) == NAME
    assert b"caf\\udce9.json: invalid JSON" in proc.stderr  # the terminal's line: escaped

"""A carriage return in a CSV cell (a file's name, an error message naming it) is quoted: the
csv module quotes only its line terminator's characters, so with rows ended by "\\n" a bare
"\\r" went out unquoted and csv.reader (an error), pandas and spreadsheets split the row."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.render.csv_cells import RowWriter

TRIPLE = '{"anchor": [1, 0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}'
ROWS = [["a\rb", 1, 2.5, None], ["plain", "x,y", 'q"', "two\nlines"], ["c\r\nd", True, "e\r"],
        [Path("p\rq"), -0.0, ""]]


def _written(rows: list[list[object]], whole: bool) -> str:
    out = io.StringIO()
    writer = RowWriter(out)
    if whole:
        writer.writerows(iter(rows))
    else:
        for row in rows:
            writer.writerow(row)
    return out.getvalue()


@pytest.mark.parametrize("whole", [True, False])
def test_rows_with_a_carriage_return_read_back_as_written(whole):
    text = _written(ROWS, whole)
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["" if v is None else str(v) for v in row] for row in ROWS]
    assert text.endswith("\n") and "\r\n" not in text.replace('\r\nd"', "")


@pytest.mark.parametrize("whole", [True, False])
def test_rows_without_one_are_the_csv_modules_bytes(whole):
    rows = [row for row in ROWS if not any("\r" in str(v) for v in row)]
    plain = io.StringIO()
    csv.writer(plain, lineterminator="\n").writerows(rows)
    assert _written(rows, whole) == plain.getvalue()


@pytest.mark.skipif(sys.platform != "linux", reason="a name with a carriage return")
@pytest.mark.parametrize("args", [["batch", "triplet"], ["batch", "triplet", "--per-example"]])
def test_batch_csv_names_a_file_with_a_carriage_return_in_one_cell(tmp_path: Path, args):
    name = "two\rparts.json"
    (tmp_path / name).write_text(TRIPLE)
    proc = subprocess.run([sys.executable, "-m", "losscli", *args, name, "-f", "csv"],
                          cwd=tmp_path, capture_output=True, timeout=300,
                          env={**os.environ, "LOSSCLI_JIT": "never"})
    assert proc.returncode == 0, proc.stderr
    # bytes, not text=True: universal newlines would turn the "\r" into a line break
    header, *rows = list(csv.reader(io.StringIO(proc.stdout.decode(), newline="")))
    assert rows and all(len(row) == len(header) for row in rows)
    assert {row[header.index("file")] for row in rows} == {name}

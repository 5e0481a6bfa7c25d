"""One input's arrays, whole or read by rows, and the chunks of examples to evaluate.

A `Table` holds each role either in memory (JSON, .npz, small .npy files, shared roles such
as a negatives bank or class weights) or as a .npy file read by rows (per-example roles),
and hands out chunks of `rows` examples: every per-example role sliced (or read) to the same
rows, the shared roles whole. A lone stacked .npy (B, 2 + K, D) is read as one array per
chunk, and its roles are views of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from losscli.batch.npyrows import NpyFile, RowReader
from losscli.batch.parquetrows import ParquetColumn
from losscli.batch.sources import Document, RoleSet
from losscli.errors import BadData
from losscli.io import (
    is_regular_file,
    load_inputs,
    one_example_stack,
    replaced_roles,
    roles_first_stack,
    stack_warning,
    takes_negatives,
)
from losscli.io.formats import inexact_in_array, open_binary, precision_warning, sniff
from losscli.io.hdf5 import split_path
from losscli.io.keys import PLAIN, RoleNames
from losscli.io.rows import batch_shape
from losscli.losses.spec import LossSpec
from losscli.model import SHARED_ROLES, LoneStack, StackDoubt

# The rank a role has when it holds one row per example.
PER_EXAMPLE_NDIM = {"anchor": 2, "positive": 2, "negatives": 3, "negatives2": 3, "logits": 2}
STACK = "stack"


@dataclass
class Table:
    """One input as batch reads it: arrays loaded whole, .npy files read by rows, or a
    stacked .npy (B, 2 + K, D), with where each role came from.
    """

    name: str
    whole: dict[str, np.ndarray] = field(default_factory=dict)
    files: dict[str, NpyFile | ParquetColumn] = field(default_factory=dict)
    stack: NpyFile | None = None
    where: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # A lone 2-D .npy read as one example: a loss refusing what that gives it says so.
    lone_stack: LoneStack | None = None
    stack_doubt: StackDoubt | None = None

    def shape(self, role: str) -> tuple[int, ...]:
        """The shape of a role, whether loaded or read by rows."""
        if role in self.files:
            return self.files[role].shape
        return self.whole[role].shape

    def roles(self) -> list[str]:
        """Every role of the input."""
        return list(self.whole) + list(self.files)

    def dtypes(self) -> list[np.dtype]:
        """The dtypes of every array of the input (the stack included): a non-numeric one
        sends the input to the full evaluation, which names it.
        """
        out = [a.dtype for a in self.whole.values()] + [f.dtype for f in self.files.values()]
        if self.stack is not None:
            out.append(self.stack.dtype)
        return out


@dataclass
class Chunk:
    """Examples [start, start + n) of a table: role arrays (or the stack) for those rows."""

    start: int
    n: int
    arrays: dict[str, np.ndarray]
    stack: np.ndarray | None
    where: dict[str, str]
    per_example: frozenset[str]
    streamed: bool = False  # read from files by a read-ahead thread that needs a core

    def role_arrays(self) -> dict[str, np.ndarray]:
        """The roles as separate arrays (views of the stack when there is one)."""
        if self.stack is None:
            return dict(self.arrays)
        x = self.stack
        out = dict(self.arrays)
        out["anchor"] = x[:, 0, :]
        out["positive"] = x[:, 1, :]
        if x.shape[1] > 2:
            out["negatives"] = x[:, 2:, :]
        return out


def _format(path: str) -> str:
    if split_path(path) is not None:  # FILE.h5:group/dataset
        return "hdf5"
    with open_binary(path) as fh:
        return sniff(fh.read(16))


Preloaded = dict[str, tuple[np.ndarray, str]]  # path -> (array, where): read once, in memory


def preload_streams(role_files: dict[str, str], spec: LossSpec) -> Preloaded:
    """The per-role files that are pipes, FIFOs or <(...), read once into memory: they
    cannot be read again for each input, nor opened by a worker process."""
    out: Preloaded = {}
    for role, path in role_files.items():
        if path != "-" and not is_regular_file(path):
            inputs = load_inputs(None, {role: path}, spec)
            out[path] = (inputs[role], inputs.where(role))
    return out


def _drop(table: Table, role: str) -> bool:
    """Take `role` out of the table (a per-role option replaces it); whether it held it."""
    stacked = table.stack is not None and role in ("anchor", "positive", "negatives")
    present = role in table.whole or role in table.files or stacked
    if stacked:
        _unstack_whole(table)
    table.whole.pop(role, None)
    table.files.pop(role, None)
    if table.lone_stack is not None:  # that role no longer comes from the stack's rows
        table.lone_stack = replace(table.lone_stack, roles=tuple(
            r for r in table.lone_stack.roles if r != role))
    if table.stack_doubt is not None:
        table.stack_doubt = replace(table.stack_doubt, roles=tuple(
            r for r in table.stack_doubt.roles if r != role))
    return present


def table_for(source: Document | RoleSet, spec: LossSpec,
              overrides: dict[str, str], preloaded: Preloaded | None = None,
              names: RoleNames = PLAIN) -> Table:
    """Open an input: headers of .npy files now, their rows later; JSON and .npz whole
    (and anything that is not a regular file: a pipe is read once, whole)."""
    preloaded = preloaded or {}
    if isinstance(source, Document):
        table = Table(source.name)
        # a stream batch began to read (a pipe, stdin) is read on from where it is
        streamed = source.stream is not None or not is_regular_file(source.path)
        fmt = "stream" if streamed else _format(source.path)
        if fmt == "npy":
            _lone_npy(table, NpyFile(source.path), spec)
        elif fmt == "parquet":
            _parquet(table, source.path, spec, names)
        else:
            inputs = load_inputs(source.path, None, spec, mapping=names.mapping,
                                 strict_keys=names.strict, elsewhere=overrides,
                                 opened=source.stream)
            table.whole.update(inputs.arrays)
            table.where.update({r: inputs.where(r) for r in inputs.arrays})
            table.warnings.extend(inputs.warnings)
            table.lone_stack = inputs.lone_stack
    else:
        table = Table(source.name)
        if source.named_set is not None:
            source.named_set.check(spec, tuple(overrides))
        for role, path in source.files.items():
            _add_role_file(table, role, path, spec, preloaded, names)
    for role, path in overrides.items():
        for old in replaced_roles(spec, role, overrides):
            if _drop(table, old) and not isinstance(source, RoleSet):
                table.warnings.append(f"--{role} {path} replaces {old} from {table.name}")
        _add_role_file(table, role, path, spec, preloaded, names)
    if spec is not None:
        for role in table.roles() + _stack_roles(table):
            text = spec.unused(role)
            if role not in spec.roles and text not in table.warnings:
                table.warnings.append(text)
    return table


def _stack_roles(table: Table) -> list[str]:
    """The roles a (B, 2 + K, D) stack's rows give (negatives only where K > 0)."""
    if table.stack is None:
        return []
    return ["anchor", "positive"] + (["negatives"] if table.stack.shape[1] > 2 else [])


def _add_role_file(table: Table, role: str, path: str, spec: LossSpec,
                   preloaded: Preloaded, names: RoleNames = PLAIN) -> None:
    if path in preloaded:
        table.whole[role], table.where[role] = preloaded[path]
        return
    if is_regular_file(path) and _format(path) == "npy":
        # FILE:ROLE, as every other reading here and compute name it: a fault found in
        # the rows (a NaN, a value beyond float32) says which option to fix
        table.where[role] = f"{path}:{role}"
        table.files[role] = NpyFile(path, where=table.where[role])
        return
    inputs = load_inputs(None, {role: path}, spec, mapping=names.mapping,
                         strict_keys=names.strict)
    table.whole[role] = inputs[role]
    table.where[role] = inputs.where(role)


def _parquet(table: Table, path: str, spec: LossSpec, names: RoleNames) -> None:
    """A Parquet file: one column per role, each read by rows a row group at a time."""
    from losscli.batch.parquetrows import ParquetColumn
    from losscli.io.keys import pick_roles
    from losscli.io.parquet import read_table

    with read_table(path, path, "parquet") as container:  # the names only; file closed
        columns = list(container)
    picked = pick_roles({c: c for c in columns}, path, "parquet", spec, names, table.warnings)
    try:
        for role, column in picked.items():
            rows = ParquetColumn(path, column, f"{path}:{role}")
            table.where[role] = f"{path}:{role}"
            if role in SHARED_ROLES and role in spec.roles:  # one for the batch, not by rows
                try:
                    table.whole[role] = rows.one_for_the_batch(role)
                finally:
                    rows.close()
                continue
            table.files[role] = rows
            # One example per row, as compute reads the file: (D,) negatives per row are K = 1.
            shape = batch_shape(rows.shape, role, spec, path, "parquet", 0)
            if shape != rows.shape:
                rows.as_rows_of(shape)
    except BaseException:  # the input is refused: its columns' files closed now, not by gc
        for opened in table.files.values():
            opened.close()
        raise


def _lone_npy(table: Table, npy: NpyFile, spec: LossSpec) -> None:
    """A lone .npy: logits for softmax-ce, else a stack (B, 2 + K, D) or (2 + K, D)."""
    where = npy.path
    if "logits" in spec.roles:
        table.files["logits"] = npy
        table.where["logits"] = f"{where}:logits"
        return
    if npy.ndim not in (2, 3) or npy.shape[-2] < 2:
        raise BadData(f"a lone .npy of shape {npy.shape} is not a stack",
                      "give (B, 2 + K, D): row 0 the anchor, row 1 the positive, rows 2.. "
                      "the negatives; or use --anchor/--positive/--negatives", where=where)
    for role in ("anchor", "positive", "negatives"):
        table.where[role] = f"{where}:{role}"
    if npy.ndim == 3:
        table.stack = npy
        roles = ("anchor", "positive") + (("negatives",) if npy.shape[1] > 2 else ())
        doubt = roles_first_stack(where, npy.shape, takes_negatives(spec), roles)
        if doubt is not None:
            table.warnings.append(stack_warning(doubt))
            table.stack_doubt = doubt
        return
    table.warnings.append(one_example_stack(where, npy.shape))
    arr = npy.read_all()
    table.whole["anchor"] = arr[0]
    table.whole["positive"] = arr[1]
    if arr.shape[0] > 2:
        table.whole["negatives"] = arr[2:]
    table.lone_stack = LoneStack(where, tuple(npy.shape), tuple(table.whole))


def _unstack_whole(table: Table) -> None:
    """Give up streaming a stack (a role of it is replaced): read it whole."""
    npy = table.stack
    assert npy is not None
    arr = npy.read_all()
    table.stack = None
    table.whole["anchor"] = arr[:, 0]
    table.whole["positive"] = arr[:, 1]
    if arr.shape[1] > 2:
        table.whole["negatives"] = arr[:, 2:]


def read_layout(table: Table, layout: str | None) -> None:
    """--negatives-layout per-anchor: 2-D negatives (and negatives2) with one row per anchor
    are read as (B, 1, D), so that they are cut by rows with the anchors. Rows that do not
    match the anchors are left for the shape check, which says so."""
    if layout != "per-anchor" or table.stack is not None or "anchor" not in table.roles():
        return
    anchor = table.shape("anchor")
    if len(anchor) != 2:
        return
    for role in ("negatives", "negatives2"):
        if role not in table.roles():
            continue
        shape = table.shape(role)
        if len(shape) == 2 and shape[0] == anchor[0]:
            if role in table.files:
                table.files[role].as_rows_of((shape[0], 1, shape[1]))
            else:
                table.whole[role] = table.whole[role].reshape(shape[0], 1, shape[1])


def examples(table: Table, spec: LossSpec) -> int | None:
    """B when the input is a batch that can be cut by rows, None for a single example."""
    if table.stack is not None:
        return table.stack.shape[0]
    key = "logits" if "logits" in spec.roles else "anchor"
    if key in table.files or key in table.whole:
        shape = table.shape(key)
        if len(shape) == PER_EXAMPLE_NDIM[key] and shape[0] > 0:
            return shape[0]
    return None


def _per_example_roles(table: Table, B: int) -> set[str]:
    roles = set()
    for role in table.roles():
        shape = table.shape(role)
        if not shape or shape[0] != B:
            continue
        if role in PER_EXAMPLE_NDIM and len(shape) == PER_EXAMPLE_NDIM[role]:
            roles.add(role)
        elif role == "target" and len(shape) in (1, 2):
            roles.add(role)
    return roles


def row_bytes(table: Table, B: int | None) -> int:
    """Bytes of one example across its per-example roles (at least 1), for sizing chunks
    and Dask tasks; 1 when the batch size is unknown.
    """
    if table.stack is not None:
        return table.stack.row_bytes
    if B is None:
        return 1
    total = 0
    for role in _per_example_roles(table, B):
        if role in table.files:
            total += table.files[role].row_bytes
        else:
            arr = table.whole[role]
            total += arr.nbytes // max(1, arr.shape[0])
    return max(1, total)


def materialise_shared(table: Table, B: int | None) -> None:
    """Read every role that is not cut by rows (shared banks, weights; everything for a
    single example) into memory."""
    keep = set() if B is None else _per_example_roles(table, B)
    for role in list(table.files):
        if role not in keep:
            table.whole[role] = table.files.pop(role).read_all()
            counts = count_inexact({role: table.whole[role]})
            table.warnings.extend(inexact_warnings(table.where, table.name, counts))


def read_by_rows(table: Table, chunk: Chunk) -> dict[str, np.ndarray]:
    """The chunk's roles that it read from .npy or Parquet files (the stack's as roles):
    what load_inputs, which counts inexact integers, did not read."""
    arrays = chunk.role_arrays()
    roles = set(table.files) | ({"anchor", "positive", "negatives"} if chunk.stack is not None
                                else set())
    return {role: arr for role, arr in arrays.items() if role in roles}


def count_inexact(arrays: dict[str, np.ndarray]) -> dict[str, int]:
    """Per role, the 64-bit integers that float64 rounds (beyond 2^53), where there are any."""
    counts = {role: inexact_in_array(arr) for role, arr in arrays.items()}
    return {role: n for role, n in counts.items() if n}


def inexact_warnings(where: dict[str, str], name: str, counts: dict[str, int]) -> list[str]:
    """JSON's 2^53 warning for integers that .npy and Parquet files held, one per file naming
    its roles and counts (a role set's roles are files of their own): `where` says where
    each role came from (a table's), `name` the input."""
    by_file: dict[str, dict[str, int]] = {}
    for role, n in counts.items():
        where_from = where.get(role, name)
        file = where_from[:-len(role) - 1] if where_from.endswith(f":{role}") else where_from
        by_file.setdefault(file, {})[role] = n
    return [precision_warning(file, roles) for file, roles in by_file.items()]


def chunks(table: Table, B: int | None, rows: int, start: int = 0,
           stop: int | None = None) -> Iterator[Chunk]:
    """The table in chunks of `rows` examples (one chunk for a single example); only
    examples [start, stop) when given (a task's share of a file split by rows)."""
    if B is None:
        yield Chunk(0, 1, dict(table.whole), None, table.where, frozenset())
        return
    per_example = _per_example_roles(table, B)
    frozen = frozenset(per_example | ({STACK} if table.stack is not None else set()))
    shared = {r: a for r, a in table.whole.items() if r not in per_example}
    files = {r: f for r, f in table.files.items() if r in per_example}
    if table.stack is not None:
        files[STACK] = table.stack
    in_memory = {r: table.whole[r] for r in per_example if r in table.whole}
    end = B if stop is None else min(B, stop)
    if files:
        for first, read in RowReader(files, end, rows, start):
            n = min(rows, end - first)
            arrays = dict(shared)
            arrays.update({r: a[first:first + n] for r, a in in_memory.items()})
            stack = read.pop(STACK, None)
            arrays.update(read)
            yield Chunk(first, n, arrays, stack, table.where, frozen, streamed=True)
        return
    for first in range(start, end, rows):
        n = min(rows, end - first)
        arrays = dict(shared)
        arrays.update({r: a[first:first + n] for r, a in in_memory.items()})
        yield Chunk(first, n, arrays, None, table.where, frozen)

"""Which array of an input is which role: the names a file uses, `--map`, and the arrays
that are not roles.

A file written by another tool names its arrays its own way (`query`, `doc`, `embeddings`)
and often carries more than the roles (ids, labels of another kind). `--map ROLE=NAME` reads
the array, tensor, column or dataset NAME as ROLE, in every format. Arrays that are not roles
are ignored with one warning naming them (refused with `--strict-keys`), except a name close
to a role the loss needs and the input lacks: that is a typo, refused with "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from losscli.errors import BadData, UsageError, closest, closest_hint
from losscli.model import ROLES

if TYPE_CHECKING:
    from losscli.losses.spec import LossSpec

# Formats whose extra arrays are ignored with a warning; a JSON object stays strict (its
# keys are written by hand, so an unknown one is a mistake).
CONTAINERS = ("npz", "jsonl", "safetensors", "parquet", "arrow", "hdf5")


@dataclass(frozen=True)
class RoleNames:
    """How an input's arrays are matched to roles: `mapping` role -> the name in the file
    (`--map`), `strict` to refuse arrays that are not roles (`--strict-keys`), `elsewhere`
    the roles given by their own files (`--anchor FILE`), which an input need not hold."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    strict: bool = False
    elsewhere: frozenset[str] = frozenset()

    def name_of(self, role: str) -> str:
        """The name the role's array has in a file: mapped, or the role itself."""
        return self.mapping.get(role, role)


PLAIN = RoleNames()


def parse_mapping(items: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """`ROLE=NAME` items (or a mapping) as {role: name}; a usage error (exit 2) names a
    malformed item, an unknown role ("did you mean") or a role mapped twice."""
    if items is None:
        return {}
    if isinstance(items, str):  # one ROLE=NAME, not its characters
        items = [items]
    pairs = list(items.items()) if isinstance(items, Mapping) else []
    if not isinstance(items, Mapping):
        for item in items:
            role, sep, name = str(item).partition("=")
            if not sep or not role.strip() or not name.strip():
                raise UsageError(f"--map got {item!r}", "give ROLE=NAME, e.g. --map "
                                 "anchor=query --map positive=doc")
            pairs.append((role.strip(), name.strip()))
    out: dict[str, str] = {}
    for role, name in pairs:
        if role not in ROLES:
            raise UsageError(f"--map {role}={name}: {role!r} is not a role"
                             f"{closest_hint(role, ROLES)}", f"roles are: {', '.join(ROLES)}")
        if role in out and out[role] != name:
            raise UsageError(f"--map gives {role} twice ({out[role]} and {name})",
                             "map each role once")
        out[role] = name
    return out


def pick_roles(doc: Mapping[str, Any], where: str, fmt: str, spec: LossSpec | None,
               names: RoleNames, warnings: list[str]) -> dict[str, Any]:
    """The roles of one input document (a JSON object, an .npz, a safetensors file, the
    columns of a Parquet table...), by `names`; arrays that are not roles are warned about
    and left out (refused under `names.strict`, and always in a JSON object)."""
    out: dict[str, Any] = {}
    used: set[str] = set()
    for role, name in names.mapping.items():
        if name in doc:
            out[role] = doc[name]
            used.add(name)
        else:
            held = listing(doc)
            raise BadData(f"no array named {name!r} (--map {role}={name})"
                          f"{closest_hint(name, held)}",
                          f"it holds: {', '.join(held) or 'nothing'}", where=where)
    # By name only: a container reads an array when it is indexed, and one that is not a
    # role (string ids, a boolean mask) must never be read, converted or dtype-checked.
    for key in doc:
        if key in used:
            continue
        if key in ROLES and key not in out:
            out[key] = doc[key]
            used.add(key)
    warnings.extend(f"{where}: {note}" for note in shared_arrays(names))
    taken = [role for role in (spec.missing({*out, *names.elsewhere}) if spec is not None
                               else []) if role in names.mapping.values()]
    if taken:  # its own array went to another role: not a missing key, not a typo
        raise BadData(*taken_by_map(taken[0], names), where=where)
    extra = [str(k) for k in doc if k not in used]
    # A role's own array left unread because --map reads the role from another name.
    shadowed = [key for key in extra if key in names.mapping]
    for key in shadowed:
        if fmt not in CONTAINERS or names.strict:
            raise BadData(f"{key!r} is not read: {reads_from(key, names)}",
                          f"drop the key {key!r} or the map", where=where)
        warnings.append(f"{where}: ignored {key!r}: {reads_from(key, names)}")
    extra = [key for key in extra if key not in shadowed]
    if not extra:
        return out
    expected = spec.roles if spec is not None else ROLES
    missing = [r for r in expected if r not in out]
    for key in extra:
        if fmt not in CONTAINERS:  # a JSON object: every key must be a role
            fix = f"expected keys: {', '.join(expected)}"
            raise BadData(f"unknown key {key!r}{closest_hint(key, list(expected))}", fix,
                          where=where)
        near = closest(key, missing)
        if near:
            raise BadData(f"unknown key {key!r} (did you mean {near}?)",
                          f"expected keys: {', '.join(expected)}; or read it as {near} "
                          f"with --map {near}={key}", where=where)
        if names.strict:
            fix = f"expected keys: {', '.join(expected)}"
            if fmt == "npz":
                fix += " (save with numpy.savez(path, anchor=a, positive=p, ...))"
            raise BadData(f"unknown key {key!r} (--strict-keys)",
                          f"{fix}; drop --strict-keys to ignore it", where=where)
    listed = ", ".join(repr(k) for k in extra)
    # The roles it needs, and those without which its loss is 0 (infonce's negatives: left
    # out, K = 0 and the loss 0 with exit 0, a number that means nothing).
    absent = spec.missing({*out, *names.elsewhere}) if spec is not None else []
    if absent and out:
        # Arrays under other names beside a missing role: most likely the role under another
        # name, so say how to read it rather than ignore them and report the role missing.
        role = absent[0]
        zero = role in spec.zero_without and role not in spec.required
        raise BadData(f"no {role} among its arrays (it holds "
                      f"{', '.join(map(repr, listing(doc)))})"
                      + (f": without {role} the loss of {spec.name} is 0" if zero else ""),
                      f"read one as {role} with --map {role}=NAME, or save it under the key "
                      f"{role!r}" + (f" (or {role} of 0 rows for K = 0)" if zero else ""),
                      where=where)
    if not out:
        fix = f"expected keys: {', '.join(expected)}"
        if fmt == "npz":
            fix += " (save with numpy.savez(path, anchor=a, positive=p, ...))"
        held = listing(doc)
        # roles inside a group (an HDF5 file's train/anchor): name them, and the group to read
        groups = sorted({name.rpartition("/")[0] for name in held
                         if name.rpartition("/")[2] in expected and "/" in name})
        if groups:
            raise BadData(f"none of its top-level arrays is a role (it holds "
                          f"{', '.join(map(repr, held))})",
                          f"read the group that holds them as INPUT: {where}:{groups[0]}; or "
                          "read them as roles with --map ROLE=PATH", where=where)
        raise BadData(f"none of its arrays is a role (found {listed})",
                      f"{fix}; or read them as roles with --map ROLE=NAME", where=where)
    warnings.append(f"{where}: ignored {listed}: not a role of "
                    f"{spec.name if spec is not None else 'any loss'} (it takes "
                    f"{', '.join(expected)}); read one as a role with --map ROLE=NAME, or give "
                    "--strict-keys to refuse such inputs")
    return out


def taken_by_map(role: str, names: RoleNames) -> tuple[str, str]:
    """What is wrong and the fix when `--map OTHER=ROLE` took the array named `role`, so
    `role` has none: one wording for every format."""
    other = next(r for r, name in names.mapping.items() if name == role)
    return (f"--map {other}={role} takes the array {role!r} for {other}, so {role} has none",
            f"map {role} too (--map {role}=NAME) or drop the map")


def reads_from(role: str, names: RoleNames) -> str:
    """Why the array named for `role` is not read: its --map names another array."""
    return f"--map {role}={names.mapping[role]} reads {role} from {names.mapping[role]!r}"


def shared_arrays(names: RoleNames) -> list[str]:
    """One note per array that --map reads as two or more roles: legal, but almost always
    a typo for two different names."""
    roles_of: dict[str, list[str]] = {}
    for role, name in names.mapping.items():
        roles_of.setdefault(name, []).append(role)
    notes = []
    for name, roles in roles_of.items():
        if len(roles) > 1:
            maps = " ".join(f"--map {role}={name}" for role in roles)
            notes.append(f"{' and '.join(roles)} {'both' if len(roles) == 2 else 'all'} read "
                         f"the array {name!r} ({maps}); map each role to its own array "
                         "unless that is meant")
    return notes


def listing(doc: Mapping[str, Any]) -> list[str]:
    """The names of a document's arrays for messages: a container's own listing where it
    has one (an HDF5 file's dataset paths, nested groups included), else its keys."""
    names = getattr(doc, "listing", None)
    return list(names) if names is not None else [str(k) for k in doc]


__all__ = ["PLAIN", "RoleNames", "listing", "parse_mapping", "pick_roles", "reads_from",
           "shared_arrays", "taken_by_map"]

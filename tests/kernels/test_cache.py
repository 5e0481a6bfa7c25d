"""Compiled kernels are cached even when the installed package is read-only: numba's cache
then goes to the user's cache directory (or a temporary one), never nowhere. The cache is
named for the sources of every kernel file, so an edit to a helper in one file reaches the
kernels of the others that call it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import losscli
from losscli.kernels import _jit

PACKAGE = Path(losscli.__file__).resolve().parent


def _sources_tag(package: Path | str) -> str:
    return "kernels-" + _jit.sources_digest(str(package))


def test_cache_dir_prefers_numba_cache_dir_then_the_package(monkeypatch, tmp_path):
    tag = _sources_tag(tmp_path)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "explicit"))
    assert _jit.cache_dir(str(tmp_path)) == str(tmp_path / "explicit" / tag)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert _jit.cache_dir(str(tmp_path)) == str(tmp_path / "__pycache__" / tag)


def test_cache_dir_falls_back_to_user_then_temporary(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    package = str(tmp_path / "site-packages" / "losscli" / "kernels")
    tag = _sources_tag(package)
    refused = {os.path.join(package, "__pycache__")}
    monkeypatch.setattr(_jit, "_writable", lambda d: d not in refused)
    assert _jit.cache_dir(package) == str(tmp_path / "xdg" / "losscli" / "numba" / tag)
    refused.add(str(tmp_path / "xdg" / "losscli" / "numba"))
    fallback = _jit.cache_dir(package)
    assert fallback is not None and fallback.startswith(os.path.realpath(
        __import__("tempfile").gettempdir()))
    assert os.path.basename(fallback) == tag
    monkeypatch.setattr(_jit, "_writable", lambda d: False)
    assert _jit.cache_dir(package) is None


CHILD = r"""
import sys
# an editable install's finder would import the working tree instead of the copy
sys.meta_path[:] = [f for f in sys.meta_path
                    if "editable" not in getattr(f, "__name__", type(f).__name__).lower()]
import numpy as np
from losscli.kernels import _jit, stream
x = np.ones((64, 6, 8))
loss = np.empty(64); flags = np.zeros(64, dtype=np.int8)
_jit.run(stream.infonce_loss, 10**9, x, 0, x, 1, x, 2, 4, 0.5, True, loss, flags)
print(stream.__file__, loss[0])
"""


def _read_only_command(site: Path, argv: list[str]) -> list[str]:
    """argv run where `site` is read-only: chmod suffices for a normal user; root writes
    anywhere, so for root the copy is bind-mounted read-only in a private mount namespace."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return argv
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: cannot make a directory read-only")
    script = (f'mount --bind "{site}" "{site}" && mount -o remount,bind,ro "{site}" && '
              'exec "$@"')
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", script + " 2>/dev/null",
                            "sh", "sh", "-c", f'! touch "{site}/probe" 2>/dev/null'],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot bind-mount read-only here (no mount namespace)")
    return ["unshare", "--mount", "sh", "-c", script, "sh", *argv]


def test_kernels_cache_to_the_user_directory_when_the_package_is_read_only(tmp_path):
    """The package copied to a read-only directory: the cache appears under
    $XDG_CACHE_HOME/losscli/numba and nothing is written beside the source."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "losscli",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    cache_home = tmp_path / "home-cache"
    cache_home.mkdir()
    for path in [site, *site.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(site), XDG_CACHE_HOME=str(cache_home), HOME=str(tmp_path),
               PYTHONDONTWRITEBYTECODE="1")
    command = _read_only_command(site, [sys.executable, "-c", CHILD])
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(str(site / "losscli")), done.stdout
        cached = list((cache_home / "losscli" / "numba").rglob("*.nbi"))
        assert any("infonce_loss" in p.name for p in cached), cached
        assert not list(site.rglob("*.nbi"))
        # a second process loads the cache instead of compiling (no new index files)
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                              cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert sorted((cache_home / "losscli" / "numba").rglob("*.nbi")) == sorted(cached)
    finally:
        for path in [site, *site.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_editing_any_kernel_file_changes_the_cache_directory(monkeypatch, tmp_path):
    """Every kernel file, the helpers' included: one edited byte gives another directory;
    the same sources give the same one back."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "kernels"
    shutil.copytree(PACKAGE / "kernels", copy, ignore=shutil.ignore_patterns("__pycache__"))
    sources = sorted(copy.glob("*.py"))
    assert {p.name for p in sources} >= {"codes.py", "distances.py", "softmax.py"}
    original = _jit.cache_dir(str(copy))
    for path in sources:
        text = path.read_text()
        path.write_text(text.replace("0.0", "0.00", 1) if "0.0" in text else text + "#\n")
        assert _jit.cache_dir(str(copy)) != original, path.name
        path.write_text(text)
        assert _jit.cache_dir(str(copy)) == original, path.name


EDITED_HELPER = r"""
import sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if "editable" not in getattr(f, "__name__", type(f).__name__).lower()]
import losscli
r = losscli.evaluate("triplet", {"anchor": [[1.0, 0.0]], "positive": [[0.0, 1.0]],
                                 "negatives": [[[0.5, 0.5]]]}, soft=True)
print(losscli.__file__, repr(r.value))
"""


def test_a_kernel_compiled_from_the_cache_sees_its_helpers_edits(tmp_path):
    """triplet (margins.py) calls softplus (softmax.py): after softplus is edited, a new
    process must not load the triplet compiled with the old softplus from the cache."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "losscli",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(site), LOSSCLI_JIT="always", PYTHONDONTWRITEBYTECODE="1")

    def value() -> float:
        done = subprocess.run([sys.executable, "-c", EDITED_HELPER], env=env,
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        where, number = done.stdout.split()
        assert where.startswith(str(site / "losscli")), where
        return float(number)

    before = value()
    assert list((site / "losscli" / "kernels" / "__pycache__").rglob("margins.triplet*.nbi"))
    softmax = site / "losscli" / "kernels" / "softmax.py"
    formula = "return max(x, 0.0) + np.log1p(np.exp(-abs(x)))"
    text = softmax.read_text()
    assert text.count(formula) == 1
    doubled = "return 2.0 * (max(x, 0.0) + np.log1p(np.exp(-abs(x))))"
    softmax.write_text(text.replace(formula, doubled))
    assert value() == 2.0 * before


def _cache(base: Path, digit: str, age_days: float | None, now: float) -> Path:
    """A kernel cache used `age_days` ago (None: one made before the marker existed, dated
    by the directory itself)."""
    path = base / ("kernels-" + digit * 16)
    path.mkdir()
    (path / "f.nbi").write_bytes(b"x")
    if age_days is None:
        os.utime(path, (now - 40 * 86400, now - 40 * 86400))
    else:
        marker = path / _jit.CACHE_MARKER
        marker.touch()
        os.utime(marker, (now - age_days * 86400, now - age_days * 86400))
    return path


def test_stale_and_surplus_kernel_caches_are_pruned_and_nothing_else(tmp_path):
    now = 2e9
    current = _cache(tmp_path, "0", 0.0, now)
    recent = [_cache(tmp_path, d, age, now) for d, age in (("1", 1.0), ("2", 2.0), ("3", 3.0))]
    surplus = _cache(tmp_path, "4", 4.0, now)  # the fifth used last, with `current`
    unmarked = _cache(tmp_path, "5", None, now)
    strangers = [tmp_path / "kernels-notours", tmp_path / "other", tmp_path / "kernels-0123"]
    for path in strangers:
        path.mkdir()
    removed = _jit.prune_caches(str(tmp_path), keep=str(current), now=now)
    assert sorted(removed) == sorted([str(surplus), str(unmarked)])
    assert all(p.exists() for p in [current, *recent, *strangers])
    assert not surplus.exists() and not unmarked.exists()
    # a month unused goes whatever its rank
    old = _cache(tmp_path, "6", 31.0, now)
    recent[2].rename(tmp_path / "kept")
    assert _jit.prune_caches(str(tmp_path), keep=str(current), now=now) == [str(old)]


def test_claiming_a_cache_marks_it_used_now(tmp_path):
    now = __import__("time").time()
    stale = _cache(tmp_path, "7", 45.0, now)
    directory = tmp_path / "kernels-abcdefabcdefabcd"
    _jit.claim_cache(str(directory))
    marker = directory / _jit.CACHE_MARKER
    assert marker.exists() and now - marker.stat().st_mtime < 60
    assert not stale.exists()
    (tmp_path / "a-file").write_text("")
    _jit.claim_cache(str(tmp_path / "a-file" / "kernels-abcdefabcdefabcd"))  # no error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE, SIGXFSZ")
def test_a_cache_that_cannot_be_written_costs_a_compile_not_the_run(tmp_path):
    """numba saves a kernel's cache in the call that compiled it: a disk that is full (a
    file size limit stands in for it: EFBIG) ended the run as an error (QA15). The run
    keeps its result; stdout is a pipe, which the limit does not touch."""
    import json
    import resource
    import signal

    def child() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    (tmp_path / "ok.json").write_text(json.dumps(
        {"anchor": [[1.0, 0.0]], "positive": [[0.8, 0.6]], "negatives": [[[0.6, 0.8]]]}))
    args = [sys.executable, "-m", "losscli", "compute", "triplet", "ok.json", "-f", "json"]
    env = {**os.environ, "LOSSCLI_JIT": "always", "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, preexec_fn=child)
    assert proc.returncode == 0, proc.stderr
    plain = subprocess.run(args, cwd=tmp_path, env={**env, "LOSSCLI_JIT": "never"},
                           capture_output=True, text=True, timeout=300)
    assert json.loads(proc.stdout)["value"] == pytest.approx(
        json.loads(plain.stdout)["value"], rel=1e-12)

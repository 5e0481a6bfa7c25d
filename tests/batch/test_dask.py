"""`losscli batch --scheduler`: the records of a local batch, from a Dask cluster.

A LocalCluster (worker processes, loopback, 2 workers x 1 thread, no dashboard) is started
here; the CLI connects to it by address (the path a real cluster takes), and one test starts
its own with `--scheduler local`. Skipped when the losscli[dask] extra is not installed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from losscli import api  # noqa: E402
from losscli.batch import BatchOptions, workers  # noqa: E402
from losscli.batch.cluster import LOOPBACK_NO_DASHBOARD, plan_split  # noqa: E402
from losscli.batch.sources import Document, RoleSet  # noqa: E402
from losscli.cli import run  # noqa: E402
from losscli.losses.call import LossCall  # noqa: E402
from tests.helpers import assert_records_close  # noqa: E402

RTOL = 1e-12


def _cluster(**env: str):
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address=None,
                                    scheduler_kwargs=LOOPBACK_NO_DASHBOARD,
                                    silence_logs=logging.ERROR, env=dict(env))


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as c:
        yield c


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Shards (.npz, one bad), stacks to split (one with NaNs in two ranges), a role set
    with a shared bank, softmax-ce logits with targets."""
    root = tmp_path_factory.mktemp("dask")
    rng = np.random.default_rng(7)
    shards = root / "shards"
    shards.mkdir()
    for i in range(3):
        dtype = np.float32 if i % 2 else np.float64
        np.savez(shards / f"s{i}.npz", anchor=rng.standard_normal((40, 16)).astype(dtype),
                 positive=rng.standard_normal((40, 16)).astype(dtype),
                 negatives=rng.standard_normal((40, 6, 16)).astype(dtype))
    (shards / "s3.npz").write_bytes(b"PK\x03\x04 not a zip")
    stack = rng.standard_normal((1000, 8, 16))
    np.save(root / "stack.npy", stack)
    nan = stack.copy()
    nan[300, 3, 2] = np.nan  # in the second task, and again in the third:
    nan[700, 0, 1] = np.nan  # the record names the first, as a local run does
    np.save(root / "nan.npy", nan)
    np.save(root / "stack32.npy", stack.astype(np.float32))
    sets = root / "sets"
    sets.mkdir()
    np.save(sets / "q.anchor.npy", rng.standard_normal((900, 16)))
    np.save(sets / "q.positive.npy", rng.standard_normal((900, 16)))
    np.save(sets / "q.negatives.npy", rng.standard_normal((50, 16)))  # a shared bank
    logits = rng.standard_normal((800, 5)) * 3
    target = rng.integers(0, 5, 800).astype(np.float64)
    np.save(root / "logits.npy", logits)
    np.save(root / "target.npy", target)
    np.save(root / "ignored.npy", np.full(800, 2.0))
    np.save(root / "bank.npy", rng.standard_normal((30, 16)))
    return root


def _cli(capsys, *argv):
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _lines(out: str, fmt: str) -> list:
    """Records without `seconds`, in a fixed order (a cluster returns them as they finish);
    CSV rows as dicts with numbers as floats."""
    if fmt == "csv":
        import csv
        import io

        records = list(csv.DictReader(io.StringIO(out)))
        for r in records:
            for k, v in r.items():
                if k not in ("file", "error", "warnings") and v:
                    r[k] = float(v)
    else:
        records = [json.loads(line) for line in out.splitlines() if line.strip()]
    for r in records:
        r.pop("seconds", None)
    return sorted(records, key=lambda r: (r.get("file", ""), r.get("index") or 0))


# Every case splits its .npy inputs into tasks of 256 examples (4 chunks of 64).
CASES = {
    "shards with a bad one": (["infonce", "shards"], []),
    "stack, per file": (["infonce", "stack.npy", "nan.npy"], []),
    "stack, per example": (["infonce", "stack.npy", "nan.npy"], ["--per-example"]),
    "float32 stack": (["infonce", "stack32.npy"], ["--dtype", "float32", "--per-example"]),
    "triplet csv": (["triplet", "stack.npy"], ["--per-example", "-f", "csv", "--swap"]),
    "contrastive summary": (["contrastive", "stack.npy", "shards"], ["--summary"]),
    "role set, shared bank": (["infonce", "sets"], ["--per-example"]),
    "softmax-ce, per-example targets": (["softmax-ce", "logits.npy", "--target",
                                         "target.npy", "--ignore-index", "2"], []),
    "softmax-ce, every target ignored": (["softmax-ce", "logits.npy", "--target",
                                          "ignored.npy", "--ignore-index", "2"], []),
    "bank for every input": (["infonce", "shards", "stack.npy", "--negatives", "bank.npy"],
                             []),
    "generic evaluator": (["infonce", "stack.npy", "--similarity", "cosine"], []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_records_equal_the_local_batch(cluster, data, capsys, monkeypatch, case):
    monkeypatch.chdir(data)
    args, extra = CASES[case]
    fmt = "csv" if "csv" in extra else "jsonl"
    base = ["batch", *args, "--chunk", "64", *extra]
    if "-f" not in extra:
        base += ["-f", fmt]
    code, out, err = _cli(capsys, *base)
    code2, out2, err2 = _cli(capsys, *base, "--scheduler", cluster.scheduler_address,
                             "--task-rows", "200")
    assert code2 == code, err2
    assert sorted(err2.splitlines()) == sorted(err.splitlines())
    if fmt == "csv":
        assert out2.splitlines()[0] == out.splitlines()[0]
    assert_records_close(_lines(out2, fmt), _lines(out, fmt))


def test_split_and_failure_cases_are_what_they_claim(data):
    """The cases above do cut their .npy inputs (whole chunks) and do fail where expected."""
    options = BatchOptions(LossCall.of("infonce"), chunk=64)
    ranges, shared = plan_split(Document(str(data / "stack.npy")), options, 200)
    assert ranges == [(0, 256), (256, 512), (512, 768), (768, 1000)] and shared == []
    roles = {r: str(data / "sets" / f"q.{r}.npy") for r in ("anchor", "positive", "negatives")}
    ranges, shared = plan_split(RoleSet("q", roles), options, 200)
    assert len(ranges) == 4 and shared == ["negatives"]
    stacked = Document(str(data / "stack.npy"))
    assert plan_split(stacked, BatchOptions(LossCall.of("infonce")), None) is None


def test_failures_are_per_file_and_fail_fast_stops(cluster, data, capsys, monkeypatch):
    monkeypatch.chdir(data)
    code, out, err = _cli(capsys, "batch", "infonce", "stack.npy", "nan.npy", "shards",
                          "--chunk", "64", "--task-rows", "200", "-f", "jsonl",
                          "--scheduler", cluster.scheduler_address)
    assert code == 7
    records = {r["file"]: r for r in _lines(out, "jsonl")}
    assert len(records) == 6
    assert "index [300, 1, 2]" in records["nan.npy"]["error"]
    assert records[os.path.join("shards", "s3.npz")]["error"]
    assert all(r["error"] is None for f, r in records.items()
               if f not in ("nan.npy", os.path.join("shards", "s3.npz")))
    assert err.count("error: ") == 2
    code, out, err = _cli(capsys, "batch", "infonce", "nan.npy", "--fail-fast", "-f", "jsonl",
                          "--scheduler", cluster.scheduler_address)
    assert code == 4 and "nan.npy" in err


def test_scheduler_local_starts_its_own_cluster(data, capsys, monkeypatch):
    monkeypatch.chdir(data)
    args = ["batch", "triplet", "stack.npy", "shards", "--chunk", "64", "-f", "jsonl"]
    code, out, err = _cli(capsys, *args)
    code2, out2, err2 = _cli(capsys, *args, "--scheduler", "local", "--workers", "2",
                             "--task-rows", "300")
    assert code == code2 == 7
    assert err2 == err  # the failing shard's line, and nothing from Dask
    assert_records_close(_lines(out2, "jsonl"), _lines(out, "jsonl"))


def test_a_shared_bank_is_scattered_once_and_rows_are_not_shipped(cluster, data, monkeypatch):
    sent: list = []
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        scatter, submit_map = client.scatter, client.map
        monkeypatch.setattr(client, "scatter", lambda x, **kw: sent.append(x) or scatter(x, **kw))
        shipped: list = []

        def spy_map(func, *iterables, **kwargs):
            shipped.extend(v for it in iterables for v in it)
            return submit_map(func, *iterables, **kwargs)

        monkeypatch.setattr(client, "map", spy_map)
        results = list(api.evaluate_files("infonce", [str(data / "sets")], chunk=64,
                                          scheduler=client, task_rows=200))
    [result] = results
    assert result.ok and result.n == 900
    assert len(sent) == 1 and sent[0].shape == (50, 16)
    assert not any(isinstance(v, np.ndarray) for v in shipped)
    [local] = api.evaluate_files("infonce", [str(data / "sets")], chunk=64)
    np.testing.assert_allclose(result.per_example, local.per_example, rtol=RTOL, atol=1e-15)


def test_workers_run_serial_compiled_kernels_warmed_before_the_first_task(cluster, data):
    """One numba thread per worker thread, BLAS at one thread, the kernels compiled (or
    loaded from the cache) by the warm-up, from the installed package."""
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        from losscli.batch.cluster import warm_workers

        options = BatchOptions(LossCall.of("triplet", {"margin": 0.5}))
        reports = warm_workers(client, options)
        assert len(reports) == 2
        assert all(r["numba_threads"] == "1" for r in reports)

        def state():
            from threadpoolctl import threadpool_info

            from losscli.kernels import _jit
            from losscli.kernels import stream as sk

            blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
            return (sk.triplet_loss._jit is not None, sk.triplet_loss._jit_parallel is None,
                    _jit.threads(), blas, sk.triplet_loss.py.__module__)

        for compiled, no_parallel, threads, blas, module in client.run(state).values():
            assert compiled and no_parallel and threads == 1
            assert all(n == 1 for n in blas)
            assert module == "losscli.kernels.stream"
        again = warm_workers(client, options)
        assert all(r["warm_seconds"] == 0.0 for r in again)


def test_worker_cache_directory_is_local_when_the_package_is_read_only(monkeypatch, tmp_path):
    from losscli.kernels import _jit

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    real = _jit._writable
    monkeypatch.setattr(_jit, "_writable", lambda d: "site-packages" not in d
                        and "losscli/kernels" not in d and real(d))
    assert workers.cache_directory() == str(tmp_path / f"losscli-numba-{os.getuid()}")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert workers.cache_directory() is None  # the worker's own setting stands


def _kill_a_busy_worker(client) -> str:
    """SIGKILL the process of a worker that is running a task; its address."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if keys]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return busy[0]
        time.sleep(0.01)
    raise AssertionError("no worker was busy")


def _run_and_kill(client, paths):
    """Evaluate while a busy worker is killed at the first result."""
    killed: list[str] = []
    lock = threading.Lock()

    def progress(n):
        with lock:
            if not killed:
                killed.append(_kill_a_busy_worker(client))

    results = list(api.evaluate_files("triplet", paths, scheduler=client, progress=progress))
    return results, killed


@pytest.fixture(scope="module")
def slow_files(tmp_path_factory):
    """Six inputs of about half a second each on the interpreted kernels."""
    root = tmp_path_factory.mktemp("slow")
    rng = np.random.default_rng(3)
    paths = []
    for i in range(6):
        path = root / f"slow{i}.npy"
        np.save(path, rng.standard_normal((400, 12, 256)))
        paths.append(str(path))
    return paths


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(slow_files):
    want = {r.file: r for r in api.evaluate_files("triplet", slow_files)}
    with _cluster(LOSSCLI_JIT="never") as c, \
            distributed.Client(c.scheduler_address, set_as_default=False) as client:
        results, killed = _run_and_kill(client, slow_files)
        assert killed and killed[0] not in client.scheduler_info()["workers"]
    assert sorted(r.file for r in results) == sorted(slow_files)  # each once
    for r in results:
        assert r.ok, r.error_text()
        np.testing.assert_allclose(r.per_example, want[r.file].per_example, rtol=RTOL,
                                   atol=1e-15)


def test_a_task_whose_workers_keep_dying_fails_as_its_input(slow_files):
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            _cluster(LOSSCLI_JIT="never") as c, \
            distributed.Client(c.scheduler_address, set_as_default=False) as client:
        results, killed = _run_and_kill(client, slow_files)
    assert killed
    assert sorted(r.file for r in results) == sorted(slow_files)
    lost = [r for r in results if not r.ok]
    assert 1 <= len(lost) < len(slow_files)
    assert all("died" in r.error_text() and r.error.exit_code == 3 for r in lost)


def test_usage_errors(data, capsys):
    stack = str(data / "stack.npy")
    for extra in (["--scheduler", "local", "--jobs", "2"], ["--scheduler", "local",
                  "--workers", "0"], ["--workers", "2"], ["--task-rows", "5"],
                  ["--scheduler", "local", "--task-rows", "0"]):
        code, _, err = _cli(capsys, "batch", "infonce", stack, *extra)
        assert code == 2, extra
        assert err.startswith("error: ") and len(err.splitlines()) <= 3


def test_an_unreachable_scheduler_is_exit_3(data, capsys, monkeypatch):
    import socket

    from losscli.batch import cluster as cluster_module

    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    code, out, err = _cli(capsys, "batch", "infonce", str(data / "stack.npy"),
                          "--scheduler", f"tcp://127.0.0.1:{port}")
    assert code == 3 and out == ""
    assert err.startswith(f"error: tcp://127.0.0.1:{port}: cannot reach the Dask scheduler")
    assert len(err.splitlines()) == 1


def test_workers_with_another_losscli_are_refused(cluster, data, capsys, monkeypatch):
    monkeypatch.setattr("losscli._version.__version__", "0.0.0+other")
    code, out, err = _cli(capsys, "batch", "infonce", str(data / "stack.npy"),
                          "--scheduler", cluster.scheduler_address)
    assert code == 2 and out == ""
    assert "the Dask workers run losscli" in err and "this is 0.0.0+other" in err


def test_an_in_batch_loss_is_one_task_and_equals_the_local_batch(cluster, data, capsys,
                                                                 monkeypatch):
    """clip's examples are each other's negatives: never cut into row ranges."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 2, 8))
    np.save(data / "pairs-stack.npy", x)
    monkeypatch.chdir(data)
    pairs = Document(str(data / "pairs-stack.npy"))
    assert plan_split(pairs, BatchOptions(LossCall.of("clip")), 50) is None
    code, out, err = _cli(capsys, "batch", "clip", "pairs-stack.npy", "-f", "jsonl")
    code2, out2, err2 = _cli(capsys, "batch", "clip", "pairs-stack.npy", "-f", "jsonl",
                             "--scheduler", cluster.scheduler_address, "--task-rows", "50")
    assert code == code2 == 0, err2
    assert_records_close(_lines(out2, "jsonl"), _lines(out, "jsonl"))


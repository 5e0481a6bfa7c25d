"""Regenerate the sample inputs: python samples/generate.py (deterministic, seed 0).

Each file is small and named for what it shows; the seed's two examples carry the
vectors of LOSSES.md exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ANCHOR = [-0.83483301, -0.16904167, 0.52390721]
POSITIVE = [-0.83455951, -0.16862266, 0.52447767]
FAR = [[0.53043332, -0.83523217, -0.14500935], [0.68285685, -0.73054075, 0.00409143],
       [0.76652431, 0.61500886, 0.18494479]]
SEED1_NEGATIVES = [[0.70374682, -0.18682394, -0.68544673],
                   [0.15465702, 0.32303224, 0.93366556]] + FAR
SEED2_NEGATIVES = [POSITIVE, POSITIVE] + FAR


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def write_json(name: str, doc: dict) -> None:
    def plain(v):
        return np.round(v, 6).tolist() if isinstance(v, np.ndarray) else v

    text = json.dumps({k: plain(v) for k, v in doc.items()}, indent=1)
    (HERE / name).write_text(text + "\n")


def main() -> None:
    rng = np.random.default_rng(0)
    write_json("seed-example-1.json",
               {"anchor": ANCHOR, "positive": POSITIVE, "negatives": SEED1_NEGATIVES})
    write_json("seed-example-2.json",
               {"anchor": ANCHOR, "positive": POSITIVE, "negatives": SEED2_NEGATIVES})
    # One example for every embedding loss (the issues' `ex.json`).
    a = unit(rng.normal(size=8))
    ex = {"anchor": a, "positive": unit(a + 0.6 * rng.normal(size=8)),
          "negatives": unit(rng.normal(size=(6, 8)))}
    write_json("ex.json", ex)
    # softmax-ce
    write_json("classification.json", {"logits": [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0],
                                                  [1.2, 0.3, 3.1], [0.0, 0.0, 0.0]],
                                       "target": [0, 1, 2, 1]})
    write_json("softmax-ce-probabilities.json",
               {"logits": [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]],
                "target": [[0.7, 0.2, 0.1], [0.0, 1.0, 0.0]], "weight": [1.0, 2.0, 0.5]})
    logits = rng.normal(size=(16, 10)).astype(np.float32)
    np.save(HERE / "softmax-ce-logits.npy", logits)
    np.save(HERE / "softmax-ce-target.npy", rng.integers(0, 10, size=16))
    # contrastive: an .npz with arrays named by role
    B, K, D = 4, 3, 16
    anc = unit(rng.normal(size=(B, D)))
    np.savez(HERE / "pairs.npz", anchor=anc, positive=unit(anc + 0.5 * rng.normal(size=(B, D))),
             negatives=unit(rng.normal(size=(B, K, D))))
    write_json("contrastive-euclidean.json",
               {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]})
    # triplet: one .npy per role (the issues' a.npy, p.npy, n.npy), per-anchor negatives
    B, K, D = 6, 4, 16
    anc = unit(rng.normal(size=(B, D)))
    np.save(HERE / "a.npy", anc)
    np.save(HERE / "p.npy", unit(anc + 0.7 * rng.normal(size=(B, D))))
    np.save(HERE / "n.npy", unit(rng.normal(size=(B, K, D))))
    np.savez(HERE / "batch.npz", anchor=anc, positive=unit(anc + 0.7 * rng.normal(size=(B, D))),
             negatives=unit(rng.normal(size=(B, K, D))))
    write_json("triplet-golden.json",
               {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]})
    # quadruplet: a batch with shared negatives and explicit negatives2 (the issues' batch.json)
    B, K, D = 3, 4, 5
    anc = 0.5 * rng.normal(size=(B, D))
    write_json("batch.json", {"anchor": anc, "positive": anc + 0.5 * rng.normal(size=(B, D)),
                              "negatives": 0.3 * rng.normal(size=(K, D)),
                              "negatives2": 0.3 * rng.normal(size=(K, D))})
    write_json("quadruplet-golden.json",
               {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]],
                "negatives2": [[0.0, 1.0]]})
    # infonce: a batch with a shared bank in .npz, and a stacked .npy (B, 2 + K, D)
    B, K, D = 8, 16, 32
    anc = unit(rng.normal(size=(B, D)))
    np.savez(HERE / "infonce-shared-negatives.npz", anchor=anc,
             positive=unit(anc + 0.4 * rng.normal(size=(B, D))),
             negatives=unit(rng.normal(size=(K, D))))
    stack = np.concatenate([anc[:, None], unit(anc + 0.4 * rng.normal(size=(B, D)))[:, None],
                            unit(rng.normal(size=(B, K, D)))], axis=1)
    np.save(HERE / "infonce-stack.npy", stack)
    write_json("infonce-cosine-golden.json",
               {"anchor": [1.0, 0.0], "positive": [0.6, 0.8],
                "negatives": [[0.8, 0.6], [0.0, 1.0]]})
    more_samples()
    batch_samples()


def more_samples() -> None:
    """Inputs of LOSSES-MORE.md's losses, from their own generator so that adding them left
    every file above unchanged."""
    rng = np.random.default_rng(7)
    # ntxent-batch (and dcl, hard-infonce without negatives): two views of B examples.
    B, D = 8, 16
    base = unit(rng.normal(size=(B, D)))
    np.savez(HERE / "views.npz", anchor=unit(base + 0.3 * rng.normal(size=(B, D))),
             positive=unit(base + 0.3 * rng.normal(size=(B, D))))
    # supcon, multi-similarity, circle: several positives per anchor, per-anchor negatives.
    B, P, K, D = 3, 3, 5, 8
    anc = unit(rng.normal(size=(B, D)))
    write_json("positives.json", {"anchor": anc,
                                  "positives": unit(anc[:, None] + 0.5 * rng.normal(
                                      size=(B, P, D))),
                                  "negatives": unit(rng.normal(size=(B, K, D)))})
    # cosine-embedding: pairs with a.npy (6, 16) as x1, b.npy as x2, y.npy the labels.
    a = np.load(HERE / "a.npy")
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    near = unit(a + 0.5 * rng.normal(size=a.shape))
    far = unit(rng.normal(size=a.shape))
    np.save(HERE / "b.npy", np.where(y[:, None] > 0, near, far))
    np.save(HERE / "y.npy", y)
    # margin-ranking and hinge-embedding: scores and values with labels.
    write_json("ranking.json", {"x1": [0.3, 0.9, 0.5, 1.2], "x2": [0.5, 0.2, 0.5, 0.4],
                                "label": [1, -1, 1, 1]})
    write_json("hinge.json", {"x1": [0.5, 0.3, 1.4, 0.0], "label": [1, -1, -1, 1]})


def batch_samples() -> None:
    """The inputs the batch and Dask commands of the issues name: shards/, runs/, big.npz,
    q.npy + d.npy + hard.npy, triplets.jsonl, huge.npy (small here; the names show the use)."""
    rng = np.random.default_rng(2)
    shards = HERE / "shards"
    shards.mkdir(exist_ok=True)
    B, K, D = 64, 8, 32
    for i in range(4):  # per-anchor InfoNCE shards, float32 as embedding dumps usually are
        anc = unit(rng.normal(size=(B, D)))
        np.savez(shards / f"shard-{i:02d}.npz", anchor=anc.astype(np.float32),
                 positive=unit(anc + 0.6 * rng.normal(size=(B, D))).astype(np.float32),
                 negatives=unit(rng.normal(size=(B, K, D))).astype(np.float32))
    runs = HERE / "runs"
    runs.mkdir(exist_ok=True)
    for i in range(3):  # softmax-ce logits of three training runs
        logits = rng.normal(scale=2.0, size=(32, 5))
        write_json(f"runs/run-{i}.json", {"logits": logits,
                                          "target": rng.integers(0, 5, size=32).tolist()})
    anc = unit(rng.normal(size=(500, 16)))
    np.savez(HERE / "big.npz", anchor=anc, positive=unit(anc + 0.7 * rng.normal(size=(500, 16))),
             negatives=unit(rng.normal(size=(500, 4, 16))))
    q = unit(rng.normal(size=(128, D))).astype(np.float32)
    np.save(HERE / "q.npy", q)
    np.save(HERE / "d.npy", unit(q + 0.5 * rng.normal(size=q.shape)).astype(np.float32))
    np.save(HERE / "hard.npy", unit(q[:, None] + 1.0 * rng.normal(size=(128, 16, D)))
            .astype(np.float32))
    lines = []
    for _ in range(5):  # one triplet (or a small batch) per line
        a = unit(rng.normal(size=8))
        lines.append(json.dumps({"anchor": np.round(a, 6).tolist(),
                                 "positive": np.round(unit(a + 0.5 * rng.normal(size=8)), 6)
                                 .tolist(),
                                 "negatives": np.round(unit(rng.normal(size=(3, 8))), 6)
                                 .tolist()}))
    (HERE / "triplets.jsonl").write_text("\n".join(lines) + "\n")
    anc = unit(rng.normal(size=(1024, 16)))
    stack = np.concatenate([anc[:, None], unit(anc + 0.7 * rng.normal(size=(1024, 16)))[:, None],
                            unit(rng.normal(size=(1024, 4, 16)))], axis=1)
    np.save(HERE / "huge.npy", stack.astype(np.float32))
    # One hard negative per anchor of a.npy (6, 16): the (B, D) layout of torch's
    # TripletMarginLoss, which --negatives-layout per-anchor reads (its own rng: the files
    # above stay as they were).
    a = np.load(HERE / "a.npy")
    near = np.random.default_rng(12).normal(size=a.shape)
    np.save(HERE / "hard-negative-per-anchor.npy", unit(a + 0.9 * near))


if __name__ == "__main__":
    main()

"""The layout batch hands a loss's stream form: a chunk of explicit-negative examples as the
loss-only stream kernels (kernels/stream.py) read them.

A loss module that has a stream form defines

    stream(params) -> form | None       None when these parameters have no stream kernel
    form(rows, loss, flags, warnings) -> active margin terms (int) or None

which writes each example's loss into `loss` (B,) and the kernels' flag bits into `flags`
(B,) (huge and non-finite entries per role; batch turns them into warnings and errors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from losscli.kernels import codes

# The distances the stream kernels compute (cosine needs the full evaluate's normalization).
STREAM_DISTANCES = {"euclidean": codes.EUCLIDEAN, "sqeuclidean": codes.SQEUCLIDEAN}


@dataclass
class StreamRows:
    """Anchor b is A[b, ia], its positive P[b, ip], its negatives N[b or 0, n0:n0 + K].

    N has one row when the negatives are a bank every anchor shares (`shared`). A stacked
    .npy chunk (B, 2 + K, D) is A = P = N with ia, ip, n0 = 0, 1, 2. `parallel` is the
    kernels' parallel choice (None: by size).
    """

    A: np.ndarray
    ia: int
    P: np.ndarray
    ip: int
    N: np.ndarray
    n0: int
    K: int
    shared: bool
    parallel: bool | None = None

    @property
    def batch(self) -> int:
        """B, the anchors of the chunk."""
        return self.A.shape[0]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return self.A.shape[2]

    @property
    def work(self) -> int:
        """Multiply-adds of one pass, for the compile-or-interpret choice."""
        return self.batch * (self.K + 2) * self.dim

    @property
    def check(self) -> bool:
        """Whether the kernels scan rows for entries above HUGE_ENTRY (float64 input: float32
        cannot hold such numbers)."""
        return any(a.dtype == np.float64 for a in (self.A, self.P, self.N))

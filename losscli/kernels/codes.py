"""The numbers the kernels share with their callers: codes passed as kernel arguments, the
flag bits batch's kernels return, and the thresholds of the kernels' rare paths.

Plain Python, no kernel bodies: a loss module reads these without importing kernels, and a
kernel sees each as a compile-time constant.
"""

from __future__ import annotations

# Distance kinds (`kind`).
EUCLIDEAN = 0
SQEUCLIDEAN = 1
COSINE = 2

# Regime of a triplet (d_ap, d_an): hard d_an < d_ap, semi-hard d_an < d_ap + m, else easy.
HARD = 0
SEMI_HARD = 1
EASY = 2

# Where a library puts its eps in the euclidean distance (CONTRACT.md: losscli adds none).
EPS_NONE = 0
EPS_DIFFERENCE = 1  # torch.pairwise_distance: ||x - y + eps||_2
EPS_ROOT = 2  # optax.triplet_margin_loss: (sum (x - y)^2 + eps)^(1/2)

# How a kernel reduces an example's terms (`reduce_by`).
TERMS_MEAN = 0
TERMS_SUM = 1
TERMS_MAX = 2
TERMS_MEAN_ACTIVE = 3  # mean over the terms > 0; 0 when none is
TERMS_SPLIT_MEAN_ACTIVE = 4  # PML contrastive: mean of active pos terms + mean of active neg
TERMS_SPLIT_MEAN = 5  # PML contrastive, MeanReducer: the pos term + the mean of the neg terms

# batch's flags[b]: bit (role) for an entry above HUGE_ENTRY, bit << NONFINITE_SHIFT for NaN
# or inf.
ANCHOR = 1
POSITIVE = 2
NEGATIVES = 4
NONFINITE_SHIFT = 3

# An entry above HUGE_ENTRY is warned about; only a row whose sum of squares is above
# HUGE_ROW_SQUARES can hold one, so only such rows are scanned.
HUGE_ENTRY = 1e150
HUGE_ROW_SQUARES = 1e300
# Similarities at most this far from 0 have differences that cannot overflow (half the
# float64 maximum); a row with a larger one takes the scalar softmax of scaled differences.
SAFE_SIMILARITY = 8e307

# Squared sums outside (RESCALE_BELOW, RESCALE_ABOVE) may have under- or overflowed: the
# distance is recomputed from differences scaled by the largest.
RESCALE_BELOW = 1e-280
RESCALE_ABOVE = 1e280

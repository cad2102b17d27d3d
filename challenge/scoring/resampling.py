"""Bootstrap resamples drawn without resampling every row: the shapes a statistic can take.

A bootstrap resample draws n rows with replacement, so how often each row is drawn follows
Multinomial(n, 1/n, ..., 1/n). Two kinds of statistic need far less than n numbers per resample:

- `Categories`: a statistic that sees the rows only through their counts per category (the cells
  of a confusion matrix, hit or miss). A resample's counts per category follow
  Multinomial(n, share of each category) *exactly*, so drawing those k numbers gives the same
  distribution as drawing n row indices.
- `Means`: a smooth function of the means of per-row components (mae, rmse, r2, log loss; ROC AUC
  through its per-row influence values). At large n, `stratified_means` draws the resampled means
  by strata: the rows are cut into strata of close values, the most extreme rows are strata of
  their own, a resample's counts per stratum are drawn exactly from the multinomial, and only the
  sum of the draws *inside* a stratum is replaced by its normal limit (exact mean and covariance).
  Skewness and heavy tails, which live between strata and in the extreme rows, are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

STRATA = 256
"""Strata of the bulk of the rows (cut at quantiles of the first component)."""
EXTREMES = 64
"""Rows farthest from the median of each component, each a stratum of its own."""
QUANTILE_SAMPLE = 65_536
"""Rows (an evenly spaced subset) from which the strata's edges and the medians are estimated."""
RESAMPLE_BLOCK = 250
"""Resamples drawn per block (bounds the temporary arrays)."""


@dataclass(frozen=True)
class Categories:
    """A statistic computed from each resample's counts of rows per category."""

    codes: np.ndarray
    """Each row's category, in [0, k)."""
    k: int
    from_counts: Callable[[np.ndarray], np.ndarray]
    """Maps (c, k) float counts to the statistic of each of the c resamples."""

    def on_indices(self, idx: np.ndarray) -> np.ndarray:
        """The statistic on a (c, n) block of resampled row indices."""
        c = idx.shape[0]
        offsets = (np.arange(c, dtype=np.int64) * self.k)[:, None]
        flat = np.bincount((np.take(self.codes, idx) + offsets).ravel(), minlength=c * self.k)
        return self.from_counts(flat.reshape(c, self.k).astype(np.float64))

    def draw(self, resamples: int, rng: np.random.Generator) -> np.ndarray:
        """The statistic on `resamples` resamples, counts drawn from the exact multinomial."""
        n = len(self.codes)
        shares = np.bincount(self.codes, minlength=self.k) / n
        block = max(1, min(resamples, 500_000 // max(self.k, 1)))
        parts = [
            self.from_counts(
                rng.multinomial(n, shares, size=min(block, resamples - start)).astype(np.float64)
            )
            for start in range(0, resamples, block)
        ]
        return np.concatenate(parts)


Combine = Callable[[list[np.ndarray]], np.ndarray]
"""Maps the resampled means of each component, (c,) arrays, to the statistic of each resample."""


@dataclass(frozen=True)
class Means:
    """A statistic computed from the means of per-row components."""

    components: list[np.ndarray]
    combine: Combine

    def on_indices(self, idx: np.ndarray) -> np.ndarray:
        """The statistic on a (c, n) block of resampled row indices."""
        n = idx.shape[1]
        return self.combine([np.take(c, idx).sum(axis=1) / n for c in self.components])

    def draw(self, resamples: int, rng: np.random.Generator) -> np.ndarray:
        """The statistic on `resamples` resamples whose means are drawn by strata."""
        means = stratified_means(np.vstack(self.components), resamples, rng)
        return self.combine(list(means.T))


def stratified_means(
    components: np.ndarray, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """(resamples, d) bootstrap means of the rows' d components, drawn by strata.

    Rows with a non-finite component are drawn exactly: a resample that draws one of them gets
    the non-finite means of all the rows (its statistic is undefined, as with resampled rows).
    """
    d, n = components.shape
    finite = np.isfinite(components).all(axis=0)
    if not finite.any():
        return np.tile(components.mean(axis=1), (resamples, 1))
    rows = components[:, finite] if not finite.all() else components
    strata = _strata(rows)
    size, mean, root = _strata_moments(rows, strata)
    out = np.empty((resamples, d))
    for start in range(0, resamples, RESAMPLE_BLOCK):
        count = min(RESAMPLE_BLOCK, resamples - start)
        drawn = rng.multinomial(n, size / size.sum(), size=count).astype(np.float64)
        noise = rng.standard_normal((count, len(size), d))
        inside = np.einsum("rs,rsd->rd", np.sqrt(drawn), np.einsum("rsk,sdk->rsd", noise, root))
        out[start : start + count] = (drawn @ mean + inside) / n
    if not finite.all():
        hit = rng.binomial(n, 1.0 - finite.mean(), size=resamples) > 0
        with np.errstate(invalid="ignore"):
            out[hit] = components.mean(axis=1)
    return out


def _strata(rows: np.ndarray) -> np.ndarray:
    """Each row's stratum: the extreme rows first (one each), then the bulk by quantiles."""
    d, n = rows.shape
    sample = rows[:, :: max(1, n // QUANTILE_SAMPLE)]
    stratum = np.empty(n, dtype=np.int64)
    edges = np.unique(np.quantile(sample[0], np.linspace(0, 1, STRATA + 1)[1:-1]))
    stratum[:] = np.searchsorted(edges, rows[0], side="right")
    extremes = min(EXTREMES, n // (4 * d))
    if extremes > 0:
        far = np.unique(
            np.concatenate(
                [
                    np.argpartition(np.abs(rows[j] - np.median(sample[j])), n - extremes)[
                        n - extremes :
                    ]
                    for j in range(d)
                ]
            )
        )
        stratum[far] = len(edges) + 1 + np.arange(len(far))
    used = np.bincount(stratum) > 0
    return (np.cumsum(used) - 1)[stratum]


def _strata_moments(rows: np.ndarray, strata: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per stratum: its size, its mean (s, d) and a square root of its covariance (s, d, d)."""
    d, _ = rows.shape
    s = int(strata.max()) + 1
    size = np.bincount(strata, minlength=s).astype(np.float64)
    mean = np.column_stack([np.bincount(strata, weights=r, minlength=s) / size for r in rows])
    centred = rows - mean[strata].T
    cov = np.empty((s, d, d))
    for i in range(d):
        for j in range(i, d):
            value = np.bincount(strata, weights=centred[i] * centred[j], minlength=s) / size
            cov[:, i, j] = cov[:, j, i] = value
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]
    return size, mean, root


def auc_influence(group: np.ndarray, positive: np.ndarray) -> tuple[float, np.ndarray]:
    """ROC AUC and each row's influence value: AUC* - AUC is the resample's mean influence.

    `group` is each row's rank among the distinct scores. With V10 the share of negatives a
    positive outranks (ties 1/2), V01 the share of positives a negative is outranked by, and p
    the share of positives, a positive row's influence is (V10 - AUC) / p and a negative's
    (V01 - AUC) / (1 - p): the linear part of the AUC as a function of the rows (its variance
    over n is DeLong's variance).
    """
    n = len(group)
    n_pos = int(positive.sum())
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan"), np.zeros(n)
    pos = np.bincount(group[positive], minlength=int(group.max()) + 1).astype(np.float64)
    neg = np.bincount(group[~positive], minlength=len(pos)).astype(np.float64)
    v10 = ((np.cumsum(neg) - neg + 0.5 * neg) / n_neg)[group]
    v01 = ((n_pos - np.cumsum(pos) + 0.5 * pos) / n_pos)[group]
    auc = float(v10[positive].mean())
    share = n_pos / n
    influence = np.where(positive, (v10 - auc) / share, (v01 - auc) / (1.0 - share))
    return auc, influence

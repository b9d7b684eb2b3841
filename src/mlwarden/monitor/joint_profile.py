"""The multivariate part of a reference profile: standardisation, a random Fourier
feature embedding for MMD, a reservoir for the classifier test, robust covariance for
out-of-distribution scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MAX_EMBEDDING_ROWS = 20_000
"""Reference rows used for the MMD mean embedding and its covariance."""
MAX_CALIBRATION_ROWS = 2_000
"""Held-out reference rows whose distances calibrate the out-of-distribution score."""


@dataclass(frozen=True)
class JointProfile:
    """Multivariate summary of the reference's numeric features (missing values imputed
    by the reference median)."""

    columns: tuple[int, ...]
    """Indices (into the dataset's columns) of the numeric features used."""
    center: FloatArray
    scale: FloatArray
    rff_weights: FloatArray
    """(d, D) frequencies of the random Fourier features of a Gaussian kernel."""
    rff_offsets: FloatArray
    mean_embedding: FloatArray
    """(D,) reference mean of the features: the MMD's reference point."""
    eigenvalues: FloatArray
    """Eigenvalues of the features' covariance: the MMD statistic's null is their
    chi-squared mixture."""
    n_embedding: int
    reservoir: FloatArray
    """(R, d) standardised random reference rows for the classifier two-sample test."""
    robust_location: FloatArray
    robust_precision: FloatArray
    calibration: FloatArray
    """Sorted robust distances of held-out reference rows."""

    def standardise(self, numbers: FloatArray) -> FloatArray:
        """Rows of the numeric columns, centred, scaled, missing values at the centre."""
        z = (numbers - self.center) / self.scale
        return np.where(np.isnan(z), 0.0, z)

    def embed_mean(self, z: FloatArray) -> FloatArray:
        """Mean random Fourier feature vector of standardised rows ``z``."""
        d = self.rff_weights.shape[1]
        phi = np.cos(z @ self.rff_weights + self.rff_offsets)
        return np.asarray(phi.mean(axis=0) * np.sqrt(2.0 / d), dtype=np.float64)

    def distances(self, z: FloatArray) -> FloatArray:
        """Robust Mahalanobis distance of each standardised row."""
        centred = z - self.robust_location
        squared = np.einsum("ij,jk,ik->i", centred, self.robust_precision, centred)
        return np.asarray(np.sqrt(np.maximum(squared, 0.0)), dtype=np.float64)


def fit_joint(
    numbers: FloatArray,
    columns: tuple[int, ...],
    *,
    reservoir_size: int,
    rff_dim: int,
    rng: np.random.Generator,
) -> JointProfile:
    """Fit the joint profile on the (n, d) numeric columns of the reference."""
    n, d = numbers.shape
    center = np.nanmedian(numbers, axis=0)
    center = np.where(np.isnan(center), 0.0, center)
    scale = np.nanstd(numbers, axis=0)
    scale = np.where(~np.isfinite(scale) | (scale <= 1e-12), 1.0, scale)
    z = (numbers - center) / scale
    z = np.where(np.isnan(z), 0.0, z)
    order = rng.permutation(n)

    # Median heuristic on a few hundred rows: the kernel width that makes the embedding
    # sensitive to differences at the scale of typical distances between samples.
    probe = z[order[: min(n, 400)]]
    gaps = np.sqrt(((probe[:, None, :] - probe[None, :, :]) ** 2).sum(axis=2))
    upper = gaps[np.triu_indices(probe.shape[0], k=1)]
    bandwidth = float(np.median(upper)) if upper.size else 1.0
    bandwidth = bandwidth if bandwidth > 1e-9 else 1.0
    weights = rng.standard_normal((d, rff_dim)) / bandwidth
    offsets = rng.uniform(0.0, 2.0 * np.pi, rff_dim)

    embed_rows = z[order[: min(n, MAX_EMBEDDING_ROWS)]]
    phi = np.cos(embed_rows @ weights + offsets) * np.sqrt(2.0 / rff_dim)
    mean_embedding = phi.mean(axis=0)
    covariance = np.cov(phi, rowvar=False) if phi.shape[0] > 1 else np.zeros((rff_dim, rff_dim))
    eigenvalues = np.clip(np.linalg.eigvalsh(np.atleast_2d(covariance)), 0.0, None)[::-1]

    half = max(1, n // 2)
    fit_rows = z[order[: min(half, reservoir_size)]]
    calibration_rows = z[order[half : half + MAX_CALIBRATION_ROWS]]
    if calibration_rows.shape[0] == 0:
        calibration_rows = fit_rows
    location, precision = _robust_covariance(fit_rows, rng)
    profile = JointProfile(
        columns=columns,
        center=center,
        scale=scale,
        rff_weights=weights,
        rff_offsets=offsets,
        mean_embedding=mean_embedding,
        eigenvalues=eigenvalues,
        n_embedding=int(embed_rows.shape[0]),
        reservoir=fit_rows,
        robust_location=location,
        robust_precision=precision,
        calibration=np.empty(0),
    )
    calibration = np.sort(profile.distances(calibration_rows))
    return JointProfile(**{**profile.__dict__, "calibration": calibration})


def _robust_covariance(z: FloatArray, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Minimum covariance determinant location and precision; a ridge-regularised plain
    estimate when there are too few rows for MCD. A planted cluster of outliers in the
    reference does not inflate the robust estimate, so it stays detectable later."""
    n, d = z.shape
    if n > 5 * d + 10:
        from sklearn.covariance import MinCovDet

        try:
            mcd = MinCovDet(random_state=int(rng.integers(2**31 - 1))).fit(z)
            covariance = np.asarray(mcd.covariance_, dtype=np.float64)
            location = np.asarray(mcd.location_, dtype=np.float64)
        except (ValueError, np.linalg.LinAlgError):
            covariance, location = np.cov(z, rowvar=False), z.mean(axis=0)
    else:
        covariance = np.cov(z, rowvar=False) if n > 1 else np.eye(d)
        location = z.mean(axis=0) if n else np.zeros(d)
    covariance = np.atleast_2d(covariance) + 1e-6 * np.eye(d)
    return np.asarray(location, dtype=np.float64), np.asarray(
        np.linalg.pinv(covariance), dtype=np.float64
    )

"""``ExtractionCheck``: principals whose queries cluster at the decision boundary.

Model-stealing attacks (active learning, boundary probing, HopSkipJump-style searches)
spend their queries where the model is unsure, so the attacker's share of near-boundary
predictions is far above normal traffic's. Each principal's count of near-boundary queries
is tested against a baseline rate (from the profile's outputs, else from all other
principals in the window) with a one-sided binomial test, Holm-corrected over principals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped,unused-ignore]

from mlwarden.errors import UsageError
from mlwarden.findings import Location, Rule
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.monitor import rules
from mlwarden.monitor.output_profile import BOUNDARY_MARGIN, check_probabilities, top_two
from mlwarden.monitor.profile import ReferenceProfile
from mlwarden.monitor.stat_tests import adjust

MAX_REQUESTS = 5_000_000
"""Most requests one run accepts."""


@dataclass(frozen=True)
class ExtractionCheck:
    """Find principals that send unusually many near-boundary queries.

    Input: a :class:`Dataset` with one row per request, ``X`` the model's (n, n_classes)
    probabilities and ``sample_ids`` the principal (user, key, IP) that sent it.
    A principal is flagged when it sent at least ``min_queries`` requests, its
    near-boundary share (top-two margin below ``margin``) is at least ``min_ratio`` times
    the baseline, and the Holm-corrected binomial p-value is below ``alpha``.
    """

    profile: ReferenceProfile | None = None
    alpha: float = 0.01
    margin: float = BOUNDARY_MARGIN
    min_queries: int = 30
    min_ratio: float = 2.0

    @property
    def name(self) -> str:
        return "model-extraction"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (rules.EXTRACTION_PATTERN,)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Test every principal in ``data``; ``model`` is not used."""
        if data.sample_ids is None:
            raise UsageError(
                data.source,
                "no principal ids (Dataset.sample_ids) were given",
                "pass the id of the caller of each request as sample_ids",
            )
        if data.n_samples > MAX_REQUESTS:
            raise UsageError(
                data.source, f"{data.n_samples} requests, over {MAX_REQUESTS}", "split the log"
            )
        probabilities = np.asarray(data.flat(), dtype=np.float64)
        check_probabilities(probabilities, None, data.source)
        _, _, gap = top_two(probabilities)
        near = gap < self.margin
        principals, inverse = np.unique(
            np.asarray(data.sample_ids).astype(str), return_inverse=True
        )
        queries = np.bincount(inverse, minlength=principals.shape[0]).astype(np.float64)
        hits = np.bincount(inverse, weights=near, minlength=principals.shape[0])
        baseline = self._baseline(queries, hits, data.source)
        p_values = np.ones(principals.shape[0])
        eligible = queries >= self.min_queries
        for i in np.flatnonzero(eligible):
            rate = float(np.clip(baseline[i], 1e-6, 1.0))
            p_values[i] = float(stats.binom.sf(hits[i] - 1, queries[i], rate)) if hits[i] else 1.0
        adjusted = np.ones_like(p_values)
        if eligible.any():
            adjusted[eligible] = adjust(p_values[eligible], "holm")
        share = hits / np.maximum(queries, 1.0)
        flagged = (
            eligible
            & (adjusted < self.alpha)
            & (share >= self.min_ratio * np.maximum(baseline, 1e-6))
        )
        findings = tuple(
            rules.EXTRACTION_PATTERN.finding(
                Location(path=data.source, field=f"principal {principals[i]}"),
                f"{int(hits[i])} of {int(queries[i])} queries ({share[i]:.0%}) within "
                f"{self.margin} of the decision boundary; normal traffic {baseline[i]:.0%} "
                f"(adjusted p={adjusted[i]:.2g})",
            )
            for i in np.flatnonzero(flagged)[np.argsort(adjusted[flagged])]
        )
        scores = ScoreTable(
            keys=principals,
            columns={
                "score": -np.log10(np.maximum(adjusted, 1e-300)),
                "queries": queries,
                "near_boundary_share": share,
                "baseline": baseline,
                "p_adjusted": adjusted,
            },
        )
        metrics = {
            "requests": float(data.n_samples),
            "principals": float(principals.shape[0]),
            "flagged_principals": float(flagged.sum()),
            "near_boundary_share": float(near.mean()) if near.size else 0.0,
        }
        return CheckResult(self.name, findings, scores, metrics, passed=not findings)

    def _baseline(self, queries: Any, hits: Any, source: str) -> Any:
        """Expected near-boundary share per principal."""
        if self.profile is not None and self.profile.outputs is not None:
            return np.full(queries.shape[0], self.profile.outputs.boundary_rate)
        others = queries.sum() - queries
        if (others <= 0).any():
            raise UsageError(
                source,
                "only one principal sent requests and the profile holds no model outputs",
                "fit the profile with probabilities, or test a window with many principals",
            )
        # Leave-one-out: a heavy attacker must not raise its own baseline.
        return (hits.sum() - hits) / others

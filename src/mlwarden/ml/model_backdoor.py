"""Backdoored-model detection: Neural Cleanse trigger reverse engineering plus STRIP.

``ModelBackdoorCheck().run(Dataset(X_clean, y), model)`` asks, for every class, how small
a stamp (mask + pattern, ``x' = (1 - m) * x + m * p``) turns clean inputs into that class
(Wang et al., "Neural Cleanse", S&P 2019). A backdoor is a shortcut: its target class
needs a far smaller stamp than the others. The check reports per class the L1 norm of
the smallest stamp found and its anomaly index, the MAD-based deviation of the norm
below the median of all classes; an index above ``threshold`` (2, as in the paper) is a
suspected backdoor target. Unlike the paper, the deviation is taken on log norms with
a floor on the spread (``min_spread``): clean classes' norms differ by factors (a "1"
needs less ink than an "8"), and on few classes the raw MAD then flags ordinary ones.
The reverse-engineered stamp of each class is also applied to clean inputs and scored
with STRIP (:mod:`mlwarden.ml.strip_detector`): real triggers keep their blends'
prediction entropy low, so the mean entropy gets the same low-side index (``strip_index``).
A class is flagged when either index exceeds the threshold split between the two looks
(Bonferroni: 2.28 for ``threshold`` 2), so a clean class keeps the false-alarm rate of
one test at ``threshold`` while a target that only one signal exposes is still found (a
trigger the optimiser shrinks poorly but that dominates blends, or the reverse).

``model`` is a PyTorch module returning logits for inputs shaped like ``X``: images
``(n, C, H, W)`` (the mask is shared by the channels) or tabular ``(n, d)``.
Compute is bounded by ``steps`` (all classes are optimised together, with early stop)
and ``max_samples``. ``ModelBackdoorCheck().reverse_engineer(data, model)`` returns the
stamps themselves (:class:`ReversedTriggers`) to inspect or re-apply.

A class flagged besides the real target is not necessarily a false alarm: poisoning can
make another class reachable by a small stamp too (the stamp then flips the poisoned model
but not a clean twin); the model-level verdict stands, and the target is usually the class
with the largest index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.ml.strip_detector import strip_entropy

MAX_SAMPLE_VALUES = 3 * 128 * 128
MAX_CLASSES = 100
MAX_STEPS = 5000
# Scale factor that makes the MAD a consistent estimator of a normal standard deviation.
_MAD_TO_SIGMA = 1.4826

BACKDOOR_TARGET_SUSPECTED = Rule(
    id="MLW-BDM-001",
    title="Backdoor suspected: a class is reachable by an abnormally small trigger",
    severity=Severity.HIGH,
    remediation=(
        "Do not deploy this model. Inspect the reverse-engineered trigger and the training "
        "data of the target class for stamped samples, then retrain on cleaned data (or "
        "prune/fine-tune the neurons the trigger activates)."
    ),
    tags=("AML.T0018", "OWASP-ML10"),
    description=(
        "Neural Cleanse: the smallest input stamp that sends clean inputs to this class is "
        "an outlier compared with the other classes (MAD-based anomaly index of its size, or "
        "of the STRIP entropy of stamped inputs, above the threshold), the signature of a "
        "planted trigger."
    ),
)
TRIGGER_SEARCH_INCOMPLETE = Rule(
    id="MLW-BDM-002",
    title="Trigger search did not reach a class",
    severity=Severity.INFO,
    remediation=(
        "No stamp reached the target success rate within the step budget; raise `steps` "
        "if this class matters. Its norm was taken as the full mask (not suspicious)."
    ),
)


@dataclass(frozen=True)
class ReversedTriggers:
    """The smallest stamp found per class: ``x' = (1 - masks[c]) * x + masks[c] * patterns[c]``.

    ``masks`` is ``(k, 1, H, W)`` for images (shared by the channels) or ``(k, d)``;
    ``patterns`` is ``(k, *sample shape)``. ``l1`` is inf for a class no stamp reached at
    the target success rate (its mask and pattern are then the initial ones).
    """

    masks: npt.NDArray[np.float32]
    patterns: npt.NDArray[np.float32]
    l1: npt.NDArray[np.float64]
    success: npt.NDArray[np.float64]
    """Share of clean inputs (not already of the class) the kept stamp flipped."""
    steps: int
    """Optimisation steps run (the search stops early once no class improves)."""

    def apply(self, c: int, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """``X`` stamped with class ``c``'s trigger."""
        mask = self.masks[c]
        return np.asarray((1 - mask) * np.asarray(X) + mask * self.patterns[c], dtype=np.float32)


@dataclass(frozen=True)
class ModelBackdoorCheck:
    """Per-class Neural Cleanse verdicts; fails when any class's trigger-size or STRIP
    anomaly index exceeds ``threshold`` (Bonferroni-adjusted for the two looks).

    ``data`` should be clean inputs (labels optional: the model's predictions are used
    where ``y`` is missing). Inputs are clipped to ``data_range`` (default: min/max of X).
    """

    steps: int = 300
    learning_rate: float = 0.1
    init_cost: float = 1e-3
    """Initial weight of the mask's L1 norm; adapted per class as in Neural Cleanse."""
    target_success: float = 0.95
    """Share of clean inputs a stamp must flip for its norm to count."""
    patience: int = 10
    stop_after: int = 50
    """Stop once every class has a stamp and none shrank by 1% for this many steps."""
    threshold: float = 2.0
    """Per-test anomaly index cut-off; the decision uses :func:`joint_threshold` of it."""
    min_spread: float = 0.25
    """Smallest robust spread of log norms (and log STRIP entropies): classes within ~30% of the
    median never stand out."""
    max_samples: int = 200
    strip_samples: int = 50
    strip_overlays: int = 16
    data_range: tuple[float, float] | None = None
    random_state: int = 0

    name = "model-backdoor"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (BACKDOOR_TARGET_SUSPECTED, TRIGGER_SEARCH_INCOMPLETE)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Reverse-engineer a trigger per class and report the outliers.

        Raises :class:`UsageError` without a PyTorch model, for fewer than 3 classes (the
        anomaly index needs a population), oversized samples or non-finite data.
        """
        triggers, X, rng = self._search(data, model)
        module: Any = model  # a torch.nn.Module: _search checked it
        was_training = bool(module.training)
        module.eval()
        try:
            strip = self._strip_per_class(module, X, triggers, rng)
        finally:
            module.train(was_training)
        return self._result(data.source, triggers, strip)

    def reverse_engineer(self, data: Dataset, model: Any | None = None) -> ReversedTriggers:
        """The smallest stamp found per class, to inspect or re-apply (same search as
        :meth:`run`, same errors)."""
        return self._search(data, model)[0]

    def _search(
        self, data: Dataset, model: Any | None
    ) -> tuple[ReversedTriggers, npt.NDArray[np.float32], np.random.Generator]:
        """Validate the inputs, sample clean rows and run the trigger search on them."""
        import torch

        if not 1 <= self.steps <= MAX_STEPS:
            raise UsageError("ModelBackdoorCheck(steps)", f"must be 1..{MAX_STEPS}", "use 300")
        if model is None or not isinstance(model, torch.nn.Module):
            raise UsageError(
                data.source,
                "the model-backdoor check needs a PyTorch classifier (torch.nn.Module)",
                "pass model= a module returning logits",
            )
        per_sample = int(np.prod(data.X.shape[1:]))
        if per_sample > MAX_SAMPLE_VALUES:
            raise UsageError(
                data.source,
                f"a sample has {per_sample} values, more than the limit {MAX_SAMPLE_VALUES}",
                "downscale the inputs",
            )
        X = np.asarray(data.X, dtype=np.float32)
        if X.size == 0 or not np.isfinite(X).all():
            raise UsageError(data.source, "X is empty or has NaN/inf", "clean the data first")
        rng = np.random.default_rng(self.random_state)
        if len(X) > self.max_samples:
            X = X[np.sort(rng.choice(len(X), size=self.max_samples, replace=False))]
        bounds = self.data_range or (float(X.min()), float(X.max()))
        was_training = bool(model.training)
        model.eval()
        try:
            with torch.no_grad():
                probe = model(torch.as_tensor(X[:1]))
            n_classes = int(probe.shape[1])
            if not 3 <= n_classes <= MAX_CLASSES:
                raise UsageError(
                    data.source,
                    f"the model has {n_classes} classes; the anomaly index needs 3 to "
                    f"{MAX_CLASSES}",
                    "use STRIP (StripDetector) alone for binary models",
                )
            torch.manual_seed(self.random_state)
            triggers = self._reverse_engineer(model, X, n_classes, bounds)
        finally:
            model.train(was_training)
        return triggers, X, rng

    def _reverse_engineer(
        self,
        model: Any,
        X: npt.NDArray[np.float32],
        n_classes: int,
        bounds: tuple[float, float],
    ) -> ReversedTriggers:
        """Optimise one mask + pattern per class, all classes in one batch."""
        import torch
        import torch.nn.functional as F

        lo, hi = bounds
        x = torch.as_tensor(X)
        with torch.no_grad():
            labels = model(x).argmax(dim=1)
        # Images share one mask over their channels; tabular rows mask each feature.
        mask_shape = (1, *X.shape[2:]) if X.ndim == 4 else X.shape[1:]
        k = n_classes
        mask_raw = torch.full((k, *mask_shape), -2.0, requires_grad=True)
        pattern_raw = torch.zeros((k, *X.shape[1:]), requires_grad=True)
        opt = torch.optim.Adam([mask_raw, pattern_raw], lr=self.learning_rate, betas=(0.5, 0.9))
        targets = torch.arange(k).repeat_interleave(len(X))
        # Inputs already of the target class say nothing about the stamp.
        weight = (labels[None, :] != torch.arange(k)[:, None]).float()
        counted = weight.sum(dim=1).clamp_min(1.0)
        cost = torch.full((k,), self.init_cost)
        up = torch.zeros(k)
        down = torch.zeros(k)
        best_norm = torch.full((k,), float("inf"))
        best_success = torch.zeros(k)
        best_mask = torch.sigmoid(mask_raw.detach()).clone()
        best_pattern = (lo + (hi - lo) * torch.sigmoid(pattern_raw.detach())).clone()
        stale = 0
        steps_run = 0
        for _ in range(self.steps):
            steps_run += 1
            mask = torch.sigmoid(mask_raw)
            pattern = lo + (hi - lo) * torch.sigmoid(pattern_raw)
            stamped = (1 - mask[:, None]) * x[None] + (mask * pattern)[:, None]
            logits = model(stamped.reshape((-1, *X.shape[1:])))
            ce = F.cross_entropy(logits, targets, reduction="none").reshape(k, len(X))
            l1 = mask.reshape(k, -1).sum(dim=1)
            loss = ((ce * weight).sum(dim=1) / counted + cost * l1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                hit = (logits.argmax(dim=1).reshape(k, len(X)) == torch.arange(k)[:, None]).float()
                rate = (hit * weight).sum(dim=1) / counted
                ok = rate >= self.target_success
                improved = ok & (l1 < best_norm * 0.99)
                if bool(improved.any()):
                    best_norm = torch.where(improved, l1, best_norm)
                    best_success = torch.where(improved, rate, best_success)
                    best_mask[improved] = mask[improved].detach()
                    best_pattern[improved] = pattern[improved].detach()
                    stale = 0
                else:
                    stale += 1
                # Neural Cleanse's schedule: tighten the L1 weight while the stamp works,
                # relax it faster when it stops working.
                up = torch.where(ok, up + 1, torch.zeros_like(up))
                down = torch.where(ok, torch.zeros_like(down), down + 1)
                cost = torch.where(up >= self.patience, cost * 1.5, cost)
                cost = torch.where(down >= self.patience, cost / 1.5**1.5, cost)
                up = torch.where(up >= self.patience, torch.zeros_like(up), up)
                down = torch.where(down >= self.patience, torch.zeros_like(down), down)
            if bool(torch.isfinite(best_norm).all()) and stale >= self.stop_after:
                break
        return ReversedTriggers(
            masks=best_mask.numpy().astype(np.float32),
            patterns=best_pattern.numpy().astype(np.float32),
            l1=best_norm.numpy().astype(np.float64),
            success=best_success.numpy().astype(np.float64),
            steps=steps_run,
        )

    def _strip_per_class(
        self,
        model: Any,
        X: npt.NDArray[np.float32],
        triggers: ReversedTriggers,
        rng: np.random.Generator,
    ) -> npt.NDArray[np.float64]:
        """Mean STRIP entropy of clean inputs stamped with each class's reversed trigger."""
        n = min(self.strip_samples, len(X))
        picks = X[rng.choice(len(X), size=n, replace=False)]
        out = np.empty(len(triggers.l1))
        for c in range(len(out)):
            out[c] = float(
                strip_entropy(
                    model,
                    triggers.apply(c, picks),
                    X,
                    overlays=self.strip_overlays,
                    random_state=self.random_state,
                ).mean()
            )
        return out

    def _result(
        self,
        source: str,
        triggers: ReversedTriggers,
        strip: npt.NDArray[np.float64],
    ) -> CheckResult:
        success = triggers.success
        reached = np.isfinite(triggers.l1)
        norms = np.where(reached, triggers.l1, float(triggers.masks[0].size))
        index = anomaly_index(norms, self.min_spread)
        strip_index = anomaly_index(strip, self.min_spread)
        cutoff = joint_threshold(self.threshold)
        flagged = (index > cutoff) | (strip_index > cutoff)
        findings: list[Finding] = []
        median_strip = float(np.median(strip))
        for c in np.flatnonzero(flagged):
            findings.append(
                BACKDOOR_TARGET_SUSPECTED.finding(
                    Location(path=source, field=f"class {c}"),
                    f"class {c}: trigger L1 norm {norms[c]:.2f} vs median "
                    f"{float(np.median(norms)):.2f} (anomaly index {index[c]:.2f}); STRIP "
                    f"entropy of stamped inputs {strip[c]:.3f} vs median {median_strip:.3f} "
                    f"(index {strip_index[c]:.2f}); cut-off {cutoff:.2f}; the stamp flips "
                    f"{success[c]:.0%} of clean inputs",
                )
            )
        for c in np.flatnonzero(~reached):
            findings.append(
                TRIGGER_SEARCH_INCOMPLETE.finding(
                    Location(path=source, field=f"class {c}"),
                    f"class {c}: no stamp flipped {self.target_success:.0%} of clean inputs "
                    f"within {self.steps} steps",
                )
            )
        classes = np.arange(len(norms))
        return CheckResult(
            check=self.name,
            findings=tuple(findings),
            scores=ScoreTable(
                keys=classes,
                columns={
                    "trigger_l1": norms,
                    "anomaly_index": index,
                    "score": np.maximum(index, strip_index),
                    "attack_success": success,
                    "strip_entropy": strip,
                    "strip_index": strip_index,
                    "flagged": flagged,
                },
            ),
            metrics={
                "classes": float(len(norms)),
                "flagged_classes": float(flagged.sum()),
                "max_anomaly_index": float(index.max()),
                "max_strip_index": float(strip_index.max()),
                "decision_threshold": cutoff,
                "median_trigger_l1": float(np.median(norms)),
                "optimisation_steps": float(triggers.steps),
            },
            passed=not bool(flagged.any()),
        )


def joint_threshold(threshold: float, looks: int = 2) -> float:
    """The cut-off that gives ``looks`` one-sided normal tests together the false-alarm rate
    of one test at ``threshold`` (Bonferroni): 2.28 for 2 and two looks."""
    if looks < 1:
        raise ValueError("looks must be at least 1")
    # The tail from erfc stays accurate where 1 - cdf would round to 0.
    quantile = 1 - 0.5 * math.erfc(threshold / math.sqrt(2)) / looks
    if quantile >= 1.0:  # beyond float precision: keep the per-test cut-off
        return threshold
    return max(threshold, NormalDist().inv_cdf(quantile))


def anomaly_index(
    norms: npt.NDArray[np.float64], min_spread: float = 0.25
) -> npt.NDArray[np.float64]:
    """``(median(log n) - log n) / max(1.4826 * MAD(log n), min_spread)`` per norm ``n``.

    Positive for unusually small values (trigger norms, STRIP entropies); a backdoor target
    scores above 2.
    """
    logs = np.log(np.maximum(np.asarray(norms, dtype=np.float64), 1e-12))
    median = float(np.median(logs))
    mad = _MAD_TO_SIGMA * float(np.median(np.abs(logs - median)))
    return np.asarray((median - logs) / max(mad, min_spread, 1e-12), dtype=np.float64)

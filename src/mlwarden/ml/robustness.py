"""Adversarial robustness: accuracy under evasion attacks over a grid of budgets.

``RobustnessCheck().run(Dataset(X, y), model)`` measures robust accuracy (the share of
samples still classified correctly after the attack) per attack and per ``epsilon``:

* PyTorch classifiers (``torch.nn.Module`` returning logits, input shaped like ``X``):
  white-box FGSM and PGD (:mod:`mlwarden.ml.gradient_attacks`);
* anything else with ``predict`` (scikit-learn estimators and pipelines): a black-box
  HopSkipJump decision attack (:mod:`mlwarden.ml.decision_attack`), which needs no
  gradients and gives an upper bound on the true robust accuracy.

Epsilons are absolute, in the units of ``X``; adversarial inputs are clipped to
``data_range`` (default: the smallest and largest value of ``X``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.findings import Location, Rule, Severity
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.ml.decision_attack import HopSkipJump, minimal_perturbations
from mlwarden.ml.gradient_attacks import GradientAttack, adversarial_examples, predict_classes

MAX_SAMPLE_VALUES = 3 * 256 * 256
"""Largest number of values in one sample (a 3x256x256 image)."""
MAX_EPSILONS = 64
MAX_PGD_STEPS = 1000
# A robust accuracy this much higher under PGD than under FGSM, or this much higher at a
# larger budget, is not noise on a few hundred samples: the gradients are not informative.
_MASKING_MARGIN = 0.03

GRADIENT_ATTACKS = ("fgsm", "pgd")
BLACK_BOX_ATTACKS = ("hopskipjump",)

ROBUST_ACCURACY_BELOW_FLOOR = Rule(
    id="MLW-ROB-001",
    title="Robust accuracy below the floor",
    severity=Severity.HIGH,
    remediation=(
        "Small input perturbations change this model's predictions: train it adversarially "
        "(PGD training), add input preprocessing or detection, or lower the floor if the "
        "threat model allows."
    ),
    tags=("AML.T0015", "OWASP-ML01"),
    description=(
        "The share of samples still classified correctly under an evasion attack with the "
        "given budget fell below the configured floor."
    ),
)
GRADIENT_MASKING_SUSPECTED = Rule(
    id="MLW-ROB-002",
    title="Robustness figures suggest gradient masking",
    severity=Severity.MEDIUM,
    remediation=(
        "The multi-step attack was weaker than the one-step attack or a larger budget did "
        "better: the measured robustness is likely overstated. Evaluate with a black-box "
        "attack or more PGD steps before trusting it."
    ),
    tags=("AML.T0015",),
)


@dataclass(frozen=True)
class RobustnessCheck:
    """Robust accuracy per attack and epsilon; fails when any falls below ``floor``.

    ``attacks`` are the white-box attacks for PyTorch models; ``black_box`` is the attack
    for models without gradients (``None`` refuses them). ``norm`` is ``"inf"`` or ``"2"``.
    At most ``max_samples`` samples are attacked (a seeded random subset of larger data).
    """

    epsilons: tuple[float, ...] = (0.0, 0.01, 0.03, 0.1)
    attacks: tuple[str, ...] = GRADIENT_ATTACKS
    pgd_steps: int = 10
    pgd_step_size: float | None = None
    """PGD step; default ``2.5 * epsilon / pgd_steps``."""
    random_start: bool = True
    """PGD starts from a uniform random point in the ball (set False to compare with ART)."""
    norm: str = "inf"
    floor: float | None = None
    black_box: str | None = "hopskipjump"
    black_box_queries: int = 5000
    """Query budget per sample of the black-box attack."""
    data_range: tuple[float, float] | None = None
    max_samples: int = 500
    random_state: int = 0

    name = "robustness"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (ROBUST_ACCURACY_BELOW_FLOOR, GRADIENT_MASKING_SUSPECTED)

    def _validate(self) -> None:
        def bad(option: str, problem: str, fix: str) -> UsageError:
            return UsageError(f"RobustnessCheck({option})", problem, fix)

        if self.norm not in ("inf", "2"):
            raise bad("norm", f"unknown norm {self.norm!r}", 'use "inf" or "2"')
        if not self.epsilons or len(self.epsilons) > MAX_EPSILONS:
            raise bad("epsilons", "need 1 to 64 budgets", "give a short grid such as (0, 0.03)")
        if any(not np.isfinite(e) or e < 0 for e in self.epsilons):
            raise bad("epsilons", "budgets must be finite and >= 0", "remove negative values")
        unknown = [a for a in self.attacks if a not in GRADIENT_ATTACKS]
        if unknown:
            raise bad("attacks", f"unknown attack(s) {unknown}", f"use {GRADIENT_ATTACKS}")
        if not 1 <= self.pgd_steps <= MAX_PGD_STEPS:
            raise bad("pgd_steps", f"must be 1..{MAX_PGD_STEPS}", "use about 10 to 100")
        if self.black_box is not None and self.black_box not in BLACK_BOX_ATTACKS:
            raise bad("black_box", f"unknown attack {self.black_box!r}", "use 'hopskipjump'")
        if self.max_samples < 1 or self.black_box_queries < 100:
            raise bad("max_samples", "budgets too small", "use max_samples >= 1, queries >= 100")
        if self.floor is not None and not 0 <= self.floor <= 1:
            raise bad("floor", "must be a fraction in [0, 1]", "for example 0.5")

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Attack ``model`` on ``data`` (labels required) and tabulate robust accuracy.

        Raises :class:`UsageError` for a missing model or labels, oversized samples,
        non-finite data, or a model the configured attacks cannot use.
        """
        self._validate()
        if model is None:
            raise UsageError(data.source, "the robustness check needs a model", "pass model=")
        if data.y is None:
            raise UsageError(data.source, "the robustness check needs labels", "pass y")
        per_sample = int(np.prod(data.X.shape[1:]))
        if per_sample > MAX_SAMPLE_VALUES:
            raise UsageError(
                data.source,
                f"a sample has {per_sample} values, more than the limit {MAX_SAMPLE_VALUES}",
                "downscale the inputs or attack a crop",
            )
        X = np.asarray(data.X, dtype=np.float64)
        if X.size == 0 or not np.isfinite(X).all():
            raise UsageError(data.source, "X is empty or has NaN/inf", "clean the data first")
        rows = self._subset(data.n_samples)
        X, y = X[rows], np.asarray(data.y)[rows]
        bounds = self.data_range or (float(X.min()), float(X.max()))
        if _is_torch_module(model):
            curves = self._white_box(model, X, y, bounds, data.source)
        elif hasattr(model, "predict"):
            curves = self._black_box(model, X, y, bounds, data.source)
        else:
            raise UsageError(
                data.source,
                f"cannot attack a {type(model).__name__}",
                "pass a torch.nn.Module (logits) or an estimator with predict()",
            )
        return self._result(curves, data.source, len(rows))

    def _subset(self, n: int) -> npt.NDArray[np.intp]:
        if n <= self.max_samples:
            return np.arange(n)
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(n, size=self.max_samples, replace=False))

    def _white_box(
        self,
        model: Any,
        X: npt.NDArray[np.float64],
        y: npt.NDArray[Any],
        bounds: tuple[float, float],
        source: str,
    ) -> dict[str, list[float]]:
        if not self.attacks:
            raise UsageError("RobustnessCheck(attacks)", "no attack configured", "add 'pgd'")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise UsageError(
                source,
                "labels of a PyTorch model must be class indices (integers from 0)",
                "encode the labels as the model's output indices",
            )
        norm: Any = self.norm
        curves: dict[str, list[float]] = {}
        for name in self.attacks:
            steps = 0 if name == "fgsm" else self.pgd_steps
            attack = GradientAttack(
                norm=norm,
                steps=steps,
                step_size=self.pgd_step_size,
                random_start=self.random_start,
            )
            accs = []
            for eps in self.epsilons:
                adv = adversarial_examples(
                    model, X, y.astype(np.int64), float(eps), attack, bounds, self.random_state
                )
                accs.append(float(np.mean(predict_classes(model, adv) == y)))
            curves[name] = accs
        return curves

    def _black_box(
        self,
        model: Any,
        X: npt.NDArray[np.float64],
        y: npt.NDArray[Any],
        bounds: tuple[float, float],
        source: str,
    ) -> dict[str, list[float]]:
        if self.black_box is None:
            raise UsageError(
                source,
                f"{type(model).__name__} has no gradients and black_box is None",
                "set black_box='hopskipjump' or pass a PyTorch model",
            )
        shape = X.shape

        def predict(points: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
            return np.asarray(model.predict(points.reshape((-1, *shape[1:]))))

        flat = X.reshape(len(X), -1)
        correct = predict(flat) == y
        norm: Any = self.norm
        attack = HopSkipJump(
            norm=norm, max_queries=self.black_box_queries, random_state=self.random_state
        )
        # Attack away from the true label; misclassified samples count as non-robust anyway.
        distances, _ = minimal_perturbations(predict, flat, y, bounds, attack)
        accs = [float(np.mean(correct & (distances > eps))) for eps in self.epsilons]
        return {self.black_box: accs}

    def _result(self, curves: dict[str, list[float]], source: str, n: int) -> CheckResult:
        keys: list[str] = []
        attack_col: list[str] = []
        eps_col: list[float] = []
        acc_col: list[float] = []
        for name, accs in curves.items():
            for eps, acc in zip(self.epsilons, accs, strict=True):
                keys.append(f"{name}@{eps:g}")
                attack_col.append(name)
                eps_col.append(float(eps))
                acc_col.append(acc)
        accuracy = np.asarray(acc_col)
        findings = []
        if self.floor is not None:
            for key, acc in zip(keys, acc_col, strict=True):
                if acc < self.floor:
                    findings.append(
                        ROBUST_ACCURACY_BELOW_FLOOR.finding(
                            Location(path=source, field=key),
                            f"robust accuracy {acc:.3f} under {key} ({self.norm}-norm) is "
                            f"below the floor {self.floor:.3f} on {n} samples",
                        )
                    )
        findings.extend(self._masking_findings(curves, source))
        metrics: dict[str, float] = {"samples": float(n)}
        metrics["min_robust_accuracy"] = float(accuracy.min())
        for key, acc in zip(keys, acc_col, strict=True):
            metrics[key] = acc
        passed = not any(f.rule_id == ROBUST_ACCURACY_BELOW_FLOOR.id for f in findings)
        return CheckResult(
            check=self.name,
            findings=tuple(findings),
            scores=ScoreTable(
                keys=np.asarray(keys, dtype=object),
                columns={
                    "attack": np.asarray(attack_col, dtype=object),
                    "epsilon": np.asarray(eps_col),
                    "robust_accuracy": accuracy,
                    "score": 1.0 - accuracy,
                },
            ),
            metrics=metrics,
            passed=passed,
        )

    def _masking_findings(self, curves: dict[str, list[float]], source: str) -> list[Any]:
        out = []
        fgsm, pgd = curves.get("fgsm"), curves.get("pgd")
        if fgsm is not None and pgd is not None:
            for eps, a_f, a_p in zip(self.epsilons, fgsm, pgd, strict=True):
                if a_p > a_f + _MASKING_MARGIN:
                    out.append(
                        GRADIENT_MASKING_SUSPECTED.finding(
                            Location(path=source, field=f"pgd@{eps:g}"),
                            f"PGD accuracy {a_p:.3f} exceeds FGSM accuracy {a_f:.3f}",
                        )
                    )
        order = np.argsort(self.epsilons, kind="stable")
        for name, accs in curves.items():
            ordered = [accs[i] for i in order]
            for i in range(1, len(ordered)):
                if ordered[i] > ordered[i - 1] + _MASKING_MARGIN:
                    eps = self.epsilons[order[i]]
                    out.append(
                        GRADIENT_MASKING_SUSPECTED.finding(
                            Location(path=source, field=f"{name}@{eps:g}"),
                            f"accuracy rose to {ordered[i]:.3f} at a larger budget",
                        )
                    )
        return out


def _is_torch_module(model: Any) -> bool:
    # Import torch only when the model could be one: scikit-learn users need not have it.
    if "torch" not in type(model).__module__ and not hasattr(model, "parameters"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)

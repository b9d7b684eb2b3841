"""Schema and class-balance checks: is this data shaped like the data the model expects?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.ml.dataset_bounds import check_size

MISSING_COLUMNS = Rule(
    "MLW-DATA-005",
    "Expected columns missing or unexpected columns present",
    Severity.HIGH,
    "Produce the data with the reference schema, or update the reference if the change "
    "is intended.",
)
WRONG_TYPE = Rule(
    "MLW-DATA-006",
    "Column holds values of the wrong type",
    Severity.HIGH,
    "Fix the upstream parsing or encoding of the column.",
)
OUT_OF_RANGE = Rule(
    "MLW-DATA-007",
    "Values outside the expected range",
    Severity.MEDIUM,
    "Check the rows for unit changes, corrupted values or injected outliers.",
)
NON_FINITE = Rule(
    "MLW-DATA-008",
    "Missing (NaN) or infinite values",
    Severity.MEDIUM,
    "Impute or drop the rows, or fix the producer that wrote them.",
)
CONSTANT_COLUMN = Rule(
    "MLW-DATA-009",
    "Constant column",
    Severity.LOW,
    "Drop the column or check why it lost its variation.",
)
CLASS_BALANCE = Rule(
    "MLW-DATA-010",
    "Class proportions differ from the reference",
    Severity.MEDIUM,
    "Check for dropped or injected samples of the listed classes before training.",
    tags=("AML.T0020",),
)

_SPEC_KEYS = frozenset({"dtype", "min", "max"})
_KINDS = frozenset({"numeric", "text"})


def _column_kind(values: npt.NDArray[Any]) -> str:
    if values.dtype.kind in "biuf":
        return "numeric"
    try:
        values.astype(np.float64)
    except (TypeError, ValueError):
        return "text"
    return "numeric"


def _as_float(values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class SchemaCheck:
    """Columns, value types and ranges against a reference Dataset or an explicit spec.

    Parameters:
        reference: data the model was built on; columns, kinds and min/max are taken from it.
        expected: ``{column: {"dtype": "numeric"|"text", "min": float, "max": float}}``
            (every key optional); used instead of ``reference`` when given.
        range_margin: widening of reference ranges, as a fraction of the reference span.
        max_nonfinite_rate: fraction of NaN/inf values per column tolerated before failing.

    Fails on missing/unexpected columns, wrong types, out-of-range values, or non-finite
    values above the rate. Constant columns are reported but do not fail. Scores: one row per
    column: ``score`` (fraction of bad values), ``nonfinite`` and ``out_of_range`` counts.
    """

    reference: Dataset | None = None
    expected: Mapping[str, Mapping[str, Any]] | None = None
    range_margin: float = 0.0
    max_nonfinite_rate: float = 0.0

    @property
    def name(self) -> str:
        return "schema"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (MISSING_COLUMNS, WRONG_TYPE, OUT_OF_RANGE, NON_FINITE, CONSTANT_COLUMN)

    def _spec(self) -> dict[str, dict[str, Any]]:
        if self.expected is not None:
            spec: dict[str, dict[str, Any]] = {}
            for column, rules in self.expected.items():
                unknown = set(rules) - _SPEC_KEYS
                if unknown or rules.get("dtype", "numeric") not in _KINDS:
                    raise UsageError(
                        f"schema column {column!r}",
                        f"unknown keys {sorted(unknown)} or dtype {rules.get('dtype')!r}",
                        "use keys dtype (numeric|text), min, max",
                    )
                spec[str(column)] = dict(rules)
            return spec
        if self.reference is None:
            raise UsageError("schema check", "neither reference nor expected was given", "pass one")
        check_size(self.reference, self.name)
        ref = self.reference.flat()
        spec = {}
        for j, column in enumerate(self.reference.names):
            kind = _column_kind(ref[:, j])
            entry: dict[str, Any] = {"dtype": kind}
            if kind == "numeric":
                values = _as_float(ref[:, j])
                finite = values[np.isfinite(values)]
                if len(finite):
                    span = float(finite.max() - finite.min())
                    entry["min"] = float(finite.min()) - self.range_margin * span
                    entry["max"] = float(finite.max()) + self.range_margin * span
            spec[column] = entry
        return spec

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Compare ``data`` with the expected schema."""
        check_size(data, self.name)
        spec = self._spec()
        X = data.flat()
        names = data.names
        n = max(data.n_samples, 1)
        findings: list[Finding] = []
        failed = False
        missing = [c for c in spec if c not in names]
        extra = [c for c in names if c not in spec]
        if missing or extra:
            failed = True
            findings.append(
                MISSING_COLUMNS.finding(
                    Location(path=data.source),
                    f"missing: {missing[:20] or 'none'}; unexpected: {extra[:20] or 'none'}",
                )
            )
        bad_rate = np.zeros(len(names))
        nonfinite_counts = np.zeros(len(names))
        range_counts = np.zeros(len(names))
        for j, column in enumerate(names):
            where = Location(path=data.source, field=column)
            entry = spec.get(column, {})
            kind = _column_kind(X[:, j])
            if entry.get("dtype", kind) != kind:
                failed = True
                bad_rate[j] = 1.0
                findings.append(
                    WRONG_TYPE.finding(where, f"expected {entry['dtype']} values, found {kind}")
                )
                continue
            if kind != "numeric":
                continue
            values = _as_float(X[:, j])
            finite = np.isfinite(values)
            nonfinite = int((~finite).sum())
            nonfinite_counts[j] = nonfinite
            if nonfinite:
                over = nonfinite / n > self.max_nonfinite_rate
                failed |= over
                findings.append(
                    NON_FINITE.finding(
                        where,
                        f"{int(np.isnan(values).sum())} NaN and "
                        f"{int(np.isinf(values).sum())} infinite values of {data.n_samples}",
                        severity=None if over else Severity.LOW,
                    )
                )
            low, high = entry.get("min", -np.inf), entry.get("max", np.inf)
            outside = finite & ((values < low) | (values > high))
            range_counts[j] = outside.sum()
            if outside.any():
                failed = True
                findings.append(
                    OUT_OF_RANGE.finding(
                        where,
                        f"{int(outside.sum())} values outside [{low:g}, {high:g}] "
                        f"(seen {values[finite].min():g} to {values[finite].max():g})",
                    )
                )
            if finite.sum() > 1 and np.ptp(values[finite]) == 0:
                findings.append(
                    CONSTANT_COLUMN.finding(where, f"every value is {values[finite][0]:g}")
                )
            bad_rate[j] = (nonfinite + outside.sum()) / n
        table = ScoreTable(
            keys=np.asarray(names),
            columns={
                "score": bad_rate,
                "nonfinite": nonfinite_counts,
                "out_of_range": range_counts,
            },
        )
        metrics = {
            "missing_columns": float(len(missing)),
            "unexpected_columns": float(len(extra)),
            "nonfinite_values": float(nonfinite_counts.sum()),
            "out_of_range_values": float(range_counts.sum()),
        }
        return CheckResult(self.name, tuple(findings), table, metrics, not failed)


@dataclass(frozen=True)
class ClassBalanceCheck:
    """Class proportions against a reference: a chi-squared goodness-of-fit test.

    Parameters:
        reference: a labelled Dataset, or ``{label: proportion}`` (proportions are normalised).
        alpha: significance level of the test.
        min_shift: smallest absolute change of a class proportion worth failing on, so that
            huge datasets do not fail on statistically significant but harmless changes.

    Labels absent from the reference always fail. Scores: one row per label: ``score``
    (absolute proportion change), ``observed`` and ``expected`` proportions.
    """

    reference: Dataset | Mapping[Any, float]
    alpha: float = 0.01
    min_shift: float = 0.02

    @property
    def name(self) -> str:
        return "class-balance"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (CLASS_BALANCE,)

    def _expected(self) -> dict[Any, float]:
        if isinstance(self.reference, Dataset):
            if self.reference.y is None:
                raise UsageError(self.reference.source, "the reference has no labels", "pass y")
            labels, counts = np.unique(self.reference.y, return_counts=True)
            weights = {
                k.item() if hasattr(k, "item") else k: float(c)
                for k, c in zip(labels, counts, strict=True)
            }
        else:
            weights = {k: float(v) for k, v in self.reference.items()}
        total = sum(weights.values())
        if not weights or total <= 0 or min(weights.values()) < 0:
            raise UsageError(
                "class-balance reference",
                "proportions are empty or negative",
                "pass positive proportions",
            )
        return {k: v / total for k, v in weights.items()}

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Test whether ``data.y`` follows the reference proportions."""
        from scipy.stats import chisquare

        if data.y is None:
            raise UsageError(data.source, "the class-balance check needs labels", "pass y")
        check_size(data, self.name)
        expected = self._expected()
        labels, counts = np.unique(data.y, return_counts=True)
        observed = {
            k.item() if hasattr(k, "item") else k: int(c)
            for k, c in zip(labels, counts, strict=True)
        }
        keys = sorted(set(expected) | set(observed), key=str)
        n = sum(observed.values())
        obs = np.array([observed.get(k, 0) for k in keys], dtype=np.float64)
        exp = np.array([expected.get(k, 0.0) for k in keys])
        new = [k for k, e in zip(keys, exp, strict=True) if e == 0]
        shift = np.abs(obs / n - exp)
        known = exp > 0
        p_value = float(
            chisquare(obs[known], exp[known] / exp[known].sum() * obs[known].sum()).pvalue
        )
        failed = bool(new) or (p_value < self.alpha and float(shift.max()) >= self.min_shift)
        findings: tuple[Finding, ...] = ()
        if failed:
            worst = np.argsort(-shift, kind="stable")[:5]
            detail = ", ".join(f"{keys[i]}: {exp[i]:.1%} -> {obs[i] / n:.1%}" for i in worst)
            findings = (
                CLASS_BALANCE.finding(
                    Location(path=data.source, field="label"),
                    f"chi-squared p={p_value:.2g}; labels not in the reference: {new or 'none'}; "
                    f"largest changes {detail}",
                ),
            )
        table = ScoreTable(
            keys=np.asarray([str(k) for k in keys]),
            columns={"score": shift, "observed": obs / n, "expected": exp},
        )
        metrics = {
            "p_value": p_value,
            "max_shift": float(shift.max()),
            "new_labels": float(len(new)),
        }
        return CheckResult(self.name, findings, table, metrics, not failed)

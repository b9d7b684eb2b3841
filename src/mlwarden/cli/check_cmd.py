"""The body of ``mlwarden check data``: read a table, run the data checks, render a report.

Exit codes match ``mlwarden scan``: 0 every check passed and nothing is at or above
``--fail-on``, 1 a check crossed its threshold or a finding is at or above ``--fail-on``,
2 usage or input error.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlwarden.errors import UsageError

if TYPE_CHECKING:
    from mlwarden.findings import Report
    from mlwarden.ml.base import Check, CheckResult, Dataset


def data_checks(
    data: Dataset, *, test: Dataset | None, max_error_rate: float, random_state: int
) -> list[Check]:
    """The checks that apply to ``data`` (label checks only when it has labels)."""
    from mlwarden.ml.data_integrity import (
        DuplicateConflictCheck,
        TargetLeakageCheck,
        TrainTestLeakageCheck,
    )
    from mlwarden.ml.data_schema import ClassBalanceCheck, SchemaCheck
    from mlwarden.ml.label_errors import LabelErrorCheck

    checks: list[Check] = []
    if data.y is not None:
        checks.append(LabelErrorCheck(max_error_rate=max_error_rate, random_state=random_state))
        checks.append(DuplicateConflictCheck())
        checks.append(TargetLeakageCheck(random_state=random_state))
    if test is not None:
        checks.append(TrainTestLeakageCheck(test=test))
        checks.append(SchemaCheck(reference=data))
        if data.y is not None and test.y is not None:
            checks.append(ClassBalanceCheck(reference=data))
    return checks


def results_report(
    path: str,
    results: list[CheckResult],
    *,
    fail_on: str,
    started: float,
    started_at: str,
) -> Report:
    """The check results as a scan report, so every renderer (table, JSON, SARIF) works."""
    from mlwarden import __version__
    from mlwarden.findings import FileResult, Report, ScanStatus, Severity

    findings = tuple(f for r in results for f in r.findings)
    size = Path(path).stat().st_size if Path(path).is_file() else 0
    file = FileResult(
        path=path,
        format="dataset",
        status=ScanStatus.SCANNED,
        size=size,
        sha256=None,
        findings=findings,
        duration_s=time.monotonic() - started,
    )
    return Report(
        files=(file,),
        started_at=started_at,
        duration_s=time.monotonic() - started,
        tool_version=__version__,
        fail_on=Severity.parse(fail_on),
    )


def check_data_command(
    path: str,
    *,
    label: str | None,
    features: list[str] | None = None,
    test: str | None = None,
    id_column: str | None = None,
    max_error_rate: float = 0.05,
    random_state: int = 0,
    fail_on: str = "high",
    format: str = "table",
    output: Path | None = None,
    plot: Path | None = None,
) -> int:
    """Run the data checks on ``path``; print or write the report; return the exit code.
    ``plot`` writes an HTML page of each check's per-sample score histogram."""
    from mlwarden.cli.scan_run import write_output
    from mlwarden.formats import FORMATS, get_renderer
    from mlwarden.ml.tables import read_table

    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    try:
        if format not in FORMATS:
            raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
        check_severity(fail_on)
        data = read_table(path, label=label, features=features, id_column=id_column)
        test_data = (
            None
            if test is None
            else read_table(test, label=label, features=features, id_column=id_column)
        )
        checks = data_checks(
            data, test=test_data, max_error_rate=max_error_rate, random_state=random_state
        )
        if not checks:
            raise UsageError(
                path, "no check applies", "pass --label COLUMN (and --test FILE for leakage)"
            )
        results = [check.run(data) for check in checks]
        report = results_report(
            path, results, fail_on=fail_on, started=started, started_at=started_at
        )
        write_output(get_renderer(format)(report), output)
        if plot is not None:
            write_output(score_histograms(path, results), plot)
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        return 2
    print_summary(results)
    failed = [r.check for r in results if not r.passed]
    return 1 if failed or report.failed else 0


def score_histograms(source: str, results: list[Any]) -> str:
    """An HTML page with one histogram per check that scores samples (higher = more
    suspicious): where the flagged tail sits against the bulk is easier seen than read."""
    from mlwarden.monitor.plots import histogram_svg, html_page

    charts = [
        histogram_svg(r.scores.columns["score"], title=f"{r.check}: per-sample score")
        for r in results
        if "score" in r.scores.columns and len(r.scores.keys)
    ]
    return html_page(f"mlwarden check data {Path(source).name}", charts)


def check_severity(fail_on: str) -> None:
    """Refuse an unknown ``--fail-on`` value before any work is done."""
    from mlwarden.findings import Severity

    try:
        Severity.parse(fail_on)
    except ValueError as exc:
        raise UsageError("--fail-on", str(exc), "e.g. --fail-on high") from None


def print_summary(results: list[Any]) -> None:
    """One line per check on standard error: verdict, name, its first metrics."""
    for r in results:
        verdict = "pass" if r.passed else "FAIL"
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(r.metrics.items())[:4])
        print(f"{verdict:<5} {r.check:<24} {metrics}", file=sys.stderr)


def load_model_safely(model_path: str) -> Any:
    """Scan ``model_path`` and load it with ``safe_load``; a UsageError when the scan blocks
    it or it is not a model with ``predict()``."""
    from mlwarden.errors import UnsafeModelError
    from mlwarden.loading import safe_load

    try:
        model = safe_load(model_path)
    except UnsafeModelError as exc:
        raise UsageError(
            model_path, f"refused to load it: {exc}", "inspect it with `mlwarden scan`"
        ) from None
    if not callable(getattr(model, "predict", None)):
        raise UsageError(
            model_path,
            f"loads as a {type(model).__name__}, not a model with predict()",
            "pass a scikit-learn estimator or pipeline (PyTorch modules: Python API)",
        )
    return model


def check_model_command(
    model_path: str,
    *,
    data: str,
    label: str,
    features: list[str] | None = None,
    floor: float | None = None,
    max_samples: int = 200,
    random_state: int = 0,
    fail_on: str = "high",
    format: str = "table",
    output: Path | None = None,
) -> int:
    """Scan and safely load ``model_path``, then check it against labelled ``data``:
    held-out accuracy, robustness to a black-box decision attack, and label errors in
    ``data`` judged with the model's own pipeline. Returns the exit code."""
    from mlwarden.cli.scan_run import write_output
    from mlwarden.formats import FORMATS, get_renderer
    from mlwarden.ml.robustness import RobustnessCheck
    from mlwarden.ml.tables import read_table

    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    try:
        if format not in FORMATS:
            raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
        check_severity(fail_on)
        model = load_model_safely(model_path)
        dataset = read_table(data, label=label, features=features)
        check = RobustnessCheck(
            attacks=(),
            black_box="hopskipjump",
            floor=floor,
            max_samples=max_samples,
            random_state=random_state,
        )
        results = [check.run(dataset, model)]
        report = results_report(
            data, results, fail_on=fail_on, started=started, started_at=started_at
        )
        write_output(get_renderer(format)(report), output)
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        return 2
    print_summary(results)
    return 1 if any(not r.passed for r in results) or report.failed else 0

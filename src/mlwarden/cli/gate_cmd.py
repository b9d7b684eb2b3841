"""``mlwarden check gate MODEL --data FILE --label COL``: may this model version ship?

The gate measures the model on held-out data and compares it with a floor, a calibration
ceiling and the previous version (``--baseline`` metrics file or ``--baseline-model``).
``--write-metrics`` records this version's numbers for the next gate, but only when the
gate passes: a rejected model must not become the bar its successors are held to.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from mlwarden.errors import UsageError

_NOTHING_FIX = (
    "pass --baseline METRICS.json or --baseline-model MODEL (or --min-accuracy / --max-ece); "
    "add --write-metrics PATH to record this version for the next gate"
)


def gate_command(
    model_path: str,
    *,
    data: str,
    label: str,
    features: list[str] | None = None,
    baseline: str | None = None,
    baseline_model: str | None = None,
    min_accuracy: float | None = None,
    max_ece: float | None = None,
    max_accuracy_drop: float = 0.02,
    max_recall_drop: float = 0.05,
    max_ece_rise: float = 0.05,
    write_metrics: Path | None = None,
    fail_on: str = "high",
    format: str = "table",
    output: Path | None = None,
) -> int:
    """Run the validation gate; print or write the report; return the exit code
    (0 pass, 1 the gate failed, 2 usage or input error)."""
    from mlwarden.cli.check_cmd import (
        check_severity,
        load_model_safely,
        print_summary,
        results_report,
    )
    from mlwarden.cli.scan_run import write_output
    from mlwarden.formats import FORMATS, get_renderer
    from mlwarden.ml import gate_metrics
    from mlwarden.ml.provenance import dataset_file
    from mlwarden.ml.tables import read_table
    from mlwarden.ml.validation_gate import ValidationGateCheck

    started, at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    try:
        if format not in FORMATS:
            raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
        check_severity(fail_on)
        if baseline is not None and baseline_model is not None:
            raise UsageError("--baseline-model", "cannot be combined with --baseline", "give one")
        if (baseline, baseline_model, min_accuracy, max_ece, write_metrics) == (None,) * 5:
            raise UsageError(
                "mlwarden check gate", "there is nothing to gate against", _NOTHING_FIX
            )
        if write_metrics is not None and not write_metrics.parent.is_dir():
            raise UsageError(str(write_metrics), "its folder does not exist", "create it first")
        # Read the small baseline file first: a broken one fails fast, before any model loads.
        previous = None if baseline is None else gate_metrics.read_metrics(baseline)
        model = load_model_safely(model_path)
        dataset = read_table(data, label=label, features=features)
        check = ValidationGateCheck(
            min_accuracy=min_accuracy,
            max_ece=max_ece,
            max_accuracy_drop=max_accuracy_drop,
            max_recall_drop=max_recall_drop,
            max_ece_rise=max_ece_rise,
            data_sha256=dataset_file(data).sha256,
            baseline=previous,
        )
        check.validate()
        current = replace(
            gate_metrics.compute_metrics(model, dataset, described_as=model_path),
            data_sha256=check.data_sha256,
        )
        if baseline_model is not None:
            previous = gate_metrics.compute_metrics(
                load_model_safely(baseline_model), dataset, described_as=baseline_model
            )
        result = check.judge(current, previous, dataset.source)
        report = results_report(data, [result], fail_on=fail_on, started=started, started_at=at)
        write_output(get_renderer(format)(report), output)
        code = 1 if not result.passed or report.failed else 0
        if write_metrics is not None and code == 0:
            gate_metrics.write_metrics(write_metrics, current)
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        return 2
    print_summary([result])
    if write_metrics is not None:
        if code == 0:
            print(f"metrics written to {write_metrics}", file=sys.stderr)
        else:
            print(f"metrics NOT written to {write_metrics}: the gate failed", file=sys.stderr)
    return code


def gate(
    model: Annotated[str, typer.Argument(help="Model file (scanned, then safely loaded).")],
    data: Annotated[str, typer.Option(help="Labelled held-out table.")],
    label: Annotated[str, typer.Option(help="Label column.")],
    features: Annotated[
        list[str] | None, typer.Option("--feature", help="Feature column (repeatable).")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Previous version's metrics file (from --write-metrics).")
    ] = None,
    baseline_model: Annotated[
        str | None, typer.Option(help="Previous model file, measured on the same data.")
    ] = None,
    min_accuracy: Annotated[
        float | None, typer.Option(help="Fail when accuracy is below this.")
    ] = None,
    max_ece: Annotated[
        float | None, typer.Option(help="Fail when expected calibration error is above this.")
    ] = None,
    max_accuracy_drop: Annotated[
        float, typer.Option(help="Largest allowed drop of (balanced) accuracy vs the baseline.")
    ] = 0.02,
    max_recall_drop: Annotated[
        float, typer.Option(help="Largest allowed drop of any class's recall vs the baseline.")
    ] = 0.05,
    max_ece_rise: Annotated[
        float, typer.Option(help="Largest allowed rise of calibration error vs the baseline.")
    ] = 0.05,
    write_metrics: Annotated[
        Path | None, typer.Option(help="Write this version's metrics here when the gate passes.")
    ] = None,
    fail_on: Annotated[str, typer.Option(help="Exit 1 at or above this severity.")] = "high",
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Report file.")] = None,
) -> None:
    """Gate a model version on held-out data: accuracy floor, calibration ceiling and
    regression against the previous version. Exit 1 when the gate fails."""
    raise typer.Exit(
        gate_command(
            model,
            data=data,
            label=label,
            features=features,
            baseline=baseline,
            baseline_model=baseline_model,
            min_accuracy=min_accuracy,
            max_ece=max_ece,
            max_accuracy_drop=max_accuracy_drop,
            max_recall_drop=max_recall_drop,
            max_ece_rise=max_ece_rise,
            write_metrics=write_metrics,
            fail_on=fail_on,
            format=format,
            output=output,
        )
    )

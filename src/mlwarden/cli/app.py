"""``mlwarden`` command line. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 usage or input error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mlwarden import __version__

app = typer.Typer(
    name="mlwarden",
    help="Security control plane for ML pipelines: scans models, data, code, notebooks and "
    "configs without loading them; keeps artifacts in an encrypted, audited vault.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"mlwarden {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """mlwarden: catch malicious models, data and configuration before they load."""


@app.command()
def scan(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders to scan; '-' reads standard input.")
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a finding is at or above: critical|high|medium|low|info."),
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="Configuration file (default: ./mlwarden.toml if present).")
    ] = None,
    allow_global: Annotated[
        list[str] | None,
        typer.Option(help="Treat this pickle callable (module.name or module.*) as safe."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds allowed per file (default 300).")
    ] = None,
    digest: Annotated[bool, typer.Option(help="Record each file's SHA-256 in the report.")] = False,
    progress: Annotated[
        bool, typer.Option(help="Show a progress bar on long folder scans (on a terminal).")
    ] = True,
    baseline: Annotated[
        str | None, typer.Option(help="Drop the secrets this baseline file accepts.")
    ] = None,
    write_baseline: Annotated[
        str | None,
        typer.Option(help="Accept every secret found now: write their fingerprints to FILE."),
    ] = None,
) -> None:
    """Scan models, datasets, code, notebooks and ML configs; never loads or runs them.

    Exit codes: 0 nothing at or above --fail-on (default high), 1 findings at or above
    it, 2 usage or input error.
    """
    from mlwarden.cli.scan_run import run_scan

    code = run_scan(
        paths,
        format=format,
        output=output,
        fail_on=fail_on,
        config=config,
        allow_global=allow_global,
        timeout=timeout,
        digest=digest,
        progress=progress,
        baseline=baseline,
        write_baseline=write_baseline,
    )
    raise typer.Exit(code)


@app.command()
def rules(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """List every rule mlwarden can report, with its default severity."""
    import json

    from mlwarden.scanners.registry import all_rules

    catalog = all_rules()
    if format == "json":
        data = [
            {
                "id": r.id,
                "severity": r.severity.label,
                "title": r.title,
                "remediation": r.remediation,
                "tags": list(r.tags),
            }
            for r in catalog
        ]
        print(json.dumps(data, indent=2))
        return
    if format != "table":
        print(
            f"mlwarden: error: --format: unknown format {format!r}. use table or json",
            file=sys.stderr,
        )
        raise typer.Exit(2)
    for r in catalog:
        print(f"{r.id:<14} {r.severity.label:<9} {r.title}")


@app.command()
def mask(
    input: Annotated[str, typer.Argument(help="CSV, TSV, JSON lines, Parquet or text file.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Masked copy to write.")],
    policy: Annotated[
        str | None, typer.Option(help="YAML masking policy (default: mask every detection).")
    ] = None,
    key_file: Annotated[
        str | None,
        typer.Option(
            help="Pseudonymisation key file (default: $MLWARDEN_MASK_KEY, else the workspace "
            "keyring)."
        ),
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Input format when the name does not say.")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="Policy section to apply.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Write a masked copy of a data file: redact, pseudonymise (keyed, join-preserving),
    generalise or drop regulated data. The input is never modified."""
    from mlwarden.cli.mask_cmd import mask_command

    raise typer.Exit(mask_command(input, output, policy, key_file, format, dataset, force))


@app.command()
def probe(
    url: Annotated[str, typer.Argument(help="http(s) URL of a running ML service.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 5.0,
) -> None:
    """Check a running endpoint for unauthenticated ML services (MLflow, Jupyter, Ray,
    TorchServe, Triton, Dask, KServe) with a few read-only GET requests."""
    from mlwarden.cli.probe_cmd import probe_command

    raise typer.Exit(probe_command(url, format, timeout))


check_app = typer.Typer(help="Data and model integrity checks.", no_args_is_help=True)
app.add_typer(check_app, name="check")


@check_app.command("data")
def check_data(
    path: Annotated[str, typer.Argument(help="Training table: CSV, TSV, JSON lines or Parquet.")],
    label: Annotated[str | None, typer.Option(help="Label column.")] = None,
    features: Annotated[
        list[str] | None, typer.Option("--feature", help="Feature column (repeatable).")
    ] = None,
    test: Annotated[
        str | None, typer.Option(help="Test table: overlap, schema and class balance.")
    ] = None,
    id_column: Annotated[str | None, typer.Option(help="Row id column.")] = None,
    max_error_rate: Annotated[
        float, typer.Option(help="Fail when suspected label errors exceed this share.")
    ] = 0.05,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    fail_on: Annotated[str, typer.Option(help="Exit 1 at or above this severity.")] = "high",
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Report file.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write an HTML page of per-sample score histograms.")
    ] = None,
) -> None:
    """Check training data: label errors, conflicting duplicates, target leakage and, with
    --test, train/test overlap, schema and class-balance shift. Exit 1 when a check fails."""
    from mlwarden.cli.check_cmd import check_data_command

    raise typer.Exit(
        check_data_command(
            path,
            label=label,
            features=features,
            test=test,
            id_column=id_column,
            max_error_rate=max_error_rate,
            random_state=seed,
            fail_on=fail_on,
            format=format,
            output=output,
            plot=plot,
        )
    )


@check_app.command("model")
def check_model(
    model: Annotated[str, typer.Argument(help="Model file (scanned, then safely loaded).")],
    data: Annotated[str, typer.Option(help="Labelled held-out table.")],
    label: Annotated[str, typer.Option(help="Label column.")],
    features: Annotated[
        list[str] | None, typer.Option("--feature", help="Feature column (repeatable).")
    ] = None,
    floor: Annotated[
        float | None, typer.Option(help="Fail when robust accuracy falls below this.")
    ] = None,
    max_samples: Annotated[int, typer.Option(help="Samples attacked.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    fail_on: Annotated[str, typer.Option(help="Exit 1 at or above this severity.")] = "high",
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Report file.")] = None,
) -> None:
    """Check a model on labelled data: clean accuracy and robust accuracy under a black-box
    decision attack (HopSkipJump). The model is scanned first and never unpickled unsafely."""
    from mlwarden.cli.check_cmd import check_model_command

    raise typer.Exit(
        check_model_command(
            model,
            data=data,
            label=label,
            features=features,
            floor=floor,
            max_samples=max_samples,
            random_state=seed,
            fail_on=fail_on,
            format=format,
            output=output,
        )
    )


def _register_checks() -> None:
    # Provenance and the validation gate keep their typer signatures next to their bodies.
    from mlwarden.cli import gate_cmd, provenance_cmd

    check_app.command("provenance")(provenance_cmd.provenance)
    check_app.command("gate")(gate_cmd.gate)


_register_checks()


@app.command()
def monitor(
    reference: Annotated[
        str, typer.Argument(help="Reference data (CSV/Parquet) or a saved profile (.json).")
    ],
    current: Annotated[str, typer.Argument(help="Live or recent data (CSV/Parquet).")],
    label: Annotated[str | None, typer.Option(help="Label column to leave out.")] = None,
    window: Annotated[int, typer.Option(help="Rows per window.")] = 500,
    sink: Annotated[
        list[str] | None,
        typer.Option(help="Alert sink: log, webhook:URL, slack:URL, smtp://host:port?from=&to="),
    ] = None,
    alpha: Annotated[float, typer.Option(help="False-alarm rate per window.")] = 0.05,
    correction: Annotated[str, typer.Option(help="holm, bonferroni or bh.")] = "holm",
    plot: Annotated[str | None, typer.Option(help="Write an HTML page of drift charts.")] = None,
    save_profile: Annotated[
        str | None, typer.Option(help="Save the reference profile (JSON) for later runs.")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
) -> None:
    """Compare recent data with a reference, window by window: per-feature drift (KS,
    chi-squared, PSI), multivariate drift (MMD, classifier test), with a calibrated
    false-alarm rate; alerts to log, webhook, Slack or SMTP. Exit 1 on drift."""
    from mlwarden.cli.monitor_cmd import monitor_command

    raise typer.Exit(
        monitor_command(
            reference,
            current,
            label=label,
            format=format,
            window=window,
            sinks=sink,
            alpha=alpha,
            correction=correction,
            plot=plot,
            save_profile=save_profile,
        )
    )


def _register_subcommands() -> None:
    from mlwarden.cli import users_cmd, vault_cmds

    vault_cmds.register(app)
    users_cmd.register(app)


_register_subcommands()

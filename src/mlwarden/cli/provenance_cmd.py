"""``mlwarden check provenance FILE...``: are these dataset files registered and approved?

The digests are looked up in the workspace's catalog database only. Unlike the vault
commands this needs no keyring credential: a read-only lookup should not require the key
that decrypts every stored artifact (a CI job can run it with catalog access alone).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlwarden.errors import UsageError

if TYPE_CHECKING:
    from mlwarden.findings import Report
    from mlwarden.ml.base import CheckResult
    from mlwarden.ml.provenance import DatasetFile, DigestCatalog

_NO_WORKSPACE_FIX = (
    "run `mlwarden init` (or pass --home / set MLWARDEN_HOME to an existing workspace), "
    "or pass --no-catalog to check only sources"
)


@contextmanager
def workspace_catalog(home: Path | None) -> Iterator[DigestCatalog]:
    """The catalog of the workspace at ``home`` (default ``$MLWARDEN_HOME``); a UsageError
    when there is no workspace."""
    from mlwarden.store.catalog import Catalog, open_database
    from mlwarden.store.workspace_vault import database_url
    from mlwarden.workspace import CONFIG_NAME, default_home, load_config

    root = home or default_home()
    if not (root / CONFIG_NAME).is_file():
        raise UsageError(
            str(root),
            "is not an mlwarden workspace, so dataset digests cannot be looked up",
            _NO_WORKSPACE_FIX,
        )
    engine = open_database(database_url(load_config(root)))
    try:
        yield Catalog(engine)
    finally:
        engine.dispose()


def provenance_report(
    files: list[DatasetFile], result: CheckResult, *, fail_on: str, started: float, at: str
) -> Report:
    """One report entry per dataset file, with its digest, so every renderer works."""
    from mlwarden import __version__
    from mlwarden.findings import FileResult, Report, ScanStatus, Severity

    entries = tuple(
        FileResult(
            path=f.path,
            format="dataset",
            status=ScanStatus.SCANNED,
            size=Path(f.path).stat().st_size,
            sha256=f.sha256,
            findings=tuple(x for x in result.findings if x.location.path == f.path),
            duration_s=0.0,
        )
        for f in files
    )
    return Report(
        files=entries,
        started_at=at,
        duration_s=time.monotonic() - started,
        tool_version=__version__,
        fail_on=Severity.parse(fail_on),
    )


def provenance_command(
    paths: list[str],
    *,
    source: str | None = None,
    home: Path | None = None,
    no_catalog: bool = False,
    config: str | None = None,
    fail_on: str = "high",
    format: str = "table",
    output: Path | None = None,
) -> int:
    """Check the dataset files' registration and sources; print or write the report;
    return the exit code (0 pass, 1 findings, 2 usage error)."""
    from mlwarden.cli.check_cmd import check_severity, print_summary
    from mlwarden.cli.scan_run import write_output
    from mlwarden.formats import FORMATS, get_renderer
    from mlwarden.ml.approved_sources import load_source_policy
    from mlwarden.ml.provenance import ProvenanceCheck, dataset_file, manifest

    started, at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    try:
        if format not in FORMATS:
            raise UsageError("--format", f"unknown format {format!r}", f"use {', '.join(FORMATS)}")
        check_severity(fail_on)
        policy = load_source_policy(config)
        if no_catalog and not policy.active:
            raise UsageError(
                "--no-catalog",
                "leaves nothing to check: no approved sources are configured",
                'add [check.provenance] approved_sources = ["s3://bucket/prefix/"] to '
                "mlwarden.toml (or --config FILE)",
            )
        if source is not None and not source.strip():
            raise UsageError("--source", "is empty", "give the URL or host the data came from")
        # A file named twice is checked once (and reported once).
        files = [dataset_file(p, source=source) for p in dict.fromkeys(paths)]
        data = manifest(files)
        if no_catalog:
            result = ProvenanceCheck(policy=policy).run(data)
        else:
            with workspace_catalog(home) as catalog:
                result = ProvenanceCheck(policy=policy, catalog=catalog).run(data)
        report = provenance_report(files, result, fail_on=fail_on, started=started, at=at)
        write_output(get_renderer(format)(report), output)
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        return 2
    print_summary([result])
    return 1 if not result.passed or report.failed else 0


def provenance(
    paths: Annotated[list[str], typer.Argument(help="Dataset files to check.")],
    source: Annotated[
        str | None,
        typer.Option(help="URL or host the files came from (judged against approved sources)."),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Workspace folder (default: $MLWARDEN_HOME or ~/.mlwarden)."),
    ] = None,
    no_catalog: Annotated[
        bool, typer.Option("--no-catalog", help="Check only sources; no workspace needed.")
    ] = False,
    config: Annotated[
        str | None,
        typer.Option(help="Configuration file with [check.provenance] (default: ./mlwarden.toml)."),
    ] = None,
    fail_on: Annotated[str, typer.Option(help="Exit 1 at or above this severity.")] = "high",
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: table, json or sarif.")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Report file.")] = None,
) -> None:
    """Check dataset provenance: each file's SHA-256 must be registered in the vault's
    catalog (not deleted or shredded) and its source (--source, or the catalog's `source`
    label) under an approved source. Exit 1 on any finding."""
    raise typer.Exit(
        provenance_command(
            paths,
            source=source,
            home=home,
            no_catalog=no_catalog,
            config=config,
            fail_on=fail_on,
            format=format,
            output=output,
        )
    )

"""Admission of an upload: stage the bytes privately, scan them, store them encrypted.

The scan runs on the exact bytes that are stored (a private file in the server's work
folder, removed afterwards), never loads them, and decides quarantine: a finding at or
above the configured severity, or a scan that could not finish, quarantines the version.
Quarantined versions are kept (for forensics) but can never be promoted or served.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mlwarden.engine import Target, scan_file
from mlwarden.errors import UsageError
from mlwarden.findings import FileResult, ScanStatus
from mlwarden.formats.json_report import finding_dict
from mlwarden.registry.records import ScanRecord
from mlwarden.server.context import ServerContext
from mlwarden.store.catalog.records import ArtifactRecord

COPY_CHUNK = 1 << 20
RESERVED_LABELS = frozenset({"project", "layout", "quarantined"})


class NameInOtherProject(UsageError):
    """The artifact name is taken by another project (HTTP 409)."""


@dataclass(frozen=True)
class Admitted:
    record: ArtifactRecord
    scan: ScanRecord


def stage_upload(ctx: ServerContext, source: BinaryIO, limit: int) -> Path:
    """Copy an upload into a private file in the work folder; refuse more than ``limit``."""
    path = ctx.work_dir / f"upload-{secrets.token_hex(16)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UsageError(
                        "upload", f"is larger than {limit} bytes", "split or shrink it"
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _verdict(ctx: ServerContext, result: FileResult) -> tuple[str, bool]:
    if result.status == ScanStatus.ERROR:
        return "error", True
    highest = result.highest
    if highest is None:
        return "clean", False
    return "findings", highest >= ctx.settings.quarantine_at


def admit(
    ctx: ServerContext,
    staged: Path,
    *,
    actor: str,
    project: str,
    name: str,
    kind: str,
    labels: Mapping[str, str],
    card: Mapping[str, object] | None,
) -> Admitted:
    """Scan ``staged``, store it as the next version of ``name`` and record the verdict."""
    bad = RESERVED_LABELS & set(labels)
    if bad:
        raise UsageError("labels", f"{', '.join(sorted(bad))} is set by the server", "drop it")
    for record in ctx.vault.catalog.list_artifacts(name=name, include_deleted=True, limit=1):
        if record.labels.get("project") != project:
            raise NameInOtherProject(
                name,
                "already belongs to another project",
                "choose another name (artifact names are unique across projects)",
            )
    result = scan_file(Target(name, staged), ctx.scan_settings, digest=True)
    status, quarantined = _verdict(ctx, result)
    all_labels = {**labels, "project": project}
    if quarantined:
        all_labels["quarantined"] = "true"
    vault = ctx.vault.acting_as(actor)
    with staged.open("rb") as fh:
        record = vault.put_stream(
            fh,
            name,
            kind=kind,
            labels=all_labels,
            total=staged.stat().st_size,
            origin=f"upload by {actor}",
        )
    scan = ctx.registry.record_scan(
        record.id,
        status=status,
        max_severity=result.highest.label if result.highest else None,
        findings_json=json.dumps([finding_dict(f) for f in result.findings][:1000]),
        quarantined=quarantined,
    )
    if card is not None:
        ctx.registry.set_card(
            record.id,
            framework=str(card["framework"]),
            input_schema=json.dumps(card["input_schema"]),
            architecture=json.dumps(card["architecture"]) if card.get("architecture") else None,
            reference_profile=str(card["reference_profile"])
            if card.get("reference_profile")
            else None,
        )
    vault.audit(
        "registry.admit",
        "deny" if quarantined else "allow",
        record.reference,
        {"status": status, "quarantined": quarantined, "findings": len(result.findings)},
    )
    return Admitted(record, scan)


async def admit_upload(
    ctx: ServerContext,
    source: BinaryIO,
    *,
    actor: str,
    project: str,
    name: str,
    kind: str,
    labels: Mapping[str, str],
    card: Mapping[str, object] | None,
) -> Admitted:
    """Stage, scan and store an upload for a route (API or dashboard), off the event loop;
    failures become HTTP errors: 413 too large, 409 name taken elsewhere, 422 bad input."""
    from fastapi import HTTPException
    from fastapi.concurrency import run_in_threadpool

    try:
        staged = await run_in_threadpool(stage_upload, ctx, source, ctx.settings.max_upload_bytes)
    except UsageError as exc:
        raise HTTPException(status_code=413, detail=str(exc)) from None
    try:
        return await run_in_threadpool(
            lambda: admit(
                ctx,
                staged,
                actor=actor,
                project=project,
                name=name,
                kind=kind,
                labels=labels,
                card=card,
            )
        )
    except NameInOtherProject as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except UsageError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    finally:
        staged.unlink(missing_ok=True)

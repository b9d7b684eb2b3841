"""Project and artifact pages: listings, uploads (scanned on arrival), promotion requests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData, UploadFile

from mlwarden.errors import UsageError
from mlwarden.registry.records import STAGES, ScanRecord
from mlwarden.registry.service import RegistryRuleError
from mlwarden.server.admission import admit_upload
from mlwarden.server.context import ServerContext
from mlwarden.server.dashboard.forms import checked_form, context_of, text
from mlwarden.server.dashboard.pages import notice, render, router
from mlwarden.server.guard import Caller, action_extra, guarded
from mlwarden.server.routes.resources import (
    artifact_from_path,
    project_from_path,
    promotion_request_resource,
)
from mlwarden.store.catalog.records import ArtifactRecord

KINDS = ("model", "dataset", "file")
FRAMEWORKS = ("sklearn", "torch", "onnx")
MAX_LABEL_LINES = 32
_HIDDEN_LABELS = frozenset({"project", "quarantined"})


@dataclass(frozen=True)
class Row:
    """One artifact version as the tables show it."""

    record: ArtifactRecord
    stage: str
    scan: ScanRecord | None

    @property
    def state(self) -> str:
        """``clean``, ``findings``, ``quarantined`` or ``not scanned``."""
        if self.scan is None:
            return "not scanned"
        return "quarantined" if self.scan.quarantined else self.scan.status


def _rows(ctx: ServerContext, records: list[ArtifactRecord]) -> list[Row]:
    stages = ctx.registry.stages([r.id for r in records])
    return [Row(r, stages[r.id], ctx.registry.scan(r.id)) for r in records]


@router.get("/ui/projects/{project}", openapi_extra=action_extra("artifact.list"))
def project_page(
    request: Request,
    project: str,
    caller: Annotated[Caller, guarded("artifact.list", project_from_path, cookie=True)],
) -> Response:
    """A project's artifact versions with stage and scan state, and the upload form."""
    ctx = context_of(request)
    records = ctx.vault.catalog.list_artifacts(labels={"project": project}, limit=1000)
    return render(
        "project.html",
        caller,
        notice=notice(request),
        project=project,
        rows=_rows(ctx, records),
        kinds=KINDS,
        frameworks=FRAMEWORKS,
    )


def _labels(raw: str) -> dict[str, str]:
    """``key=value`` lines → labels (blank lines ignored)."""
    labels: dict[str, str] = {}
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if len(lines) > MAX_LABEL_LINES:
        raise HTTPException(status_code=422, detail=f"labels: at most {MAX_LABEL_LINES}")
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise HTTPException(status_code=422, detail=f"labels: {line[:60]!r} is not key=value")
        labels[key.strip()] = value.strip()
    return labels


def _card(form: FormData) -> dict[str, object] | None:
    """The serving card (framework + input schema), when a framework was chosen."""
    framework = text(form, "framework", limit=16)
    if not framework:
        return None
    if framework not in FRAMEWORKS:
        raise HTTPException(
            status_code=422, detail=f"framework: use one of {', '.join(FRAMEWORKS)}"
        )
    raw = text(form, "input_schema", limit=1 << 20, required=True)
    try:
        schema = json.loads(raw)
    except ValueError:
        raise HTTPException(status_code=422, detail="input schema: not JSON") from None
    from mlwarden.gateway.input_schema import InputSchema

    try:
        InputSchema.from_dict(schema, source="input schema")
    except UsageError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return {"framework": framework, "input_schema": schema}


@router.post(
    "/ui/projects/{project}/artifacts",
    openapi_extra=action_extra("artifact.upload"),
)
async def upload(
    request: Request,
    project: str,
    caller: Annotated[
        Caller, guarded("artifact.upload", project_from_path, cookie=True, record_allow=False)
    ],
) -> Response:
    """Upload a new version from the form; it is scanned before it is stored.

    The path ends in ``/artifacts`` like the API's, so the upload body limit applies."""
    ctx = context_of(request)
    form = await checked_form(request, caller, "artifact.upload", max_files=1)
    try:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            raise HTTPException(status_code=422, detail="file: choose a file to upload")
        name = text(form, "name", limit=128, required=True)
        if "/" in name:
            raise HTTPException(status_code=422, detail="name: must not contain '/'")
        kind = text(form, "kind", limit=32) or "model"
        if kind not in KINDS:
            raise HTTPException(status_code=422, detail=f"kind: use one of {', '.join(KINDS)}")
        labels = _labels(text(form, "labels", limit=8192))
        card = _card(form)
        admitted = await admit_upload(
            ctx,
            upload_file.file,
            actor=caller.name,
            project=project,
            name=name,
            kind=kind,
            labels=labels,
            card=card,
        )
    finally:
        await form.close()
    return RedirectResponse(artifact_url(admitted.record, "uploaded"), status_code=303)


def artifact_url(record: ArtifactRecord, notice_key: str) -> str:
    """The artifact's page, asked to show a fixed notice."""
    return f"/ui/artifacts/{quote(record.reference, safe=':')}?notice={notice_key}"


def _location(location: Any) -> str:
    if not isinstance(location, dict):
        return ""
    parts = [str(location.get("path") or "")]
    for key in ("member", "field"):
        if location.get(key):
            parts.append(f"{key} {location[key]}")
    for key in ("line", "offset"):
        if location.get(key) is not None:
            parts.append(f"{key} {location[key]}")
    return ", ".join(p for p in parts if p)


def _findings(scan: ScanRecord | None) -> list[dict[str, str]]:
    if scan is None:
        return []
    try:
        raw = json.loads(scan.findings)
    except ValueError:
        return []
    return [
        {
            "rule": str(f.get("rule_id", "")),
            "severity": str(f.get("severity", "")),
            "message": str(f.get("title", "")),
            "location": _location(f.get("location")),
        }
        for f in raw
        if isinstance(f, dict)
    ]


def _next_stage(stage: str) -> str | None:
    index = STAGES.index(stage) if stage in STAGES else len(STAGES)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


@router.get("/ui/artifacts/{ref}", openapi_extra=action_extra("artifact.read"))
def artifact_page(
    request: Request,
    ref: str,
    caller: Annotated[Caller, guarded("artifact.read", artifact_from_path, cookie=True)],
) -> Response:
    """One version: scan verdict, findings, details, promotions and other versions."""
    ctx = context_of(request)
    record = caller.resource.artifact
    assert record is not None  # the resolver 404s otherwise
    project = record.labels.get("project")
    versions = [
        r
        for r in ctx.vault.catalog.list_artifacts(name=record.name, limit=1000)
        if r.labels.get("project") == project
    ]
    row = _rows(ctx, [record])[0]
    promotions = ctx.registry.promotions(artifact_id=record.id)
    pending = any(p.status == "pending" for p in promotions)
    scan = row.scan
    can_request = scan is not None and not scan.quarantined and scan.status != "error"
    return render(
        "artifact.html",
        caller,
        notice=notice(request),
        row=row,
        project=project,
        labels={k: v for k, v in record.labels.items() if k not in _HIDDEN_LABELS},
        findings=_findings(row.scan),
        versions=_rows(ctx, versions),
        promotions=promotions,
        next_stage=_next_stage(row.stage) if can_request and not pending else None,
    )


def _request(
    ctx: ServerContext, record: ArtifactRecord, to_stage: str, actor: str, reason: str
) -> None:
    """Open the request and ledger it, exactly as the API does (409 on a registry rule)."""
    try:
        ctx.registry.request_promotion(record.id, to_stage, actor, reason)
    except RegistryRuleError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    ctx.vault.acting_as(actor).audit(
        "registry.promote.request", "allow", record.reference, {"to_stage": to_stage}
    )


@router.post(
    "/ui/artifacts/{ref}/promote/{to_stage}",
    openapi_extra=action_extra("model.promote.request"),
)
async def request_promotion(
    request: Request,
    ref: str,
    to_stage: str,
    caller: Annotated[
        Caller,
        guarded(
            "model.promote.request", promotion_request_resource, cookie=True, record_allow=False
        ),
    ],
) -> Response:
    """Ask for the next stage; the registry refuses quarantined or skipped stages."""
    ctx = context_of(request)
    form = await checked_form(request, caller, "model.promote.request")
    reason = text(form, "reason", limit=2000)
    record = caller.resource.artifact
    assert record is not None
    await run_in_threadpool(_request, ctx, record, to_stage, caller.name, reason)
    return RedirectResponse(artifact_url(record, "requested"), status_code=303)

"""Artifacts: list, upload (scanned on arrival), read, findings, lineage, download, sign."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from mlwarden.errors import UsageError
from mlwarden.server.admission import admit_upload
from mlwarden.server.context import ServerContext
from mlwarden.server.guard import Caller, action_extra, guarded
from mlwarden.server.routes.resources import (
    artifact_from_path,
    project_from_path,
)
from mlwarden.server.routes.views import (
    ArtifactView,
    ScanView,
    artifact_view,
    scan_view,
)

router = APIRouter(prefix="/api/v1", tags=["artifacts"])

MAX_FORM_FIELDS = 16
MAX_PROFILE_BYTES = 8 << 20
FRAMEWORKS = ("sklearn", "torch", "onnx")


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


@router.get(
    "/projects/{project}/artifacts",
    openapi_extra=action_extra("artifact.list"),
    response_model=list[ArtifactView],
)
def list_artifacts(
    request: Request,
    project: str,
    kind: str | None = Query(default=None, max_length=32),
    caller: Caller = guarded("artifact.list", project_from_path),
) -> list[ArtifactView]:
    ctx = _ctx(request)
    try:
        records = ctx.vault.catalog.list_artifacts(
            kind=kind, labels={"project": project}, limit=1000
        )
    except UsageError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    stages = ctx.registry.stages([r.id for r in records])
    return [artifact_view(r, stages[r.id], ctx.registry.scan(r.id)) for r in records]


def _labels(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw[:16384])
    except ValueError:
        raise HTTPException(status_code=422, detail="labels: not JSON") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise HTTPException(status_code=422, detail="labels: must be an object of strings")
    return value


def _card(form: Any) -> dict[str, object] | None:
    framework = form.get("framework")
    if not framework:
        return None
    if framework not in FRAMEWORKS:
        raise HTTPException(
            status_code=422, detail=f"framework: use one of {', '.join(FRAMEWORKS)}"
        )
    card: dict[str, object] = {"framework": framework}
    for key in ("input_schema", "architecture"):
        raw = form.get(key)
        if isinstance(raw, str) and raw:
            try:
                card[key] = json.loads(raw[: 1 << 20])
            except ValueError:
                raise HTTPException(status_code=422, detail=f"{key}: not JSON") from None
    profile = form.get("reference_profile")
    if isinstance(profile, str) and profile:
        from mlwarden.monitor.profile_json import profile_from_json

        try:
            profile_from_json(profile, source="reference_profile")
        except UsageError as exc:
            raise HTTPException(status_code=422, detail=f"reference_profile: {exc}") from None
        card["reference_profile"] = profile
    if "input_schema" not in card:
        raise HTTPException(status_code=422, detail="input_schema: required with framework")
    from mlwarden.gateway.input_schema import InputSchema

    try:
        InputSchema.from_dict(card["input_schema"], source="input_schema")
    except UsageError as exc:
        raise HTTPException(status_code=422, detail=f"input_schema: {exc.problem}") from None
    return card


@router.post(
    "/projects/{project}/artifacts",
    openapi_extra={
        **action_extra("artifact.upload"),
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "name"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "name": {"type": "string"},
                            "kind": {"type": "string", "default": "model"},
                            "labels": {"type": "string", "description": "JSON object"},
                            "framework": {"type": "string", "enum": list(FRAMEWORKS)},
                            "input_schema": {"type": "string", "description": "JSON"},
                            "architecture": {"type": "string", "description": "JSON"},
                            "reference_profile": {
                                "type": "string",
                                "description": "training-data profile JSON (live drift)",
                            },
                        },
                    }
                }
            },
            "required": True,
        },
    },
    status_code=201,
)
async def upload_artifact(
    request: Request,
    project: str,
    caller: Caller = guarded("artifact.upload", project_from_path),
) -> dict[str, Any]:
    """Upload a new version; it is scanned before it is stored and quarantined on findings."""
    ctx = _ctx(request)
    try:
        form = await request.form(
            max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_PROFILE_BYTES
        )
    except Exception as exc:  # the multipart parser raises several types for bad bodies
        raise HTTPException(status_code=400, detail=f"not a valid multipart form ({exc})") from None
    upload = form.get("file")
    name = form.get("name")
    if not isinstance(upload, UploadFile):
        raise HTTPException(status_code=422, detail="file: required")
    if not isinstance(name, str) or not name or "/" in name:
        raise HTTPException(status_code=422, detail="name: required, without '/'")
    kind = form.get("kind") or "model"
    raw_labels = form.get("labels")
    labels = _labels(raw_labels if isinstance(raw_labels, str) else None)
    card = _card(form)
    try:
        admitted = await admit_upload(
            ctx,
            upload.file,
            actor=caller.name,
            project=project,
            name=name,
            kind=str(kind),
            labels=labels,
            card=card,
        )
    finally:
        await upload.close()
    record = admitted.record
    return {
        "artifact": artifact_view(record, "dev", admitted.scan).model_dump(mode="json"),
        "scan": scan_view(admitted.scan).model_dump(mode="json"),
    }


@router.get(
    "/artifacts/{ref}", openapi_extra=action_extra("artifact.read"), response_model=ArtifactView
)
def read_artifact(
    request: Request, ref: str, caller: Caller = guarded("artifact.read", artifact_from_path)
) -> ArtifactView:
    ctx = _ctx(request)
    record = caller.resource.artifact
    assert record is not None
    return artifact_view(record, ctx.registry.stage(record.id), ctx.registry.scan(record.id))


@router.get(
    "/artifacts/{ref}/versions",
    openapi_extra=action_extra("artifact.read"),
    response_model=list[ArtifactView],
)
def artifact_versions(
    request: Request, ref: str, caller: Caller = guarded("artifact.read", artifact_from_path)
) -> list[ArtifactView]:
    ctx = _ctx(request)
    record = caller.resource.artifact
    assert record is not None
    records = [
        r
        for r in ctx.vault.catalog.list_artifacts(name=record.name, limit=1000)
        if r.labels.get("project") == record.labels.get("project")
    ]
    stages = ctx.registry.stages([r.id for r in records])
    return [artifact_view(r, stages[r.id], ctx.registry.scan(r.id)) for r in records]


@router.get(
    "/artifacts/{ref}/findings",
    openapi_extra=action_extra("artifact.read"),
    response_model=ScanView,
)
def artifact_findings(
    request: Request, ref: str, caller: Caller = guarded("artifact.read", artifact_from_path)
) -> ScanView:
    record = caller.resource.artifact
    assert record is not None
    scan = _ctx(request).registry.scan(record.id)
    if scan is None:
        raise HTTPException(
            status_code=404, detail="this version was not uploaded through the server"
        )
    return scan_view(scan)


@router.get("/artifacts/{ref}/lineage", openapi_extra=action_extra("artifact.read"))
def artifact_lineage(
    request: Request,
    ref: str,
    direction: str = Query(default="up", pattern="^(up|down)$"),
    caller: Caller = guarded("artifact.read", artifact_from_path),
) -> list[dict[str, Any]]:
    record = caller.resource.artifact
    assert record is not None
    edges = _ctx(request).vault.catalog.lineage(record.ref, direction)  # type: ignore[arg-type]
    return [
        {"source": e.source, "target": e.target, "relation": e.relation, "at": e.created_at}
        for e in edges
    ]


@router.get("/artifacts/{ref}/content", openapi_extra=action_extra("artifact.download"))
async def download_artifact(
    request: Request, ref: str, caller: Caller = guarded("artifact.download", artifact_from_path)
) -> FileResponse:
    """The decrypted bytes, after every GCM tag and the digest verified."""
    ctx = _ctx(request)
    record = caller.resource.artifact
    assert record is not None
    if record.labels.get("layout") == "folder":
        raise HTTPException(status_code=409, detail="folder artifacts are fetched with the CLI")
    target = ctx.work_dir / f"download-{secrets.token_hex(16)}"
    vault = ctx.vault.acting_as(caller.name)
    await run_in_threadpool(vault.get, record.reference, target)
    return FileResponse(
        target,
        media_type="application/octet-stream",
        filename=record.name,
        background=BackgroundTask(target.unlink, missing_ok=True),
    )


@router.post("/artifacts/{ref}/signature", openapi_extra=action_extra("artifact.sign"))
async def sign_artifact(
    request: Request, ref: str, caller: Caller = guarded("artifact.sign", artifact_from_path)
) -> dict[str, Any]:
    ctx = _ctx(request)
    record = caller.resource.artifact
    assert record is not None
    scan = ctx.registry.scan(record.id)
    if scan is not None and scan.quarantined:
        raise HTTPException(status_code=409, detail="quarantined versions are not signed")
    signed = await run_in_threadpool(ctx.vault.acting_as(caller.name).sign, record.reference)
    return {"artifact": signed.reference, "signed": signed.signature is not None}


@router.get("/artifacts/{ref}/signature", openapi_extra=action_extra("artifact.verify"))
async def verify_artifact(
    request: Request, ref: str, caller: Caller = guarded("artifact.verify", artifact_from_path)
) -> dict[str, Any]:
    ctx = _ctx(request)
    record = caller.resource.artifact
    assert record is not None
    try:
        identity = await run_in_threadpool(
            ctx.vault.acting_as(caller.name).verify_signature, record.reference
        )
    except UsageError as exc:
        return {"artifact": record.reference, "verified": False, "problem": exc.problem}
    return {"artifact": record.reference, "verified": True, "signer": identity}


@router.delete("/artifacts/{ref}", openapi_extra=action_extra("artifact.delete"))
async def delete_artifact(
    request: Request, ref: str, caller: Caller = guarded("artifact.delete", artifact_from_path)
) -> dict[str, Any]:
    record = caller.resource.artifact
    assert record is not None
    removed = await run_in_threadpool(
        _ctx(request).vault.acting_as(caller.name).remove, record.reference
    )
    return {"artifact": removed.reference, "deleted": True}

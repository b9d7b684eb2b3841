"""Route YAML documents to the checks for what they are.

A Kubernetes object (``apiVersion`` + ``kind``; the items of ``kind: List`` too), a
Compose file (``services``), a Dask configuration (``distributed``). Other YAML is read
within bounds but has nothing to report.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from mlwarden.scanners.config import compose_checks, dask_checks, kserve_checks, ray_checks
from mlwarden.scanners.config.collector import FindingCollector
from mlwarden.scanners.config.kubernetes_checks import (
    ManifestContext,
    check_pod_spec,
    field_name,
    line_of,
    pod_specs,
    walk,
)
from mlwarden.scanners.config.yaml_documents import PathKey, YamlStream

MAX_LIST_ITEMS = 10_000


def _is_k8s_object(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("kind"), str) and "apiVersion" in value


def _objects(data: Mapping[str, object]) -> list[tuple[PathKey, Mapping[str, object]]]:
    items = data.get("items")
    if str(data.get("kind", "")).endswith("List") and isinstance(items, list):
        return [
            (("items", i), item)
            for i, item in enumerate(items[:MAX_LIST_ITEMS])
            if isinstance(item, dict) and _is_k8s_object(item)
        ]
    return [((), data)]


def _label(obj: Mapping[str, object]) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{obj.get('kind')}/{name if name is not None else '?'}"


def check_yaml_stream(stream: YamlStream, collector: FindingCollector) -> None:
    """Check every document of a YAML stream."""
    objects: list[tuple[ManifestContext, Mapping[str, object]]] = []
    for doc in stream.documents:
        data = doc.data
        if not isinstance(data, dict):
            continue
        if _is_k8s_object(data):
            for prefix, obj in _objects(data):
                objects.append((ManifestContext(_label(obj), doc.lines, collector, prefix), obj))
        elif compose_checks.is_compose(data):
            compose_checks.check_compose(data, doc.lines, collector)
        if isinstance(data.get("distributed"), dict):
            dask_checks.check_config(data, doc.lines, collector)
    policy = any(obj.get("kind") in kserve_checks.AUTH_KINDS for _ctx, obj in objects)
    for ctx, obj in objects:
        collector.tick()
        check_k8s_object(obj, ctx, policy_in_file=policy)


def check_k8s_object(
    obj: Mapping[str, object], ctx: ManifestContext, *, policy_in_file: bool
) -> None:
    """All checks of one Kubernetes object."""
    for path, pod in pod_specs(obj):
        check_pod_spec(pod, path, ctx)
    if obj.get("kind") == "InferenceService":
        kserve_checks.check_inference_service(obj, ctx, policy_in_file=policy_in_file)
    for path, mapping in walk(obj):
        head = mapping.get("headGroupSpec")
        if isinstance(head, dict):
            _check_ray_head(head, (*path, "headGroupSpec"), ctx)


def _check_ray_head(head: Mapping[str, object], path: PathKey, ctx: ManifestContext) -> None:
    params = head.get("rayStartParams")
    env = _head_env(head)
    service_type = head.get("serviceType")
    ingress = head.get("enableIngress") is True
    site = ctx.site((*path, "rayStartParams") if isinstance(params, dict) else path, env)
    ray_checks.check_kuberay_head(
        params if isinstance(params, dict) else {},
        site,
        service_type=service_type if isinstance(service_type, str) else None,
        ingress=ingress,
    )


def _head_env(head: Mapping[str, object]) -> dict[str, str]:
    # RAY_AUTH_MODE and friends are set on the head container.
    env: dict[str, str] = {}
    for _path, pod in pod_specs(head):
        containers = pod.get("containers")
        for container in containers if isinstance(containers, list) else []:
            entries = container.get("env") if isinstance(container, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    value = entry.get("value")
                    if value is not None:
                        env[str(entry["name"])] = str(value)
    return env


MAX_EMBEDDED_FILES = 1_000


@dataclass(frozen=True)
class EmbeddedFile:
    """A file carried in a ConfigMap or Secret (``data`` / ``stringData``)."""

    name: str
    """The data key, which is the file name once mounted."""
    text: str
    line: int | None
    """Line of the key in the manifest."""
    field: str
    follows_key: bool
    """True when the file's lines follow the key line (a block scalar); False for encoded
    or single-line values, whose findings can only point at the key."""


def embedded_files(stream: YamlStream) -> list[EmbeddedFile]:
    """Files in the ConfigMaps and Secrets of ``stream`` (Secret ``data`` is base64)."""
    out: list[EmbeddedFile] = []
    for doc in stream.documents:
        data = doc.data
        if not isinstance(data, dict) or not _is_k8s_object(data):
            continue
        for prefix, obj in _objects(data):
            kind = obj.get("kind")
            if kind not in ("ConfigMap", "Secret"):
                continue
            label = _label(obj)
            for section in ("data", "stringData"):
                files = obj.get(section)
                if not isinstance(files, dict):
                    continue
                for key, value in files.items():
                    text = _file_text(value, encoded=kind == "Secret" and section == "data")
                    if text is None or len(out) >= MAX_EMBEDDED_FILES:
                        continue
                    path = (section, str(key))
                    line = line_of(doc.lines, (*prefix, *path))
                    block = "\n" in text and not (kind == "Secret" and section == "data")
                    field = field_name(label, path)
                    out.append(EmbeddedFile(str(key), text, line, field, block))
    return out


def _file_text(value: object, *, encoded: bool) -> str | None:
    if not isinstance(value, str):
        return None
    if not encoded:
        return value
    try:
        return binascii.a2b_base64(value.encode("ascii"), strict_mode=True).decode(
            "utf-8", "replace"
        )
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None

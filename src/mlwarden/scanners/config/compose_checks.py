"""Docker Compose files: the same container risks as Kubernetes, in Compose's spelling.

``privileged``, ``network_mode: host``, ``cap_add``, ``user: root``, host paths that hand
over the machine (``/``, ``/etc``, the Docker socket), literal secrets in
``environment``, unpinned images, and the service ``command``/``entrypoint`` through the
launch checks. Rules are shared with :mod:`kubernetes_checks`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from mlwarden.scanners.config import env_settings, launch_commands
from mlwarden.scanners.config.collector import FindingCollector
from mlwarden.scanners.config.image_references import unpinned_reason
from mlwarden.scanners.config.kubernetes_checks import (
    CAPABILITIES,
    DANGEROUS_CAPABILITIES,
    HOST_NAMESPACES,
    HOST_PATH,
    LITERAL_SECRET,
    PRIVILEGED,
    RUNS_AS_ROOT,
    UNPINNED_IMAGE,
    ManifestContext,
)
from mlwarden.scanners.config.secret_names import is_literal_secret
from mlwarden.scanners.config.shell_parser import parse_argv
from mlwarden.scanners.config.yaml_documents import PathKey

_SENSITIVE_HOST_PATHS = frozenset(
    {"/", "/etc", "/root", "/home", "/proc", "/sys", "/dev", "/boot", "/var/lib/docker",
     "/var/run", "/run", "/var/lib/kubelet"}
)  # fmt: skip
_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "podman.sock")


def is_compose(document: Mapping[str, object]) -> bool:
    """A Compose file: a ``services`` mapping of service mappings."""
    services = document.get("services")
    return (
        isinstance(services, dict)
        and bool(services)
        and all(isinstance(s, dict) or s is None for s in services.values())
        and "apiVersion" not in document
    )


def _environment(value: object) -> list[tuple[str, str, PathKey]]:
    out: list[tuple[str, str, PathKey]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if item is not None:
                text = str(item).lower() if isinstance(item, bool) else str(item)
                out.append((str(key), text, ("environment", str(key))))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            name, eq, text = str(item).partition("=")
            if eq:
                out.append((name, text, ("environment", i)))
    return out


def _words(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return []
    return []


def _host_source(volume: object) -> str | None:
    if isinstance(volume, dict):
        source = volume.get("source")
        return source if volume.get("type") == "bind" and isinstance(source, str) else None
    if isinstance(volume, str) and ":" in volume:
        source = volume.split(":", 1)[0]
        return source if source.startswith("/") else None
    return None


def _sensitive(path: str) -> bool:
    normalised = path.rstrip("/") or "/"
    return normalised in _SENSITIVE_HOST_PATHS or normalised.endswith(_SOCKETS)


def check_compose(
    document: Mapping[str, object], lines: Mapping[PathKey, int], collector: FindingCollector
) -> None:
    """Check every service of a Compose document."""
    services = document.get("services")
    if not isinstance(services, dict):
        return
    for name, service in services.items():
        if isinstance(service, dict):
            ctx = ManifestContext(f"services.{name}", lines, collector, ("services", str(name)))
            _check_service(service, ctx)


def _check_service(service: dict[str, object], ctx: ManifestContext) -> None:
    if service.get("privileged") is True:
        ctx.add(PRIVILEGED, "privileged: true", ("privileged",))
    for key in ("network_mode", "pid", "ipc"):
        if service.get(key) == "host":
            ctx.add(HOST_NAMESPACES, f"{key}: host", (key,))
    added = service.get("cap_add")
    if isinstance(added, list):
        risky = sorted({str(c).upper() for c in added} & DANGEROUS_CAPABILITIES)
        if risky:
            ctx.add(CAPABILITIES, f"cap_add: {', '.join(risky)}", ("cap_add",))
    user = str(service.get("user", "")).split(":", 1)[0]
    if user in ("root", "0"):
        ctx.add(RUNS_AS_ROOT, f"user: {service.get('user')}", ("user",))
    image = service.get("image")
    if isinstance(image, str) and "$" not in image:
        reason = unpinned_reason(image)
        if reason in ("no tag", "latest"):
            ctx.add(UNPINNED_IMAGE, f"image {image} ({reason})", ("image",))
    volumes = service.get("volumes")
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        source = _host_source(volume)
        if source is not None and _sensitive(source):
            ctx.add(HOST_PATH, f"bind mount of host path {source}", ("volumes", i))
    env: dict[str, str] = {}
    for key, value, path in _environment(service.get("environment")):
        if is_literal_secret(key, value):
            ctx.add(LITERAL_SECRET, f"{key} is a literal value ({len(value)} characters)", path)
        env[key] = value
        env_settings.check_variable(key, value, ctx.site(path, env))
    entrypoint, command = _words(service.get("entrypoint")), _words(service.get("command"))
    words = entrypoint + command if entrypoint else command
    if words:
        at: PathKey = ("command",) if command else ("entrypoint",)
        site = ctx.site(at, env)
        script = parse_argv(words, line=site.line or 1, env=env, tick=ctx.collector.tick)
        launch_commands.check_script(script, site)

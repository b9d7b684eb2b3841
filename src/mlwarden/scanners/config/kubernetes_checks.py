"""Kubernetes manifests of ML workloads: pod security, secrets, images, GPU limits.

Pod specs are found by shape, not by kind: any mapping with a ``containers`` list is
checked, so Deployments, StatefulSets, Jobs, CronJobs, Pods, and the CRDs of the ML
ecosystem (RayCluster worker groups, PyTorchJob/TFJob/MPIJob replica specs, Kubeflow
Notebooks, KServe predictors with containers) are covered without a list of kinds to
keep up to date. Container commands go through the same launch checks as shell scripts,
with the container's literal ``env`` and Kubernetes' ``$(VAR)`` expansion.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config import env_settings, launch_commands
from mlwarden.scanners.config.collector import CommandSite, FindingCollector
from mlwarden.scanners.config.image_references import unpinned_reason
from mlwarden.scanners.config.secret_names import is_literal_secret
from mlwarden.scanners.config.shell_parser import parse_argv
from mlwarden.scanners.config.yaml_documents import PathKey
from mlwarden.taxonomy import (
    ATLAS_DOS,
    CWE_DOWNLOAD_WITHOUT_INTEGRITY,
    CWE_HARDCODED_CREDENTIALS,
    CWE_NO_RESOURCE_LIMITS,
    CWE_UNNECESSARY_PRIVILEGES,
    OWASP_ML06_SUPPLY_CHAIN,
)

PRIVILEGED = Rule(
    "MLW-CFG-050",
    "Privileged container",
    Severity.HIGH,
    "Remove `privileged: true`; GPU access needs the device plugin's resource "
    "(`nvidia.com/gpu`), not a privileged container.",
    (CWE_UNNECESSARY_PRIVILEGES,),
    "A privileged container has every capability and all host devices: escaping to the node "
    "is trivial.",
)
HOST_PATH = Rule(
    "MLW-CFG-051",
    "Host filesystem mounted into the workload",
    Severity.HIGH,
    "Use a PersistentVolumeClaim, an emptyDir or a CSI volume instead of hostPath (and never "
    "mount the container runtime socket).",
    (CWE_UNNECESSARY_PRIVILEGES,),
)
HOST_NAMESPACES = Rule(
    "MLW-CFG-052",
    "Workload shares the node's network, process or IPC namespace",
    Severity.HIGH,
    "Remove hostNetwork/hostPID/hostIPC; for NCCL or RDMA traffic use a CNI that exposes the "
    "devices (e.g. SR-IOV, Multus) instead of the host network.",
    (CWE_UNNECESSARY_PRIVILEGES,),
    "With the host network every port the workload opens (dashboards, notebooks, Ray) "
    "listens on the node's interfaces.",
)
RUNS_AS_ROOT = Rule(
    "MLW-CFG-053",
    "Workload explicitly runs as root (runAsUser: 0)",
    Severity.MEDIUM,
    "Set `runAsUser` to a non-zero uid and `runAsNonRoot: true`.",
    (CWE_UNNECESSARY_PRIVILEGES,),
)
ROOT_NOT_PREVENTED = Rule(
    "MLW-CFG-054",
    "Workload may run as root (runAsNonRoot not set)",
    Severity.LOW,
    "Set `securityContext.runAsNonRoot: true` (pod or container) so images that default to "
    "root are refused.",
    (CWE_UNNECESSARY_PRIVILEGES,),
)
PRIVILEGE_ESCALATION = Rule(
    "MLW-CFG-055",
    "Container allows privilege escalation",
    Severity.MEDIUM,
    "Set `allowPrivilegeEscalation: false`.",
    (CWE_UNNECESSARY_PRIVILEGES,),
)
CAPABILITIES = Rule(
    "MLW-CFG-056",
    "Container adds dangerous Linux capabilities",
    Severity.HIGH,
    "Drop `ALL` and add back only what the process needs; SYS_ADMIN, SYS_PTRACE, SYS_MODULE "
    "and NET_ADMIN amount to root on the node.",
    (CWE_UNNECESSARY_PRIVILEGES,),
)
LITERAL_SECRET = Rule(
    "MLW-CFG-057",
    "Secret written as a literal environment value",
    Severity.HIGH,
    "Store it in a Secret (or an external secret store) and reference it with "
    "`valueFrom.secretKeyRef`; rotate the exposed value.",
    (CWE_HARDCODED_CREDENTIALS,),
    "Manifests are committed, templated and printed in CI logs; `kubectl get -o yaml` shows "
    "literal env values to anyone who can read the workload.",
)
UNPINNED_IMAGE = Rule(
    "MLW-CFG-058",
    "Container image not pinned (`:latest` or no tag)",
    Severity.MEDIUM,
    "Reference images by digest (`image:tag@sha256:...`), or at least by an immutable version tag.",
    (CWE_DOWNLOAD_WITHOUT_INTEGRITY, OWASP_ML06_SUPPLY_CHAIN),
)
GPU_WITHOUT_LIMITS = Rule(
    "MLW-CFG-059",
    "GPU workload without CPU/memory limits",
    Severity.MEDIUM,
    "Set `resources.limits` for cpu, memory and the GPU resource; GPU nodes are scarce and "
    "one unbounded job can starve every other workload on them.",
    (CWE_NO_RESOURCE_LIMITS, ATLAS_DOS),
)
RULES = (
    PRIVILEGED,
    HOST_PATH,
    HOST_NAMESPACES,
    RUNS_AS_ROOT,
    ROOT_NOT_PREVENTED,
    PRIVILEGE_ESCALATION,
    CAPABILITIES,
    LITERAL_SECRET,
    UNPINNED_IMAGE,
    GPU_WITHOUT_LIMITS,
)

DANGEROUS_CAPABILITIES = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "SYS_PTRACE",
        "SYS_MODULE",
        "NET_ADMIN",
        "DAC_READ_SEARCH",
        "SYS_RAWIO",
        "BPF",
        "PERFMON",
        "SYS_BOOT",
    }
)
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_K8S_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def line_of(lines: Mapping[PathKey, int], path: PathKey) -> int | None:
    """Line of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None


def field_name(label: str, path: PathKey) -> str:
    """``Kind/name.spec.containers[0]`` for ``path`` under the object ``label``."""
    text = label
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


class ManifestContext:
    """One Kubernetes object being checked: its label, line map and collector."""

    def __init__(
        self,
        label: str,
        lines: Mapping[PathKey, int],
        collector: FindingCollector,
        prefix: PathKey = (),
    ) -> None:
        self.label = label
        self.lines = lines
        self.collector = collector
        self.prefix = prefix

    def line(self, path: PathKey) -> int | None:
        return line_of(self.lines, (*self.prefix, *path))

    def field(self, path: PathKey) -> str:
        return field_name(self.label, path)

    def add(
        self,
        rule: Rule,
        evidence: str,
        path: PathKey,
        severity: Severity | None = None,
        *,
        at: PathKey | None = None,
    ) -> None:
        """Report at ``path`` (the object the finding is about); ``at`` points the line at a
        more precise key inside it when known."""
        line = self.line(at if at is not None else path)
        self.collector.add(
            rule, evidence, line=line, field_path=self.field(path), severity=severity
        )

    def site(self, path: PathKey, env: Mapping[str, str]) -> CommandSite:
        return CommandSite(
            self.collector, self.line(path), self.field(path), dict(env), in_container=True
        )


def walk(node: object, path: PathKey = ()) -> Iterator[tuple[PathKey, dict[str, object]]]:
    """Every mapping in ``node`` with its path (iteratively; the tree is already bounded)."""
    stack: list[tuple[object, PathKey]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            yield where, current
            for key, value in reversed(list(current.items())):
                if isinstance(value, dict | list):
                    stack.append((value, (*where, str(key))))
        elif isinstance(current, list):
            for i in range(len(current) - 1, -1, -1):
                if isinstance(current[i], dict | list):
                    stack.append((current[i], (*where, i)))


def pod_specs(document: object) -> Iterator[tuple[PathKey, dict[str, object]]]:
    """Mappings shaped like a pod spec (a ``containers`` list of mappings)."""
    for path, mapping in walk(document):
        containers = mapping.get("containers")
        if isinstance(containers, list) and any(isinstance(c, dict) for c in containers):
            yield path, mapping


def _as_dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _non_root(security: dict[str, object]) -> bool:
    user = security.get("runAsUser")
    return security.get("runAsNonRoot") is True or (isinstance(user, int) and user > 0)


def check_pod_spec(pod: dict[str, object], path: PathKey, ctx: ManifestContext) -> None:
    """Pod-level and container-level checks of one pod spec."""
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key) is True:
            ctx.add(HOST_NAMESPACES, f"{key}: true", (*path, key))
    volumes = pod.get("volumes")
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        host_path = _as_dict(volume).get("hostPath")
        if host_path is not None:
            where = _as_dict(host_path).get("path", "?")
            name = _as_dict(volume).get("name", i)
            ctx.add(HOST_PATH, f"volume {name} mounts host path {where}", (*path, "volumes", i))
    pod_security = _as_dict(pod.get("securityContext"))
    pod_root = pod_security.get("runAsUser") == 0
    if pod_root:
        ctx.add(RUNS_AS_ROOT, "pod securityContext.runAsUser: 0", (*path, "securityContext"))
    for list_key in _CONTAINER_LISTS:
        containers = pod.get(list_key)
        for i, container in enumerate(containers if isinstance(containers, list) else []):
            if isinstance(container, dict):
                check_container(container, (*path, list_key, i), ctx, pod_security, pod_root)


def check_container(
    container: dict[str, object],
    path: PathKey,
    ctx: ManifestContext,
    pod_security: dict[str, object],
    pod_root: bool,
) -> None:
    security = _as_dict(container.get("securityContext"))
    name = container.get("name", "?")
    sc = (*path, "securityContext")
    if security.get("privileged") is True:
        ctx.add(PRIVILEGED, f"container {name}: privileged: true", path, at=(*sc, "privileged"))
    if security.get("allowPrivilegeEscalation") is True:
        ctx.add(
            PRIVILEGE_ESCALATION,
            f"container {name}: allowPrivilegeEscalation: true",
            path,
            at=(*sc, "allowPrivilegeEscalation"),
        )
    added = _as_dict(security.get("capabilities")).get("add")
    risky = sorted(
        {str(c).upper() for c in added if str(c).upper() in DANGEROUS_CAPABILITIES}
        if isinstance(added, list)
        else set()
    )
    if risky:
        ctx.add(
            CAPABILITIES,
            f"container {name} adds {', '.join(risky)}",
            path,
            at=(*sc, "capabilities"),
        )
    if security.get("runAsUser") == 0:
        ctx.add(RUNS_AS_ROOT, f"container {name}: runAsUser: 0", path, at=(*sc, "runAsUser"))
    elif not pod_root and not _non_root(security) and not _non_root(pod_security):
        ctx.add(ROOT_NOT_PREVENTED, f"container {name}: runAsNonRoot is not set", path)
    image = container.get("image")
    if isinstance(image, str) and "$" not in image and "{{" not in image:
        reason = unpinned_reason(image)
        if reason in ("no tag", "latest"):
            evidence = f"container {name}: image {image} ({reason})"
            ctx.add(UNPINNED_IMAGE, evidence, path, at=(*path, "image"))
    _check_gpu(container, path, ctx, name)
    env = _check_env(container, path, ctx)
    _check_command(container, path, ctx, env)


def _check_env(container: dict[str, object], path: PathKey, ctx: ManifestContext) -> dict[str, str]:
    env: dict[str, str] = {}
    entries = container.get("env")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        item = _as_dict(entry)
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or value is None or "valueFrom" in item:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        where = (*path, "env", i)
        if is_literal_secret(name, text):
            ctx.add(
                LITERAL_SECRET,
                f"env {name} is a literal value ({len(text)} characters), not a secretKeyRef",
                where,
            )
        env[name] = text
        env_settings.check_variable(name, text, ctx.site(where, env))
    return env


def _check_command(
    container: dict[str, object], path: PathKey, ctx: ManifestContext, env: dict[str, str]
) -> None:
    command = container.get("command")
    args = container.get("args")
    words: list[str] = []
    at: PathKey = path
    if isinstance(command, list):
        words = [str(w) for w in command]
        at = (*path, "command")
    if isinstance(args, list):
        words += [str(w) for w in args]
        if not isinstance(command, list):
            at = (*path, "args")
    if not words:
        return
    # Kubernetes expands $(NAME) from the container's env before starting the process.
    words = [_K8S_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), w) for w in words]
    site = ctx.site(at, env)
    script = parse_argv(words, line=site.line or 1, env=env, tick=ctx.collector.tick)
    launch_commands.check_script(script, site)


def _check_gpu(
    container: dict[str, object], path: PathKey, ctx: ManifestContext, name: object
) -> None:
    resources = _as_dict(container.get("resources"))
    limits = _as_dict(resources.get("limits"))
    requests = _as_dict(resources.get("requests"))
    gpus = sorted({str(k) for k in (*limits, *requests) if "gpu" in str(k).lower()})
    if not gpus:
        return
    missing = [r for r in ("cpu", "memory") if r not in limits]
    missing += [g for g in gpus if g not in limits]
    if missing:
        ctx.add(
            GPU_WITHOUT_LIMITS,
            f"container {name} uses {', '.join(gpus)} with no limit for {', '.join(missing)}",
            (*path, "resources") if resources else path,
        )

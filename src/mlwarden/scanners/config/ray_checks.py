"""Ray: ``ray start --head`` launches and KubeRay ``rayStartParams``.

Ray's dashboard port also serves the Jobs API, which runs any shell command it is sent;
before Ray's token authentication (2.52, opt-in with ``RAY_AUTH_MODE=token``; on by
default only from 2.61) nothing authenticated it, and the ShadowRay campaign exploited
exactly that. ``ray start`` binds the dashboard to localhost unless ``--dashboard-host``
says otherwise; KubeRay passes ``--dashboard-host=0.0.0.0`` unless ``rayStartParams``
overrides it, so the API is reachable by every pod that can reach the head service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import Reach, host_reach
from mlwarden.scanners.config.collector import CommandSite
from mlwarden.scanners.config.command_options import parse_bool, parse_options
from mlwarden.scanners.config.secret_names import redact_argv
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CODE_INJECTION,
    CWE_INSECURE_DEFAULT,
    CWE_MISSING_AUTHENTICATION,
)

JOBS_API_EXPOSED = Rule(
    "MLW-CFG-020",
    "Ray dashboard and Jobs API reachable from the network without authentication",
    Severity.CRITICAL,
    "Set RAY_AUTH_MODE=token on every node (Ray 2.52+), keep --dashboard-host at 127.0.0.1 "
    "or restrict the port to trusted clients (NetworkPolicy, firewall), and never publish it.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
    "The Jobs API on the dashboard port runs any command it is sent (the ShadowRay "
    "attacks); Ray before 2.61 does not authenticate it unless token auth is enabled.",
)
HEAD_WITHOUT_AUTH = Rule(
    "MLW-CFG-021",
    "Ray head node started without token authentication",
    Severity.MEDIUM,
    "Set RAY_AUTH_MODE=token on every node (Ray 2.52+) and run the cluster in a network that "
    "only its nodes and trusted clients can reach.",
    (CWE_INSECURE_DEFAULT, CWE_MISSING_AUTHENTICATION),
    "Ray's cluster ports (GCS, Ray Client) accept any client that can connect; without "
    "token authentication reaching them is enough to run code on the cluster.",
)
RULES = (JOBS_API_EXPOSED, HEAD_WITHOUT_AUTH)

_VALUE_OPTIONS = frozenset(
    {"address", "port", "node-ip-address", "dashboard-host", "dashboard-port",
     "include-dashboard", "ray-client-server-port", "num-cpus", "num-gpus", "resources",
     "object-store-memory", "temp-dir", "gcs-server-port", "node-manager-port",
     "object-manager-port", "metrics-export-port", "dashboard-agent-listen-port",
     "redis-password", "memory", "labels", "runtime-env-agent-port", "storage",
     "plasma-directory", "system-config", "min-worker-port", "max-worker-port"}
)  # fmt: skip
_EXPOSED_SERVICE_TYPES = frozenset({"LoadBalancer", "NodePort"})


def _auth_mode(env: Mapping[str, str]) -> str:
    return env.get("RAY_AUTH_MODE", "").strip().strip("'\"").lower()


def check_start(
    argv: Sequence[str],
    args: Sequence[str],
    site: CommandSite,
    *,
    default_dashboard_host: str = "localhost",
    published: str = "",
) -> None:
    """Check ``ray start`` with ``args``; ``published`` says how the head is exposed
    beyond its pod (KubeRay service type or ingress), if at all."""
    opts = parse_options(args, takes_value=_VALUE_OPTIONS)
    if "head" not in opts.flags and opts.last("head") is None:
        return
    mode = _auth_mode(site.env)
    if mode == "token":
        return
    shown = redact_argv(list(argv))
    dashboard = parse_bool(opts.last("include-dashboard") or "true") is not False
    host = opts.last("dashboard-host") or default_dashboard_host
    if dashboard and host_reach(host) is Reach.NETWORK:
        auth = "RAY_AUTH_MODE=disabled" if mode == "disabled" else "RAY_AUTH_MODE is not token"
        if published:
            severity = None
            scope = f"; published through {published}"
        elif default_dashboard_host != "localhost":
            severity = Severity.HIGH  # in-cluster only (KubeRay ClusterIP service)
            scope = "; reachable by every pod that can reach the head service"
        else:
            severity = None
            scope = ""
        site.report(JOBS_API_EXPOSED, f"`{shown}`: dashboard on {host!r}, {auth}{scope}", severity)
        return
    site.report(HEAD_WITHOUT_AUTH, f"`{shown}`: RAY_AUTH_MODE=token is not set")


def check_kuberay_head(
    params: Mapping[str, object],
    site: CommandSite,
    *,
    service_type: str | None,
    ingress: bool,
) -> None:
    """Check a KubeRay ``headGroupSpec`` from its ``rayStartParams`` and exposure."""
    args = ["--head"]
    for key, value in params.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args.append(f"--{key}={text}")
    published = ""
    if service_type in _EXPOSED_SERVICE_TYPES:
        published = f"a {service_type} service"
    elif ingress:
        published = "an ingress (enableIngress: true)"
    check_start(
        ["ray", "start", *args],
        args,
        site,
        default_dashboard_host="0.0.0.0",
        published=published,
    )


def check_dashboard_env(value: str, site: CommandSite) -> None:
    """``RAY_DASHBOARD_HOST``: launch scripts and images pass it to ``--dashboard-host``."""
    if _auth_mode(site.env) != "token" and host_reach(value) is Reach.NETWORK:
        site.report(
            JOBS_API_EXPOSED,
            f"RAY_DASHBOARD_HOST={value} (used as --dashboard-host by launch scripts)",
            Severity.HIGH,
        )

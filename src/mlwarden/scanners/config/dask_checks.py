"""Dask distributed: ``dask scheduler`` / ``dask worker`` launches and Dask config files.

A Dask scheduler runs whatever functions its clients submit, so whoever can connect can
run code on every worker. Its only authentication is mutual TLS (``--tls-*`` options or
``distributed.comm.tls``); over plain ``tcp://`` anyone who reaches the port is a client.
The scheduler listens on all interfaces by default, and so does its dashboard (``:8787``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import Reach, bind_reach, url_scheme
from mlwarden.scanners.config.collector import CommandSite, FindingCollector
from mlwarden.scanners.config.command_options import parse_bool, parse_options
from mlwarden.scanners.config.secret_names import redact_argv
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CLEARTEXT_TRANSMISSION,
    CWE_CODE_INJECTION,
    CWE_INSECURE_DEFAULT,
    CWE_MISSING_AUTHENTICATION,
)

SCHEDULER_WITHOUT_TLS = Rule(
    "MLW-CFG-025",
    "Dask scheduler accepts plaintext, unauthenticated clients from the network",
    Severity.HIGH,
    "Run the scheduler with `--protocol tls` and `--tls-ca-file/--tls-cert/--tls-key` (mutual "
    "TLS is Dask's authentication), or bind it to 127.0.0.1 / a private interface.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
    "Any client that connects can submit functions that run on every worker.",
)
DASHBOARD_EXPOSED = Rule(
    "MLW-CFG-026",
    "Dask dashboard reachable from the network",
    Severity.MEDIUM,
    "Bind the dashboard to loopback (`--dashboard-address 127.0.0.1:8787`) and reach it "
    "through an authenticating proxy or SSH tunnel, or pass `--no-dashboard`.",
    (CWE_MISSING_AUTHENTICATION, CWE_INSECURE_DEFAULT),
    "The dashboard has no authentication and shows task names, arguments, logs and worker "
    "addresses.",
)
JUPYTER_ON_SCHEDULER = Rule(
    "MLW-CFG-027",
    "Dask scheduler serves a Jupyter server on its exposed dashboard",
    Severity.CRITICAL,
    "Drop `--jupyter`, or bind the dashboard to loopback: Dask's built-in Jupyter server "
    "lets anyone who reaches the dashboard run Python code.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
)
PLAINTEXT_TRAFFIC = Rule(
    "MLW-CFG-028",
    "Dask traffic to another host is not encrypted",
    Severity.MEDIUM,
    "Use `tls://` scheduler addresses with client and worker certificates, and set "
    "`distributed.comm.require-encryption: true`.",
    (CWE_CLEARTEXT_TRANSMISSION,),
)
RULES = (SCHEDULER_WITHOUT_TLS, DASHBOARD_EXPOSED, JUPYTER_ON_SCHEDULER, PLAINTEXT_TRAFFIC)

_SCHEDULER_VALUES = frozenset(
    {"host", "port", "interface", "protocol", "dashboard-address", "dashboard-prefix",
     "tls-ca-file", "tls-cert", "tls-key", "scheduler-file", "preload", "pid-file",
     "local-directory", "idle-timeout", "bokeh-port"}
)  # fmt: skip
_WORKER_VALUES = frozenset(
    {"host", "worker-port", "nanny-port", "dashboard-address", "listen-address",
     "contact-address", "protocol", "interface", "tls-ca-file", "tls-cert", "tls-key",
     "scheduler-file", "name", "local-directory", "resources", "preload", "preload-nanny",
     "nthreads", "nworkers", "nprocs", "memory-limit", "death-timeout", "lifetime",
     "lifetime-stagger", "pid-file", "worker-class", "scheduler-sni"}
)  # fmt: skip
_TLS_OPTIONS = ("tls-ca-file", "tls-cert", "tls-key")
_SECURE_SCHEMES = frozenset({"tls", "wss", "ucx"})


def _encryption_required(env: Mapping[str, str]) -> bool:
    value = env.get("DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION", "")
    return parse_bool(value) is True


def check_scheduler(argv: Sequence[str], args: Sequence[str], site: CommandSite) -> None:
    """Check ``dask scheduler`` / ``dask-scheduler`` started with ``args``."""
    opts = parse_options(args, takes_value=_SCHEDULER_VALUES)
    shown = redact_argv(list(argv))
    host = opts.last("host")
    protocol = (opts.last("protocol") or (url_scheme(host) if host else "") or "tcp").lower()
    tls = opts.has(*_TLS_OPTIONS) or protocol in _SECURE_SCHEMES or _encryption_required(site.env)
    interface = opts.last("interface")
    if interface is not None:
        reach = Reach.LOOPBACK if interface == "lo" else Reach.NETWORK
    else:
        reach = Reach.NETWORK if host is None else bind_reach(host)
    if not tls and reach is Reach.NETWORK:
        where = host if host is not None else f"interface {interface}" if interface else "all"
        site.report(SCHEDULER_WITHOUT_TLS, f"`{shown}`: {protocol}:// on {where} without TLS")
    if opts.switch("dashboard", "no-dashboard") is False:
        return
    dashboard = opts.last("dashboard-address") or ":8787"
    if bind_reach(dashboard) is Reach.NETWORK:
        site.report(DASHBOARD_EXPOSED, f"`{shown}`: dashboard on {dashboard!r}")
        if opts.switch("jupyter", "no-jupyter"):
            site.report(JUPYTER_ON_SCHEDULER, f"`{shown}`: --jupyter on {dashboard!r}")


def check_worker(argv: Sequence[str], args: Sequence[str], site: CommandSite) -> None:
    """Check ``dask worker`` / ``dask-worker``: the scheduler address it connects to."""
    opts = parse_options(args, takes_value=_WORKER_VALUES)
    if opts.has(*_TLS_OPTIONS) or _encryption_required(site.env) or not opts.positionals:
        return
    check_address("scheduler address", opts.positionals[0], site)


def check_address(what: str, address: str, site: CommandSite) -> None:
    """Report a plaintext (``tcp://`` or scheme-less) Dask address on another host."""
    if address.strip() in ("", ":"):
        return
    scheme = url_scheme(address) or "tcp"
    if scheme == "tcp" and bind_reach(address) is Reach.NETWORK:
        site.report(PLAINTEXT_TRAFFIC, f"{what} {address} uses plaintext tcp://")


def check_config(
    document: Mapping[str, object],
    lines: Mapping[tuple[str | int, ...], int],
    collector: FindingCollector,
) -> None:
    """Check a Dask YAML configuration (top-level ``distributed:`` key)."""
    distributed = document.get("distributed")
    if not isinstance(distributed, dict):
        return
    comm = distributed.get("comm")
    if not isinstance(comm, dict):
        return
    value = comm.get("require-encryption", comm.get("require_encryption"))
    if value is False or (isinstance(value, str) and parse_bool(value) is False):
        key = "require-encryption" if "require-encryption" in comm else "require_encryption"
        collector.add(
            PLAINTEXT_TRAFFIC,
            "distributed.comm.require-encryption is false",
            line=lines.get(("distributed", "comm", key)),
            field_path="distributed.comm." + key,
            severity=Severity.MEDIUM,
        )

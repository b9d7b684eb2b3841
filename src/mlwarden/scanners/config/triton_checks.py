"""NVIDIA Triton Inference Server: ``tritonserver`` launch flags.

Triton listens on all interfaces by default (HTTP 8000, gRPC 8001). With
``--model-control-mode=explicit`` its model-repository API loads models on request, and a
load request may carry the model's files (a Python-backend ``model.py`` included): NVIDIA's
own deployment guide warns that this is arbitrary code execution. The API can be fenced
with ``--http-restricted-api`` / ``--grpc-restricted-protocol model-repository:<key>=<value>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import Reach, bind_reach
from mlwarden.scanners.config.collector import CommandSite
from mlwarden.scanners.config.command_options import ParsedOptions, parse_bool, parse_options
from mlwarden.scanners.config.secret_names import redact_argv
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CODE_INJECTION,
    CWE_INSECURE_DEFAULT,
    CWE_MISSING_AUTHENTICATION,
    CWE_UNTRUSTED_FUNCTIONALITY,
)

MODEL_CONTROL_EXPOSED = Rule(
    "MLW-CFG-040",
    "Triton model-control API reachable from the network",
    Severity.CRITICAL,
    "Restrict it with `--http-restricted-api=model-repository:<header>=<secret>` and "
    "`--grpc-restricted-protocol=model-repository:<header>=<secret>`, bind HTTP/gRPC to "
    "127.0.0.1, or use --model-control-mode=none.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
    "In explicit mode anyone who reaches the port can load a model, and a load request can "
    "carry the model's code.",
)
POLLED_REPOSITORY = Rule(
    "MLW-CFG-041",
    "Triton loads whatever appears in its model repository",
    Severity.MEDIUM,
    "Prefer --model-control-mode=none (or explicit behind a restricted API) and make the "
    "repository read-only for everyone but the release pipeline.",
    (CWE_UNTRUSTED_FUNCTIONALITY,),
    "In poll mode a file written to the repository is loaded and, for the Python backend, "
    "run without any further step.",
)
ADMIN_APIS_OPEN = Rule(
    "MLW-CFG-042",
    "Triton administrative APIs unrestricted on all interfaces",
    Severity.LOW,
    "Restrict shared-memory, model-config, logging and trace APIs with "
    "`--http-restricted-api` / `--grpc-restricted-protocol`, or bind to a private interface.",
    (CWE_INSECURE_DEFAULT,),
    "Shared-memory registration, log and trace settings change server state and have been "
    "part of published Triton exploit chains.",
)
RULES = (MODEL_CONTROL_EXPOSED, POLLED_REPOSITORY, ADMIN_APIS_OPEN)

_VALUE_OPTIONS = frozenset(
    {"model-repository", "model-store", "model-control-mode", "load-model", "allow-http",
     "allow-grpc", "allow-metrics", "allow-sagemaker", "allow-vertex-ai", "http-address",
     "grpc-address", "http-port", "grpc-port", "metrics-port", "metrics-address",
     "http-restricted-api", "grpc-restricted-protocol", "repository-poll-secs", "log-verbose",
     "backend-config", "exit-on-error", "strict-model-config", "http-header-forward-pattern",
     "grpc-header-forward-pattern"}
)  # fmt: skip
_ADMIN_APIS = ("shared-memory", "model-config", "logging", "trace")


def _enabled(opts: ParsedOptions, name: str) -> bool:
    value = opts.last(name)
    return True if value is None else parse_bool(value) is not False


def _restricted(opts: ParsedOptions, option: str) -> set[str]:
    apis: set[str] = set()
    for spec in opts.all(option):
        names, _sep, _key = spec.partition(":")
        apis.update(n.strip() for n in names.split(","))
    return apis


def check_launch(argv: Sequence[str], args: Sequence[str], site: CommandSite) -> None:
    """Check ``tritonserver`` started with ``args``."""
    opts = parse_options(args, takes_value=_VALUE_OPTIONS)
    shown = redact_argv(list(argv))
    exposed: list[str] = []
    open_apis: set[str] = set()
    for proto, option, allow in (
        ("HTTP", "http-restricted-api", "allow-http"),
        ("gRPC", "grpc-restricted-protocol", "allow-grpc"),
    ):
        address = opts.last(f"{proto.lower()}-address") or "0.0.0.0"
        if not _enabled(opts, allow) or bind_reach(address) is not Reach.NETWORK:
            continue
        restricted = _restricted(opts, option)
        if "model-repository" not in restricted:
            exposed.append(f"{proto} on {address}")
        open_apis.update(a for a in _ADMIN_APIS if a not in restricted)
    mode = (opts.last("model-control-mode") or "none").lower()
    if mode == "explicit" and exposed:
        site.report(
            MODEL_CONTROL_EXPOSED,
            f"`{shown}`: explicit model control with unrestricted " + ", ".join(exposed),
        )
    elif mode == "poll":
        site.report(POLLED_REPOSITORY, f"`{shown}`: --model-control-mode=poll")
    if open_apis:
        site.report(
            ADMIN_APIS_OPEN,
            f"`{shown}`: unrestricted {', '.join(sorted(open_apis))} on all interfaces",
            Severity.LOW,
        )

"""TorchServe: ``config.properties`` and ``torchserve --start`` flags.

TorchServe's management API registers models from URLs; a model archive carries Python
handler code, so registering one is running code (the ShellTorch chain, CVE-2023-43654,
combined an exposed management API with ``allowed_urls`` that matched anything).
Since 0.11 TorchServe enforces token authorization and disables the model API by
default; older releases have neither, so an exposed management address is reported even
when the token setting is absent, and as critical when the token is switched off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import Reach, bind_reach
from mlwarden.scanners.config.collector import FindingCollector
from mlwarden.scanners.config.command_options import parse_bool, parse_options
from mlwarden.scanners.config.secret_names import redact_argv
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CODE_INJECTION,
    CWE_INSECURE_DEFAULT,
    CWE_MISSING_AUTHENTICATION,
    CWE_SSRF,
    CWE_UNTRUSTED_FUNCTIONALITY,
)

MANAGEMENT_EXPOSED = Rule(
    "MLW-CFG-030",
    "TorchServe management API reachable from the network",
    Severity.HIGH,
    "Bind management_address to 127.0.0.1 (or a unix socket), keep token authorization on "
    "and the model API off, and reach it only from a trusted admin network.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
    "The management API registers model archives, whose handlers are Python code run by "
    "the server.",
)
INFERENCE_WITHOUT_TOKEN = Rule(
    "MLW-CFG-031",
    "TorchServe inference API open to the network with token authorization disabled",
    Severity.MEDIUM,
    "Re-enable token authorization (remove disable_token_authorization / "
    "--disable-token-auth) or put an authenticating gateway in front of the inference port.",
    (CWE_MISSING_AUTHENTICATION,),
)
TOKEN_DISABLED = Rule(
    "MLW-CFG-032",
    "TorchServe token authorization disabled",
    Severity.MEDIUM,
    "Remove `disable_token_authorization=true` (or `--disable-token-auth`, "
    "TS_DISABLE_TOKEN_AUTHORIZATION) and give clients the generated keys.",
    (CWE_MISSING_AUTHENTICATION, CWE_INSECURE_DEFAULT),
)
ANY_MODEL_URL = Rule(
    "MLW-CFG-033",
    "TorchServe allowed_urls lets models be fetched from any URL",
    Severity.HIGH,
    "Set allowed_urls to anchored patterns for your own model store only, e.g. "
    "`https://models\\.example\\.com/.*`.",
    (CWE_SSRF, CWE_UNTRUSTED_FUNCTIONALITY),
    "A pattern that matches any host lets a model registration fetch from internal "
    "addresses (cloud metadata) or from an attacker's server.",
)
ENV_CONFIG = Rule(
    "MLW-CFG-034",
    "TorchServe takes configuration from environment variables",
    Severity.LOW,
    "Set enable_envvars_config=false unless the environment is fully controlled: TS_* "
    "variables can then switch off token authorization or enable the model API.",
    (CWE_INSECURE_DEFAULT,),
)
PER_MODEL_DEPENDENCIES = Rule(
    "MLW-CFG-035",
    "TorchServe installs Python dependencies named by model archives",
    Severity.MEDIUM,
    "Set install_py_dep_per_model=false and bake reviewed, hash-pinned dependencies into the "
    "image.",
    (CWE_UNTRUSTED_FUNCTIONALITY, CWE_CODE_INJECTION),
    "Each archive's requirements.txt is pip-installed at registration, which runs package "
    "build code.",
)
RULES = (
    MANAGEMENT_EXPOSED,
    INFERENCE_WITHOUT_TOKEN,
    TOKEN_DISABLED,
    ANY_MODEL_URL,
    ENV_CONFIG,
    PER_MODEL_DEPENDENCIES,
)

KNOWN_KEYS = frozenset(
    {"inference_address", "management_address", "metrics_address", "model_store",
     "load_models", "allowed_urls", "disable_token_authorization", "enable_token_authorization",
     "enable_envvars_config", "enable_model_api", "install_py_dep_per_model",
     "number_of_netty_threads", "default_workers_per_model", "job_queue_size",
     "grpc_inference_port", "grpc_management_port", "models", "workflow_store", "vmargs",
     "cors_allowed_origin", "keystore", "private_key_file", "certificate_file"}
)  # fmt: skip
"""Keys that mark a ``.properties`` file as a TorchServe configuration."""

_DEFAULT_INFERENCE = "http://127.0.0.1:8080"
_DEFAULT_MANAGEMENT = "http://127.0.0.1:8081"
# URLs a permissive allowed_urls pattern would accept: metadata services and any host.
_PROBE_URLS = (
    "http://169.254.169.254/latest/meta-data/model.mar",
    "https://attacker.invalid/model.mar",
    "http://10.0.0.1/model.mar",
)
_MAX_PATTERN = 4_096
_LAUNCH_VALUES = frozenset(
    {"ts-config", "model-store", "workflow-store", "models", "log-config", "plugins-path"}
)

Properties = Mapping[str, tuple[str, int]]


def _permissive(pattern: str) -> bool:
    import re2

    text = pattern.strip()
    if not text or len(text) > _MAX_PATTERN:
        return False
    # RE2 runs in linear time whatever the pattern; Python's re could be made to hang.
    options = re2.Options()
    options.log_errors = False
    try:
        compiled = re2.compile(text, options)
    except re2.error:  # backreferences and lookaround (Java has them, RE2 does not)
        return False
    return any(compiled.fullmatch(url) is not None for url in _PROBE_URLS)


def _flag(value: str | None) -> bool | None:
    return None if value is None else parse_bool(value)


def check_properties(props: Properties, collector: FindingCollector) -> None:
    """Check a TorchServe ``config.properties`` (key → (value, line))."""

    def get(key: str) -> str | None:
        item = props.get(key)
        return item[0] if item else None

    def line(key: str) -> int | None:
        item = props.get(key)
        return item[1] if item else None

    disabled = False
    switches = (("disable_token_authorization", True), ("enable_token_authorization", False))
    for key, off_value in switches:
        if _flag(get(key)) is off_value:
            disabled = True
            collector.add(TOKEN_DISABLED, f"{key} = {get(key)}", line=line(key), field_path=key)
    model_api = _flag(get("enable_model_api")) is True
    management = get("management_address") or _DEFAULT_MANAGEMENT
    if bind_reach(management) is Reach.NETWORK:
        token_note = (
            "token authorization disabled"
            if disabled
            else "token authorization depends on the TorchServe version (none before 0.11)"
        )
        notes = [token_note]
        if model_api:
            notes.append("model registration API enabled")
        if get("allowed_urls") is None:
            notes.append("allowed_urls defaults to any http(s) URL")
        collector.add(
            MANAGEMENT_EXPOSED,
            f"management_address = {management}; " + "; ".join(notes),
            line=line("management_address"),
            field_path="management_address",
            severity=Severity.CRITICAL if disabled else None,
        )
    inference = get("inference_address") or _DEFAULT_INFERENCE
    if disabled and bind_reach(inference) is Reach.NETWORK:
        collector.add(
            INFERENCE_WITHOUT_TOKEN,
            f"inference_address = {inference} with token authorization disabled",
            line=line("inference_address"),
            field_path="inference_address",
        )
    allowed = get("allowed_urls")
    if allowed is not None:
        loose = [p for p in allowed.split(",") if _permissive(p)]
        if loose:
            collector.add(
                ANY_MODEL_URL,
                f"allowed_urls pattern {loose[0].strip()!r} matches any host",
                line=line("allowed_urls"),
                field_path="allowed_urls",
            )
    if _flag(get("enable_envvars_config")) is True:
        collector.add(
            ENV_CONFIG,
            "enable_envvars_config = true",
            line=line("enable_envvars_config"),
            field_path="enable_envvars_config",
        )
    if _flag(get("install_py_dep_per_model")) is True:
        collector.add(
            PER_MODEL_DEPENDENCIES,
            "install_py_dep_per_model = true",
            line=line("install_py_dep_per_model"),
            field_path="install_py_dep_per_model",
        )


def check_launch(
    argv: Sequence[str], args: Sequence[str], collector: FindingCollector, line: int | None
) -> None:
    """Check ``torchserve --start`` flags that weaken its defaults."""
    opts = parse_options(args, takes_value=_LAUNCH_VALUES)
    shown = redact_argv(list(argv))
    if opts.has("disable-token-auth"):
        collector.add(TOKEN_DISABLED, f"`{shown}`: --disable-token-auth", line=line)


def check_env(name: str, value: str, collector: FindingCollector, line: int | None) -> None:
    """``TS_DISABLE_TOKEN_AUTHORIZATION=true`` (honoured with enable_envvars_config)."""
    if name == "TS_DISABLE_TOKEN_AUTHORIZATION" and parse_bool(value) is True:
        collector.add(TOKEN_DISABLED, f"{name}={value}", line=line)

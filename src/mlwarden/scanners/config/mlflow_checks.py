"""MLflow tracking server: ``mlflow server`` / ``mlflow ui`` launches, ``basic_auth.ini``.

An MLflow server without authentication lets anyone who reaches it register models,
overwrite artifacts (pickled models that consumers later load) and read every run.
MLflow binds to 127.0.0.1 unless told otherwise (``--host``, ``MLFLOW_HOST``, or a bind
option smuggled in through ``--gunicorn-opts`` / ``--uvicorn-opts`` / ``--waitress-opts``);
its built-in authentication is ``--app-name basic-auth`` (any ``--app-name`` plugin is
taken as authentication). A reverse proxy that authenticates is invisible from here, so
the remediation says how to record it: bind MLflow to loopback behind the proxy.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import Reach, bind_reach, is_plaintext_remote
from mlwarden.scanners.config.collector import CommandSite, FindingCollector
from mlwarden.scanners.config.command_options import ParsedOptions, parse_bool, parse_options
from mlwarden.scanners.config.secret_names import redact, redact_argv
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CLEARTEXT_TRANSMISSION,
    CWE_DEFAULT_CREDENTIALS,
    CWE_INSECURE_DEFAULT,
    CWE_MISSING_AUTHENTICATION,
    CWE_ORIGIN_VALIDATION,
    CWE_PATH_TRAVERSAL,
    CWE_UNNECESSARY_PRIVILEGES,
)

EXPOSED = Rule(
    "MLW-CFG-001",
    "MLflow server reachable from the network without authentication",
    Severity.HIGH,
    "Start it with `--app-name basic-auth` (and change the admin password), or bind it to "
    "127.0.0.1 behind a reverse proxy that authenticates every request.",
    (CWE_MISSING_AUTHENTICATION, ATLAS_EXPLOIT_PUBLIC_APP),
    "Anyone who reaches the port can read every run, register or replace models and "
    "upload artifacts that other pipelines later load.",
)
DEFAULT_ADMIN = Rule(
    "MLW-CFG-002",
    "MLflow basic-auth keeps the default admin credentials",
    Severity.HIGH,
    "Set a unique `admin_password` in basic_auth.ini (or change it with the users API right "
    "after the first start) and keep the file out of version control.",
    (CWE_DEFAULT_CREDENTIALS, CWE_MISSING_AUTHENTICATION),
)
ARTIFACT_TRAVERSAL = Rule(
    "MLW-CFG-003",
    "MLflow artifact or store location climbs out of its folder with `..`",
    Severity.MEDIUM,
    "Use an absolute, normalised artifact location (or an object-store URI) without `..`.",
    (CWE_PATH_TRAVERSAL,),
    "Relative `..` locations make the served artifact tree depend on the working directory "
    "and have been the entry point of several MLflow path-traversal vulnerabilities.",
)
PLAINTEXT_URI = Rule(
    "MLW-CFG-004",
    "MLflow tracking or artifact traffic in plaintext HTTP to another host",
    Severity.MEDIUM,
    "Use https:// for tracking and artifact URIs that leave the machine; plaintext carries "
    "credentials and model files that can be read or replaced in transit.",
    (CWE_CLEARTEXT_TRANSMISSION,),
)
ARTIFACT_PROXY = Rule(
    "MLW-CFG-005",
    "MLflow artifact proxy (`--serve-artifacts`) exposed without authentication",
    Severity.HIGH,
    "Enable `--app-name basic-auth` or pass `--no-serve-artifacts` and give clients direct, "
    "authenticated access to the artifact store.",
    (CWE_MISSING_AUTHENTICATION, ATLAS_EXPLOIT_PUBLIC_APP),
    "The proxy lets anyone list, download and upload artifacts, including model files "
    "that are loaded (unpickled) by whoever uses the model next.",
)
PROTECTIONS_OFF = Rule(
    "MLW-CFG-006",
    "MLflow host-header or CORS protection switched off",
    Severity.MEDIUM,
    "List the real host names in `--allowed-hosts` and the real web origins in "
    "`--cors-allowed-origins`; never `*`, and never `--disable-security-middleware`.",
    (CWE_ORIGIN_VALIDATION,),
    "With `*` any web page a user visits can drive the server through DNS rebinding or "
    "cross-origin requests.",
)
SERVER_OPTIONS = Rule(
    "MLW-CFG-007",
    "MLflow server started with development or proxy-trust options",
    Severity.MEDIUM,
    "Drop `--dev` and reload options in deployments, and list only your proxy's address in "
    "`--forwarded-allow-ips` (never `*`).",
    (CWE_INSECURE_DEFAULT,),
    "Trusting forwarded headers from everyone lets clients spoof their address and scheme; "
    "development mode reloads code and shows debug output.",
)
DEFAULT_PERMISSION = Rule(
    "MLW-CFG-008",
    "MLflow basic-auth gives every user write access by default",
    Severity.MEDIUM,
    "Set `default_permission = READ` (or NO_PERMISSIONS) and grant EDIT/MANAGE per "
    "experiment and model.",
    (CWE_UNNECESSARY_PRIVILEGES,),
)
RULES = (
    EXPOSED,
    DEFAULT_ADMIN,
    ARTIFACT_TRAVERSAL,
    PLAINTEXT_URI,
    ARTIFACT_PROXY,
    PROTECTIONS_OFF,
    SERVER_OPTIONS,
    DEFAULT_PERMISSION,
)

_VALUE_OPTIONS = frozenset(
    {"host", "port", "workers", "backend-store-uri", "registry-store-uri",
     "default-artifact-root", "artifacts-destination", "gunicorn-opts", "waitress-opts",
     "uvicorn-opts", "app-name", "static-prefix", "expose-prometheus", "allowed-hosts",
     "cors-allowed-origins", "x-frame-options", "file-store", "secrets-cache-ttl"}
)  # fmt: skip
_SHORT = {"-h": "host", "-p": "port", "-w": "workers"}
_SERVER_OPTS = frozenset({"bind", "forwarded-allow-ips", "host", "listen", "workers", "port"})
_SERVER_SHORT = {"-b": "bind", "-w": "workers"}
_DEFAULT_ADMIN = ("admin", "password1234")
_WRITE_PERMISSIONS = frozenset({"EDIT", "MANAGE"})
_URI_OPTIONS = ("default-artifact-root", "artifacts-destination", "backend-store-uri")


def _inner_server_options(opts: ParsedOptions) -> list[tuple[str, ParsedOptions]]:
    out: list[tuple[str, ParsedOptions]] = []
    for name in ("gunicorn-opts", "uvicorn-opts", "waitress-opts"):
        for text in opts.all(name):
            try:
                words = shlex.split(text)
            except ValueError:
                continue
            out.append((name, parse_options(words, takes_value=_SERVER_OPTS, short=_SERVER_SHORT)))
    return out


def _bind_addresses(opts: ParsedOptions, env: Mapping[str, str]) -> list[str]:
    host = opts.last("host") or env.get("MLFLOW_HOST") or "127.0.0.1"
    addresses = [host]
    for _name, inner in _inner_server_options(opts):
        addresses += inner.all("bind", "listen")
        addresses += inner.all("host")
    return addresses


def check_server(argv: Sequence[str], args: Sequence[str], site: CommandSite) -> None:
    """Check ``mlflow server|ui`` started with ``args`` (the words after the subcommand)."""
    opts = parse_options(args, takes_value=_VALUE_OPTIONS, short=_SHORT)
    shown = redact_argv(list(argv))
    env = site.env
    exposed = [a for a in _bind_addresses(opts, env) if bind_reach(a) is Reach.NETWORK]
    authenticated = opts.has("app-name") or bool(env.get("MLFLOW_APP_NAME"))
    serve_env = parse_bool(env.get("MLFLOW_SERVE_ARTIFACTS", ""))
    serving = opts.switch("serve-artifacts", "no-serve-artifacts")
    explicit_proxy = serving is True or opts.has("artifacts-only") or serve_env is True
    proxy_on = serving is not False and serve_env is not False
    if exposed and not authenticated:
        proxy = " The artifact proxy is on (the default)." if proxy_on else ""
        site.report(EXPOSED, f"`{shown}` listens on {exposed[0]} and has no `--app-name`.{proxy}")
        if explicit_proxy and proxy_on:
            site.report(ARTIFACT_PROXY, f"`{shown}` serves artifacts to unauthenticated clients")
    for option in _URI_OPTIONS:
        for value in opts.all(option):
            check_location(option, value, site)
    for option, env_name in (
        ("allowed-hosts", "MLFLOW_SERVER_ALLOWED_HOSTS"),
        ("cors-allowed-origins", "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"),
    ):
        listed = opts.last(option) or env.get(env_name)
        if listed is not None and "*" in [v.strip() for v in listed.split(",")]:
            site.report(PROTECTIONS_OFF, f"`{shown}`: --{option} allows `*`")
    if opts.has("disable-security-middleware"):
        site.report(PROTECTIONS_OFF, f"`{shown}`: --disable-security-middleware")
    if opts.has("dev"):
        site.report(SERVER_OPTIONS, f"`{shown}`: --dev runs the development server")
    for name, inner in _inner_server_options(opts):
        trusted = inner.all("forwarded-allow-ips")
        if any("*" in v for v in trusted):
            site.report(SERVER_OPTIONS, f"`{shown}`: --{name} trusts forwarded headers from `*`")
        if inner.has("reload", "debug"):
            site.report(SERVER_OPTIONS, f"`{shown}`: --{name} enables reload/debug")


def check_location(option: str, value: str, site: CommandSite) -> None:
    """Check an artifact or store location for ``..`` and plaintext remote HTTP."""
    text = value.strip()
    path = text.split("://", 1)[-1]
    if ".." in path.replace("\\", "/").split("/"):
        site.report(ARTIFACT_TRAVERSAL, f"{option} = {redact(text)}")
    if is_plaintext_remote(text):
        site.report(PLAINTEXT_URI, f"{option} = {redact(text)}")


def check_basic_auth_ini(
    sections: Mapping[str, Mapping[str, tuple[str, int]]], collector: FindingCollector
) -> None:
    """Check MLflow's ``basic_auth.ini`` (section ``[mlflow]``)."""
    section = sections.get("mlflow")
    if section is None:
        return
    user = section.get("admin_username")
    password = section.get("admin_password")
    if password is not None and password[0].strip() == _DEFAULT_ADMIN[1]:
        name = user[0].strip() if user else _DEFAULT_ADMIN[0]
        collector.add(
            DEFAULT_ADMIN,
            f"admin_username = {name} with MLflow's published default admin_password",
            line=password[1],
            field_path="mlflow.admin_password",
        )
    permission = section.get("default_permission")
    if permission is not None and permission[0].strip().upper() in _WRITE_PERMISSIONS:
        collector.add(
            DEFAULT_PERMISSION,
            f"default_permission = {permission[0].strip()}",
            line=permission[1],
            field_path="mlflow.default_permission",
        )

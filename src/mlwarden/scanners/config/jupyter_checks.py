"""Jupyter Server / Notebook / Lab: launch flags and traitlets configuration.

A Jupyter server runs arbitrary code for whoever reaches its API; the token (generated at
start by default) or a password is the only thing between the network and a shell. The
same traits arrive three ways (``--ServerApp.token=''`` on the command line,
``c.ServerApp.token = ''`` in ``jupyter_server_config.py``, ``{"ServerApp": {"token": ""}}``
in JSON) and under several class names (``NotebookApp`` before Jupyter Server 2,
``IdentityProvider`` after); they are normalised to one view and judged once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import Reach, host_reach
from mlwarden.scanners.config.command_options import parse_bool, parse_options
from mlwarden.scanners.config.python_config import NotLiteral, TraitValue
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CODE_INJECTION,
    CWE_CSRF,
    CWE_MISSING_AUTHENTICATION,
    CWE_ORIGIN_VALIDATION,
    CWE_UNNECESSARY_PRIVILEGES,
)

NO_AUTH_EXPOSED = Rule(
    "MLW-CFG-010",
    "Jupyter server without token or password reachable from the network",
    Severity.CRITICAL,
    "Remove the empty token (Jupyter then generates one) or set a hashed password, and bind "
    "to 127.0.0.1 unless remote access is required.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
    "Anyone who reaches the port can start kernels and run shell commands as the server's user.",
)
NO_AUTH_LOCAL = Rule(
    "MLW-CFG-011",
    "Jupyter server without token or password",
    Severity.MEDIUM,
    "Remove the empty token (Jupyter then generates one) or set a hashed password: every "
    "local user and process, and web pages through DNS rebinding, can run code otherwise.",
    (CWE_MISSING_AUTHENTICATION,),
)
ANY_ORIGIN = Rule(
    "MLW-CFG-012",
    "Jupyter accepts cross-origin requests from any web site",
    Severity.MEDIUM,
    "Set `allow_origin` to the exact origins that must embed or call the server, never `*` "
    "or a pattern that matches everything.",
    (CWE_ORIGIN_VALIDATION,),
)
NO_XSRF = Rule(
    "MLW-CFG-013",
    "Jupyter XSRF protection disabled",
    Severity.MEDIUM,
    "Remove `disable_check_xsrf = True`; clients that need it should send the token in the "
    "Authorization header instead.",
    (CWE_CSRF,),
)
AS_ROOT = Rule(
    "MLW-CFG-014",
    "Jupyter allowed to run as root",
    Severity.LOW,
    "Run the server as an unprivileged user (in containers: a `USER` with a non-zero uid) "
    "and drop `allow_root` / `--allow-root`.",
    (CWE_UNNECESSARY_PRIVILEGES,),
)
RULES = (NO_AUTH_EXPOSED, NO_AUTH_LOCAL, ANY_ORIGIN, NO_XSRF, AS_ROOT)

_SERVER_CLASSES = frozenset(
    {"ServerApp", "NotebookApp", "LabApp", "LabServerApp", "NbClassicApp", "JupyterApp"}
)
_TOKEN_CLASSES = _SERVER_CLASSES | {"IdentityProvider", "PasswordIdentityProvider"}
_PASSWORD_KEYS = frozenset(
    {
        "ServerApp.password",
        "NotebookApp.password",
        "LabApp.password",
        "PasswordIdentityProvider.hashed_password",
        "IdentityProvider.hashed_password",
    }
)
_MATCH_ALL = frozenset({"*", ".*", ".+", "^.*$", "^.*", ".*$", "(.*)"})
_CLI_VALUES = frozenset({"ip", "port", "notebook-dir", "config", "ServerApp.ip"})
_CLI_ALIASES = {"ip": "ServerApp.ip", "allow-root": "ServerApp.allow_root"}
# The docker-stacks images (jupyter/*-notebook, quay.io/jupyter/*) listen on all interfaces.
DOCKER_STACKS_LAUNCHERS = frozenset(
    {"start-notebook.sh", "start-notebook.py", "start-singleuser.sh", "start-singleuser.py"}
)

Setting = tuple[TraitValue, int | None]
"""A trait value and the line that set it (``None`` when unknown)."""
Emit = Callable[[Rule, str, int | None, Severity | None], None]
Settings = Mapping[str, Setting]


@dataclass(frozen=True)
class _View:
    empty_token: Setting | None
    """The (last) empty token setting, when every token setting is empty."""
    password_set: bool
    ip: Setting | None
    origin: Setting | None
    origin_pattern: Setting | None
    no_xsrf: Setting | None
    allow_root: Setting | None


def _all(settings: Settings, trait: str, classes: frozenset[str]) -> list[Setting]:
    found: list[Setting] = []
    for key, value in settings.items():
        cls, _, name = key.partition(".")
        if name == trait and cls in classes:
            found.append(value)
    return found


def _pick(settings: Settings, trait: str, classes: frozenset[str]) -> Setting | None:
    found = _all(settings, trait, classes)
    return found[-1] if found else None


def _view(settings: Settings) -> _View:
    password_set = False
    for key in _PASSWORD_KEYS:
        value = settings.get(key)
        if value is not None and (isinstance(value[0], NotLiteral) or value[0]):
            password_set = True
    tokens = _all(settings, "token", _TOKEN_CLASSES)
    # Jupyter Server 2 reads the token from IdentityProvider and still honours the old
    # ServerApp/NotebookApp spelling: any non-empty (or computed) token means one is set.
    empty = [t for t in tokens if isinstance(t[0], str) and not t[0]]
    token = empty[-1] if empty and len(empty) == len(tokens) else None
    return _View(
        empty_token=token,
        password_set=password_set,
        ip=_pick(settings, "ip", _SERVER_CLASSES),
        origin=_pick(settings, "allow_origin", _SERVER_CLASSES),
        origin_pattern=_pick(settings, "allow_origin_pat", _SERVER_CLASSES),
        no_xsrf=_pick(settings, "disable_check_xsrf", _SERVER_CLASSES),
        allow_root=_pick(settings, "allow_root", _SERVER_CLASSES),
    )


def _truthy(value: TraitValue) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_bool(value) is True
    return False


def judge(
    settings: Settings, emit: Emit, *, default_ip: str = "localhost", label: str = ""
) -> None:
    """Judge one Jupyter server's settings; ``emit(rule, evidence, line, severity)``."""
    view = _view(settings)
    prefix = f"{label}: " if label else ""
    no_auth = view.empty_token is not None and not view.password_set
    ip_value = view.ip[0] if view.ip is not None else default_ip
    reach = host_reach(ip_value) if isinstance(ip_value, str) else Reach.UNKNOWN
    if view.empty_token is not None and no_auth:
        where = (
            f"listens on {ip_value!r}" if isinstance(ip_value, str) else "listen address unknown"
        )
        evidence = f"{prefix}token is empty and no password is set; the server {where}"
        rule = NO_AUTH_EXPOSED if reach is Reach.NETWORK else NO_AUTH_LOCAL
        emit(rule, evidence, view.empty_token[1], None)
    for setting, name in ((view.origin, "allow_origin"), (view.origin_pattern, "allow_origin_pat")):
        if setting is not None and isinstance(setting[0], str) and setting[0].strip() in _MATCH_ALL:
            severity = Severity.HIGH if no_auth else None
            emit(ANY_ORIGIN, f"{prefix}{name} = {setting[0]!r}", setting[1], severity)
    if view.no_xsrf is not None and _truthy(view.no_xsrf[0]):
        emit(NO_XSRF, f"{prefix}disable_check_xsrf = True", view.no_xsrf[1], None)
    if view.allow_root is not None and _truthy(view.allow_root[0]):
        emit(AS_ROOT, f"{prefix}allow_root = True", view.allow_root[1], None)


def cli_settings(args: Sequence[str], line: int | None) -> dict[str, Setting]:
    """Traits set by a Jupyter command line (``--ip``, ``--allow-root``, ``--Class.trait=``)."""
    opts = parse_options(args, takes_value=_CLI_VALUES, dotted_take_value=True)
    settings: dict[str, Setting] = {}
    for name, values in opts.values.items():
        key = _CLI_ALIASES.get(name, name)
        if "." in key:
            settings[key] = (_cli_value(values[-1]), line)
    for flag in opts.flags:
        alias = _CLI_ALIASES.get(flag)
        if alias is not None:
            settings[alias] = (True, line)
    return settings


def _cli_value(text: str) -> TraitValue:
    # The shell removed one level of quotes; traitlets evaluates what is left as a literal
    # when it can (so --ServerApp.token="''" is an empty string too).
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    parsed = parse_bool(stripped)
    return parsed if parsed is not None and stripped.lower() in ("true", "false") else stripped


def json_settings(document: object) -> dict[str, Setting]:
    """Traits from a JSON config (``{"ServerApp": {"token": ""}}``); lines are unknown."""
    settings: dict[str, Setting] = {}
    if not isinstance(document, dict):
        return settings
    for cls, traits in document.items():
        if isinstance(cls, str) and isinstance(traits, dict):
            for trait, value in traits.items():
                if isinstance(trait, str):
                    settings[f"{cls}.{trait}"] = (value, None)
    return settings

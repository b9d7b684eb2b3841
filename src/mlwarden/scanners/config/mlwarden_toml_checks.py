"""mlwarden's own configuration (``mlwarden.toml``): settings that weaken mlwarden.

``[scan]`` is read by :mod:`mlwarden.config`. ``[server]`` configures the API server and
is checked here ahead of the server itself; its keys are:

========================  ===========  ===================================================
key                       default      meaning
========================  ===========  ===================================================
``host``                  127.0.0.1    address the server listens on
``port``                  8443         TCP port, 1-65535
``tls``                   true         serve HTTPS; ``false`` is only for loopback dev runs
``dev_loopback``          false        declares a development run; only valid on loopback
``tls_cert``/``tls_key``  (none)       PEM files of the server certificate and key
========================  ===========  ===================================================

The server speaks TLS unless it is explicitly told it is a loopback development run:
``tls = false`` needs ``dev_loopback = true`` and a loopback ``host``.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import fields

from mlwarden.findings import Rule, Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import MalformedInput
from mlwarden.scanners.config.addresses import Reach, host_reach
from mlwarden.scanners.config.collector import FindingCollector
from mlwarden.taxonomy import (
    CWE_CLEARTEXT_TRANSMISSION,
    CWE_INSECURE_DEFAULT,
    CWE_PERMISSIVE_ALLOWLIST,
    CWE_RESOURCE_EXHAUSTION,
)

SERVER_WITHOUT_TLS = Rule(
    "MLW-CFG-070",
    "mlwarden server without TLS on a non-loopback address",
    Severity.HIGH,
    "Set `tls = true` with `tls_cert`/`tls_key` in [server], or bind `host` to 127.0.0.1 for "
    "a development run.",
    (CWE_CLEARTEXT_TRANSMISSION,),
    "Tokens, findings and model artifacts would cross the network in plaintext.",
)
DEV_MODE_EXPOSED = Rule(
    "MLW-CFG-071",
    "mlwarden development mode on a non-loopback address",
    Severity.HIGH,
    'Use `dev_loopback = true` only with `host = "127.0.0.1"`; deployments keep the default '
    "(false) and TLS on.",
    (CWE_INSECURE_DEFAULT, CWE_CLEARTEXT_TRANSMISSION),
)
TLS_OFF_UNDECLARED = Rule(
    "MLW-CFG-072",
    "mlwarden server TLS disabled without declaring a loopback development run",
    Severity.MEDIUM,
    "Either turn TLS back on or add `dev_loopback = true` so the intent is explicit; the "
    "server refuses plaintext otherwise.",
    (CWE_INSECURE_DEFAULT,),
)
FAIL_ON_CRITICAL = Rule(
    "MLW-CFG-073",
    "mlwarden fails builds only on critical findings",
    Severity.MEDIUM,
    'Use `fail_on = "high"` (the default): high findings include code-executing pickles '
    "outside the allowlist and unauthenticated exposed services.",
    (CWE_INSECURE_DEFAULT,),
)
FAIL_ON_INFO = Rule(
    "MLW-CFG-074",
    "mlwarden fails builds on informational findings",
    Severity.LOW,
    'Use `fail_on = "high"` or `"medium"`: failing on every informational note trains '
    "people to bypass the gate.",
    (CWE_INSECURE_DEFAULT,),
)
WEAK_LIMIT = Rule(
    "MLW-CFG-075",
    "mlwarden scan limit raised far above its default",
    Severity.MEDIUM,
    "Keep limits near their defaults and raise them per scan (`--timeout`, a separate config "
    "for a trusted artifact store) rather than for every input.",
    (CWE_RESOURCE_EXHAUSTION,),
    "Limits are what keep a hostile file from hanging or exhausting the scanner; a limit "
    "hundreds of times the default, or a timeout of a day, is no limit.",
)
BROAD_ALLOWLIST = Rule(
    "MLW-CFG-076",
    "mlwarden allowlist entry covers a whole package or standard-library module",
    Severity.MEDIUM,
    "Allow the exact classes your models need (`mypkg.models.Net`), not `package.*`; a "
    "wildcard over a library lets every callable in it through the pickle scanner.",
    (CWE_PERMISSIVE_ALLOWLIST,),
)
UNKNOWN_SETTING = Rule(
    "MLW-CFG-077",
    "Unknown or invalid mlwarden setting",
    Severity.LOW,
    "Fix the key or value; a misspelled key silently leaves the default in place and an "
    "invalid value makes mlwarden refuse the file.",
    (CWE_INSECURE_DEFAULT,),
)
RULES = (
    SERVER_WITHOUT_TLS,
    DEV_MODE_EXPOSED,
    TLS_OFF_UNDECLARED,
    FAIL_ON_CRITICAL,
    FAIL_ON_INFO,
    WEAK_LIMIT,
    BROAD_ALLOWLIST,
    UNKNOWN_SETTING,
)

SERVER_KEYS = frozenset({"host", "port", "tls", "dev_loopback", "tls_cert", "tls_key"})
_SCAN_KEYS = frozenset({"fail_on", "allow_globals", "deny_globals", "limits"})
_SEVERITIES = frozenset({"critical", "high", "medium", "low", "info"})
_LIMIT_FACTOR = 100
_DAY_SECONDS = 86_400.0
_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:#.*)?$")


def _line_of(text: str, table: str, key: str | None = None) -> int | None:
    """Line of ``key`` in ``[table]`` (or of the table header when ``key`` is None)."""
    current = ""
    header_line: int | None = None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=") if key else None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            current = match.group(1).replace(" ", "")
            if current == table:
                header_line = number
            continue
        if pattern is not None and current == table and pattern.match(line):
            return number
    return header_line


def check_mlwarden_toml(text: str, collector: FindingCollector) -> None:
    """Check an ``mlwarden.toml``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MalformedInput(f"not valid TOML: {exc}") from None
    server = doc.get("server")
    if isinstance(server, dict):
        _check_server(server, text, collector)
    elif server is not None:
        collector.add(UNKNOWN_SETTING, "[server] must be a table", line=_line_of(text, "server"))
    scan = doc.get("scan")
    if isinstance(scan, dict):
        _check_scan(scan, text, collector)


def _invalid(collector: FindingCollector, text: str, table: str, key: str, why: str) -> None:
    collector.add(
        UNKNOWN_SETTING,
        f"[{table}] {key}: {why}",
        line=_line_of(text, table, key),
        field_path=f"{table}.{key}",
    )


def _check_server(server: dict[str, object], text: str, collector: FindingCollector) -> None:
    for key in sorted(set(server) - SERVER_KEYS):
        known = ", ".join(sorted(SERVER_KEYS))
        _invalid(collector, text, "server", key, f"unknown key (known: {known})")
    host = server.get("host", "127.0.0.1")
    port = server.get("port", 8443)
    tls = server.get("tls", True)
    dev = server.get("dev_loopback", False)
    if not isinstance(host, str):
        _invalid(collector, text, "server", "host", "must be a string")
        host = "127.0.0.1"
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65_535:
        _invalid(collector, text, "server", "port", "must be an integer from 1 to 65535")
    for key, value in (("tls", tls), ("dev_loopback", dev)):
        if not isinstance(value, bool):
            _invalid(collector, text, "server", key, "must be true or false")
    reach = host_reach(host)
    if dev is True and reach is not Reach.LOOPBACK:
        collector.add(
            DEV_MODE_EXPOSED,
            f"dev_loopback = true with host = {host!r}",
            line=_line_of(text, "server", "dev_loopback"),
            field_path="server.dev_loopback",
        )
    elif tls is False and reach is Reach.NETWORK:
        collector.add(
            SERVER_WITHOUT_TLS,
            f"tls = false with host = {host!r}",
            line=_line_of(text, "server", "tls"),
            field_path="server.tls",
        )
    elif tls is False and dev is not True:
        collector.add(
            TLS_OFF_UNDECLARED,
            f"tls = false on {host!r} without dev_loopback = true",
            line=_line_of(text, "server", "tls"),
            field_path="server.tls",
        )


def _check_scan(scan: dict[str, object], text: str, collector: FindingCollector) -> None:
    for key in sorted(set(scan) - _SCAN_KEYS):
        _invalid(collector, text, "scan", key, "unknown key")
    fail_on = scan.get("fail_on")
    if fail_on is not None:
        label = str(fail_on).strip().lower()
        line = _line_of(text, "scan", "fail_on")
        if label in ("critical", "info"):
            rule = FAIL_ON_CRITICAL if label == "critical" else FAIL_ON_INFO
            collector.add(rule, f'fail_on = "{label}"', line=line, field_path="scan.fail_on")
        elif label not in _SEVERITIES:
            _invalid(collector, text, "scan", "fail_on", f"unknown severity {fail_on!r}")
    limits = scan.get("limits")
    if isinstance(limits, dict):
        _check_limits(limits, text, collector)
    allowed = scan.get("allow_globals")
    if isinstance(allowed, list):
        for entry in allowed:
            if isinstance(entry, str) and _broad(entry):
                collector.add(
                    BROAD_ALLOWLIST,
                    f"allow_globals entry {entry!r}",
                    line=_line_of(text, "scan", "allow_globals"),
                    field_path="scan.allow_globals",
                )


def _broad(entry: str) -> bool:
    if not entry.endswith(".*"):
        return False
    module = entry[:-2]
    top = module.split(".", 1)[0]
    return "." not in module or top in sys.stdlib_module_names or top == "builtins"


def _check_limits(limits: dict[str, object], text: str, collector: FindingCollector) -> None:
    defaults = {f.name: f.default for f in fields(Limits)}
    for key, value in limits.items():
        if key not in defaults:
            _invalid(collector, text, "scan.limits", key, "unknown limit")
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            _invalid(collector, text, "scan.limits", key, "must be a positive number")
            continue
        default = defaults[key]
        if not isinstance(default, int | float):
            continue
        weak = value >= _DAY_SECONDS if key == "max_seconds" else value > default * _LIMIT_FACTOR
        if weak:
            collector.add(
                WEAK_LIMIT,
                f"{key} = {value} (default {default})",
                line=_line_of(text, "scan.limits", key),
                field_path=f"scan.limits.{key}",
            )

"""Configuration: ``mlwarden.toml`` (or ``--config FILE``).

Example::

    [scan]
    fail_on = "high"                       # critical | high | medium | low | info
    allow_globals = ["mypkg.models.*", "mypkg.layers.Block"]
    deny_globals = ["numpy.fft.*"]

    [scan.limits]
    max_seconds = 600
    max_member_bytes = 4294967296
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from mlwarden.errors import ConfigError
from mlwarden.findings import Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import ScanSettings

DEFAULT_FILE = "mlwarden.toml"
_GLOBAL = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*(\.\*)?$")
_MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class Config:
    settings: ScanSettings
    fail_on: Severity
    source: str | None


def parse_globals(value: object, key: str, source: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(source, f"`{key}` must be a list of strings", 'e.g. ["mypkg.Model"]')
    for entry in value:
        if not _GLOBAL.match(entry) or "." not in entry:
            raise ConfigError(
                source,
                f"`{key}` entry {entry!r} is not `module.name` or `module.*`",
                "write the full dotted name, e.g. mypkg.models.Net",
            )
    return frozenset(value)


def _limits(table: object, source: str) -> Limits:
    if not isinstance(table, dict):
        raise ConfigError(source, "[scan.limits] must be a table", "see docs/configuration.md")
    known = {f.name: f.type for f in fields(Limits)}
    values: dict[str, int | float] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                source, f"unknown limit `{key}`", f"choose one of: {', '.join(sorted(known))}"
            )
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(source, f"limit `{key}` must be a positive number", "fix the value")
        values[key] = value
    return replace(Limits(), **values)  # type: ignore[arg-type]


def load_config(path: str | None = None) -> Config:
    """Read ``path`` (or ./mlwarden.toml if present); defaults when there is none."""
    candidate = Path(path) if path else Path(DEFAULT_FILE)
    if not candidate.is_file():
        if path:
            raise ConfigError(path, "configuration file not found", "check the --config path")
        return Config(ScanSettings(), Severity.HIGH, None)
    import tomllib

    source = str(candidate)
    raw = candidate.read_bytes()
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(source, "configuration file is larger than 1 MiB", "shorten it")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(source, f"not valid TOML ({exc})", "fix the syntax") from None
    scan = doc.get("scan", {})
    if not isinstance(scan, dict):
        raise ConfigError(source, "[scan] must be a table", "see docs/configuration.md")
    unknown = set(scan) - {"fail_on", "allow_globals", "deny_globals", "limits"}
    if unknown:
        raise ConfigError(
            source, f"unknown key(s) in [scan]: {', '.join(sorted(unknown))}", "remove them"
        )
    try:
        fail_on = Severity.parse(str(scan.get("fail_on", "high")))
    except ValueError as exc:
        raise ConfigError(source, f"fail_on: {exc}", "use one of the listed values") from None
    settings = ScanSettings(
        limits=_limits(scan.get("limits", {}), source),
        extra_allowed_globals=parse_globals(scan.get("allow_globals", []), "allow_globals", source),
        extra_denied_globals=parse_globals(scan.get("deny_globals", []), "deny_globals", source),
    )
    return Config(settings, fail_on, source)

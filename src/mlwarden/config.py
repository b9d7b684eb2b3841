"""Configuration: ``mlwarden.toml`` (or ``--config FILE``).

Example::

    [scan]
    fail_on = "high"                       # critical | high | medium | low | info
    allow_globals = ["mypkg.models.*", "mypkg.layers.Block"]
    deny_globals = ["numpy.fft.*"]

    [scan.limits]
    max_seconds = 600
    max_member_bytes = 4294967296

    [scan.pii]                             # regulated-data discovery
    region = "DE"                          # phone numbers written without +country code
    min_confidence = 0.6
    entities = ["credit_card", "iban", "email"]    # default: every entity
    [scan.pii.severity]                    # per entity id or rule id
    email = "low"
    "MLW-PII-001" = "critical"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlwarden.errors import ConfigError
from mlwarden.findings import Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import ScanSettings

if TYPE_CHECKING:
    from mlwarden.scanners.data.settings import DataScanSettings

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
    unknown = set(scan) - {"fail_on", "allow_globals", "deny_globals", "limits", "pii"}
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
        pii=_pii(scan["pii"], source) if "pii" in scan else None,
    )
    return Config(settings, fail_on, source)


def _pii(table: object, source: str) -> DataScanSettings:
    """``[scan.pii]``: which entities, which region, which severities."""
    from mlwarden.scanners.data.entity_types import ALL_ENTITIES as ENTITY_IDS
    from mlwarden.scanners.data.settings import DataScanSettings

    if not isinstance(table, dict):
        raise ConfigError(source, "[scan.pii] must be a table", "see the example in config.py")
    unknown = set(table) - {"severity", "entities", "region", "min_confidence"}
    if unknown:
        raise ConfigError(
            source, f"unknown key(s) in [scan.pii]: {', '.join(sorted(unknown))}", "remove them"
        )
    overrides: dict[str, Severity] = {}
    severities = table.get("severity", {})
    if not isinstance(severities, dict):
        raise ConfigError(source, "[scan.pii.severity] must be a table", 'e.g. email = "low"')
    for key, value in severities.items():
        if key not in ENTITY_IDS and not re.fullmatch(r"MLW-PII-\d{3}", key):
            raise ConfigError(
                source,
                f"[scan.pii.severity] names {key!r}, which is no entity or PII rule",
                f"use a rule id (MLW-PII-001) or one of: {', '.join(sorted(ENTITY_IDS))}",
            )
        try:
            overrides[key] = Severity.parse(str(value))
        except ValueError as exc:
            raise ConfigError(source, f"[scan.pii.severity] {key}: {exc}", "fix it") from None
    entities = table.get("entities")
    if entities is not None:
        if not isinstance(entities, list) or not all(e in ENTITY_IDS for e in entities):
            raise ConfigError(
                source,
                "[scan.pii] entities must be a list of entity ids",
                f"choose from: {', '.join(sorted(ENTITY_IDS))}",
            )
        entities = frozenset(entities)
    region = table.get("region", "US")
    if not isinstance(region, str) or not re.fullmatch(r"[A-Z]{2}", region):
        raise ConfigError(source, "[scan.pii] region must be a country code", 'e.g. "DE"')
    confidence = table.get("min_confidence", 0.5)
    if not isinstance(confidence, int | float) or not 0 < confidence <= 1:
        raise ConfigError(source, "[scan.pii] min_confidence must be in (0, 1]", "e.g. 0.6")
    return DataScanSettings(
        severity_overrides=overrides,
        entities=entities,
        region=region,
        min_confidence=float(confidence),
    )

"""Server settings: the ``[server]`` table of the workspace's ``config.toml`` plus CLI flags.

Every limit has a default that is safe to expose; nothing here is a credential.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.errors import ConfigError
from mlwarden.findings import Severity

_MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class RateSetting:
    """A token bucket: ``rate`` requests per second on average, ``burst`` at once."""

    rate: float
    burst: int


@dataclass(frozen=True)
class OidcSetting:
    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    name_claim: str = "preferred_username"


@dataclass(frozen=True)
class ServerSettings:
    """How one server process behaves; several processes share state through the database
    (and Redis when ``redis_url`` is set)."""

    quarantine_at: Severity = Severity.MEDIUM
    """Uploads with a finding at or above this severity are quarantined."""
    approvals_required: int = 1
    max_json_bytes: int = 1 << 20
    max_upload_bytes: int = 4 << 30
    predict_per_principal: RateSetting = RateSetting(50.0, 100)
    predict_per_model: RateSetting = RateSetting(500.0, 1000)
    auth_per_address: RateSetting = RateSetting(0.5, 10)
    """Login, token and step-up attempts per client address (brute-force brake)."""
    max_in_flight: int = 64
    """Predictions running at once; more are shed with 503."""
    max_queue: int = 64
    redis_url: str | None = None
    redis_prefix: str = "mlwarden:"
    """Key prefix in Redis, so deployments sharing one server keep separate limits."""
    cors_origins: tuple[str, ...] = ()
    policy_dir: Path | None = None
    device_keys: Path | None = None
    """JSON file of enrolled devices' Ed25519 keys, for the attestation risk signal."""
    oidc: OidcSetting | None = None
    risk: dict[str, Any] = field(default_factory=dict)
    token_minutes: int = 15
    audit_reads: bool = True
    """Ledger every allowed read too, not only writes and denials."""
    hsts: bool = True
    monitor_interval_s: int = 60
    """How often live traffic windows are compared with their models' training profiles."""


def _rate(value: object, where: str) -> RateSetting:
    if not isinstance(value, dict):
        raise ConfigError(
            where, "must be a table with rate and burst", "e.g. {rate = 5, burst = 10}"
        )
    rate, burst = value.get("rate"), value.get("burst")
    if not isinstance(rate, int | float) or rate <= 0 or not isinstance(burst, int) or burst < 1:
        raise ConfigError(where, "needs rate > 0 and an integer burst >= 1", "fix the values")
    return RateSetting(float(rate), burst)


def load_server_settings(config_file: Path | None) -> ServerSettings:
    """The ``[server]`` table of ``config_file`` (defaults when absent)."""
    if config_file is None or not config_file.is_file():
        return ServerSettings()
    raw = config_file.read_bytes()[: _MAX_CONFIG_BYTES + 1]
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(str(config_file), "is larger than 1 MiB", "trim it")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            str(config_file), f"is not valid TOML ({exc})", "fix the syntax"
        ) from None
    table = doc.get("server", {})
    if not isinstance(table, dict):
        raise ConfigError(str(config_file), "[server] must be a table", "fix the file")
    return settings_from_table(table, str(config_file))


def settings_from_table(table: dict[str, Any], source: str) -> ServerSettings:
    """Settings from a parsed ``[server]`` table; unknown keys are errors, not ignored."""
    known = {f for f in ServerSettings.__dataclass_fields__}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{source} [server]", f"has unknown keys {', '.join(unknown)}", "check the spelling"
        )
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{source} [server].{key}"
        if key == "quarantine_at":
            try:
                values[key] = Severity.parse(str(value))
            except ValueError:
                raise ConfigError(
                    where, f"{value!r} is not a severity", "use low..critical"
                ) from None
        elif key.startswith(("predict_per", "auth_per")):
            values[key] = _rate(value, where)
        elif key == "oidc":
            if not isinstance(value, dict) or not {"issuer", "audience"} <= set(value):
                raise ConfigError(where, "needs issuer and audience", "add both")
            values[key] = OidcSetting(**{k: str(v) for k, v in value.items()})
        elif key in ("policy_dir", "device_keys"):
            values[key] = Path(str(value))
        elif key == "cors_origins":
            values[key] = tuple(str(v) for v in value)
        elif key in ("risk",):
            values[key] = dict(value)
        elif key in ("redis_url", "redis_prefix"):
            values[key] = str(value)
        elif key in ("audit_reads", "hsts"):
            values[key] = bool(value)
        else:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(where, "must be a positive integer", "fix the value")
            values[key] = value
    return ServerSettings(**values)

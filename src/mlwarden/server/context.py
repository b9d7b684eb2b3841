"""Everything one server process holds: the vault, identity, policy, limits, registry.

Built once at start-up by :func:`open_context` from a workspace; routes reach it through
``request.app.state.ctx``. Several processes may open the same workspace: the database
(and Redis, when configured) is their shared state.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mlwarden.gateway.rate_limit import RateLimiter, limiter_from_url
from mlwarden.gateway.shedding import LoadShedder
from mlwarden.identity.authenticate import Authenticator
from mlwarden.identity.oidc import OidcVerifier
from mlwarden.identity.store import IdentityStore
from mlwarden.identity.tokens import TokenIssuer
from mlwarden.policy.authorizer import Authorizer
from mlwarden.policy.decision_cache import CachedAuthorizer
from mlwarden.policy.risk import RiskEngine, RiskSettings
from mlwarden.registry.service import ModelRegistry
from mlwarden.scanners.base import ScanSettings
from mlwarden.server.credential_cache import CachedAuthenticator
from mlwarden.server.ledger_writer import LedgerWriter
from mlwarden.server.served_models import ServedModels
from mlwarden.server.settings import ServerSettings
from mlwarden.server.ttl_cache import TtlCache
from mlwarden.store.vault import Vault
from mlwarden.workspace import CONFIG_NAME, Credential, load_config

if TYPE_CHECKING:
    from mlwarden.monitor.alerts.alert import Alert
    from mlwarden.monitor.alerts.alert_router import AlertRouter

_log = logging.getLogger("mlwarden.server")

IDENTITY_PURPOSE = "server/identity"
TOKEN_PURPOSE = "server/access-tokens"
CSRF_PURPOSE = "server/dashboard-csrf"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServerContext:
    """The services a request may use. Only the vault owns resources that need closing."""

    settings: ServerSettings
    vault: Vault
    identity: IdentityStore
    tokens: TokenIssuer
    authenticator: CachedAuthenticator
    authorizer: CachedAuthorizer
    risk: RiskEngine
    limiter: RateLimiter
    auth_limiter: RateLimiter
    shedder: LoadShedder
    registry: ModelRegistry
    ledger_writer: LedgerWriter
    models: ServedModels
    scan_settings: ScanSettings
    work_dir: Path
    alerts: AlertRouter | None = None
    csrf_key: bytes = field(default_factory=lambda: os.urandom(32))
    """Keys the dashboard's CSRF tokens; derived from the keyring by :func:`open_context`."""
    clock: Callable[[], datetime] = _utc_now
    recent_alerts: list[Alert] = field(default_factory=list)
    failure_counts: TtlCache[str, int] = field(default_factory=lambda: TtlCache(ttl_s=2.0))
    """Recent failed logins per principal, for the risk score (read at most every 2 s)."""
    failing_addresses: TtlCache[str, int] = field(default_factory=lambda: TtlCache(ttl_s=60.0))
    """Addresses refused for a while after too many failed authentications (value: seconds)."""
    _alert_lock: threading.Lock = field(default_factory=threading.Lock)

    def alert(self, alert: Alert) -> None:
        """Deliver an alert (log and ledger sinks, plus any configured) and keep it for the
        dashboard's recent list."""
        with self._alert_lock:
            self.recent_alerts.append(alert)
            del self.recent_alerts[:-200]
        _log.warning("alert %s: %s", alert.rule, alert.message)
        if self.alerts is not None:
            self.alerts.dispatch([alert])

    def close(self) -> None:
        self.ledger_writer.close()
        self.vault.close()


def open_context(
    root: Path,
    credential: Credential,
    settings: ServerSettings,
    *,
    clock: Callable[[], datetime] = _utc_now,
) -> ServerContext:
    """Open the workspace at ``root`` and build every service the server needs."""
    from mlwarden.store.workspace_vault import open_keys, open_vault

    cfg = load_config(root)
    vault = open_vault(root, credential, config=cfg, actor="server")
    _keys, keyring = open_keys(cfg, credential)
    identity = IdentityStore(vault.engine, keyring.derive_key(IDENTITY_PURPOSE))
    tokens = TokenIssuer(
        keyring.derive_key(TOKEN_PURPOSE), ttl=timedelta(minutes=settings.token_minutes)
    )
    oidc = None
    if settings.oidc is not None:
        oidc = OidcVerifier(
            settings.oidc.issuer,
            settings.oidc.audience,
            jwks_url=settings.oidc.jwks_url,
            jwks_file=settings.oidc.jwks_file,
            name_claim=settings.oidc.name_claim,
        )
    work_dir = root / "server-tmp"
    work_dir.mkdir(mode=0o700, exist_ok=True)
    writer = LedgerWriter(vault)
    return ServerContext(
        settings=settings,
        vault=vault,
        identity=identity,
        tokens=tokens,
        authenticator=CachedAuthenticator(Authenticator(identity, tokens, oidc)),
        authorizer=CachedAuthorizer(Authorizer(settings.policy_dir)),
        risk=_risk_engine(settings),
        limiter=_limiter(settings),
        auth_limiter=_limiter(settings),
        shedder=LoadShedder(settings.max_in_flight, settings.max_queue),
        registry=ModelRegistry(vault.engine, approvals_required=settings.approvals_required),
        ledger_writer=writer,
        models=ServedModels(),
        scan_settings=ScanSettings(),
        work_dir=work_dir,
        alerts=_alert_router(writer),
        csrf_key=keyring.derive_key(CSRF_PURPOSE),
        clock=clock,
    )


def _limiter(settings: ServerSettings) -> RateLimiter:
    if not settings.redis_url:
        return limiter_from_url(None)
    from mlwarden.gateway.rate_limit import RedisRateLimiter

    return RedisRateLimiter(settings.redis_url, prefix=f"{settings.redis_prefix}rl:")


def _risk_engine(settings: ServerSettings) -> RiskEngine:
    from mlwarden.policy.risk_state import MemoryRiskState, RedisRiskState, RiskState

    state: RiskState = (
        RedisRiskState.from_url(settings.redis_url, prefix=f"{settings.redis_prefix}risk:")
        if settings.redis_url
        else MemoryRiskState()
    )
    attestation = None
    if settings.device_keys is not None:
        from mlwarden.policy.attestation import Ed25519Attestation
        from mlwarden.server.device_keys import load_device_keys

        attestation = Ed25519Attestation(load_device_keys(settings.device_keys))
    return RiskEngine(
        RiskSettings.from_table(settings.risk, source=f"{CONFIG_NAME} [server.risk]"),
        state,
        attestation,
    )


def _alert_router(writer: LedgerWriter) -> AlertRouter:
    from mlwarden.monitor.alerts.alert_router import AlertRouter, Route
    from mlwarden.monitor.alerts.log_sink import LogSink

    del writer  # access denials already reach the ledger through the guard
    return AlertRouter([Route(LogSink())], cooldown_s=300.0)

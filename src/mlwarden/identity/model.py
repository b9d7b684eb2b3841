"""The identity types other modules code against: principals, their roles, authentications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlwarden.errors import MlwardenError

ROLES: tuple[str, ...] = ("viewer", "data-scientist", "approver", "admin", "auditor")
"""The fixed roles; see the shared vocabulary for what each may do."""

STAGES: tuple[str, ...] = ("dev", "staging", "production")

ALL_PROJECTS = "*"
"""The project of a binding that holds in every project."""

PRINCIPAL_KINDS: tuple[str, ...] = ("user", "service")


@dataclass(frozen=True)
class RoleBinding:
    """A role held in one project, or in every project when ``project`` is ``"*"``."""

    role: str
    project: str


@dataclass(frozen=True)
class Principal:
    """A user or service account, with its groups and every binding that applies to it.

    ``bindings`` are resolved: the principal's own and those of its groups, without
    duplicates.
    """

    id: str
    name: str
    kind: str
    disabled: bool
    groups: tuple[str, ...]
    bindings: tuple[RoleBinding, ...]
    totp_enrolled: bool
    created_at: datetime

    def roles_in(self, project: str) -> frozenset[str]:
        """The roles held in ``project``: bindings for it and for every project."""
        return frozenset(b.role for b in self.bindings if b.project in (project, ALL_PROJECTS))

    def has_global(self, role: str) -> bool:
        """Whether ``role`` is bound for every project (``"*"``)."""
        return RoleBinding(role, ALL_PROJECTS) in self.bindings


@dataclass(frozen=True)
class Authenticated:
    """A request's proven identity: who, by which method, with which factors.

    ``factors`` is ``{"key"}``, ``{"key", "otp"}`` after a TOTP step-up, ``{"oidc"}`` or
    ``{"cert"}``; ``credential_id`` names the credential used (API key id, token id, a
    certificate fingerprint) for the access log, never a secret.
    """

    principal: Principal
    method: str
    factors: frozenset[str]
    credential_id: str | None


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as listed to its owner or an admin; the secret itself is never kept."""

    key_id: str
    principal: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def active_at(self, when: datetime) -> bool:
        """Whether the key may authenticate at ``when`` (not revoked, not expired)."""
        return self.revoked_at is None and (self.expires_at is None or when < self.expires_at)


INVALID_CREDENTIALS = "invalid credentials"
MISSING_CREDENTIALS = "missing credentials"


class AuthenticationError(MlwardenError):
    """The request could not be authenticated (HTTP 401).

    ``reason`` is what the client may be told, and never says which part failed
    (``"invalid credentials"`` or ``"missing credentials"``). ``detail`` says what did
    fail, for the server's own log only.
    """

    def __init__(self, reason: str = INVALID_CREDENTIALS, *, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(reason)

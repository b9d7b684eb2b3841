"""Principals, groups, role bindings, projects, API keys and TOTP, in the catalog database.

:class:`IdentityStore` is the only writer of the identity tables. Everything it returns is
a frozen record from :mod:`mlwarden.identity.model`; a principal comes with its groups and
its bindings already resolved (direct and through groups).

Secrets at rest: API keys are stored as argon2id hashes, TOTP seeds sealed with AES-GCM
under a key derived from the server secret. Bad input (unknown names, malformed names,
duplicates) raises :class:`~mlwarden.errors.UsageError`; a credential that does not
authenticate raises :class:`~mlwarden.identity.model.AuthenticationError`, whose message
never says why.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from mlwarden.errors import UsageError
from mlwarden.identity import api_keys, totp
from mlwarden.identity.model import (
    ALL_PROJECTS,
    ApiKeyInfo,
    Authenticated,
    AuthenticationError,
    Principal,
    RoleBinding,
)
from mlwarden.identity.names import (
    GROUP_PREFIX,
    check_binding_project,
    check_kind,
    check_name,
    check_role,
    is_valid_name,
    parse_subject,
)
from mlwarden.identity.tables import (
    ApiKeyRow,
    FailedLoginRow,
    GroupMemberRow,
    PrincipalRow,
    ProjectRow,
    RoleBindingRow,
)
from mlwarden.store.catalog.db import write_transaction
from mlwarden.store.catalog.rows import insert_ignoring_duplicates

_log = logging.getLogger(__name__)

_PRINCIPALS = cast(Table, PrincipalRow.__table__)
_MEMBERS = cast(Table, GroupMemberRow.__table__)
_BINDINGS = cast(Table, RoleBindingRow.__table__)
_PROJECTS = cast(Table, ProjectRow.__table__)
_KEYS = cast(Table, ApiKeyRow.__table__)
_FAILED = cast(Table, FailedLoginRow.__table__)

SECRET_BYTES = 32
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key."""
VERIFIED_KEY_TTL = timedelta(seconds=60)
"""How long a verified key skips argon2 in this process (never past the key's expiry)."""
MAX_LABEL = 200
MAX_OIDC_SUBJECT = 255


def _now() -> datetime:
    return datetime.now(UTC)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    # One server secret, one independent key per use (domain separation by label).
    return hmac.new(secret, b"mlwarden identity v1\x00" + purpose, hashlib.sha256).digest()


def _unknown(name: str) -> UsageError:
    return UsageError(f"principal {name[:80]!r}", "does not exist", "create it first")


_F = TypeVar("_F", bound=Callable[..., Any])


def _changes_identity(method: _F) -> _F:
    """Count a change, so caches of authentication results in this process notice it."""

    @functools.wraps(method)
    def changed(self: IdentityStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.generation += 1

    return cast(_F, changed)


class IdentityStore:
    """Identity records in the catalog database (SQLite or PostgreSQL).

    ``secret`` is the server's 32-byte identity key (derived from the workspace keyring):
    it seals TOTP seeds and keys the verified-API-key cache. ``hasher`` sets the argon2id
    costs (the library defaults unless given); ``clock`` is the time source, for tests.
    """

    def __init__(
        self,
        engine: Engine,
        secret: bytes,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if len(secret) != SECRET_BYTES:
            raise ValueError(f"the identity secret must be {SECRET_BYTES} bytes")
        self.engine = engine
        self.generation = 0
        """Bumped by every change made through this store (principals, roles, keys)."""
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._seal = totp.SeedSeal(_derive(secret, b"totp seed seal"))
        self._verified = api_keys.VerifiedKeyCache(
            _derive(secret, b"verified key cache"), VERIFIED_KEY_TTL
        )
        # Unknown key ids are checked against this, so they cost as much as known ones.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(32))

    # -- principals --------------------------------------------------------------------

    @_changes_identity
    def create_principal(
        self, name: str, kind: str = "user", oidc_subject: str | None = None
    ) -> Principal:
        """Create a principal (enabled, no roles); :class:`UsageError` if the name is taken."""
        check_name(name)
        check_kind(kind)
        if oidc_subject is not None:
            _check_oidc_subject(oidc_subject)
        try:
            with write_transaction(self.engine) as connection:
                return self._insert_principal(connection, name, kind, oidc_subject)
        except IntegrityError:  # a concurrent writer took the name or subject first
            raise UsageError(
                f"principal {name!r}", "or its OIDC subject is already taken", "choose another"
            ) from None

    def get(self, name: str) -> Principal | None:
        """The principal called ``name``, disabled or not; None if there is none."""
        if not is_valid_name(name):
            return None
        with self.engine.connect() as connection:
            row = _principal_row(connection, name)
            return None if row is None else _load_principal(connection, row)

    def by_oidc_subject(self, subject: str) -> Principal | None:
        """The principal linked to OpenID subject ``subject``, if any."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(_PRINCIPALS).where(_PRINCIPALS.c.oidc_subject == subject)
            ).first()
            return None if row is None else _load_principal(connection, row)

    def for_oidc(self, subject: str, name: str | None) -> Principal | None:
        """The principal an OpenID login maps to: linked by ``subject``, else by ``name``.

        Matching by name (the provider's name claim) only reaches principals that are not
        linked to any subject, so a provider account that renames itself cannot take over
        a linked principal. No principal is created here.
        """
        with self.engine.connect() as connection:
            row = connection.execute(
                select(_PRINCIPALS).where(_PRINCIPALS.c.oidc_subject == subject)
            ).first()
            if row is None and name is not None and is_valid_name(name):
                row = _principal_row(connection, name)
                if row is not None and row.oidc_subject is not None:
                    row = None
            return None if row is None else _load_principal(connection, row)

    def list_principals(self) -> list[Principal]:
        """Every principal, by name."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(_PRINCIPALS).order_by(_PRINCIPALS.c.name)).all()
            groups: dict[str, list[str]] = defaultdict(list)
            for member in connection.execute(select(_MEMBERS).order_by(_MEMBERS.c.group_name)):
                groups[member.principal_id].append(member.group_name)
            grants = _grants_by_subject(connection.execute(select(_BINDINGS)).all())
        return [_principal(row, groups[row.id], grants) for row in rows]

    @_changes_identity
    def set_oidc_subject(self, name: str, subject: str | None) -> None:
        """Link ``name`` to an OpenID subject (``sub`` claim), or unlink it with None."""
        if subject is not None:
            _check_oidc_subject(subject)
        try:
            with write_transaction(self.engine) as connection:
                self._update_principal(connection, name, oidc_subject=subject)
        except IntegrityError:
            raise UsageError(
                "OIDC subject", "is already linked to another principal", "unlink it there first"
            ) from None

    @_changes_identity
    def disable(self, name: str) -> None:
        """Disable ``name``: every credential of it is refused until :meth:`enable`."""
        with write_transaction(self.engine) as connection:
            self._update_principal(connection, name, disabled=True)

    @_changes_identity
    def enable(self, name: str) -> None:
        """Undo :meth:`disable`."""
        with write_transaction(self.engine) as connection:
            self._update_principal(connection, name, disabled=False)

    # -- projects, groups, bindings ----------------------------------------------------

    @_changes_identity
    def create_project(self, name: str) -> None:
        """Create a project; :class:`UsageError` if it exists."""
        check_name(name, "project")
        with write_transaction(self.engine) as connection:
            inserted = connection.execute(
                insert_ignoring_duplicates(connection, _PROJECTS)
                .values(name=name, created_at=self._clock())
                .returning(_PROJECTS.c.name)
            )
            if inserted.first() is None:
                raise UsageError(f"project {name!r}", "already exists", "choose another name")

    def list_projects(self) -> list[str]:
        """Every project's name, sorted."""
        with self.engine.connect() as connection:
            query = select(_PROJECTS.c.name).order_by(_PROJECTS.c.name)
            return [str(name) for name in connection.execute(query).scalars()]

    @_changes_identity
    def add_to_group(self, group: str, name: str) -> None:
        """Make ``name`` a member of ``group`` (a group exists once it has a member)."""
        check_name(group, "group")
        with write_transaction(self.engine) as connection:
            row = _existing_principal(connection, name)
            connection.execute(
                insert_ignoring_duplicates(connection, _MEMBERS).values(
                    group_name=group, principal_id=row.id
                )
            )

    @_changes_identity
    def remove_from_group(self, group: str, name: str) -> bool:
        """Take ``name`` out of ``group``; False if it was not a member."""
        check_name(group, "group")
        with write_transaction(self.engine) as connection:
            row = _existing_principal(connection, name)
            removed = connection.execute(
                delete(_MEMBERS).where(
                    _MEMBERS.c.group_name == group, _MEMBERS.c.principal_id == row.id
                )
            )
            return removed.rowcount == 1

    def list_groups(self) -> dict[str, tuple[str, ...]]:
        """Every group with members, mapped to its members' names (sorted)."""
        query = (
            select(_MEMBERS.c.group_name, _PRINCIPALS.c.name)
            .join(_PRINCIPALS, _PRINCIPALS.c.id == _MEMBERS.c.principal_id)
            .order_by(_MEMBERS.c.group_name, _PRINCIPALS.c.name)
        )
        groups: dict[str, list[str]] = defaultdict(list)
        with self.engine.connect() as connection:
            for group, member in connection.execute(query):
                groups[group].append(member)
        return {group: tuple(members) for group, members in groups.items()}

    @_changes_identity
    def grant(self, subject: str, role: str, project: str = ALL_PROJECTS) -> bool:
        """Bind ``role`` in ``project`` (``"*"``: all) to a principal or ``group:NAME``.

        The principal and the project must exist; a group need not have members yet.
        Returns False when the binding already existed.
        """
        kind, name = parse_subject(subject)
        check_role(role)
        check_binding_project(project)
        with write_transaction(self.engine) as connection:
            if kind == "principal":
                _existing_principal(connection, name)
            if project != ALL_PROJECTS and not _project_exists(connection, project):
                raise UsageError(f"project {project!r}", "does not exist", "create it first")
            return self._insert_binding(connection, kind, name, role, project)

    @_changes_identity
    def revoke(self, subject: str, role: str, project: str = ALL_PROJECTS) -> bool:
        """Remove a binding made by :meth:`grant`; False if there was none."""
        kind, name = parse_subject(subject)
        check_role(role)
        check_binding_project(project)
        with write_transaction(self.engine) as connection:
            removed = connection.execute(
                delete(_BINDINGS).where(
                    _BINDINGS.c.subject_kind == kind,
                    _BINDINGS.c.subject == name,
                    _BINDINGS.c.role == role,
                    _BINDINGS.c.project == project,
                )
            )
            return removed.rowcount == 1

    def list_grants(self) -> list[tuple[str, RoleBinding]]:
        """Every binding as ``(subject, binding)``, subjects as :meth:`grant` takes them."""
        query = select(_BINDINGS).order_by(
            _BINDINGS.c.subject_kind.desc(), _BINDINGS.c.subject, _BINDINGS.c.project
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            (_subject(row.subject_kind, row.subject), RoleBinding(row.role, row.project))
            for row in rows
        ]

    # -- API keys ----------------------------------------------------------------------

    def issue_api_key(
        self, name: str, *, label: str = "", ttl: timedelta | None = None
    ) -> tuple[str, ApiKeyInfo]:
        """A new key for ``name``: the plaintext (shown once, never stored) and its record.

        ``ttl`` None means the key does not expire (revoke it when done).
        """
        _check_label(label)
        if ttl is not None and ttl <= timedelta(0):
            raise UsageError("key lifetime", "must be positive", "give a duration above zero")
        key_id, plaintext, digest = self._new_key_hash()  # before the transaction: it is slow
        with write_transaction(self.engine) as connection:
            row = _existing_principal(connection, name)
            if row.disabled:
                raise UsageError(
                    f"principal {name!r}", "is disabled", "enable it before issuing keys"
                )
            info = self._insert_key(connection, row, key_id, digest, label, ttl)
        return plaintext, info

    def verify_api_key(self, plaintext: str) -> Authenticated:
        """The principal a key authenticates; :class:`AuthenticationError` otherwise.

        Refused: malformed, unknown, wrong secret, expired, revoked, or the principal is
        disabled, all with the same message.
        """
        key_id = api_keys.parse_key_id(plaintext)
        if key_id is None:
            raise AuthenticationError(detail="malformed API key")
        now = self._clock()
        with self.engine.connect() as connection:
            key = connection.execute(select(_KEYS).where(_KEYS.c.key_id == key_id)).first()
        cached = key is not None and self._verified.hit(plaintext, key_id, now)
        if not cached and not self._hash_matches(
            None if key is None else key.secret_hash, plaintext
        ):
            raise AuthenticationError(detail=f"unknown API key or wrong secret ({key_id})")
        assert key is not None  # a decoy hash never matches
        if key.revoked_at is not None:
            self._verified.forget_key(key_id)
            raise AuthenticationError(detail=f"revoked API key {key_id}")
        if key.expires_at is not None and now >= key.expires_at:
            raise AuthenticationError(detail=f"expired API key {key_id}")
        with self.engine.connect() as connection:
            row = connection.execute(
                select(_PRINCIPALS).where(_PRINCIPALS.c.id == key.principal_id)
            ).one()
            if row.disabled:
                raise AuthenticationError(detail=f"API key {key_id} of disabled {row.name}")
            principal = _load_principal(connection, row)
        if not cached:
            self._verified.remember(plaintext, key_id, now, key.expires_at)
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            self._touch_key(key_id, now)
        return Authenticated(principal, "api_key", frozenset({"key"}), key_id)

    def get_api_key(self, key_id: str) -> ApiKeyInfo | None:
        """One key's record (for checking whose it is before revoking it)."""
        with self.engine.connect() as connection:
            row = connection.execute(_key_query().where(_KEYS.c.key_id == key_id)).first()
        return None if row is None else _key_info(row)

    def list_api_keys(self, name: str | None = None) -> list[ApiKeyInfo]:
        """Keys of ``name`` (every principal's when None), oldest first, revoked included."""
        query = _key_query().order_by(_KEYS.c.created_at, _KEYS.c.key_id)
        if name is not None:
            query = query.where(_PRINCIPALS.c.name == name)
        with self.engine.connect() as connection:
            return [_key_info(row) for row in connection.execute(query)]

    @_changes_identity
    def revoke_api_key(self, key_id: str) -> None:
        """Revoke a key at once, in every process; revoking twice keeps the first time."""
        with write_transaction(self.engine) as connection:
            exists = connection.execute(select(_KEYS.c.key_id).where(_KEYS.c.key_id == key_id))
            if exists.first() is None:
                raise UsageError(f"API key {key_id[:40]!r}", "does not exist", "list the keys")
            connection.execute(
                update(_KEYS)
                .where(_KEYS.c.key_id == key_id, _KEYS.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        self._verified.forget_key(key_id)

    # -- TOTP --------------------------------------------------------------------------

    @_changes_identity
    def enroll_totp(self, name: str, *, issuer: str = "mlwarden", replace: bool = False) -> str:
        """Give ``name`` a new TOTP seed; returns the ``otpauth://`` provisioning URI.

        A principal that already has one is refused unless ``replace``: whoever holds only
        an API key must not be able to swap in their own authenticator (the caller
        decides when replacing is allowed, e.g. after a current code or by an admin).
        """
        seed = totp.new_seed()
        with write_transaction(self.engine) as connection:
            row = _existing_principal(connection, name)
            if row.totp_secret is not None and not replace:
                raise UsageError(
                    f"principal {name!r}",
                    "already has an authenticator enrolled",
                    "confirm a current code and replace it, or ask an admin to reset it",
                )
            connection.execute(
                update(_PRINCIPALS)
                .where(_PRINCIPALS.c.id == row.id)
                .values(totp_secret=self._seal.seal(seed, row.id), totp_last_step=None)
            )
        return totp.provisioning_uri(seed, name, issuer)

    @_changes_identity
    def reset_totp(self, name: str) -> None:
        """Remove ``name``'s authenticator (an admin's recovery path)."""
        with write_transaction(self.engine) as connection:
            self._update_principal(connection, name, totp_secret=None, totp_last_step=None)

    def verify_totp(self, name: str, code: str) -> bool:
        """Whether ``code`` is a current TOTP code of ``name`` not accepted before.

        Each time step is accepted once, and never a step older than the newest accepted
        (so a code seen over someone's shoulder is useless once used). False for unknown,
        disabled or unenrolled principals. Callers throttle guessing with
        :meth:`record_failed_login` / :meth:`failed_logins`.
        """
        if not is_valid_name(name):
            return False
        with self.engine.connect() as connection:
            row = _principal_row(connection, name)
        if row is None or row.disabled or row.totp_secret is None:
            return False
        seed = self._seal.open(row.totp_secret, row.id)
        if seed is None:
            _log.warning("TOTP seed of %s does not open with this server's secret", name)
            return False
        step = totp.matching_step(seed, code, self._clock())
        if step is None:
            return False
        with write_transaction(self.engine) as connection:
            # Conditional update: of two requests racing with one code, only one wins.
            accepted = connection.execute(
                update(_PRINCIPALS)
                .where(
                    _PRINCIPALS.c.id == row.id,
                    _PRINCIPALS.c.totp_secret == row.totp_secret,
                    or_(
                        _PRINCIPALS.c.totp_last_step.is_(None),
                        _PRINCIPALS.c.totp_last_step < step,
                    ),
                )
                .values(totp_last_step=step)
            )
            return accepted.rowcount == 1

    # -- failed logins -----------------------------------------------------------------

    def record_failed_login(self, name: str, ip: str) -> None:
        """Note a failed sign-in as ``name`` (which need not exist) from ``ip``."""
        with write_transaction(self.engine) as connection:
            connection.execute(
                _FAILED.insert().values(
                    principal_name=name[:255], at=self._clock(), source_ip=ip[:64]
                )
            )

    def failed_logins(self, name: str, since: datetime) -> int:
        """How many failed sign-ins as ``name`` were recorded at or after ``since``."""
        query = select(func.count()).where(
            _FAILED.c.principal_name == name[:255], _FAILED.c.at >= since
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def prune_failed_logins(self, before: datetime) -> int:
        """Delete failed sign-ins older than ``before``; returns how many."""
        with write_transaction(self.engine) as connection:
            return connection.execute(delete(_FAILED).where(_FAILED.c.at < before)).rowcount

    # -- in an open transaction (also used by mlwarden.identity.bootstrap) --------------

    def _insert_principal(
        self, connection: Connection, name: str, kind: str, oidc_subject: str | None
    ) -> Principal:
        if _principal_row(connection, name) is not None:
            raise UsageError(f"principal {name!r}", "already exists", "choose another name")
        if oidc_subject is not None:
            holder = connection.execute(
                select(_PRINCIPALS.c.name).where(_PRINCIPALS.c.oidc_subject == oidc_subject)
            ).scalar()
            if holder is not None:
                raise UsageError(
                    "OIDC subject", f"is already linked to {holder!r}", "unlink it there first"
                )
        connection.execute(
            _PRINCIPALS.insert().values(
                id=secrets.token_hex(16),
                name=name,
                kind=kind,
                disabled=False,
                created_at=self._clock(),
                oidc_subject=oidc_subject,
                totp_secret=None,
                totp_last_step=None,
            )
        )
        row = _principal_row(connection, name)
        assert row is not None
        return _load_principal(connection, row)

    def _insert_binding(
        self, connection: Connection, kind: str, name: str, role: str, project: str
    ) -> bool:
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
        inserted = connection.execute(
            insert_ignoring_duplicates(connection, _BINDINGS)
            .values(
                subject_kind=kind,
                subject=name,
                role=role,
                project=project,
                created_at=self._clock(),
            )
            .returning(_BINDINGS.c.role)
        )
        return inserted.first() is not None

    def _insert_key(
        self,
        connection: Connection,
        principal: Row[Any],
        key_id: str,
        digest: str,
        label: str,
        ttl: timedelta | None,
    ) -> ApiKeyInfo:
        now = self._clock()
        expires_at = None if ttl is None else now + ttl
        connection.execute(
            _KEYS.insert().values(
                key_id=key_id,
                principal_id=principal.id,
                secret_hash=digest,
                label=label,
                created_at=now,
                expires_at=expires_at,
                last_used_at=None,
                revoked_at=None,
            )
        )
        return ApiKeyInfo(key_id, principal.name, label, now, expires_at, None, None)

    def _new_key_hash(self) -> tuple[str, str, str]:
        key_id, plaintext = api_keys.new_key()
        return key_id, plaintext, self._hasher.hash(plaintext)

    def _admin_exists(self, connection: Connection) -> bool:
        query = select(_BINDINGS.c.role).where(_BINDINGS.c.role == "admin").limit(1)
        return connection.execute(query).first() is not None

    def _principal_row(self, connection: Connection, name: str) -> Row[Any] | None:
        return _principal_row(connection, name)

    # -- helpers -----------------------------------------------------------------------

    def _update_principal(self, connection: Connection, name: str, **values: object) -> None:
        row = _existing_principal(connection, name)
        connection.execute(update(_PRINCIPALS).where(_PRINCIPALS.c.id == row.id).values(values))

    def _hash_matches(self, digest: str | None, plaintext: str) -> bool:
        try:
            return self._hasher.verify(digest or self._decoy_hash, plaintext) and digest is not None
        except (VerificationError, InvalidHashError):
            return False

    def _touch_key(self, key_id: str, now: datetime) -> None:
        with write_transaction(self.engine) as connection:
            connection.execute(
                update(_KEYS)
                .where(
                    _KEYS.c.key_id == key_id,
                    or_(
                        _KEYS.c.last_used_at.is_(None),
                        _KEYS.c.last_used_at <= now - LAST_USED_RESOLUTION,
                    ),
                )
                .values(last_used_at=now)
            )


# ----------------------------------------------------------------------------- loading


def _principal_row(connection: Connection, name: str) -> Row[Any] | None:
    return connection.execute(select(_PRINCIPALS).where(_PRINCIPALS.c.name == name)).first()


def _existing_principal(connection: Connection, name: str) -> Row[Any]:
    row = _principal_row(connection, check_name(name))
    if row is None:
        raise _unknown(name)
    return row


def _project_exists(connection: Connection, name: str) -> bool:
    query = select(_PROJECTS.c.name).where(_PROJECTS.c.name == name)
    return connection.execute(query).first() is not None


def _load_principal(connection: Connection, row: Row[Any]) -> Principal:
    groups = list(
        connection.execute(
            select(_MEMBERS.c.group_name)
            .where(_MEMBERS.c.principal_id == row.id)
            .order_by(_MEMBERS.c.group_name)
        ).scalars()
    )
    applies = or_(
        and_(_BINDINGS.c.subject_kind == "principal", _BINDINGS.c.subject == row.name),
        and_(_BINDINGS.c.subject_kind == "group", _BINDINGS.c.subject.in_(groups)),
    )
    grants = _grants_by_subject(connection.execute(select(_BINDINGS).where(applies)).all())
    return _principal(row, groups, grants)


def _grants_by_subject(rows: Iterable[Row[Any]]) -> dict[tuple[str, str], list[RoleBinding]]:
    grants: dict[tuple[str, str], list[RoleBinding]] = defaultdict(list)
    for row in rows:
        grants[(row.subject_kind, row.subject)].append(RoleBinding(row.role, row.project))
    return grants


def _principal(
    row: Row[Any], groups: list[str], grants: dict[tuple[str, str], list[RoleBinding]]
) -> Principal:
    bindings = set(grants.get(("principal", row.name), ()))
    for group in groups:
        bindings.update(grants.get(("group", group), ()))
    return Principal(
        id=row.id,
        name=row.name,
        kind=row.kind,
        disabled=bool(row.disabled),
        groups=tuple(groups),
        bindings=tuple(sorted(bindings, key=lambda b: (b.project, b.role))),
        totp_enrolled=row.totp_secret is not None,
        created_at=row.created_at,
    )


def _subject(kind: str, name: str) -> str:
    return f"{GROUP_PREFIX}{name}" if kind == "group" else name


def _key_query() -> Select[Any]:
    return select(_KEYS, _PRINCIPALS.c.name.label("principal_name")).join(
        _PRINCIPALS, _PRINCIPALS.c.id == _KEYS.c.principal_id
    )


def _key_info(row: Row[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row.key_id,
        principal=row.principal_name,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _check_label(label: str) -> None:
    if len(label) > MAX_LABEL or not label.isprintable():
        raise UsageError(
            "key label", f"must be printable and at most {MAX_LABEL} characters", "shorten it"
        )


def _check_oidc_subject(subject: str) -> None:
    if not 0 < len(subject) <= MAX_OIDC_SUBJECT or not subject.isprintable():
        raise UsageError(
            "OIDC subject",
            f"must be 1-{MAX_OIDC_SUBJECT} printable characters",
            "copy the provider's sub claim exactly",
        )

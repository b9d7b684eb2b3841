"""Opening the catalog database: which one, how it is tuned, and its schema brought to head.

``open_database`` is the only way the rest of mlwarden gets an :class:`~sqlalchemy.Engine`:

- the URL is the caller's, else ``MLWARDEN_DATABASE_URL``, else a SQLite file at the
  caller's default path (:func:`resolve_database_url`);
- SQLite runs in WAL mode with foreign keys on, a busy timeout, ``secure_delete`` (a
  shredded data key is overwritten, not left in a free page) and transactions that mlwarden
  begins itself, so :func:`write_transaction` can take the write lock up front;
- PostgreSQL is reached through psycopg 3; ``schema`` confines every table to one schema;
- the schema is migrated to the newest Alembic revision this code ships, and a database
  migrated by a newer mlwarden is refused rather than misread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from mlwarden.errors import UsageError

if TYPE_CHECKING:
    from alembic.config import Config

ENV_VAR = "MLWARDEN_DATABASE_URL"
"""Environment variable naming the catalog database; it overrides the default SQLite file."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another process's write lock before failing."""

MIGRATIONS = "mlwarden.store.catalog:migrations"

# PostgreSQL advisory-lock classes (the first key of pg_advisory_xact_lock(int, int)); each
# serialises one kind of work across processes. Add new ones here so they never collide.
LOCK_MIGRATION = 0x6D6C0001
LOCK_ARTIFACT_VERSION = 0x6D6C0002
LOCK_REWRAP_JOB = 0x6D6C0003

_BEGIN_OPTION = "mlwarden_sqlite_begin"
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_URL_FIX = (
    "use sqlite:///absolute/path/catalog.db, a file path, or postgresql://user@host:5432/dbname"
)


def resolve_database_url(
    url: str | None = None,
    *,
    default_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The database to open: ``url`` if given, else ``MLWARDEN_DATABASE_URL``, else SQLite.

    Accepts ``sqlite:///path``, a plain file path (SQLite), and ``postgresql://`` or
    ``postgres://`` URLs (rewritten to the psycopg 3 driver). Returns a URL string; raises
    :class:`UsageError` for anything else, including an in-memory SQLite database (the
    catalog must outlive the process).
    """
    env = os.environ if environ is None else environ
    chosen = url or env.get(ENV_VAR) or None
    if chosen is None:
        if default_path is None:
            raise UsageError(
                "catalog database",
                "no database is configured",
                f"pass a database URL or set {ENV_VAR}",
            )
        return URL.create("sqlite", database=str(Path(default_path).absolute())).render_as_string()
    if "://" not in chosen:
        return URL.create("sqlite", database=str(Path(chosen).absolute())).render_as_string()
    try:
        parsed = make_url(chosen)
    except ArgumentError:
        raise UsageError("catalog database URL", "cannot be parsed", _URL_FIX) from None
    shown = parsed.render_as_string(hide_password=True)
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite" and driver in ("", "pysqlite"):
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            raise UsageError(shown, "is an in-memory database", "name a database file")
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    raise UsageError(shown, "is not a SQLite or PostgreSQL (psycopg 3) database URL", _URL_FIX)


def open_database(
    url: str | None = None,
    *,
    default_path: str | os.PathLike[str] | None = None,
    schema: str | None = None,
    migrate: bool = True,
) -> Engine:
    """Open the catalog database and bring its schema to the newest revision.

    ``url`` and ``default_path`` are resolved by :func:`resolve_database_url`. ``schema``
    (PostgreSQL only) puts every table in that schema, creating it if needed. With
    ``migrate=False`` the schema is only checked, not changed. Raises :class:`UsageError`
    when the database cannot be reached, belongs to a newer mlwarden, or holds tables that
    are not mlwarden's. The caller owns the engine (``engine.dispose()`` when done).
    """
    resolved = make_url(resolve_database_url(url, default_path=default_path))
    if resolved.get_backend_name() == "sqlite":
        if schema is not None:
            raise UsageError(
                f"schema {schema!r}", "applies to PostgreSQL only", "leave it out for SQLite"
            )
        engine = _sqlite_engine(resolved)
    else:
        engine = _postgres_engine(resolved, schema)
    try:
        _bring_to_head(engine, schema, migrate)
    except DBAPIError as exc:
        engine.dispose()
        raise UsageError(
            resolved.render_as_string(hide_password=True),
            f"cannot be used ({_first_line(exc)})",
            "check that the server is running, the URL and the credentials",
        ) from None
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write; commits on success, rolls back on an exception.

    On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken (waiting up to the
    busy timeout) before anything is read, so read-then-write logic such as "next version
    number" sees no concurrent writer. On PostgreSQL take an advisory lock as well where
    reads decide writes (see the ``LOCK_*`` classes).
    """
    with engine.connect() as connection:
        connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            yield connection


def advisory_lock(connection: Connection, lock_class: int, key: str) -> None:
    """Hold a PostgreSQL transaction-scoped lock on ``(lock_class, key)``; no-op on SQLite.

    SQLite needs none: :func:`write_transaction` already holds its single write lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:lock_class AS integer), hashtext(:key))"),
            {"lock_class": lock_class, "key": key},
        )


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for the shipped migrations (no ``alembic.ini`` needed).

    For developers writing a migration: ``command.revision(alembic_config(url),
    autogenerate=True, message="...")`` against a database at head.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("file_template", "rev_%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# ----------------------------------------------------------------------------- engines


def _sqlite_engine(url: URL) -> Engine:
    path = Path(url.database or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create the file owner-only before SQLite creates it with the umask's permissions.
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as exc:
        raise UsageError(
            str(path),
            f"cannot create the catalog database ({exc.strerror})",
            "choose a path in a folder this user may write",
        ) from None
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # mlwarden begins transactions itself (below): the sqlite3 module's own implicit
        # BEGIN comes too late (on the first write) for read-then-write logic.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")

    return engine


def _postgres_engine(url: URL, schema: str | None) -> Engine:
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if schema is not None:
        if _SCHEMA.fullmatch(schema) is None:
            raise UsageError(
                f"schema {schema[:80]!r}",
                "is not a plain lowercase PostgreSQL identifier",
                "use letters, digits and '_', starting with a letter or '_'",
            )
        existing = url.query.get("options", "")
        options = existing if isinstance(existing, str) else " ".join(existing)
        connect_args["options"] = f"{options} -csearch_path={schema}".strip()
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


# -------------------------------------------------------------------------- migrations


def _bring_to_head(engine: Engine, schema: str | None, migrate: bool) -> None:
    from alembic.script import ScriptDirectory

    config = alembic_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as connection:
        if _current_revisions(connection) == heads:
            return  # the common case: no lock, no write
    with write_transaction(engine) as connection:
        advisory_lock(connection, LOCK_MIGRATION, "schema")
        if schema is not None:
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        current = _current_revisions(connection)
        if current == heads:
            return
        _refuse_unknown(connection, config, current)
        if not migrate:
            raise UsageError(
                _describe(engine),
                "the catalog schema is older than this mlwarden",
                "open it once with migrations enabled to upgrade it",
            )
        from alembic import command

        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _current_revisions(connection: Connection) -> set[str]:
    from alembic.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def _refuse_unknown(connection: Connection, config: Config, current: set[str]) -> None:
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        raise UsageError(
            _describe(connection.engine),
            f"its catalog schema (revision {', '.join(unknown)}) is newer than this mlwarden knows",
            "upgrade mlwarden; opening it with this version could corrupt it",
        )
    if not current:
        tables = set(inspect(connection).get_table_names())
        if tables:
            raise UsageError(
                _describe(connection.engine),
                f"holds tables that are not an mlwarden catalog ({', '.join(sorted(tables)[:5])})",
                "point mlwarden at an empty database or its own catalog",
            )


def _describe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0][:300] if exc.orig else type(exc).__name__

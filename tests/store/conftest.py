"""Fixtures for the vault's parts, shared by every test under ``tests/store``.

- ``s3_endpoint``: a moto S3 server on 127.0.0.1 (one per test session and xdist worker),
  with throwaway credentials in the environment while it runs.
- ``blob_store_url``: a fresh, empty blob store URL, once per backend (local folder, S3).
- ``database``: an empty, migrated catalog database, once per engine (SQLite, PostgreSQL),
  as a ``DatabaseTarget`` (``store.database_targets``) that opens engines on it, also from
  other processes; ``catalog_engine`` is an engine on it. PostgreSQL uses one schema per
  test session (and xdist worker), emptied before each test and dropped at the end.
- ``blank_database``: a database nothing has touched yet (for migration tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from store.database_targets import POSTGRES_URL, DatabaseTarget, PostgresSchemas

from mlwarden.store.catalog.db import open_database
from mlwarden.store.catalog.schema import Base

# --------------------------------------------------------------------------- blob stores

S3_PREFIX = "tenant-a/blobs"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as env:
        # boto3 reads credentials from the environment, as it will in production; these are
        # the moto server's throwaway values, and nothing here may reach a real AWS account.
        env.setenv("AWS_ACCESS_KEY_ID", "mlwarden-test-key")
        env.setenv("AWS_SECRET_ACCESS_KEY", "mlwarden-test-secret")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_CONFIG_FILE", "/dev/null")
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A new, empty bucket."""
    name = f"mlw-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def blob_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty blob store, for ``backend_from_url``; one run per backend."""
    if request.param == "local":
        return str(tmp_path_factory.mktemp("blobs") / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return f"s3://{bucket}/{S3_PREFIX}?endpoint={endpoint}"


# ------------------------------------------------------------------------------ databases


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}")
    finally:
        engine.dispose()
    schemas = PostgresSchemas(POSTGRES_URL)
    yield schemas
    schemas.drop_all()


@pytest.fixture(scope="session")
def postgres_session_schema(postgres_schemas: PostgresSchemas) -> str:
    """One migrated schema per test session (and xdist worker), emptied before each test."""
    schema = postgres_schemas.new()
    open_database(POSTGRES_URL, schema=schema).dispose()
    return schema


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseTarget:
    """An empty, migrated catalog database; one run per engine."""
    if request.param == "sqlite":
        target = DatabaseTarget("sqlite", f"sqlite:///{tmp_path / 'catalog.db'}", None)
        target.open().dispose()
        return target
    schema = request.getfixturevalue("postgres_session_schema")
    target = DatabaseTarget("postgresql", POSTGRES_URL, schema)
    engine = target.open()
    try:
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()
    return target


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_database(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseTarget:
    """A database nothing has touched yet (no tables); one run per engine."""
    if request.param == "sqlite":
        return DatabaseTarget("sqlite", f"sqlite:///{tmp_path / 'blank.db'}", None)
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    return DatabaseTarget("postgresql", POSTGRES_URL, schemas.new())


@pytest.fixture
def catalog_engine(database: DatabaseTarget) -> Iterator[Engine]:
    engine = database.open()
    yield engine
    engine.dispose()

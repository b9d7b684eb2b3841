"""Alembic environment: migrate the connection ``open_database`` hands over.

``open_database`` passes an open connection, already inside a locked transaction, through
``config.attributes["connection"]``. A developer generating a revision may instead set
``sqlalchemy.url`` (see :func:`mlwarden.store.catalog.db.alembic_config`).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mlwarden.store.catalog.schema import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters a table by rebuilding it; batch mode writes migrations that way.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from sqlalchemy import create_engine

    from mlwarden.store.catalog.db import resolve_database_url

    engine = create_engine(resolve_database_url(url))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


_main()

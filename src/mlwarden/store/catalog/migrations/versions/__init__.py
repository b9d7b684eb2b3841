"""One module per catalog schema revision (Alembic skips this file)."""

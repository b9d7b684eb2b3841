"""Alembic migrations of the catalog schema; ``open_database`` runs them to head."""

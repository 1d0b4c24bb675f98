"""Alembic migrations: the only way Atrium's schema changes."""

"""Alembic migration scripts for the whole schema; run them through ``tutor.schema``."""

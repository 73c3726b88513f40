"""Alembic migrations of the archive schema (a package so that setuptools ships them)."""

"""The schema's Alembic migrations; `gatesim.schema` runs them."""

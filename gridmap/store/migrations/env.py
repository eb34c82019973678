"""Alembic environment: gridmap always hands Alembic an open connection (see store/schema.py)."""

from alembic import context

from gridmap.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

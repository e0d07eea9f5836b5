"""Alembic environment: the connection is handed in by ``museforge.studio.db.migrate``."""

from alembic import context

from museforge.studio.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()

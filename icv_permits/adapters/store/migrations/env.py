"""Alembic environment: migrations run on the connection ``icv-permits db upgrade`` passes in
(or on ``sqlalchemy.url``), in batch mode on SQLite so that ALTERs work there too."""

from alembic import context
from sqlalchemy import create_engine

from icv_permits.adapters.store import tables

config = context.config
target_metadata = tables.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        _run(conn)
        conn.commit()

"""The regulator's store: SQLModel tables on SQLite (default) or PostgreSQL, Alembic migrations,
and the sealing of personal data. Imported only by the workflow service, never by the engine."""

"""Test-wide settings: an isolated pack cache, and no language inherited from the environment."""

from __future__ import annotations

import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="icv-permits-test-cache-")
os.environ["ICV_PERMITS_CACHE_DIR"] = _CACHE
os.environ.pop("ICV_PERMITS_LANG", None)
os.environ.pop("ICV_PERMITS_RULES_DIR", None)
# the user's own folders are never read or written: the default database and the default key
# (platformdirs: XDG_DATA_HOME, XDG_CONFIG_HOME) live in temporary ones
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="icv-permits-test-data-")
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="icv-permits-test-config-")


# ---------------------------------------------------------------- the store
#
# Store tests run on SQLite always and on PostgreSQL when ICV_PERMITS_TEST_PG_URL names a server
# (`.ci/run` starts one from Debian's packages and sets it). With ICV_PERMITS_REQUIRE_PG=1 (set by
# `.ci/run`) a missing server is an error, not a skip, so CI cannot pass without PostgreSQL.

import uuid  # noqa: E402

import pytest  # noqa: E402

os.environ["ICV_PERMITS_SECRET_KEY"] = "dGVzdC1rZXktbm90LXNlY3JldC0wMTIzNDU2Nzg5YWI="  # 32 bytes, tests only
os.environ.pop("ICV_PERMITS_DATABASE_URL", None)
os.environ.pop("ICV_PERMITS_NOW", None)
os.environ["ICV_PERMITS_TEST_CLOCK"] = "1"  # the tests may fix the clock (ICV_PERMITS_NOW); an office may not
os.environ.pop("ICV_PERMITS_KEY_FILE", None)

PG_URL = os.environ.get("ICV_PERMITS_TEST_PG_URL", "")
REQUIRE_PG = os.environ.get("ICV_PERMITS_REQUIRE_PG") == "1"
BACKENDS = ["sqlite", "postgresql"]


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend (not yet migrated)."""
    from icv_permits.adapters.store import db

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        db.dispose_all()
        return
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("ICV_PERMITS_REQUIRE_PG=1 but ICV_PERMITS_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL store tests need ICV_PERMITS_TEST_PG_URL (bash .ci/run starts a server)")
    import sqlalchemy as sa

    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_schema_url(schema)
    finally:
        db.dispose_all()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def store(db_url, monkeypatch):
    """A migrated store on each backend; ICV_PERMITS_DATABASE_URL points at it for CLI runs."""
    from icv_permits.adapters.store import db

    db.upgrade(db_url)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", db_url)
    return db.open_store(db_url)


@pytest.fixture(autouse=True)
def _no_user_keymap(tmp_path, monkeypatch):
    """The terminal app reads the user's key file; no test ever does."""
    monkeypatch.setenv("ICV_PERMITS_KEYS", str(tmp_path / "no-keys.toml"))

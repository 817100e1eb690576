"""A PostgreSQL client encoding set outside the tool (``PGCLIENTENCODING``, a URL's
``client_encoding``) changes nothing: the office talks UTF-8 to its database, so Chinese text is
stored, read and verified as written. (A workstation set up for GBK is not unusual.)"""

from __future__ import annotations

import pytest
from builders import DA, baseline, with_
from test_ledger import cli, records, submit

from icv_permits.adapters.store import db


@pytest.mark.parametrize("how", ["environment", "url"])
def test_a_client_encoding_set_elsewhere_changes_nothing_stored_or_verified(db_url, monkeypatch, tmp_path, how):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no client encoding")
    db.dispose_all()
    if how == "environment":
        monkeypatch.setenv("PGCLIENTENCODING", "GBK")
        url = db_url
    else:
        url = db_url + "&client_encoding=latin1"  # LATIN1 cannot even hold the entity's name
    db.upgrade(url)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", url)
    store = db.open_store(url)
    with store.read() as s:
        assert s.connection().exec_driver_sql("SHOW client_encoding").scalar() == "UTF8"
    name = "合肥𠀀智能网联科技有限公司"  # a character beyond the BMP too
    submit(store, tmp_path, with_(baseline(DA), "entity.name", name))
    (rec,) = [r for r in records(store) if r.kind == "engine_decision"]
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 0, r.output
    assert cli("audit", "replay", str(rec.seq), "--lang", "en").exit_code == 0
    assert name in cli("audit", "explain", str(rec.seq), "--lang", "zh").output

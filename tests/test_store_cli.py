"""The regulator's workflow through the real command line, on SQLite and PostgreSQL.

Every command runs as a subprocess (``python -m icv_permits.cli``) with its own environment:
``ICV_PERMITS_DATABASE_URL`` names the test's database (``db_url`` / ``store`` of ``conftest.py``),
``ICV_PERMITS_NOW`` fixes the clock and ``ICV_PERMITS_ACTOR`` the actor. Independent commands run
side by side to keep the file quick.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa
import yaml
from alembic.script import ScriptDirectory

from icv_permits.adapters.documents import read_document
from icv_permits.adapters.store import db
from icv_permits.adapters.store import tables as T
from icv_permits.core.i18n import t
from icv_permits.core.model.ids import uscc_check_char
from icv_permits.services import office as W
from icv_permits.services.precheck import FixedClock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"
NOW = "2026-11-27T10:00:00+08:00"  # the example is compliant on this day
LATER = "2027-05-10T10:00:00+08:00"  # 21 days before the first plates end (2027-05-31)
CLOCK = FixedClock(pendulum.parse(NOW))
CREDIT_CODE = "91340100MA2RFGJQ5K"
VINS = ("LSVAU2183N2183301", "LSVAU218XN2183294")  # sorted
NOTICE = "AH-DA-2026-0001"
# the example's personal data: the two drivers' ID numbers, a driver's phone and the contact phone
RAW_IDS = ("340104199001011239", "340202198805120025")
RAW_PHONES = ("13955512345", "13812345678")
MASKED_IDS = ("340**************9", "340**************5")  # the drivers of examples/da-compliant.yaml, as shown
CJK = re.compile(r"[\u4e00-\u9fff]")
WORKERS = 3


# ---------------------------------------------------------------- running the CLI


def run(*args: object, url: str | None, now: str | None = NOW, env: dict[str, str] | None = None,
        unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python -m icv_permits.cli *args`` against ``url`` (None: leave ICV_PERMITS_DATABASE_URL unset)."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG", "ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_NOW", "ICV_PERMITS_ACTOR")}
    base["PYTHONIOENCODING"] = "utf-8"
    base["ICV_PERMITS_ACTOR"] = "reviewer-a"
    if url is not None:
        base["ICV_PERMITS_DATABASE_URL"] = url
    if now is not None:
        base["ICV_PERMITS_NOW"] = now
    base.update(env or {})
    for k in unset:
        base.pop(k, None)
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", *map(str, args)], cwd=ROOT, env=base,
                       capture_output=True, encoding="utf-8", errors="strict", timeout=120)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


def run_all(*calls: tuple[tuple, dict]) -> list[subprocess.CompletedProcess]:
    """Several independent commands at once; each call is (args, keyword arguments of ``run``)."""
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda c: run(*c[0], **c[1]), calls))


def out(r: subprocess.CompletedProcess) -> str:
    return r.stdout + r.stderr


def ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, out(r)
    return r


def js(r: subprocess.CompletedProcess):
    ok(r)
    return json.loads(r.stdout)


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def no_personal_data(text: str) -> None:
    for secret in RAW_IDS + RAW_PHONES:
        assert secret not in text, f"raw personal number {secret} in CLI output"


def variant(tmp_path: Path, application_id: str) -> Path:
    """The example under another applicant's reference (same entity, vehicles and drivers)."""
    doc = copy.deepcopy(read_document(EXAMPLE))
    doc["application_id"] = application_id
    p = tmp_path / f"{application_id}.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def zh(msgid: str) -> str:
    text = t("zh", msgid)
    assert CJK.search(text), f"no Chinese for {msgid!r}"
    return text


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, read directly (not through the tool)."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {name: [tuple(row) for row in conn.execute(sa.select(tbl))] for name, tbl in meta.tables.items()}
    finally:
        engine.dispose()


def submission_row(store, sub_id: int) -> T.Submission:
    with store.read() as s:
        return s.exec(sa.select(T.Submission).where(T.Submission.id == sub_id)).scalars().one()


def count(store, table) -> int:
    with store.read() as s:
        return s.exec(sa.select(sa.func.count()).select_from(table)).scalar_one()


# ---------------------------------------------------------------- the full path


def test_full_path_text_and_json(db_url, tmp_path):
    """db upgrade → submit → queue → show → decide → notices → plates renew → entity show, in
    Chinese, English and JSON; no raw ID or phone number in any output, nor in the database."""
    u = {"url": db_url}
    head = db.head_revision()
    r = ok(run("db", "upgrade", "--lang", "en", **u))
    assert f"— → {head}" in r.stdout
    assert "icv:icv@" not in r.stdout  # the password of the PostgreSQL URL is hidden
    shown: list[str] = []  # everything submit, show and entity show printed

    # two submissions of one entity: A (JSON), B (Chinese text)
    file_b = variant(tmp_path, "AH-DA-2026-0108")
    sub = js(run("submit", EXAMPLE, "--format", "json", **u))
    shown.append(json.dumps(sub, ensure_ascii=False))
    a = sub["submission"]
    assert sub["new_submission"] is True
    assert (a["state"], a["revision"], a["version"], a["verdict"]) == ("under_review", 1, 1, "compliant")
    assert a["credit_code"] == CREDIT_CODE and a["application_id"] == "AH-DA-2026-0107"
    assert sub["decision"]["verdict"] == "compliant"
    rb = ok(run("submit", file_b, **u))
    shown.append(out(rb))
    b_id = a["id"] + 1
    assert zh("under review") in rb.stdout and f"decide {b_id} " in rb.stdout and "--if-revision 1" in rb.stdout
    assert MASKED_IDS[0] in rb.stdout

    # queue and show
    q_zh, q_js, s_en, s_js = run_all(
        (("queue",), u), (("queue", "--format", "json"), u),
        (("show", a["id"], "--lang", "en"), u), (("show", a["id"], "--format", "json"), u))
    queue = js(q_js)
    assert [(x["id"], x["state"], x["revision"], x["vehicles"], x["verdict"]) for x in queue] == [
        (a["id"], "under_review", 1, 2, "compliant"), (b_id, "under_review", 1, 2, "compliant")]
    for line_id in (a["id"], b_id):
        assert re.search(rf"^{line_id}\s+1\s+", ok(q_zh).stdout, re.M), q_zh.stdout
    assert zh("under review") in q_zh.stdout and CREDIT_CODE in q_zh.stdout
    shown += [out(s_en), s_js.stdout]
    view = js(s_js)
    sv = view["submission"]
    assert (sv["id"], sv["state"], sv["revision"], sv["version"]) == (a["id"], "under_review", 1, 1)
    assert [v["file_name"] for v in sv["versions"]] == ["da-compliant.yaml"]
    assert [(r_["purpose"], r_["actor"], r_["as_of"]) for r_ in sv["runs"]] == [("submit", "reviewer-a", "2026-11-27")]
    assert sv["reviews"] == [] and sv["notices"] == []
    assert view["decision"]["verdict"] == "compliant"
    assert "revision 1" in ok(s_en).stdout and "da-compliant.yaml" in s_en.stdout and "under review" in s_en.stdout
    assert zh("under review") not in s_en.stdout

    # decide: approve A (JSON), return B (Chinese); A a second time is a conflict
    d = js(run("decide", a["id"], "--approve", "--if-revision", "1", "--format", "json", **u))
    assert (d["submission"]["state"], d["submission"]["revision"]) == ("approved", 2)
    assert (d["review"]["action"], d["review"]["from_state"], d["review"]["to_state"]) == ("approve", "under_review", "approved")
    assert d["review"]["actor"] == "reviewer-a" and d["review"]["against_engine"] is False
    n = d["notice"]
    assert (n["number"], n["status"], n["issued"], n["valid_from"], n["valid_until"]) == (
        NOTICE, "active", "2026-11-27", "2026-12-01", "2027-11-30")
    assert n["vins"] == list(VINS) and n["credit_code"] == CREDIT_CODE
    assert sorted(p["vin"] for p in n["plates"]) == list(VINS)
    assert sorted(p["number"] for p in n["plates"]) == ["AH-TP-2026-00001", "AH-TP-2026-00002"]
    assert {(p["valid_from"], p["valid_until"]) for p in n["plates"]} == {("2026-12-01", "2027-05-31")}
    d_b, twice = run_all((("decide", b_id, "--return", "--reason", "请补充第三者责任险保单"), u),
                         (("decide", a["id"], "--approve", "--lang", "en"), u))
    assert zh("returned for correction") in ok(d_b).stdout and "请补充第三者责任险保单" in d_b.stdout
    assert twice.returncode == 5 and "Conflict (exit 5)" in twice.stderr and twice.stdout == "", out(twice)

    # notices: in force now; expiring within 30 days now (none) and on a later day (A's plates)
    n_en, x_now, x_later_js, x_later_zh = run_all(
        (("notices", "--lang", "en"), u),
        (("notices", "--expiring-within", "30d", "--format", "json"), u),
        (("notices", "--expiring-within", "30d", "--format", "json"), {**u, "now": LATER}),
        (("notices", "--expiring-within", "30"), {**u, "now": LATER}))
    assert NOTICE in ok(n_en).stdout and "368" in n_en.stdout and "2027-05-31" in n_en.stdout
    assert "demonstration application" in n_en.stdout
    assert js(x_now) == []
    later = js(x_later_js)
    assert [(x["number"], x["valid_from"], x["valid_until"], x["days_left"], x["plates_run_until"]) for x in later] == [
        (NOTICE, "2026-12-01", "2027-11-30", 204, "2027-05-31")]
    assert NOTICE in ok(x_later_zh).stdout and zh("demonstration application") in x_later_zh.stdout

    # plates renew on the later day: first one vehicle (JSON), then the rest (English)
    rn = js(run("plates", "renew", NOTICE, "--vin", VINS[0], "--format", "json", **u, now=LATER))
    old = {p["vin"]: p["number"] for p in n["plates"]}
    assert rn["renewed"] == [{"vin": VINS[0], "number": "AH-TP-2027-00001", "valid_from": "2027-06-01",
                              "valid_until": "2027-11-30", "renews": old[VINS[0]]}]
    assert len(rn["notice"]["plates"]) == 3
    rest = ok(run("plates", "renew", NOTICE, "--lang", "en", **u, now=LATER))
    assert VINS[1] in rest.stdout and "AH-TP-2027-00002" in rest.stdout and old[VINS[1]] in rest.stdout
    assert VINS[0] not in rest.stdout

    # entity show; nothing expires within 30 days any more
    x_after, e_zh, e_en, e_js = run_all(
        (("notices", "--expiring-within", "30d", "--format", "json"), {**u, "now": LATER}),
        (("entity", "show", CREDIT_CODE), {**u, "now": LATER}),
        (("entity", "show", CREDIT_CODE, "--lang", "en"), {**u, "now": LATER}),
        (("entity", "show", CREDIT_CODE, "--format", "json"), {**u, "now": LATER}))
    assert js(x_after) == [], "renewed plates run to the notice's end: nothing expires within 30 days"
    shown += [out(e_zh), out(e_en), e_js.stdout]
    ent = js(e_js)
    assert (ent["credit_code"], ent["name"], ent["first_operation_done"]) == (CREDIT_CODE, "合肥星途智行科技有限公司", False)
    assert [(s["id"], s["state"], s["revision"]) for s in ent["submissions"]] == [(a["id"], "approved", 2), (b_id, "returned", 2)]
    assert [(x["number"], x["in_force"], x["status"]) for x in ent["notices"]] == [(NOTICE, True, "active")]
    plates = ent["notices"][0]["plates"]
    assert sorted((p["vin"], p["valid_from"], p["valid_until"]) for p in plates) == sorted(
        [(v, "2026-12-01", "2027-05-31") for v in VINS] + [(v, "2027-06-01", "2027-11-30") for v in VINS])
    assert sorted(d_["id_masked"] for d_ in ent["drivers"]) == sorted(MASKED_IDS)
    assert all(set(d_) <= {"name", "id_masked"} for d_ in ent["drivers"])
    for m in MASKED_IDS:
        assert m in ok(e_zh).stdout and m in ok(e_en).stdout
    assert zh("(renewal)") in e_zh.stdout and zh("approved") in e_zh.stdout
    assert "(renewal)" in e_en.stdout and "AH-TP-2027-00002" in e_en.stdout

    # personal data: never printed, never stored in clear
    for text in shown + [out(d_b), json.dumps(d, ensure_ascii=False)]:
        no_personal_data(text)
    stored = json.dumps(table_rows(db_url), ensure_ascii=False, default=str)
    assert MASKED_IDS[0] in stored  # the dump is meaningful
    no_personal_data(stored)


# ---------------------------------------------------------------- exit codes


def test_exit_codes_on_the_store(store):
    """4 unknown submission, 2 return without a reason, 5 stale --if-revision; refused, nothing is written."""
    u = {"url": store.url}
    sub_id = W.submit(store, EXAMPLE, actor="clerk", clock=CLOCK).submission.id
    missing_show, missing_decide, no_reason, stale = run_all(
        (("show", 999), u),
        (("decide", 999, "--approve"), u),
        (("decide", sub_id, "--return", "--lang", "en"), u),
        (("decide", sub_id, "--approve", "--if-revision", "7", "--lang", "en"), u))
    for r in (missing_show, missing_decide):
        assert r.returncode == 4, out(r)
        assert r.stdout == "" and "999" in r.stderr
    assert no_reason.returncode == 2, out(no_reason)
    assert "--reason" in no_reason.stderr and no_reason.stdout == ""
    assert stale.returncode == 5, out(stale)
    assert "Conflict (exit 5)" in stale.stderr and "7" in stale.stderr and stale.stdout == ""
    row = submission_row(store, sub_id)
    assert (row.state, row.revision) == ("under_review", 1)
    assert count(store, T.Review) == 0 and count(store, T.Notice) == 0


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    """A migrated SQLite store with one submission, for usage errors that the CLI refuses before it
    opens any database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('usage') / 'store.db'}"
    db.upgrade(url)
    W.submit(db.open_store(url), EXAMPLE, actor="clerk", clock=CLOCK)
    yield url
    db.dispose_all()


@pytest.mark.parametrize("args", [
    ("decide", 1, "--approve", "--return"),
    ("notices", "--expiring-within", "soon"),
    ("queue", "--state", "approved", "--state", "pending"),
], ids=["approve+return", "bad-expiring-within", "unknown-state"])
def test_usage_errors_exit_2(sqlite_url, args):
    r = run(*args, "--lang", "en", url=sqlite_url)
    assert r.returncode == 2, out(r)
    assert r.stdout == "" and r.stderr.strip()
    if args[0] == "decide":
        assert "--approve" in r.stderr
        row = submission_row(db.open_store(sqlite_url), 1)
        assert (row.state, row.revision) == ("under_review", 1)
    elif args[0] == "queue":
        assert "under_review" in r.stderr  # the known states are listed
    else:
        assert "--expiring-within" in r.stderr


# ---------------------------------------------------------------- the schema


REFUSED = [
    ("submit", EXAMPLE),
    ("queue",),
    ("show", 1),
    ("decide", 1, "--approve"),
    ("notices",),
    ("notices", "--expiring-within", "30d"),
    ("plates", "renew", NOTICE),
    ("entity", "show", CREDIT_CODE),
]


def test_unmigrated_older_and_current_schema(db_url):
    """Every command but db upgrade refuses an unmigrated database (exit 2, naming db upgrade) and
    creates nothing; so does an older schema; db status exits 2 until db upgrade, twice harmless."""
    u = {"url": db_url}
    langs = [("--lang", "en")] * (len(REFUSED) - 1) + [()]  # the last one in Chinese (the default)
    results = run_all(*((args + lang, u) for args, lang in zip(REFUSED, langs)), (("db", "status", "--format", "json"), u))
    *refused, status = results
    for args, lang, r in zip(REFUSED, langs, refused):
        assert r.returncode == 2, (args, out(r))
        assert "icv-permits db upgrade" in r.stderr, (args, r.stderr)
        assert r.stdout == ""
        assert ("no icv-permits tables" in r.stderr) if lang else CJK.search(r.stderr), (args, r.stderr)
    assert status.returncode == 2, out(status)
    data = json.loads(status.stdout)
    head = db.head_revision()
    assert (data["schema"], data["head"], data["up_to_date"], data["backend"]) == (None, head, False, backend(db_url))
    db.dispose_all()
    assert table_rows(db_url) == {}, "a refused command created tables"

    # an older schema (the revision before head), when there is one
    script = ScriptDirectory.from_config(db.alembic_config(db_url))
    previous = script.get_revision(head).down_revision
    if previous:
        db.upgrade(db_url, previous)
        db.dispose_all()
        old_queue = run("queue", "--lang", "en", **u)
        assert old_queue.returncode == 2 and "older" in old_queue.stderr and "db upgrade" in old_queue.stderr, out(old_queue)

    first = ok(run("db", "upgrade", "--lang", "en", **u))
    assert f"{previous or '—'} → {head}" in first.stdout
    second, status2 = run_all((("db", "upgrade", "--lang", "en"), u), (("db", "status", "--format", "json"), u))
    assert f"{head} → {head}" in ok(second).stdout
    assert js(status2)["up_to_date"] is True and js(status2)["schema"] == head


def test_db_status_behind_names_db_upgrade(tmp_path):
    r = run("db", "status", "--lang", "en", url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert r.returncode == 2
    assert "db upgrade" in out(r)


def test_newer_schema_refused(store):
    """A schema stamped by a newer icv-permits: every command, db upgrade included, exits 2."""
    W.submit(store, EXAMPLE, actor="clerk", clock=CLOCK)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    db.dispose_all()
    u = {"url": store.url}
    results = run_all(*((args + ("--lang", "en"), u) for args in [("queue",), ("submit", EXAMPLE), ("db", "upgrade")]),
                      (("db", "status", "--format", "json"), u))
    *refused, status = results
    for r in refused:
        assert r.returncode == 2, out(r)
        assert "newer" in r.stderr and "ffff_from_the_future" in r.stderr, r.stderr
        assert r.stdout == ""
    assert status.returncode == 2
    assert json.loads(status.stdout)["schema"] == "ffff_from_the_future"
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "ffff_from_the_future"
        assert conn.execute(sa.text("SELECT count(*) FROM submission")).scalar_one() == 1


# ---------------------------------------------------------------- the default SQLite file and key


def test_default_sqlite_location_and_key_file(tmp_path):
    data, config = tmp_path / "data" / "icv", tmp_path / "config"
    no_url_no_key = {"url": None, "env": {"ICV_PERMITS_DATA_DIR": str(data), "XDG_CONFIG_HOME": str(config)},
                     "unset": ("ICV_PERMITS_SECRET_KEY", "ICV_PERMITS_KEY_FILE")}
    first = ok(run("db", "upgrade", "--lang", "en", **no_url_no_key))
    db_file, key = data / "icv-permits.db", config / "icv-permits" / "secret.key"
    assert db_file.is_file() and key.is_file()
    assert not (data / "secret.key").exists(), "never beside the database"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert str(key) in first.stdout and str(db_file) in first.stdout
    secret = key.read_bytes()
    assert len(secret.strip()) == 44

    # once more: the key is kept; and with ICV_PERMITS_SECRET_KEY set, no key file is written
    other, other_config = tmp_path / "other", tmp_path / "other-config"
    second, with_key = run_all((("db", "upgrade", "--lang", "en"), no_url_no_key),
                               (("db", "upgrade"), {"url": None, "env": {"ICV_PERMITS_DATA_DIR": str(other), "XDG_CONFIG_HOME": str(other_config)},
                                                    "unset": ("ICV_PERMITS_KEY_FILE",)}))
    assert "Created the secret key" not in ok(second).stdout, "the key file is created once"
    assert str(key) in second.stdout  # where the key comes from
    assert key.read_bytes() == secret
    assert "alembic_version" in table_rows(f"sqlite:///{db_file}")
    ok(with_key)
    assert (other / "icv-permits.db").is_file()
    assert not (other / "secret.key").exists() and not other_config.exists()


# ---------------------------------------------------------------- bad input, bad configuration


def test_bad_application_files_store_nothing(store, tmp_path):
    u = {"url": store.url}
    before_id = W.submit(store, EXAMPLE, actor="clerk", clock=CLOCK).submission.id
    before = {tbl: count(store, tbl) for tbl in (T.Submission, T.SubmissionVersion, T.EngineRun, T.Entity, T.Vehicle, T.Driver)}

    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("schema_version: 1\nactivity: [road_test\nentity: {name: x\n", encoding="utf-8")
    doc = copy.deepcopy(read_document(EXAMPLE))
    doc["application_id"] = "AH-DA-2026-0200"
    doc["entity"]["credit_code"] = "91340100MA0000017" + uscc_check_char("91340100MA0000017")  # another entity: not created either
    del doc["activity"]
    no_activity = tmp_path / "no-activity.yaml"
    no_activity.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    doc2 = copy.deepcopy(read_document(EXAMPLE))
    doc2["application_id"] = "AH-DA-2026-0201"
    del doc2["drivers"][0]["id_number"]
    no_id = tmp_path / "no-id.yaml"
    no_id.write_text(yaml.safe_dump(doc2, allow_unicode=True), encoding="utf-8")

    cases = [malformed, no_activity, no_id]
    results = run_all(*((("submit", p, "--lang", "en"), u) for p in cases))
    for p, r in zip(cases, results):
        assert r.returncode == 2, (p.name, out(r))
        assert r.stdout == "", (p.name, r.stdout)
        assert p.name in r.stderr, (p.name, r.stderr)
        assert "Bad input (exit 2)" in r.stderr, (p.name, r.stderr)
    assert "activity" in results[1].stderr
    assert "id_number" in results[2].stderr
    listed = js(run("queue", "--all", "--format", "json", **u))
    assert [x["id"] for x in listed] == [before_id]
    assert {tbl: count(store, tbl) for tbl in before} == before


def test_bad_database_url_exit_2():
    calls = [(("queue", "--lang", "en"), "mysql://x:secretpw@localhost/icv"), (("db", "upgrade", "--lang", "en"), "not a url"),
             (("submit", EXAMPLE, "--lang", "en"), "postgresql+nosuchdriver://u@h/d")]
    for (args, url), r in zip(calls, run_all(*((args, {"url": url}) for args, url in calls))):
        assert r.returncode == 2, (url, out(r))
        assert "Bad input (exit 2)" in r.stderr and "ICV_PERMITS_DATABASE_URL" in r.stderr, (url, r.stderr)
        assert "secretpw" not in out(r)


def test_sqlite_url_below_a_file(tmp_path):
    (tmp_path / "plain-file").write_text("x")
    url = f"sqlite:///{tmp_path / 'plain-file' / 'store.db'}"
    r = run("queue", "--lang", "en", url=url)
    assert r.returncode == 2 and "db upgrade" in r.stderr, out(r)
    r = run("db", "upgrade", "--lang", "en", url=url)
    assert r.returncode == 2 and "cannot create the folder for the database" in r.stderr, out(r)
    assert "Traceback" not in out(r)


def test_unreachable_postgresql_exit_6_without_password():
    password = "Pw-never-shown-4711"
    results = run_all(*(((*args, "--lang", "en"), {"url": f"postgresql+psycopg://icv:{password}@127.0.0.1:1/icv_test"})
                        for args in [("queue",), ("db", "upgrade")]))
    for r in results:
        assert r.returncode == 6, out(r)
        assert "Database unavailable (exit 6)" in r.stderr
        assert password not in out(r)
        assert "127.0.0.1:1" in r.stderr


def test_the_shipped_revisions_are_alembics():
    """Opening a store compares its revision with ``db.REVISIONS`` without importing Alembic: the
    list must be exactly Alembic's migrations, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    walked = [s.revision for s in script.walk_revisions()]  # newest first
    assert tuple(reversed(walked)) == db.REVISIONS
    assert script.get_current_head() == db.head_revision()

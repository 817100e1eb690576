"""What a copy of the store reveals about drivers' ID numbers, with and without the office's key.

The attack of the security review: copy the SQLite store's folder (and whatever key file the default
set-up left there), read ``driver.id_lookup`` and the masked form, and try every birth date
1940–2009 with the characters the mask shows — 25 568 HMACs, under a second, recovered every number
when the mask showed all but the birth date and the key lay beside the database. Here it is run
against what this version stores, and against the old forms as a control (it must still work there,
or these tests would prove nothing). ``docs/personal-data.md`` has the arithmetic.

No test is timed: the cost of a candidate is asserted through the derivation's parameters and by
counting derivations.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from builders import baseline, driver, make_credit_code, make_vin, with_, with_vehicles
from test_ledger import cli
from test_store_workflow import (
    SUBMIT_DAY,
    approved,
    decide,
    findings,
    other_entity,
    revin,
    submit,
    write,
)

from icv_permits.adapters.store import personal
from icv_permits.adapters.store import tables as T
from icv_permits.adapters.store.personal import KDF, LEGACY_SCHEME, Keys, Scrypt
from icv_permits.core.log_compact import unseal
from icv_permits.core.model.ids import (
    ID_MASK,
    LEGACY_ID_MASK,
    mask_id_number,
    resident_id_check_char,
    resident_id_problems,
)
from icv_permits.services import office as W

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"
IDS = [d["id_number"] for d in yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["drivers"]]
LEGACY_LOG = Path(__file__).resolve().parent / "data" / "legacy" / "log-format1.jsonl"
NOW = "2026-11-27T10:00:00+08:00"
FIRST, LAST = dt.date(1940, 1, 1), dt.date(2009, 12, 31)
DAYS = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
KEY_VARS = ("ICV_PERMITS_SECRET_KEY", "ICV_PERMITS_KEY_FILE", "ICV_PERMITS_DATABASE_URL")


def run(*args: object, env: dict[str, object], unset: tuple[str, ...] = KEY_VARS) -> subprocess.CompletedProcess:
    """``icv-permits *args`` as a user would run it: a fresh process, ``env`` added, ``unset`` removed."""
    base = {k: v for k, v in os.environ.items() if k not in unset and k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    base.update({k: str(v) for k, v in env.items()})
    base.setdefault("ICV_PERMITS_NOW", NOW)
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", *map(str, args)], cwd=ROOT, env=base,
                       capture_output=True, encoding="utf-8", timeout=300, check=False)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


def user(home: Path) -> dict[str, object]:
    """One user's folders: the data folder (the default database) and the configuration folder."""
    return {"ICV_PERMITS_DATA_DIR": home / "data", "XDG_CONFIG_HOME": home / "config"}


def log_text(bodies) -> str:
    """The log's records as a reader of the copy sees them: each body, and what a compact record
    holds deflated (anyone can inflate it)."""
    out = []
    for body in bodies:
        out.append(body)
        parsed = json.loads(body)
        if "deflated" in parsed:
            out.append(json.dumps(unseal(parsed["deflated"]), ensure_ascii=False))
    return "\n".join(out)


# ---------------------------------------------------------------- the attack


def birth_date_attack(masked: str, matches) -> tuple[str | None, int]:
    """The attack as it was run: the mask shows everything but the birth date (positions 7–14), so
    each date 1940–2009 gives one candidate. Returns (the number found, candidates tried); a mask
    that hides more than the birth date leaves this attack nothing to try."""
    if len(masked) != 18 or masked[6:14] != "*" * 8 or "*" in masked[:6] + masked[14:]:
        return None, 0
    tried = 0
    for day in DAYS:
        candidate = masked[:6] + day.strftime("%Y%m%d") + masked[14:]
        if resident_id_problems(candidate):
            continue
        tried += 1
        if matches(candidate):
            return candidate, tried
    return None, tried


def candidates_left(masked: str, first: dt.date = FIRST, last: dt.date = LAST) -> int:
    """How many valid resident ID numbers with a birth date in [first, last] show as ``masked``:
    every hidden digit free, the birth date a real date, the check character the one shown. Counted
    exactly, by the residues of the check sum (GB 11643: Σ digit × weight mod 11)."""
    assert len(masked) == 18 and masked[-1] != "*"
    known = sum(int(c) * w for c, w in zip(masked[:17], WEIGHTS) if c != "*")
    free = [i for i in range(17) if masked[i] == "*" and not 6 <= i < 14]  # hidden digits outside the birth date
    assert all(masked[i] == "*" for i in range(6, 14)), "the birth date is hidden"
    residues = [1] + [0] * 10  # ways to reach each residue with the free digits
    for i in free:
        residues = [sum(residues[(r - d * WEIGHTS[i]) % 11] for d in range(10)) for r in range(11)]
    target = next(r for r in range(11) if "10X98765432"[r] == masked[-1])
    total = 0
    day = first
    while day <= last:
        s = sum(int(c) * WEIGHTS[6 + i] for i, c in enumerate(day.strftime("%Y%m%d")))
        total += residues[(target - known - s) % 11]
        day += dt.timedelta(days=1)
    return total


def test_the_attack_recovers_a_number_from_the_old_forms():
    """The control: against the old mask and the old lookup (a plain HMAC under the key), the
    attack finds the number — so where it finds nothing below, it is the forms that changed."""
    keys = Keys(os.urandom(32))
    for number in IDS:
        stored = keys.lookup_under(LEGACY_SCHEME, number)
        found, tried = birth_date_attack(mask_id_number(number, LEGACY_ID_MASK),
                                         lambda c, stored=stored: keys.lookup_under(LEGACY_SCHEME, c) == stored)
        assert found == number and tried <= len(DAYS)
    assert candidates_left(mask_id_number(IDS[0], LEGACY_ID_MASK)) < 30_000  # the birth dates alone


def test_the_arithmetic_of_the_mask():
    """3 + 1 shown leaves every county × birth date × sequence number with the right check character:
    1000 × 25 568 × 1000 ÷ 11 ≈ 2.3 × 10⁹; even to one who knows the county (all 6 region digits),
    25 568 × 1000 ÷ 11 ≈ 2.3 × 10⁶ — each costing one scrypt."""
    masked = mask_id_number(IDS[0])
    assert masked == IDS[0][:3] + "*" * 14 + IDS[0][-1]
    assert (ID_MASK.head, ID_MASK.tail) == (3, 1)
    left = candidates_left(masked)
    assert left >= 10**7
    assert abs(left - 1000 * len(DAYS) * 1000 / 11) / left < 0.01
    county_known = candidates_left(IDS[0][:6] + masked[6:])
    assert county_known >= len(DAYS) * 1000 // 11 - len(DAYS)


@pytest.fixture(scope="module")
def default_office(tmp_path_factory):
    """A one-person office set up the default way: ``db upgrade`` then one submission, no key
    configured (the tool makes it)."""
    home = tmp_path_factory.mktemp("default-office")
    up = run("db", "upgrade", "--lang", "en", env=user(home))
    assert up.returncode == 0, up.stderr
    sub = run("submit", EXAMPLE, "--lang", "en", env=user(home))
    assert sub.returncode == 0, sub.stdout + sub.stderr
    return home


def test_a_copy_of_the_store_folder_holds_no_key(default_office, tmp_path):
    home = default_office
    key_file = home / "config" / "icv-permits" / "secret.key"
    key_text = key_file.read_text(encoding="ascii").strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    copy = shutil.copytree(home / "data", tmp_path / "copy")
    assert (copy / "icv-permits.db").is_file()
    key_bytes = base64.urlsafe_b64decode(key_text)
    for f in copy.rglob("*"):
        if f.is_file():
            content = f.read_bytes()
            assert key_text.encode() not in content and key_bytes not in content, f
    assert not list(copy.rglob("*.key"))
    # without the key, the lookups in the copy are keyed hashes that nothing in it can recompute
    with sqlite3.connect(copy / "icv-permits.db") as conn:
        rows = conn.execute("SELECT id_lookup, id_masked, lookup_scheme FROM driver ORDER BY id").fetchall()
    assert len(rows) == 2 and all(scheme == KDF.scheme for _, _, scheme in rows)
    assert sorted(m for _, m, _ in rows) == sorted(mask_id_number(n) for n in IDS)
    wrong = Keys(hashlib.sha256(b"not the office key").digest())
    for number in IDS:
        assert wrong.id_lookup(number) not in {lookup for lookup, _, _ in rows}


def test_even_with_the_key_the_copy_gives_nothing_cheap(default_office, tmp_path):
    """Given the key too: the mask leaves the birth-date attack nothing to try, the candidates it
    leaves number ≥ 10⁷, and each candidate costs one scrypt of recorded, memory-hard parameters,
    against the lookup and against the stand-in alike."""
    home = default_office
    keys = Keys(base64.urlsafe_b64decode((home / "config" / "icv-permits" / "secret.key").read_text(encoding="ascii").strip()))
    copy = shutil.copytree(home / "data", tmp_path / "copy")
    with sqlite3.connect(copy / "icv-permits.db") as conn:
        rows = conn.execute("SELECT id_lookup, id_masked, lookup_scheme FROM driver ORDER BY id").fetchall()
        documents = [json.loads(d) for (d,) in conn.execute("SELECT document FROM submission_version")]
        log = log_text(b for (b,) in conn.execute("SELECT body FROM decision_log"))
    stand_ins = [d["id_number"] for doc in documents for d in doc["drivers"]]
    assert len(stand_ins) == 2
    for number, (lookup, masked, scheme) in zip(IDS, rows, strict=True):
        # the mask: the birth-date attack has nothing to try, and ≥ 10⁷ numbers remain
        assert birth_date_attack(masked, lambda c: True) == (None, 0)
        assert candidates_left(masked) >= 10**7
        # the recorded scheme: scrypt, 16 MiB or more per candidate
        kdf = Scrypt.parse(scheme)
        assert kdf is not None and kdf.n >= 2**14 and kdf.r >= 8 and kdf.p >= 1 and kdf.memory >= 16 * 2**20
        # the lookup is the scrypt derivation under the key: no cheaper function of the number gives it
        salt = hmac.new(keys._master, b"icv-permits id scrypt salt v2", hashlib.sha256).digest()
        derived = hashlib.scrypt(number.encode(), salt=salt, n=kdf.n, r=kdf.r, p=kdf.p, maxmem=2 * kdf.memory + 2**20, dklen=32)
        assert lookup == hmac.new(hmac.new(keys._master, b"icv-permits lookup v2", hashlib.sha256).digest(), derived, hashlib.sha256).hexdigest()
        cheaper = hashlib.scrypt(number.encode(), salt=salt, n=kdf.n // 2, r=kdf.r, p=kdf.p, maxmem=2 * kdf.memory + 2**20, dklen=32)
        assert lookup != hmac.new(hmac.new(keys._master, b"icv-permits lookup v2", hashlib.sha256).digest(), cheaper, hashlib.sha256).hexdigest()
        assert lookup != keys.lookup_under(LEGACY_SCHEME, number)  # the old, cheap lookup is not what is stored
        # the original is nowhere; the stand-in shares only what the mask shows
        stand_in = stand_ins[IDS.index(number)]
        assert number not in log and all(number not in json.dumps(doc) for doc in documents)
        assert mask_id_number(stand_in) == masked and stand_in != number and stand_in[6:14] != number[6:14]
        assert masked in log and mask_id_number(number, LEGACY_ID_MASK) not in log
    # checking a candidate against a stand-in costs one derivation each, as against a lookup
    personal.clear_derivations()
    calls = []
    real = hashlib.scrypt

    def counting(*a, **kw):
        calls.append(kw.get("n"))
        return real(*a, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hashlib, "scrypt", counting)
        for day in DAYS[:5]:
            first17 = IDS[0][:6] + day.strftime("%Y%m%d") + IDS[0][14:17]
            keys.stand_in(first17 + resident_id_check_char(first17))
    assert calls == [KDF.n] * 5


def test_a_submission_with_five_drivers_costs_five_derivations(store, tmp_path, monkeypatch):
    app = with_vehicles(baseline(), 1)
    app["drivers"] = [driver(f"D{i}", i) for i in range(1, 6)]
    assert len({d["id_number"] for d in app["drivers"]}) == 5
    app["vehicles"][0]["drivers"] = [f"D{i}" for i in range(1, 6)]
    personal.clear_derivations()
    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    W.submit(store, write(tmp_path, app), actor="clerk", clock=SUBMIT_DAY)
    assert len(calls) == 5


# ---------------------------------------------------------------- where the key lives


def test_a_key_beside_the_sqlite_database_is_refused(tmp_path):
    office = tmp_path / "office"
    office.mkdir()
    url = f"sqlite:///{office / 'icv-permits.db'}"
    beside = office / "secret.key"
    env = {**user(tmp_path), "ICV_PERMITS_DATABASE_URL": url, "ICV_PERMITS_KEY_FILE": beside}
    for lang, words in (("en", "may not be kept in the folder of the database"), ("zh", "密钥不得存放在数据库")):
        r = run("db", "upgrade", "--lang", lang, env=env)
        assert r.returncode == 2 and words in r.stderr and str(beside) in r.stderr, r.stderr
    assert not beside.exists()
    r = run("db", "keygen", "--out", beside, "--lang", "en", env=env)
    assert r.returncode == 2 and "may not be kept in the folder of the database" in r.stderr
    assert not beside.exists()
    # a key put there by hand is refused too, for every use
    assert run("db", "upgrade", env={**env, "ICV_PERMITS_SECRET_KEY": personal.new_key_text()}).returncode == 0  # the schema
    beside.write_text(personal.new_key_text() + "\n", encoding="ascii")
    r = run("submit", EXAMPLE, "--lang", "en", env=env)
    assert r.returncode == 2 and "may not be kept in the folder of the database" in r.stderr, r.stdout + r.stderr
    status = run("db", "status", "--format", "json", env=env)
    assert json.loads(status.stdout)["key"]["problem"] == "beside_database"
    # the default place cannot be the data folder either
    same = {"ICV_PERMITS_DATA_DIR": tmp_path / "cfg" / "icv-permits", "XDG_CONFIG_HOME": tmp_path / "cfg"}
    r = run("db", "upgrade", "--lang", "en", env=same)
    assert r.returncode == 2 and "may not be kept in the folder of the database" in r.stderr
    assert not (tmp_path / "cfg" / "icv-permits" / "secret.key").exists()


def test_db_upgrade_of_another_database_writes_no_key_and_says_how_to_make_one(db_url, tmp_path):
    """PostgreSQL, or an SQLite file given by URL: an office's database. Its key is the office's, made
    once by its administrator and given to every workstation — never a per-user key made silently."""
    home = tmp_path / "home"
    env = {**user(home), "ICV_PERMITS_DATABASE_URL": db_url}
    r = run("db", "upgrade", "--lang", "en", env=env)
    assert r.returncode == 0, r.stderr
    assert "icv-permits db keygen --out PATH" in r.stdout and "ICV_PERMITS_KEY_FILE" in r.stdout
    assert not list(home.rglob("secret.key")) and not list(home.rglob("*.key"))
    assert json.loads(run("db", "status", "--format", "json", env=env).stdout)["key"]["problem"] == "missing"
    r = run("submit", EXAMPLE, "--lang", "en", env=env)
    assert r.returncode == 2 and "no secret key" in r.stderr and "db keygen" in r.stderr
    # the administrator makes the office's key once, apart from the database, and gives it out
    office_key = tmp_path / "share" / "keys" / "office.key"
    made = run("db", "keygen", "--out", office_key, "--lang", "en", env=env)
    assert made.returncode == 0 and str(office_key) in made.stdout, made.stderr
    assert stat.S_IMODE(office_key.stat().st_mode) == 0o600 and stat.S_IMODE(office_key.parent.stat().st_mode) == 0o700
    assert run("db", "keygen", "--out", office_key, "--lang", "en", env=env).returncode == 2  # never over a key
    printed = run("db", "keygen", "--out", "-", env=env)
    assert printed.returncode == 0 and len(base64.urlsafe_b64decode(printed.stdout.strip())) == 32
    env["ICV_PERMITS_KEY_FILE"] = office_key
    assert run("submit", EXAMPLE, env=env).returncode == 0
    st = run("db", "status", "--lang", "en", env=env)
    key_text = office_key.read_text(encoding="ascii").strip()
    assert f"Secret key: the file {office_key} (from ICV_PERMITS_KEY_FILE)." in st.stdout and key_text not in st.stdout
    js = json.loads(run("db", "status", "--format", "json", env=env).stdout)["key"]
    assert (js["source"], js["path"], js["default"], js["problem"]) == ("file", str(office_key), False, None)
    assert js["fingerprint"] == Keys(base64.urlsafe_b64decode(key_text)).fingerprint and key_text not in json.dumps(js)
    assert js["lookup_scheme"] == KDF.scheme
    via_env = run("db", "status", "--lang", "en", env={**env, "ICV_PERMITS_SECRET_KEY": key_text})
    assert "Secret key: from ICV_PERMITS_SECRET_KEY." in via_env.stdout and key_text not in via_env.stdout
    assert not list(home.rglob("*.key"))


def old_key(home: Path) -> tuple[Path, str]:
    """A key where the version before made it: beside the default database."""
    old = home / "data" / "secret.key"
    old.parent.mkdir(parents=True)
    text = personal.new_key_text()
    old.write_text(text + "\n", encoding="ascii")
    old.chmod(0o600)
    return old, text


def test_db_upgrade_moves_an_old_key_from_beside_the_default_database(tmp_path):
    from icv_permits.adapters.store import db

    home = tmp_path / "home"
    old, text = old_key(home)
    new = home / "config" / "icv-permits" / "secret.key"
    db.upgrade_reporting(f"sqlite:///{home / 'data' / 'icv-permits.db'}", "0006")  # as the version before left it
    status = json.loads(run("db", "status", "--format", "json", env=user(home)).stdout)
    assert status["schema"] == "0006" and status["key"]["legacy_file"] == str(old) and status["key"]["problem"] == "missing"
    r = run("db", "upgrade", "--lang", "en", env=user(home))
    assert r.returncode == 0 and "schema 0006 → 0007" in r.stdout, r.stdout + r.stderr
    assert f"Moved the secret key from {old}, beside the database, to {new}" in r.stdout
    assert not old.exists() and new.read_text(encoding="ascii").strip() == text
    assert stat.S_IMODE(new.stat().st_mode) == 0o600 and stat.S_IMODE(new.parent.stat().st_mode) == 0o700
    again = run("db", "upgrade", "--lang", "en", env=user(home))
    assert again.returncode == 0 and "Moved" not in again.stdout and "Created" not in again.stdout
    assert run("submit", EXAMPLE, env=user(home)).returncode == 0
    st = run("db", "status", "--lang", "en", env=user(home))
    assert f"Secret key: the file {new} (the default place)." in st.stdout
    assert Keys(base64.urlsafe_b64decode(text)).fingerprint in st.stdout and text not in st.stdout
    # a copy left beside the database after the move (the same key): removed by the next upgrade
    old.write_text(text + "\n", encoding="ascii")
    assert run("db", "upgrade", env=user(home)).returncode == 0 and not old.exists()
    # a different one is not touched, but named
    other = personal.new_key_text()
    old.write_text(other + "\n", encoding="ascii")
    r = run("db", "upgrade", "--lang", "en", env=user(home))
    assert r.returncode == 0 and "A key file from an older version is still at" in r.stdout and old.read_text().strip() == other
    assert new.read_text(encoding="ascii").strip() == text
    # in Chinese; and until the upgrade, a key where the version before made it is not used there
    zh_home = tmp_path / "zh"
    old_zh, _ = old_key(zh_home)
    db.upgrade(f"sqlite:///{zh_home / 'data' / 'icv-permits.db'}")
    r = run("submit", EXAMPLE, "--lang", "en", env=user(zh_home))
    assert r.returncode == 2 and "still beside the database" in r.stderr and "db upgrade" in r.stderr, r.stderr
    r = run("db", "upgrade", "--lang", "zh", env=user(zh_home))
    assert r.returncode == 0 and "已将密钥从" in r.stdout and not old_zh.exists()


# ---------------------------------------------------------------- IDs with letters


def test_an_id_with_letters_is_masked_and_every_hidden_character_pseudonymised(store, tmp_path):
    number = "HKG-ABCDEFGHIJKL-Q"
    app = with_vehicles(baseline(), 1)
    app["drivers"][0]["id_number"] = number
    res = W.submit(store, write(tmp_path, app), actor="clerk", clock=SUBMIT_DAY)
    f = findings(res.decision, "DRV-08")
    masked = "HKG**************Q"
    assert {x.observed for x in f} == {masked}
    assert [(x.reason, x.values.get("position")) for x in f] == [("id_illegal_char", p) for p in range(1, 19)]
    assert [d.label for d in [x.subject for x in f]][:1] == [f"{app['drivers'][0]['name']} ({masked})"]
    with store.read() as s:
        version = s.exec(sa.select(T.SubmissionVersion)).scalars().one()
        stand_in = json.loads(version.document)["drivers"][0]["id_number"]
        driver = s.exec(sa.select(T.Driver)).scalars().one()
        log = log_text(s.exec(sa.text("SELECT body FROM decision_log")).scalars().all())
    assert driver.id_masked == masked and mask_id_number(stand_in) == masked
    assert stand_in[:3] == "HKG" and stand_in[-1] == "Q" and stand_in != number
    assert all(c.isascii() and c.isalpha() for c in stand_in[3:17])  # letters (and the dashes) by letters
    hidden = number[3:17]
    for text in (version.document, log):
        assert number not in text and hidden not in text
        assert not any(hidden[i:i + 5] in text for i in range(len(hidden) - 4))
    # the engine's view of the stand-in: the same problems at the same places
    assert [(p.code, p.params["position"]) for p in resident_id_problems(stand_in)] == [
        (p.code, p.params["position"]) for p in resident_id_problems(number)]


# ---------------------------------------------------------------- old decisions, old lookups


def test_old_format_logs_replay_identically_with_their_old_masks(tmp_path, monkeypatch):
    """Every pack snapshot in an older log names no id_mask: its decisions show the old mask
    (first 6, last 4) and replay byte for byte."""
    from icv_permits.adapters.store import db

    text = LEGACY_LOG.read_text(encoding="utf-8")
    assert "340104********1239" in text and "340**************9" not in text
    url = f"sqlite:///{tmp_path / 'auditor.db'}"
    db.upgrade(url)
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", url)
    assert cli("audit", "import", LEGACY_LOG, "--lang", "en").exit_code == 0
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    packs = [x for x in lines if x.get("type") == "pack_snapshot"]
    assert packs and all("id_mask" not in x["content"]["meta"] for x in packs)
    r = cli("audit", "replay", "--all", "--format", "json", "--jobs", "1")
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)
    assert results and all(x["match"] and not x["error"] for x in results)


def test_a_driver_on_record_under_the_old_lookup_is_recognised_and_re_keyed(store, tmp_path, monkeypatch):
    """REC-03 across the change: a driver on record under the old lookup (a plain HMAC, before
    migration 0007) is found by the next submission naming them, and re-keyed; a version submitted
    before, still under review, still finds its driver when decided."""
    with monkeypatch.context() as old_code:  # the store as the version before wrote it
        old_code.setattr(Keys, "scheme", property(lambda self: LEGACY_SCHEME))
        old_code.setattr(Keys, "id_lookup", lambda self, number: self.lookup_under(LEGACY_SCHEME, number))
        approved(store, tmp_path, with_vehicles(baseline(), 2))  # D1 on 2 vehicles
        waiting = submit(store, tmp_path, revin(other_entity(baseline(), 7), 700))  # D1 again, under review
    keys = Keys.load()
    number = baseline()["drivers"][0]["id_number"]
    with store.read() as s:
        row = s.exec(sa.select(T.Driver)).scalars().one()
        assert (row.lookup_scheme, row.id_lookup, row.former_lookup) == (LEGACY_SCHEME, keys.lookup_under(LEGACY_SCHEME, number), None)

    app = revin(with_vehicles(other_entity(baseline(), 3), 2), 300)
    app["drivers"][0]["ref"] = "SAFETY-9"
    for v in app["vehicles"]:
        v["drivers"] = ["SAFETY-9"]
    d = submit(store, tmp_path, app).decision
    f = findings(d, "REC-03")
    assert [(x.reason, x.subject.ref, x.observed) for x in f] == [("too_many_vehicles", "SAFETY-9", 4)]
    with store.read() as s:
        rows = s.exec(sa.select(T.Driver)).scalars().all()
    assert [(r.lookup_scheme, r.id_lookup, r.former_lookup, r.id_masked) for r in rows] == [
        (KDF.scheme, keys.id_lookup(number), keys.lookup_under(LEGACY_SCHEME, number), mask_id_number(number))]

    # the version submitted before names the old lookup: deciding it still finds the driver
    res = decide(store, waiting.submission.id, "approve", reason="经审核同意")
    assert res.notice is not None
    with store.read() as s:
        linked = s.exec(sa.select(T.NoticeDriver.driver_id).join(T.Notice, T.Notice.id == T.NoticeDriver.notice_id)
                        .where(T.Notice.number == res.notice["number"])).scalars().all()
    assert set(linked) == {rows[0].id}
    assert [(x.driver_ref, x.vins) for x in res.decision.registry.driver_loads] == [("D1", sorted([make_vin(1), make_vin(2)]))]
    # once re-keyed, nothing is looked up the old way any more
    looked_up = []
    real = Keys.lookup_under
    monkeypatch.setattr(Keys, "lookup_under", lambda self, scheme, n: looked_up.append(scheme) or real(self, scheme, n))
    again = submit(store, tmp_path, with_(app, "application_id", "AGAIN", "entity.credit_code", make_credit_code(9)))
    assert [x.observed for x in findings(again.decision, "REC-03") if x.reason == "too_many_vehicles"] == [2 + 1 + 2]
    assert looked_up == []

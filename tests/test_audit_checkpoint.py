"""Signed checkpoints of the decision log: ``audit keygen``, ``audit checkpoint`` and ``audit verify
--checkpoint --public-key``.

An insider with the database can re-chain the whole log — every hash recomputed, the head rewritten
— and the chain walk alone still says intact. A checkpoint signed with an office key the database
never holds, taken earlier and kept elsewhere, catches it. The attacks go around the append-only
triggers with :func:`test_ledger.bypass`, as the ledger tests do.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from builders import DA, RT, baseline, make_credit_code, make_vin, with_
from test_ledger import MALLORY, bypass, cli, decide, forged, records, shift_up, submit

from icv_permits.adapters.store.db import shown_url
from icv_permits.core.canonical import canonical_json
from icv_permits.services import audit as ledger


@pytest.fixture
def keys(tmp_path_factory):
    """The office key pair, made with the CLI in a folder away from the database."""
    folder = tmp_path_factory.mktemp("office-key")
    private, public = folder / "office.pem", folder / "office.pub"
    r = cli("audit", "keygen", "-o", private, "--public-out", public, "--lang", "en")
    assert r.exit_code == 0, r.output
    return private, public


def rt_of(i: int) -> dict:
    app = with_(baseline(RT), "entity.credit_code", make_credit_code(10 + i), "entity.name", f"芜湖第{i}测试科技有限公司",
                "application_id", f"RT-CKPT-{i:04d}", "vehicles[0].vin", make_vin(60 + i))
    for p in app["insurance"]:
        p["vins"] = [make_vin(60 + i)]
    return app


def grow(store, directory: Path, n: int = 10) -> None:
    """``n`` more legitimate decisions: submissions and their returns."""
    for i in range(n // 2):
        sub = submit(store, directory, rt_of(i))
        decide(store, sub.submission.id, "return", reason="请补正材料")


def take(keys, out: Path, *extra: object):
    r = cli("audit", "checkpoint", "-o", out, "--key", keys[0], "--lang", "en", *extra)
    assert r.exit_code == 0, r.output
    return json.loads(out.read_text(encoding="utf-8"))


def verify(keys, *checkpoints: Path, lang: str = "en"):
    args = [a for c in checkpoints for a in ("--checkpoint", c)]
    return cli("audit", "verify", *args, "--public-key", keys[1], "--lang", lang)


def rechain(run, recs, start: int = 0) -> None:
    """Recompute every hash from ``recs[start]`` on and rewrite the rows and the head (a careful
    insider: the chain walk finds nothing)."""
    prev = recs[start - 1].hash if start else ledger.GENESIS
    for rec in recs[start:]:
        f = forged(rec, prev_hash=prev)
        run("UPDATE decision_log SET body = :body, prev_hash = :prev_hash, hash = :hash WHERE seq = :seq",
            body=f["body"], prev_hash=f["prev_hash"], hash=f["hash"], seq=f["seq"])
        prev = f["hash"]
    run("UPDATE log_head SET seq = :seq, hash = :hash", seq=recs[-1].seq, hash=prev)


@pytest.fixture
def office(store, tmp_path, keys, monkeypatch):
    """Four records, a checkpoint at seq 4, then ten more decisions (24 records)."""
    monkeypatch.setenv("ICV_PERMITS_NOW", "2026-11-27T10:00:00+08:00")
    da = submit(store, tmp_path, baseline(DA))
    decide(store, da.submission.id, "approve")
    auditor = tmp_path / "auditor"  # anywhere outside the database will do
    auditor.mkdir()
    cp = auditor / "checkpoint-4.json"
    doc = take(keys, cp)
    grow(store, tmp_path)
    assert ledger.head(store)[0] == 24
    return store, cp, doc


# ---------------------------------------------------------------- taking and holding


def test_a_checkpoint_states_the_head_signed_and_holds_while_the_log_grows(office, keys):
    store, cp, doc = office
    assert set(doc) == {"format", "seq", "hash", "time", "database", "key_id", "signature"}
    assert doc["seq"] == 4 and doc["hash"] == records(store)[3].hash
    assert doc["time"] == "2026-11-27T02:00:00.000000Z"  # UTC, the one form
    assert doc["database"] == shown_url(store.url)
    assert len(doc["key_id"]) == 16 and doc["signature"].startswith("ed25519:")
    r = verify(keys, cp)
    assert r.exit_code == 0, r.output
    assert "Chain intact: 24 records" in r.stdout and f"Checkpoint {cp} holds: record 4" in r.stdout
    later = cp.with_name("checkpoint-24.json")
    assert take(keys, later)["seq"] == 24
    assert verify(keys, cp, later).exit_code == 0
    js = cli("audit", "verify", "--checkpoint", cp, "--public-key", keys[1], "--format", "json")
    assert js.exit_code == 0 and json.loads(js.stdout)["checkpoints"][0]["ok"] is True


def test_the_public_key_may_come_from_the_environment(office, keys):
    _, cp, _ = office
    r = cli("audit", "verify", "--checkpoint", cp, "--lang", "en", env={"ICV_PERMITS_VERIFY_KEY_FILE": str(keys[1])})
    assert r.exit_code == 0, r.output


def test_a_checkpoint_is_never_overwritten_and_needs_a_key(office, keys):
    _, cp, doc = office
    r = cli("audit", "checkpoint", "-o", cp, "--key", keys[0], "--lang", "en")
    assert r.exit_code == 2 and "exists already" in r.output
    assert json.loads(cp.read_text(encoding="utf-8")) == doc
    r = cli("audit", "checkpoint", "-o", cp.with_name("x.json"), "--lang", "en")
    assert r.exit_code == 2 and "ICV_PERMITS_SIGNING_KEY_FILE" in r.output
    r = cli("audit", "checkpoint", "-o", cp.with_name("y.json"), "--key", keys[1], "--lang", "en")
    assert r.exit_code == 2 and "not an Ed25519 private key" in r.output


def test_a_broken_chain_is_not_signed(office, keys):
    store, cp, _ = office
    with bypass(store) as run:
        run("UPDATE decision_log SET actor = 'mallory' WHERE seq = 7")
    out = cp.with_name("after-edit.json")
    r = cli("audit", "checkpoint", "-o", out, "--key", keys[0], "--lang", "en")
    assert r.exit_code == 4, r.output
    assert "Chain BROKEN at record 7" in r.stdout and "no checkpoint was signed" in r.output
    assert not out.exists()


def test_an_empty_log_has_nothing_to_checkpoint(store, keys, tmp_path_factory):
    out = tmp_path_factory.mktemp("auditor") / "empty.json"
    r = cli("audit", "checkpoint", "-o", out, "--key", keys[0], "--lang", "en")
    assert r.exit_code == 2 and "the log is empty" in r.output and not out.exists()


# ---------------------------------------------------------------- attacks: the chain walk alone says intact


def _intact_walk() -> None:
    r = cli("audit", "verify", "--lang", "en")
    assert r.exit_code == 0, r.output  # without the checkpoint, nothing shows


def test_tail_cut_and_head_rewritten(office, keys):
    store, cp, _ = office
    recs = records(store)
    with bypass(store) as run:
        run("DELETE FROM decision_log WHERE seq >= 3")
        run("UPDATE log_head SET seq = 2, hash = :hash", hash=recs[1].hash)
    _intact_walk()
    r = verify(keys, cp)
    assert r.exit_code == 4
    assert f"Checkpoint {cp} FAILS: the log is shorter than the checkpoint: its last record is 2, the checkpoint is at seq 4" in r.stdout


def test_record_one_edited_and_the_whole_log_rehashed(office, keys):
    store, cp, doc = office
    recs = records(store)
    body = recs[0].body
    body["verdict"] = "non_compliant"
    recs[0].body_text = canonical_json(body)
    with bypass(store) as run:
        rechain(run, recs)
    _intact_walk()
    r = verify(keys, cp)
    assert r.exit_code == 4
    assert f"Checkpoint {cp} FAILS: hash differs at seq 4: the checkpoint says {doc['hash']}" in r.stdout
    zh = verify(keys, cp, lang="zh")
    assert zh.exit_code == 4 and "序号 4 处哈希不同" in zh.stdout


def test_a_forged_record_inserted_mid_log_with_recomputed_hashes(office, keys):
    store, cp, _ = office
    recs = records(store)
    with bypass(store) as run:
        shift_up(run, 3, 24)
        f = forged(recs[1], seq=3, decision_id="00000000-0000-4000-8000-000000000003", kind="review", body=MALLORY, prev_hash=recs[1].hash)
        run("INSERT INTO decision_log (seq, decision_id, kind, recorded_at, actor, body, prev_hash, hash) "
            "SELECT 3, :decision_id, 'review', recorded_at, actor, :body, :prev_hash, :hash FROM decision_log WHERE seq = 2",
            decision_id=f["decision_id"], body=f["body"], prev_hash=f["prev_hash"], hash=f["hash"])
    moved = records(store)
    assert len(moved) == 25
    with bypass(store) as run:
        rechain(run, moved, start=3)
    _intact_walk()
    r = verify(keys, cp)
    assert r.exit_code == 4 and f"Checkpoint {cp} FAILS: hash differs at seq 4" in r.stdout


def test_a_checkpoint_signed_by_another_key(office, keys, tmp_path_factory):
    store, cp, doc = office
    other = tmp_path_factory.mktemp("mallory") / "mallory.pem"
    assert cli("audit", "keygen", "-o", other, "--lang", "en").exit_code == 0
    fake = cp.with_name("fake.json")
    r = cli("audit", "checkpoint", "-o", fake, "--key", other, "--lang", "en")
    assert r.exit_code == 0, r.output
    r = verify(keys, fake)
    assert r.exit_code == 4
    assert f"Checkpoint {fake} FAILS: signed by key {json.loads(fake.read_text())['key_id']}, not by the public key given ({doc['key_id']})" in r.stdout
    # naming the office's key id does not help: the signature is not the office's
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from icv_permits.core import checkpoint

    forged_doc = checkpoint.sign(load_pem_private_key(other.read_bytes(), None), seq=doc["seq"], hash=doc["hash"], time=doc["time"],
                                 database=doc["database"])
    stmt = {k: forged_doc[k] for k in checkpoint.SIGNED_FIELDS} | {"key_id": doc["key_id"]}
    forged_doc = stmt | {"signature": forged_doc["signature"]}
    claimed = cp.with_name("claimed.json")
    claimed.write_text(json.dumps(forged_doc), encoding="utf-8")
    r = verify(keys, claimed)
    assert r.exit_code == 4 and f"Checkpoint {claimed} FAILS: the signature is not valid for key {doc['key_id']}" in r.stdout


def test_a_tampered_checkpoint_file(office, keys):
    store, cp, doc = office
    tampered = cp.with_name("tampered.json")
    tampered.write_text(json.dumps(doc | {"seq": 3}), encoding="utf-8")
    r = verify(keys, cp, tampered)
    assert r.exit_code == 4
    assert f"Checkpoint {cp} holds" in r.stdout and f"Checkpoint {tampered} FAILS: the signature is not valid" in r.stdout


@pytest.mark.parametrize(("seq", "exit_code"), [(2**31 - 1, 4), (2**31, 4), (2**53 - 1, 4), (2**53, 2), (2**63, 2), (10**30, 2)])
def test_a_checkpoint_of_a_record_beyond_any_row_fails_without_a_query(office, keys, seq, exit_code):
    """A ``seq`` the database cannot hold (its INTEGER): the signature fails and no record has that
    number, with no query made; beyond what JSON holds exactly (2^53 − 1): a malformed checkpoint —
    never an overflow in the driver or the canonical form (each was exit 70)."""
    store, cp, doc = office
    far = cp.with_name("far.json")
    far.write_text(json.dumps(doc | {"seq": seq}), encoding="utf-8")
    r = verify(keys, far)
    assert r.exit_code == exit_code, r.output
    assert "Traceback" not in r.output
    if exit_code == 4:
        assert f"Checkpoint {far} FAILS" in r.stdout
    else:
        assert f"{far}: a checkpoint field is missing or has the wrong form" in r.output


# ---------------------------------------------------------------- bad input: exit 2, the file named


@pytest.mark.parametrize("content, message", [
    ("not json {", "not a checkpoint: the file is not JSON"),
    ("[1, 2]", "not an icv-permits checkpoint"),
    ('{"format": "icv-permits/audit-export/1"}', "not an icv-permits checkpoint (format icv-permits/audit-export/1)"),
    ("seq", "a checkpoint holds exactly"),
    ("seq-text", "a checkpoint field is missing or has the wrong form"),
    ("signature", "the checkpoint's signature is not a base64 Ed25519 signature"),
])
def test_a_malformed_checkpoint_is_bad_input_naming_the_file(office, keys, content, message):
    _, cp, doc = office
    bad = cp.with_name("bad.json")
    if content == "seq":
        content = json.dumps({k: v for k, v in doc.items() if k != "seq"})
    elif content == "seq-text":
        content = json.dumps(doc | {"seq": "4"})
    elif content == "signature":
        content = json.dumps(doc | {"signature": "ed25519:AAAA"})
    bad.write_text(content, encoding="utf-8")
    r = verify(keys, bad)
    assert r.exit_code == 2, r.output
    assert f"{bad}: {message}" in r.output and "Traceback" not in r.output
    bad.write_bytes(b"\xff\xfe")
    r = verify(keys, bad)
    assert r.exit_code == 2 and f"{bad}: the file is not UTF-8 text" in r.output
    r = verify(keys, cp.with_name("absent.json"))
    assert r.exit_code == 2 and "absent.json: cannot read the file" in r.output


def test_verifying_a_checkpoint_needs_a_public_key(office, keys):
    _, cp, _ = office
    r = cli("audit", "verify", "--checkpoint", cp, "--lang", "en")
    assert r.exit_code == 2 and "ICV_PERMITS_VERIFY_KEY_FILE" in r.output
    r = cli("audit", "verify", "--checkpoint", cp, "--public-key", cp, "--lang", "en")
    assert r.exit_code == 2 and "not an Ed25519 public key" in r.output


# ---------------------------------------------------------------- keygen


def test_keygen_writes_the_private_key_owner_only_and_never_overwrites(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("keys")
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", "postgresql+psycopg://u@h/db")  # no database folder to refuse
    private = folder / "k.pem"
    r = cli("audit", "keygen", "-o", private, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "-----BEGIN PUBLIC KEY-----" in r.stdout  # printed when no --public-out
    before = private.read_bytes()
    r = cli("audit", "keygen", "-o", private, "--lang", "en")
    assert r.exit_code == 2 and f"{private}: the file exists already: it is not overwritten" in r.output
    assert private.read_bytes() == before
    public = folder / "k.pub"
    public.write_text("mine", encoding="utf-8")
    r = cli("audit", "keygen", "-o", folder / "k2.pem", "--public-out", public, "--lang", "en")
    assert r.exit_code == 2 and not (folder / "k2.pem").exists() and public.read_text(encoding="utf-8") == "mine"


def test_keygen_refuses_the_folder_of_an_sqlite_database(tmp_path, monkeypatch):
    monkeypatch.setenv("ICV_PERMITS_DATABASE_URL", f"sqlite:///{tmp_path / 'office.db'}")
    for target in (tmp_path / "signing.pem", tmp_path / "sub" / "signing.pem"):
        r = cli("audit", "keygen", "-o", target, "--lang", "en")
        assert r.exit_code == 2 and "must not be kept in the database's folder" in r.output
        assert not target.exists()
    r = cli("audit", "keygen", "-o", tmp_path / "signing.pem", "--lang", "zh")
    assert "签名密钥不得存放在数据库所在文件夹" in r.output


# ---------------------------------------------------------------- the pure part


def test_the_signature_covers_the_canonical_statement_and_the_key_id_is_the_raw_key_digest():
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from icv_permits.core import checkpoint

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    doc = checkpoint.sign(key, seq=7, hash="sha256:" + "ab" * 32, time="2026-12-03T01:02:03.000004Z", database="sqlite:///x.db")
    assert doc["key_id"] == hashlib.sha256(checkpoint.raw_public(key.public_key())).hexdigest()[:16]
    assert doc == checkpoint.sign(key, seq=7, hash="sha256:" + "ab" * 32, time="2026-12-03T01:02:03.000004Z", database="sqlite:///x.db")
    stmt = {k: v for k, v in doc.items() if k != "signature"}
    key.public_key().verify(base64_signature(doc), canonical_json(stmt).encode("utf-8"))
    cp = checkpoint.parse(json.dumps(doc), "c.json")
    ok = checkpoint.check(cp, key.public_key(), last_seq=9, hash_at_seq=doc["hash"])
    assert ok.ok and ok.to_json()["problem"] is None
    assert checkpoint.check(cp, key.public_key(), last_seq=6, hash_at_seq=None).problem == "shorter"
    assert checkpoint.check(cp, key.public_key(), last_seq=9, hash_at_seq=None).problem == "missing"
    assert checkpoint.check(cp, key.public_key(), last_seq=9, hash_at_seq="sha256:" + "cd" * 32).problem == "hash_differs"
    # key order and spacing of the file do not matter; every signed field does
    reordered = json.dumps(dict(reversed(list(doc.items()))), indent=4)
    assert checkpoint.check(checkpoint.parse(reordered, "r.json"), key.public_key(), last_seq=9, hash_at_seq=doc["hash"]).ok
    for field, value in [("time", "2026-12-03T01:02:03.000005Z"), ("database", "sqlite:///y.db"), ("hash", "sha256:" + "cd" * 32)]:
        changed = checkpoint.parse(json.dumps(doc | {field: value}), "t.json")
        assert checkpoint.check(changed, key.public_key(), last_seq=9, hash_at_seq=changed.hash).problem == "bad_signature"


def base64_signature(doc: dict) -> bytes:
    import base64

    return base64.b64decode(doc["signature"].removeprefix("ed25519:"))


@pytest.mark.parametrize("argv, expected", [((), 1), (("--jobs", "2"), 2), (("--jobs", "0"), "every core")])
def test_verify_and_checkpoint_use_one_process_unless_asked(office, keys, monkeypatch, argv, expected):
    """On two cores one process verifies faster than two (docs/benchmarks.md): one is the default;
    ``--jobs 0`` asks for every core."""
    import os

    seen = []
    real_verify = ledger.verify

    def verify(store, **kw):
        seen.append(kw["jobs"])
        return real_verify(store, **kw)

    monkeypatch.setattr(ledger, "verify", verify)
    want = (os.cpu_count() or 1) if expected == "every core" else expected
    assert cli("audit", "verify", *argv).exit_code == 0
    assert cli("audit", "checkpoint", "-o", keys[0].parent / f"cp-{len(argv)}-{want}.json", "--key", keys[0], *argv).exit_code == 0
    assert seen == [want, want]

"""Signed checkpoints of the decision log: the pure part.

A checkpoint states the log head at one moment — ``{format, seq, hash, time, database, key_id}`` —
and carries an Ed25519 signature over the canonical JSON of that statement, made with an office
signing key the database never holds. Kept outside the office, it anchors the chain: a log that has
only grown since still holds record ``seq`` with that ``hash``; a log re-chained, cut or rewritten
before ``seq`` does not.

Nothing here reads a file, a key store or the clock: the services hand in the key, the time and the
records (key files are read and written by :mod:`icv_permits.adapters.signing`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from icv_permits.core.canonical import canonical_json
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.log_shape import HASH

CHECKPOINT_FORMAT = "icv-permits/checkpoint/1"
SIGNED_FIELDS = ("database", "format", "hash", "key_id", "seq", "time")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(raw_public(public_key)).hexdigest()[:16]


def statement(*, seq: int, hash: str, time: str, database: str, key_id: str) -> dict:  # noqa: A002 - the field's name
    return {"format": CHECKPOINT_FORMAT, "seq": seq, "hash": hash, "time": time, "database": database, "key_id": key_id}


def signed_bytes(stmt: dict) -> bytes:
    """What the signature covers: the canonical JSON of the statement (every field but ``signature``)."""
    return canonical_json(stmt).encode("utf-8")


def sign(private_key: Ed25519PrivateKey, *, seq: int, hash: str, time: str, database: str) -> dict:  # noqa: A002
    """The checkpoint document: the statement and its signature (Ed25519 is deterministic)."""
    stmt = statement(seq=seq, hash=hash, time=time, database=database, key_id=key_id(private_key.public_key()))
    signature = base64.b64encode(private_key.sign(signed_bytes(stmt))).decode("ascii")
    return {**stmt, "signature": "ed25519:" + signature}


@dataclass(frozen=True)
class Checkpoint:
    source: str  # the file it was read from, for messages
    seq: int
    hash: str
    time: str
    database: str
    key_id: str
    signature: bytes
    stmt: dict = field(repr=False)


def _malformed(source: str, msgid: str, **params) -> InputError:
    return InputError([Problem(source, msgid, params, "bad_checkpoint")])


def parse(text: str, source: str) -> Checkpoint:
    """A checkpoint document, checked for shape only (the signature is checked by :func:`check`).
    Anything else is bad input naming ``source``."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise _malformed(source, N_("not a checkpoint: the file is not JSON")) from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise _malformed(source, N_("not an icv-permits checkpoint (format {found})"), found=str(found)[:60])
    if set(doc) != set(SIGNED_FIELDS) | {"signature"}:
        raise _malformed(source, N_("a checkpoint holds exactly format, seq, hash, time, database, key_id and signature"))
    seq, h, time, database, kid, sig = (doc["seq"], doc["hash"], doc["time"], doc["database"], doc["key_id"], doc["signature"])
    # seq: a whole number JSON and the canonical form hold exactly (no record is numbered beyond the database's INTEGER)
    if not (isinstance(seq, int) and not isinstance(seq, bool) and 1 <= seq <= 2**53 - 1 and isinstance(h, str) and HASH.fullmatch(h)
            and isinstance(time, str) and _TIME.fullmatch(time) and isinstance(database, str)
            and isinstance(kid, str) and _KEY_ID.fullmatch(kid) and isinstance(sig, str) and sig.startswith("ed25519:")):
        raise _malformed(source, N_("a checkpoint field is missing or has the wrong form"))
    try:
        raw = base64.b64decode(sig[len("ed25519:"):], validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64:
        raise _malformed(source, N_("the checkpoint's signature is not a base64 Ed25519 signature"))
    stmt = {k: doc[k] for k in SIGNED_FIELDS}
    return Checkpoint(source, seq, h, time, database, kid, raw, stmt)


@dataclass
class CheckpointResult:
    source: str
    seq: int
    hash: str
    time: str
    key_id: str
    problem: str | None  # None | wrong_key | bad_signature | shorter | missing | hash_differs
    detail: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict:
        return {"file": self.source, "seq": self.seq, "hash": self.hash, "time": self.time, "key_id": self.key_id,
                "ok": self.ok, "problem": self.problem, "detail": self.detail}


def check(cp: Checkpoint, public_key: Ed25519PublicKey, *, last_seq: int, hash_at_seq: str | None) -> CheckpointResult:
    """Judge one checkpoint: signed by this key, and the log still holds record ``seq`` with that
    hash. ``last_seq`` is the log's last record; ``hash_at_seq`` the stored hash of record
    ``cp.seq`` (``None``: no such record). The first difference found is the one reported."""

    def result(problem: str | None, **detail) -> CheckpointResult:
        return CheckpointResult(cp.source, cp.seq, cp.hash, cp.time, cp.key_id, problem, detail)

    kid = key_id(public_key)
    if kid != cp.key_id:
        return result("wrong_key", checkpoint_key=cp.key_id, public_key=kid)
    try:
        public_key.verify(cp.signature, signed_bytes(cp.stmt))
    except InvalidSignature:
        return result("bad_signature", key=kid)
    if last_seq < cp.seq:
        return result("shorter", last_seq=last_seq)
    if hash_at_seq is None:
        return result("missing")
    if hash_at_seq != cp.hash:
        return result("hash_differs", found_hash=hash_at_seq)
    return result(None)

"""Personal data at rest: a keyed hash to look drivers up, and sealed originals for replay.

A driver's ID number is never stored in clear. The store keeps
- ``id_lookup``: HMAC-SHA256 of the normalised number under the office's key, to recognise the
  same driver across submissions without knowing the number;
- a masked form for display (``mask_id_number``);
- the original numbers of each submitted version, sealed with Fernet (AES-128-CBC + HMAC-SHA256,
  from the ``cryptography`` package) so that a decision can be re-run exactly (DRV-08 judges the
  check character). Only a holder of the key can unseal them.

The key is 32 random bytes, read from ``ICV_PERMITS_SECRET_KEY`` (URL-safe base64) or from a key
file (``ICV_PERMITS_KEY_FILE``; default ``secret.key`` next to the default SQLite database).
``icv-permits db upgrade`` creates the default key file, readable by its owner only, when there is
none. Two sub-keys are derived from it with HKDF-SHA256, one for look-up and one for sealing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import InputError, Problem
from ..i18n import N_
from ..model.ids import normalize_identifier

KEY_ENV = "ICV_PERMITS_SECRET_KEY"
KEY_FILE_ENV = "ICV_PERMITS_KEY_FILE"


def default_key_file() -> Path:
    from .db import data_dir

    return data_dir() / "secret.key"


def key_file() -> Path:
    return Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else default_key_file()


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeError):
        raw = b""
    if len(raw) != 32:
        raise InputError([Problem(where, N_("the secret key must be 32 bytes in URL-safe base64 (44 characters)"), {}, "bad_key")])
    return raw


def new_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def ensure_key_file() -> Path | None:
    """Create the key file if no key is configured; returns the file created, if any."""
    if os.environ.get(KEY_ENV):
        return None
    path = key_file()
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(new_key_text() + "\n")
    return path


def _master_key() -> bytes:
    text = os.environ.get(KEY_ENV)
    if text:
        return _decode(text, KEY_ENV)
    path = key_file()
    try:
        return _decode(path.read_text(encoding="ascii"), str(path))
    except FileNotFoundError:
        raise InputError([Problem(str(path), N_("no secret key: run `icv-permits db upgrade` to create one, or set {env}"), {"env": KEY_ENV}, "no_key")]) from None
    except (OSError, UnicodeError) as exc:
        raise InputError([Problem(str(path), N_("cannot read the secret key: {error_text}"), {"error_text": type(exc).__name__}, "bad_key")]) from None


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


@dataclass(frozen=True)
class Keys:
    lookup_key: bytes
    seal_key: bytes

    @classmethod
    def load(cls) -> "Keys":
        master = _master_key()
        return cls(_derive(master, b"icv-permits lookup v1"), _derive(master, b"icv-permits seal v1"))

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it (recorded with sealed data)."""
        return hashlib.sha256(self.lookup_key + self.seal_key).hexdigest()[:16]

    def id_lookup(self, number: str) -> str:
        return hmac.new(self.lookup_key, normalize_identifier(number).encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, data: dict) -> str:
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return Fernet(base64.urlsafe_b64encode(self.seal_key)).encrypt(text.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> dict:
        try:
            raw = Fernet(base64.urlsafe_b64encode(self.seal_key)).decrypt(token.encode("ascii"))
        except InvalidToken:
            raise InputError([Problem("secret key", N_("the sealed personal data cannot be opened with this key (another office's key?)"), {}, "wrong_key")]) from None
        return json.loads(raw)

"""Personal data in the store and the log: looked up by keyed hash, shown masked, judged by stand-in.

A driver's ID number is never stored, logged or exported in clear. What is kept instead:

- ``id_lookup`` — HMAC-SHA256 of the normalised number under the office's key, to recognise the
  same driver across submissions (REC-03) without knowing the number;
- the masked form for display (``340104********1239``);
- in the application snapshot the engine judges, a **stand-in number**: the original with its hidden
  middle replaced so that everything the rules and reports can see is unchanged — the same length,
  the same first 6 and last 4 characters (so the same mask), any illegal characters where they were,
  a valid birth date where the original had one (and an impossible one, month 00, where the original's
  was impossible), and the same *expected* check character, so DRV-08 finds the same problems, with
  the same values except the birth digits it quotes for an impossible date. Two drivers with the same
  number get the same stand-in; different numbers get different ones. The engine runs on the
  stand-in snapshot, so a decision is reproduced exactly from the log without any key (issue #5).

Phone numbers are masked (the rules never judge them).

The key is 32 random bytes, from ``ICV_PERMITS_SECRET_KEY`` (URL-safe base64) or a key file
(``ICV_PERMITS_KEY_FILE``; default ``secret.key`` next to the default SQLite database, created by
``icv-permits db upgrade`` readable by its owner only). Every workstation of an office uses the same
key, or the same driver will not be recognised across their submissions.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application
from icv_permits.core.personal_text import mask_free_text
from icv_permits.core.model.ids import (
    RESIDENT_ID_LENGTH,
    mask,
    normalize_identifier,
    resident_id_check_char,
)

KEY_ENV = "ICV_PERMITS_SECRET_KEY"
KEY_FILE_ENV = "ICV_PERMITS_KEY_FILE"


def key_file() -> Path:
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    from icv_permits.adapters.store.db import data_dir

    return data_dir() / "secret.key"


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


_BIRTH = slice(6, 14)
_FIRST_DAY = dt.date(1940, 1, 1).toordinal()
_DAYS = dt.date(2009, 12, 31).toordinal() - _FIRST_DAY + 1


@dataclass(frozen=True)
class Keys:
    lookup_key: bytes
    stand_in_key: bytes

    @classmethod
    def load(cls) -> "Keys":
        master = _master_key()
        return cls(hmac.new(master, b"icv-permits lookup v1", hashlib.sha256).digest(),
                   hmac.new(master, b"icv-permits stand-in v1", hashlib.sha256).digest())

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it (recorded with what it produced)."""
        return hashlib.sha256(b"fingerprint\0" + self.lookup_key).hexdigest()[:16]

    def id_lookup(self, number: str) -> str:
        return hmac.new(self.lookup_key, normalize_identifier(number).encode("utf-8"), hashlib.sha256).hexdigest()

    def _stream(self, number: str, salt: int) -> int:
        digest = hmac.new(self.stand_in_key, f"{salt}\0{number}".encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big")

    def stand_in(self, number: str, salt: int = 0) -> str:
        """An ID number that looks and judges like ``number`` but is not it (see the module doc)."""
        n = len(number)
        keep_head, keep_tail = (6, 4) if n > 10 else (0, max(0, min(2, n - 1)))  # as mask_id_number shows them
        chars = list(number)
        hidden = range(keep_head, n - keep_tail)
        ok_shape = n == RESIDENT_ID_LENGTH and number[:-1].isascii() and number[:-1].isdigit() and (number[-1].isdigit() or number[-1] == "X")
        if not ok_shape:
            seed = self._stream(number, salt)
            for i in hidden:
                if chars[i].isascii() and chars[i].isdigit():
                    chars[i] = str(seed % 10)
                    seed //= 10
            return "".join(chars)
        birth = number[_BIRTH]
        expected = resident_id_check_char(number[:-1])
        start = self._stream(number, salt)
        try:
            dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
        except ValueError:
            # not a calendar date: the stand-in's birth digits are not one either (month 00), so
            # DRV-08 still reports ``birth_date`` — with these digits, never the original ones
            for k in range(1_000_000):
                digits = f"{(start + k) % 1_000_000:06d}"
                candidate = number[:6] + digits[:4] + "00" + digits[4:] + number[14:17]
                if candidate != number[:17] and resident_id_check_char(candidate) == expected:
                    return candidate + number[17]
        for k in range(_DAYS):
            day = dt.date.fromordinal(_FIRST_DAY + (start + k) % _DAYS)
            candidate = number[:6] + day.strftime("%Y%m%d") + number[14:17]
            if candidate != number[:17] and resident_id_check_char(candidate) == expected:
                return candidate + number[17]
        return number  # unreachable: every residue mod 11 occurs within a few weeks of dates


def pseudonymise(app: Application, keys: Keys) -> tuple[Application, dict, list[dict]]:
    """The application the store keeps and the engine judges: ID numbers replaced by stand-ins
    that judge the same (``store/personal.py``), phone numbers masked. Returns (application,
    its JSON document, which fields were changed and how)."""
    doc = app.model_dump(mode="json")
    changed: list[dict] = []
    stand_ins: dict[str, str] = {}
    used: set[str] = set()
    for i, d in enumerate(doc["drivers"]):
        original = d["id_number"]
        if original not in stand_ins:
            salt = 0
            candidate = keys.stand_in(original, salt)
            while candidate in used and candidate != original:
                salt += 1
                candidate = keys.stand_in(original, salt)
            stand_ins[original] = candidate
            used.add(candidate)
        d["id_number"] = stand_ins[original]
        changed.append({"path": f"drivers[{i}].id_number", "method": "stand_in" if d["id_number"] != original else "kept_invalid"})
        if d.get("phone"):
            d["phone"] = mask("phone", d["phone"])
            changed.append({"path": f"drivers[{i}].phone", "method": "mask"})
    if doc["entity"].get("contact_phone"):
        doc["entity"]["contact_phone"] = mask("contact_phone", doc["entity"]["contact_phone"])
        changed.append({"path": "entity.contact_phone", "method": "mask"})
    changed.extend(mask_free_text(doc))  # numbers typed into names and descriptions (core/personal_text.py)
    return Application.model_validate(doc), doc, changed


# ---------------------------------------------------------------- views

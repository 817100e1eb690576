"""Personal data in the store and the log: looked up by a slow keyed hash, shown masked, judged by stand-in.

A driver's ID number is never stored, logged or exported in clear. What is kept instead:

- ``id_lookup`` — to recognise the same driver across submissions (REC-03) without knowing the
  number: an HMAC under the office's key of the number's *derivation*, scrypt (memory-hard) salted
  with the key (:class:`Scrypt`, :data:`KDF`). With a copy of the store and no key nothing can be
  computed; even with the key, each candidate number costs one scrypt. Each driver row names the
  scheme its lookup was made with (``driver.lookup_scheme``, migration 0007): rows made before
  (``hmac-sha256``, a plain HMAC of the number) are still found, and re-keyed to the current scheme
  the first time their driver is submitted again (:mod:`.records`);
- the masked form for display (``340**************9``, ``ids.ID_MASK``);
- in the application snapshot the engine judges, a **stand-in number**: the original with every
  character the mask hides replaced (seeded by the same slow derivation), so that everything the
  rules and reports can see is unchanged — the same length, the same shown characters (so the same
  mask), any illegal characters where they were (letters by letters, digits by digits, anything
  else by a letter), a valid birth date where the original had one (and an impossible one, month
  00, where the original's was impossible), and the same *expected* check character, so DRV-08
  finds the same problems, with the same values except the birth digits it quotes for an impossible
  date. Two drivers with the same number get the same stand-in; different numbers get different
  ones. The engine runs on the stand-in snapshot, so a decision is reproduced exactly from the log
  without any key. The stand-in shares with the original only what the mask shows (and that its
  check character is the one expected, as DRV-08 says).

Phone numbers are masked (the rules never judge them).

The key is 32 random bytes, from ``ICV_PERMITS_SECRET_KEY`` (URL-safe base64, e.g. from a secret
manager) or a key file: ``ICV_PERMITS_KEY_FILE``, else ``secret.key`` in the user's configuration
folder (:func:`default_key_file`) — never beside the database: a key in the SQLite file's folder is
refused, because whoever copies that folder would hold both. ``db upgrade`` creates the default key
for the default database only (owner-only file in an owner-only folder), moves one left beside the
database by an older version, and otherwise says how to provide the office's key (``db keygen``).
Every workstation of an office uses the same key, or the same driver will not be recognised across
their submissions. ``docs/personal-data.md`` says what a copy of the store reveals.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application
from icv_permits.core.model.ids import (
    ID_MASK,
    RESIDENT_ID_LENGTH,
    IdMask,
    hidden_positions,
    mask,
    normalize_identifier,
    resident_id_check_char,
)
from icv_permits.core.personal_text import mask_free_text

KEY_ENV = "ICV_PERMITS_SECRET_KEY"
KEY_FILE_ENV = "ICV_PERMITS_KEY_FILE"
KEY_NAME = "secret.key"
APP_NAME = "icv-permits"


# ---------------------------------------------------------------- where the key lives


def default_key_file() -> Path:
    """``secret.key`` in the user's configuration folder (platformdirs: ``$XDG_CONFIG_HOME/icv-permits``,
    by default ``~/.config/icv-permits/`` on Linux), apart from the data folder that holds the default
    database. Where the platform gives both one folder (macOS, Windows), a sibling ``icv-permits-key``
    folder beside it, so that a copy of the data folder never holds the key."""
    from platformdirs import user_config_dir, user_data_dir

    config = Path(user_config_dir(APP_NAME, appauthor=False))
    if config == Path(user_data_dir(APP_NAME, appauthor=False)):
        config = config.with_name(config.name + "-key")
    return config / KEY_NAME


def legacy_key_file() -> Path:
    """Where versions before this one made the key: beside the default database."""
    from icv_permits.adapters.store.db import data_dir

    return data_dir() / KEY_NAME


def key_file() -> Path:
    """The key file used when ``ICV_PERMITS_SECRET_KEY`` is not set."""
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    return default_key_file()


@dataclass(frozen=True)
class KeySource:
    """Where the office key comes from (never the key): ``env`` (``ICV_PERMITS_SECRET_KEY``), ``file``
    (``path``, from ``ICV_PERMITS_KEY_FILE`` unless ``default``), or ``none`` (``path`` is where
    it would be)."""

    kind: str
    path: Path | None
    default: bool

    def to_json(self) -> dict:
        return {"source": self.kind, "path": str(self.path) if self.path else None, "default": self.default}


def key_source() -> KeySource:
    if os.environ.get(KEY_ENV):
        return KeySource("env", None, False)
    path = key_file()
    return KeySource("file" if path.exists() else "none", path, not os.environ.get(KEY_FILE_ENV))


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve().parent == b.resolve().parent
    except OSError:
        return a.absolute().parent == b.absolute().parent


def beside_database(path: Path, database_url: str | None) -> Path | None:
    """The SQLite database file ``path`` would sit beside (the same folder), if it would."""
    from icv_permits.adapters.store import db

    database = db._sqlite_file(database_url or db.database_url())
    return database if database is not None and _same_folder(path, database) else None


def refuse_beside_database(path: Path, database_url: str | None) -> None:
    """Exit 2 when ``path`` (a key file to create or read) is in the SQLite database's folder."""
    database = beside_database(path, database_url)
    if database is not None:
        raise InputError([Problem(str(path), N_("the secret key may not be kept in the folder of the database {database}: whoever copies that folder would hold both the records and the key that unlocks them. Keep it elsewhere ({default} by default), or point {file_env} at another place, or set {env}"),
                                  {"database": str(database), "default": str(default_key_file()), "file_env": KEY_FILE_ENV, "env": KEY_ENV},
                                  "key_beside_database")])


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


def _private_folder(folder: Path) -> None:
    """Create ``folder`` (and its missing parents) readable by its owner only (0700)."""
    missing = []
    for f in (folder, *folder.parents):
        if f.exists():
            break
        missing.append(f)
    for f in reversed(missing):
        f.mkdir(mode=0o700, exist_ok=True)
        os.chmod(f, 0o700)


def write_key_file(path: Path, text: str | None = None) -> Path:
    """Write a key (a new one unless ``text``) to ``path``, owner-only (0600; missing folders 0700);
    never over an existing file (:class:`FileExistsError`)."""
    try:
        _private_folder(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise
    except OSError as exc:
        raise InputError([Problem(str(path), N_("cannot write the secret key: {error_text}"),
                                  {"error_text": exc.strerror or type(exc).__name__}, "bad_path")]) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write((text or new_key_text()).strip() + "\n")
    return path


@dataclass(frozen=True)
class KeySettled:
    """What ``db upgrade`` did about the key: ``action`` is ``env`` (from the environment), ``found``,
    ``created``, ``moved`` (from ``moved_from``) or ``missing`` (a database other than the default
    one and no key: the administrator provides the office's); ``left`` names an old key file still
    beside the database that was not moved."""

    action: str
    source: KeySource
    moved_from: Path | None = None
    left: Path | None = None


def settle_key(database_url: str, *, default_database: bool) -> KeySettled:
    """Make sure the key ``database_url`` will be used with is where it belongs (``db upgrade``)."""
    legacy = legacy_key_file()
    src = key_source()
    if src.kind == "env":
        _decode(os.environ[KEY_ENV], KEY_ENV)
        return KeySettled("env", src, left=legacy if legacy.exists() else None)
    assert src.path is not None
    refuse_beside_database(src.path, database_url)
    if src.kind == "file":
        _master_key(database_url)  # readable and well formed
        left = legacy if legacy.exists() and legacy.resolve() != src.path.resolve() else None
        if left is not None and src.default and left.read_bytes().strip() == src.path.read_bytes().strip():
            left.unlink()  # the same key, copied before: the copy beside the database goes
            left = None
        return KeySettled("found", src, left=left)
    if src.default and legacy.exists():
        _decode(legacy.read_text(encoding="ascii"), str(legacy))
        _move_key(legacy, src.path)
        return KeySettled("moved", key_source(), moved_from=legacy)
    if src.default and default_database:
        write_key_file(src.path)
        return KeySettled("created", key_source())
    return KeySettled("missing", src, left=legacy if legacy.exists() else None)


def _move_key(old: Path, new: Path) -> None:
    """Move the key file ``old`` to ``new`` (owner-only), across file systems too."""
    write_key_file(new, old.read_text(encoding="ascii"))
    try:
        old.unlink()
    except OSError:
        new.unlink()
        raise


def _master_key(database_url: str | None = None) -> bytes:
    text = os.environ.get(KEY_ENV)
    if text:
        return _decode(text, KEY_ENV)
    path = key_file()
    refuse_beside_database(path, database_url)
    try:
        return _decode(path.read_text(encoding="ascii"), str(path))
    except FileNotFoundError:
        if not os.environ.get(KEY_FILE_ENV) and legacy_key_file().exists():
            raise InputError([Problem(str(legacy_key_file()), N_("the secret key is still beside the database: run `icv-permits db upgrade` to move it to {path}"),
                                      {"path": str(path)}, "key_beside_database")]) from None
        raise InputError([Problem(str(path), N_("no secret key: run `icv-permits db upgrade` to create one for the default database; for an office's database, make the office's key once with `icv-permits db keygen --out PATH` and set {file_env}=PATH (or {env}) on every workstation"),
                                  {"env": KEY_ENV, "file_env": KEY_FILE_ENV}, "no_key")]) from None
    except (OSError, UnicodeError) as exc:
        raise InputError([Problem(str(path), N_("cannot read the secret key: {error_text}"), {"error_text": type(exc).__name__}, "bad_key")]) from None


# ---------------------------------------------------------------- the slow derivation


@dataclass(frozen=True)
class Scrypt:
    """The memory-hard derivation of an ID number (``hashlib.scrypt``): ``n`` × ``r`` × 128 bytes
    of memory (16 MiB by default) and tens of milliseconds per number (``docs/personal-data.md`` has
    the measurement), so that each guess at a number costs that much even to the key's holder. The parameters are part of the scheme each driver row records, so they can
    be raised: rows made under older ones are still found, and re-keyed when their driver returns."""

    n: int = 2**14
    r: int = 8
    p: int = 1

    @property
    def scheme(self) -> str:
        return f"scrypt:n={self.n},r={self.r},p={self.p}"

    @property
    def memory(self) -> int:
        return 128 * self.n * self.r * self.p

    @classmethod
    def parse(cls, scheme: str) -> Scrypt | None:
        """The parameters a scheme name (``scrypt:n=…,r=…,p=…``) records; ``None`` for another scheme."""
        if not scheme.startswith("scrypt:"):
            return None
        try:
            values = dict(part.split("=", 1) for part in scheme[len("scrypt:"):].split(","))
            return cls(int(values["n"]), int(values["r"]), int(values["p"]))
        except (KeyError, ValueError):
            return None


KDF = Scrypt()
"""The derivation new lookups and stand-ins are made with."""

LEGACY_SCHEME = "hmac-sha256"
"""The scheme of the lookups made before (a plain HMAC of the number): found, never made anew."""

_CACHE_SIZE = 256
_cache: OrderedDict[tuple, bytes] = OrderedDict()
_cache_lock = Lock()


def _derive(number: str, salt: bytes, kdf: Scrypt) -> bytes:
    """scrypt of the normalised number, remembered for this process (a submission with five drivers
    costs five derivations: its lookups, the records' and the stand-ins share them)."""
    key = (salt, kdf, number)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    out = hashlib.scrypt(number.encode("utf-8"), salt=salt, n=kdf.n, r=kdf.r, p=kdf.p, maxmem=2 * kdf.memory + (1 << 20), dklen=32)
    with _cache_lock:
        _cache[key] = out
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return out


def derivations_cached() -> int:
    """How many derivations this process remembers (for tests)."""
    return len(_cache)


def clear_derivations() -> None:
    with _cache_lock:
        _cache.clear()


_BIRTH = slice(6, 14)
_FIRST_DAY = dt.date(1940, 1, 1).toordinal()
_DAYS = dt.date(2009, 12, 31).toordinal() - _FIRST_DAY + 1
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWYZ"  # no X: an X is legal as the last character of an ID number
_LAST_LEGAL = "0123456789X"


class _Stream:
    """Deterministic numbers below a bound from HMAC-SHA256 in counter mode."""

    def __init__(self, key: bytes, seed: bytes):
        self._key, self._seed, self._counter, self._pool = key, seed, 0, b""

    def below(self, bound: int) -> int:
        if len(self._pool) < 8:
            self._pool += hmac.new(self._key, self._seed + self._counter.to_bytes(4, "big"), hashlib.sha256).digest()
            self._counter += 1
        value, self._pool = int.from_bytes(self._pool[:8], "big"), self._pool[8:]
        return value % bound


class Keys:
    """The office key, and what is derived from it."""

    def __init__(self, master: bytes, kdf: Scrypt = KDF):
        if len(master) != 32:
            raise ValueError("the office key is 32 bytes")
        self.kdf = kdf
        self._salt = hmac.new(master, b"icv-permits id scrypt salt v2", hashlib.sha256).digest()
        self._lookup_key = hmac.new(master, b"icv-permits lookup v2", hashlib.sha256).digest()
        self._stand_in_key = hmac.new(master, b"icv-permits stand-in v2", hashlib.sha256).digest()
        self._legacy_lookup_key = hmac.new(master, b"icv-permits lookup v1", hashlib.sha256).digest()
        self._master = master

    @classmethod
    def load(cls, database_url: str | None = None) -> Keys:
        """The office key as configured; refused when its file is in the SQLite database's folder."""
        return cls(_master_key(database_url))

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it (recorded with what it produced; the same as before
        the lookups became slow, so that a key keeps its name)."""
        return hashlib.sha256(b"fingerprint\0" + self._legacy_lookup_key).hexdigest()[:16]

    @property
    def scheme(self) -> str:
        """The scheme :meth:`id_lookup` makes lookups with (recorded on each driver row)."""
        return self.kdf.scheme

    def derive(self, number: str) -> bytes:
        """The slow, keyed derivation of ``number`` (normalised): what lookups and stand-ins come from."""
        return _derive(normalize_identifier(number), self._salt, self.kdf)

    def id_lookup(self, number: str) -> str:
        return hmac.new(self._lookup_key, self.derive(number), hashlib.sha256).hexdigest()

    def lookup_under(self, scheme: str, number: str) -> str | None:
        """``number``'s lookup as a row made under ``scheme`` holds it (``None``: a scheme unknown here)."""
        if scheme == LEGACY_SCHEME:
            return hmac.new(self._legacy_lookup_key, normalize_identifier(number).encode("utf-8"), hashlib.sha256).hexdigest()
        kdf = Scrypt.parse(scheme)
        if kdf is None:
            return None
        return self.id_lookup(number) if kdf == self.kdf else Keys(self._master, kdf).id_lookup(number)

    def _stream(self, number: str, salt: int) -> _Stream:
        return _Stream(self._stand_in_key, salt.to_bytes(4, "big") + self.derive(number))

    def stand_in(self, number: str, salt: int = 0, form: IdMask = ID_MASK) -> str:
        """An ID number that looks and judges like ``number`` but is not it (see the module doc):
        every character ``form`` hides is replaced."""
        if form.head > 6 or form.tail > 1:
            raise ValueError("a stand-in keeps at most the region code and the check character")
        n = len(number)
        hidden = hidden_positions(n, form)
        if not hidden:
            return number
        rng = self._stream(number, salt)
        ok_shape = (n == RESIDENT_ID_LENGTH and number[:-1].isascii() and number[:-1].isdigit()
                    and number[-1] in _LAST_LEGAL)
        if not ok_shape:
            for _ in range(64):
                chars = list(number)
                for i in hidden:
                    c = chars[i]
                    if i == n - 1:  # only when everything is hidden: an X there is legal like a digit
                        chars[i] = _LAST_LEGAL[rng.below(11)] if c in _LAST_LEGAL else _LETTERS[rng.below(len(_LETTERS))]
                    elif c.isascii() and c.isdigit():
                        chars[i] = str(rng.below(10))
                    else:  # a letter or anything else: illegal here, and stays illegal as a letter
                        chars[i] = _LETTERS[rng.below(len(_LETTERS))]
                candidate = "".join(chars)
                if candidate != number:
                    return candidate
            return candidate
        return self._stand_in_resident(number, rng, form)

    def _stand_in_resident(self, number: str, rng: _Stream, form: IdMask) -> str:
        """A stand-in for 18 characters shaped like a resident ID: the shown head kept, the rest of
        the region, the birth date (valid or not like the original's) and the sequence drawn, then
        the sequence moved until the check character expected is the original's."""
        expected = resident_id_check_char(number[:-1])
        head = min(form.head, 6)
        region = number[:head] + "".join(str(rng.below(10)) for _ in range(6 - head))
        birth = number[_BIRTH]
        try:
            dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
            valid = True
        except ValueError:
            valid = False
        birth_new = birth
        while birth_new == birth:  # never the original's birth digits
            if valid:
                birth_new = dt.date.fromordinal(_FIRST_DAY + rng.below(_DAYS)).strftime("%Y%m%d")
            else:
                # not a calendar date: the stand-in's birth digits are not one either (month 00), so
                # DRV-08 still reports ``birth_date`` — with these digits, never the original ones
                digits = f"{rng.below(1_000_000):06d}"
                birth_new = digits[:4] + "00" + digits[4:]
        start = rng.below(1000)
        last = number[17]
        for k in range(1000):
            candidate = region + birth_new + f"{(start + k) % 1000:03d}"
            if candidate != number[:17] and resident_id_check_char(candidate) == expected:
                if form.tail == 0 and last != expected:  # the wrong check character is hidden too
                    wrong = [c for c in _LAST_LEGAL if c != expected]
                    return candidate + wrong[rng.below(len(wrong))]
                return candidate + last
        raise AssertionError("unreachable: every check residue occurs within a few sequence numbers")


def pseudonymise(app: Application, keys: Keys, form: IdMask = ID_MASK) -> tuple[Application, dict, list[dict]]:
    """The application the store keeps and the engine judges: ID numbers replaced by stand-ins
    that judge the same and keep only what ``form`` (the pack's ``id_mask``) shows
    (``store/personal.py``), phone numbers masked. Returns (application, its JSON document, which
    fields were changed and how)."""
    doc = app.model_dump(mode="json")
    changed: list[dict] = []
    stand_ins: dict[str, str] = {}
    used: set[str] = set()
    for i, d in enumerate(doc["drivers"]):
        original = d["id_number"]
        if original not in stand_ins:
            salt = 0
            candidate = keys.stand_in(original, salt, form)
            while candidate in used and candidate != original:
                salt += 1
                candidate = keys.stand_in(original, salt, form)
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

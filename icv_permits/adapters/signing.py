"""The office signing key and checkpoint files: the only place they are read or written.

The signing key is an Ed25519 private key in a PEM file (PKCS #8, unencrypted) readable by its owner
only; it signs checkpoints of the decision log and must never be kept with the database. Verifying a
checkpoint needs only the public key (a PEM file). Files are named with ``--key`` / ``--public-key``
or by ``ICV_PERMITS_SIGNING_KEY_FILE`` / ``ICV_PERMITS_VERIFY_KEY_FILE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_

SIGNING_KEY_ENV = "ICV_PERMITS_SIGNING_KEY_FILE"
VERIFY_KEY_ENV = "ICV_PERMITS_VERIFY_KEY_FILE"
MAX_CHECKPOINT_BYTES = 64 * 1024
MAX_KEY_BYTES = 16 * 1024


def _problem(where: object, msgid: str, code: str, **params) -> InputError:
    return InputError([Problem(str(where), msgid, params, code)])


def _read(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise _problem(path, N_("cannot read the file: {error_text}"), "unreadable", error_text=exc.strerror or type(exc).__name__) from None
    if len(data) > limit:
        raise _problem(path, N_("the file is larger than {limit} bytes"), "too_large", limit=limit)
    return data


def _chosen(path: Path | None, env: str, msgid: str) -> Path:
    if path is not None:
        return path
    if os.environ.get(env):
        return Path(os.environ[env])
    raise _problem(env, msgid, "no_key")


def load_private(path: Path | None) -> Ed25519PrivateKey:
    """The signing key from ``path`` or ``$ICV_PERMITS_SIGNING_KEY_FILE``."""
    path = _chosen(path, SIGNING_KEY_ENV, N_("no signing key: give --key FILE or set ICV_PERMITS_SIGNING_KEY_FILE"))
    try:
        key = load_pem_private_key(_read(path, MAX_KEY_BYTES), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise _problem(path, N_("not an Ed25519 private key in PEM form (make one with `icv-permits audit keygen`)"), "bad_key")
    return key


def load_public(path: Path | None) -> Ed25519PublicKey:
    """The verification key from ``path`` or ``$ICV_PERMITS_VERIFY_KEY_FILE`` (a private key file
    is accepted too: its public half is used)."""
    path = _chosen(path, VERIFY_KEY_ENV, N_("no public key to verify checkpoints with: give --public-key FILE or set ICV_PERMITS_VERIFY_KEY_FILE"))
    data = _read(path, MAX_KEY_BYTES)
    key: object = None
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            private = load_pem_private_key(data, password=None)
            key = private.public_key() if isinstance(private, Ed25519PrivateKey) else None
        except (ValueError, TypeError):
            key = None
    if not isinstance(key, Ed25519PublicKey):
        raise _problem(path, N_("not an Ed25519 public key in PEM form"), "bad_key")
    return key


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode``; refuse an existing file (never overwrite a key)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise _problem(path, N_("the file exists already: it is not overwritten"), "exists") from None
    except OSError as exc:
        raise _problem(path, N_("cannot write the file: {error_text}"), "unwritable", error_text=exc.strerror or type(exc).__name__) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)  # whatever the umask


def generate(private_out: Path, public_out: Path | None, *, database_folder: Path | None) -> Ed25519PrivateKey:
    """Make a key pair: the private key to ``private_out`` (owner-only, 0600), the public key to
    ``public_out``. Refuses existing files, and a private key inside ``database_folder`` (the folder
    of an SQLite database: whoever can copy the database must not get the key with it)."""
    for folder in [database_folder] if database_folder is not None else []:
        if _inside(private_out, folder):
            raise _problem(private_out, N_("the signing key must not be kept in the database's folder {folder}: choose another place"),
                           "key_beside_database", folder=str(folder))
    for path in [private_out] + ([public_out] if public_out is not None else []):
        if path.exists():
            raise _problem(path, N_("the file exists already: it is not overwritten"), "exists")
    key = Ed25519PrivateKey.generate()
    _write_new(private_out, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()), 0o600)
    if public_out is not None:
        _write_new(public_out, public_pem(key.public_key()), 0o644)
    return key


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def read_checkpoint_text(path: Path) -> str:
    try:
        return _read(path, MAX_CHECKPOINT_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise _problem(path, N_("the file is not UTF-8 text"), "not_utf8") from None


def write_checkpoint(path: Path, text: str) -> None:
    """A checkpoint is evidence: an existing file is never overwritten."""
    _write_new(path, text.encode("utf-8"), 0o644)

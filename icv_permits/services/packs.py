"""Rule packs for the commands and the app: load one by id or folder (cached)."""

from __future__ import annotations

from icv_permits.adapters.packs import load_pack
from icv_permits.core.pack import Pack


def load(pack: str) -> Pack:
    """A rule pack by id or folder (``PackError``, exit 2, when there is none or it is malformed)."""
    return load_pack(pack)

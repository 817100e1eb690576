"""Test-wide settings: an isolated pack cache, and no language inherited from the environment."""

from __future__ import annotations

import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="icv-permits-test-cache-")
os.environ["ICV_PERMITS_CACHE_DIR"] = _CACHE
os.environ.pop("ICV_PERMITS_LANG", None)
os.environ.pop("ICV_PERMITS_RULES_DIR", None)

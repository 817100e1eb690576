"""The on-disk cache of merged packs never changes what a pack says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import icv_permits.adapters.packs as P

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dst = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", dst)
    monkeypatch.setenv("ICV_PERMITS_CACHE_DIR", str(tmp_path / "cache"))
    P._load_cached.cache_clear()
    yield dst
    P._load_cached.cache_clear()


def _load(rules: Path) -> P.Pack:
    P._load_cached.cache_clear()
    return P.load_pack("anhui-2025", root=rules)


def test_cached_and_uncached_loads_agree(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _load(rules)  # writes the cache
    assert list((rules.parent / "cache").glob("anhui-2025-*.json"))
    second = _load(rules)  # reads it
    monkeypatch.setenv("ICV_PERMITS_CACHE_DIR", "off")
    third = _load(rules)
    assert first == second == third
    assert first.revision == P.revision_of(P.pack_content("anhui-2025", rules)[1])


def test_editing_a_pack_file_invalidates_the_cache(rules: Path) -> None:
    before = _load(rules)
    f = rules / "national-2021" / "parameters.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("value: 5000000", "value: 6000000"), encoding="utf-8")
    after = _load(rules)
    assert after.revision != before.revision
    assert after.parameters["insurance.min_liability_yuan"].values[0].value == 6000000
    assert len(list((rules.parent / "cache").glob("anhui-2025-*.json"))) == 1  # the stale entry is gone


def test_a_corrupt_cache_entry_is_rebuilt(rules: Path) -> None:
    good = _load(rules)
    for entry in (rules.parent / "cache").glob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    assert _load(rules) == good


def test_an_unwritable_cache_is_skipped(rules: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("ICV_PERMITS_CACHE_DIR", str(blocker / "cache"))
    assert _load(rules).id == "anhui-2025"

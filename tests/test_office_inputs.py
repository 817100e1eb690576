"""What a client cannot set for an office's decision: the time (a fixed clock needs the explicit
test setting) and the rules (only the office's installed packs, never a folder of edited rules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from test_ledger import cli  # in-process CLI runner

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RULES = Path(__file__).resolve().parent.parent / "rules"


def test_a_fixed_clock_needs_the_explicit_test_setting(store, monkeypatch):
    monkeypatch.setenv("ICV_PERMITS_NOW", "2024-01-01T10:00:00+08:00")
    monkeypatch.delenv("ICV_PERMITS_TEST_CLOCK", raising=False)
    r = cli("submit", EXAMPLES / "da-compliant.yaml", "--lang", "en")
    assert r.exit_code == 2, r.output
    assert "a fixed clock is for tests and demonstrations only: set ICV_PERMITS_TEST_CLOCK=1 to use it, or unset ICV_PERMITS_NOW" in r.output
    assert cli("audit", "log", "--format", "json").stdout.strip() == "[]"  # nothing judged, nothing logged
    r = cli("submit", EXAMPLES / "da-compliant.yaml", "--lang", "zh")
    assert r.exit_code == 2 and "固定时钟仅用于测试和演示" in r.output
    monkeypatch.setenv("ICV_PERMITS_TEST_CLOCK", "1")
    assert cli("submit", EXAMPLES / "da-compliant.yaml").exit_code == 0


def test_an_office_decides_with_its_installed_packs_only(store, tmp_path, monkeypatch):
    monkeypatch.setenv("ICV_PERMITS_NOW", "2026-11-27T10:00:00+08:00")
    shutil.copytree(RULES, tmp_path / "rules")  # a copy of the rules, as an insider would edit them
    edited = tmp_path / "rules" / "anhui-2025"
    r = cli("submit", EXAMPLES / "da-compliant.yaml", "--pack", str(edited), "--lang", "en")
    assert r.exit_code == 2, r.output
    assert "the office judges with its installed rule packs only (anhui-2025, national-2021)" in r.output
    assert cli("submit", EXAMPLES / "da-compliant.yaml").exit_code == 0
    for args in (("decide", "1", "--approve", "--pack", str(edited)), ("plates", "renew", "AH-DA-2026-0001", "--pack", str(edited))):
        r = cli(*args, "--lang", "en")
        assert r.exit_code == 2 and "installed rule packs only" in r.output, (args, r.output)
    # the same folder is fine where no office decision is made: a pre-check
    assert cli("check", EXAMPLES / "da-compliant.yaml", "--pack", str(edited), "--as-of", "2026-11-27").exit_code == 0


@pytest.mark.parametrize("revision", ["-1", "0", str(2**31), "99999999999999999999"])
def test_if_revision_beyond_any_revision_is_bad_input_not_a_conflict(store, monkeypatch, revision):
    monkeypatch.setenv("ICV_PERMITS_NOW", "2026-11-27T10:00:00+08:00")
    monkeypatch.setenv("ICV_PERMITS_TEST_CLOCK", "1")
    assert cli("submit", EXAMPLES / "da-compliant.yaml").exit_code == 0
    r = cli("decide", "1", "--approve", "--if-revision", revision, "--lang", "en")
    assert r.exit_code == 2 and "--if-revision: a revision is a whole number from 1 to 2147483647" in r.output, r.output
    assert "someone changed it" not in r.output

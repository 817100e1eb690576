"""The wheel carries the rule packs, and an installed wheel finds them without the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("icv_permits-*.whl")
    return whl


def test_wheel_contains_packs_and_catalogues(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for pack in ("national-2021", "anhui-2025"):
        for f in ("pack.yaml", "sources.yaml", "rules.yaml", "parameters.yaml", "sections.yaml"):
            assert f"icv_permits/_packs/{pack}/{f}" in names
    assert "icv_permits/locale/zh_CN/LC_MESSAGES/report.mo" in names
    assert "icv_permits/locale/zh_CN/LC_MESSAGES/input.mo" in names
    assert "icv_permits/locale/zh_CN/LC_MESSAGES/tui.mo" in names
    # the terminal app installs inside the package, never as a bare top-level ``tui`` that could
    # collide with another distribution's
    assert "icv_permits/tui/app.py" in names and "icv_permits/tui/app.tcss" in names
    assert not [n for n in names if n.split("/")[0] not in ("icv_permits",) and not n.split("/")[0].endswith(".dist-info")]
    # the store's migrations travel with the wheel, so `db upgrade` works from an installed copy
    for f in ("env.py", "script.py.mako", "versions/0001_initial_schema.py", "versions/0002_decision_log.py", "versions/0003_drafts.py"):
        assert f"icv_permits/adapters/store/migrations/{f}" in names


def test_installed_wheel_checks_an_example_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("ICV_PERMITS_RULES_DIR", None)
    code = (
        "import icv_permits.adapters.packs as p, sys; "
        "r = p.packs_root(); assert r.name == '_packs', r; "
        "print(p.load_pack('anhui-2025').revision)"
    )
    got = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    from icv_permits.adapters.packs import load_pack

    assert got.stdout.strip() == load_pack("anhui-2025").revision
    run = subprocess.run(
        [sys.executable, "-m", "icv_permits.cli", "check", str(ROOT / "examples/da-compliant.yaml"), "--as-of", "2026-11-27", "--lang", "en"],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "COMPLIANT" in run.stdout


def test_installed_wheel_migrates_a_store_and_submits(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target), "ICV_PERMITS_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "ICV_PERMITS_NOW": "2026-11-27T10:00:00+08:00", "ICV_PERMITS_TEST_CLOCK": "1"}
    for name in ("ICV_PERMITS_RULES_DIR", "ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_SECRET_KEY"):
        env.pop(name, None)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "icv_permits.cli", *args, "--lang", "en"], env=env, cwd=tmp_path,
                              capture_output=True, text=True)

    up = cli("db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert (tmp_path / "data" / "icv-permits.db").is_file() and (tmp_path / "config" / "icv-permits" / "secret.key").is_file()
    assert not (tmp_path / "data" / "secret.key").exists()  # never beside the database
    sub = cli("submit", str(ROOT / "examples/da-compliant.yaml"))
    assert sub.returncode == 0, sub.stderr
    assert "Submission 1 stored as version 1" in sub.stdout
    ver = cli("audit", "verify")
    assert ver.returncode == 0 and "2 records checked" in ver.stdout, ver.stdout + ver.stderr

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
        "import icv_permits.pack as p, sys; "
        "r = p.packs_root(); assert r.name == '_packs', r; "
        "print(p.load_pack('anhui-2025').revision)"
    )
    got = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    from icv_permits.pack import load_pack

    assert got.stdout.strip() == load_pack("anhui-2025").revision
    run = subprocess.run(
        [sys.executable, "-m", "icv_permits.cli", "check", str(ROOT / "examples/da-compliant.yaml"), "--as-of", "2026-11-27", "--lang", "en"],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "COMPLIANT" in run.stdout

"""The import contracts in pyproject.toml (``[tool.importlinter]``) hold, and they can fail.

Each contract is run alone through ``lint-imports`` (the venv's binary, as a subprocess, without
cache). The negative tests copy the packages named in ``root_packages`` and pyproject.toml into a
temporary folder, add one forbidden import to the copy and lint the copy (cwd and PYTHONPATH are the
temporary folder); the reported import names the line that exists only in the copy, which shows
that the copy, not the installed package, was analysed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
CONTRACTS = {c["id"]: c for c in CONFIG["contracts"]}
ROOTS: list[str] = CONFIG["root_packages"]
TUI = "icv_permits/tui"  # the terminal app: a link to the top-level tui/ folder
KEPT = sorted(CONTRACTS)

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (dev extra)")


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo", "pyproject.toml"]
    for contract in contracts:
        args += ["--contract", contract]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_contracts_are_the_ones_tested():
    assert {"layers", "tui-not-cli", "core-no-frameworks", "core-no-io", "ui-through-services"} == set(CONTRACTS)
    assert CONFIG["include_external_packages"] is True  # forbidden contracts name third-party and stdlib modules


@pytest.mark.parametrize("contract", KEPT)
def test_contract_is_kept(contract):
    proc = lint_imports(REPO, contract)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{CONTRACTS[contract]['name']} KEPT" in proc.stdout


# ---------------------------------------------------------------- a forbidden import breaks a contract


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for root in ROOTS:
        shutil.copytree(REPO / root, tmp_path / root, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, line: str) -> int:
    """Append ``line`` to a module; return its line number."""
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + line + "\n", encoding="utf-8")
    return text.count("\n") + 1


def test_the_unchanged_copy_keeps_the_contracts(copy):
    proc = lint_imports(copy, *KEPT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract", "reported"),
    [
        ("icv_permits/core/engine/core.py", "import sqlalchemy", "core-no-frameworks",
         "icv_permits.core.engine.core -> sqlalchemy"),
        ("icv_permits/core/engine/core.py", "import os", "core-no-io",
         "icv_permits.core.engine.core -> os"),
        ("icv_permits/present/report.py", "from icv_permits.services import precheck", "layers",
         "icv_permits.present.report -> icv_permits.services.precheck"),
        ("icv_permits/core/canonical.py", "from icv_permits.adapters import documents", "layers",
         "icv_permits.core.canonical -> icv_permits.adapters.documents"),
        (f"{TUI}/common.py", "import icv_permits.cli", "tui-not-cli",
         "icv_permits.tui.common -> icv_permits.cli"),
        (f"{TUI}/regulator.py", "from icv_permits.adapters.store import db", "ui-through-services",
         "icv_permits.tui.regulator -> icv_permits.adapters.store.db"),
    ],
    ids=["core-sqlalchemy", "core-os", "present-services", "core-adapters", "tui-cli", "tui-adapters"],
)  # fmt: skip
def test_a_forbidden_import_breaks_its_contract(copy, module, line, contract, reported):
    lineno = _append(copy / module, line)
    proc = lint_imports(copy, *KEPT)
    assert proc.returncode != 0, proc.stdout
    name = CONTRACTS[contract]["name"]
    assert f"{name} BROKEN" in proc.stdout, proc.stdout
    assert f"{reported} (l.{lineno})" in proc.stdout  # the copy's line: the copy was analysed

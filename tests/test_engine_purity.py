"""The core is pure and light: no clock, file, network or randomness, and no TUI or database imports.

Which *modules* ``icv_permits.core`` may import is stated as import contracts in pyproject.toml and
checked by ``lint-imports`` (tests/test_layers.py): "core-no-frameworks" (no sqlalchemy, sqlmodel,
alembic, psycopg, textual, typer, yaml, platformdirs, requests, httpx) and "core-no-io" (no os,
pathlib, io, shutil, tempfile, glob, sqlite3, subprocess, threading, multiprocessing, asyncio,
socket, urllib, http, time, random, secrets, uuid), directly or through another module. They replace
the import half of the AST scan that was here. What import-linter cannot express stays here:

1. In a fresh interpreter, checking and rendering an application through the engine, the service
   and the renderers imports neither textual nor sqlmodel nor sqlalchemy: a run-time fact, which
   also covers what third-party packages import (the contracts see only our own import statements).
2. An AST scan of ``icv_permits/core/`` finds no clock read and no I/O call on a module the core is
   allowed to import: ``datetime.now``/``date.today``/``pendulum.now`` and the like (``datetime``
   and ``pendulum`` are needed for dates, so only the names used can tell a clock read), ``from
   pendulum import now`` (a contract sees the module, not the name), and calls of ``open``,
   ``input``, ``print``, ``exec``, ``eval``, ``__import__``, ``breakpoint`` or ``.open()``,
   ``.read_text()``, ``.read_bytes()``, ``.write_text()`` (builtins and methods are not imports).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "icv_permits" / "core"
HEAVY = ("textual", "sqlmodel", "sqlalchemy")

SCRIPT = textwrap.dedent(
    """
    import datetime, json, sys
    import icv_permits.core.engine
    import icv_permits.services.precheck as service
    import icv_permits.present.report as render

    result = service.check_file("examples/da-compliant.yaml", as_of=datetime.date(2026, 11, 27))
    outputs = [render.render(result.decision, result.pack, fmt, lang)
               for fmt in ("text", "json", "markdown") for lang in ("zh", "en")]
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
    print(json.dumps({{"verdict": result.decision.verdict.value, "exit": result.exit_code,
                      "sizes": [len(o) for o in outputs], "heavy": heavy}}))
    """
).format(heavy=set(HEAVY))


def test_engine_service_and_render_import_no_tui_or_database():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["verdict"] == "compliant" and out["exit"] == 0
    assert all(n > 0 for n in out["sizes"])
    assert out["heavy"] == []


# ---------------------------------------------------------------- AST scan

CLOCK_NAMES = {"now", "today", "utcnow", "fromtimestamp", "utcfromtimestamp", "time", "monotonic", "perf_counter"}
CLOCK_OWNERS = {"datetime", "date", "pendulum", "DateTime", "Date", "time"}
FORBIDDEN_CALLS = {"open", "input", "print", "exec", "eval", "__import__", "breakpoint"}


def _root(node: ast.AST) -> str | None:
    """The leftmost name of an attribute chain: ``datetime`` for ``datetime.datetime.now``."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def impurities(source: str, filename: str = "<src>") -> list[str]:
    """Every clock read or I/O call in ``source``; imported modules are the contracts' business."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] in ("datetime", "pendulum", "time"):
                for alias in node.names:
                    if alias.name in CLOCK_NAMES:
                        found.append(f"{where} from {module} import {alias.name}")
        elif isinstance(node, ast.Attribute):
            if node.attr in CLOCK_NAMES and (_root(node) in CLOCK_OWNERS or (
                    isinstance(node.value, ast.Attribute) and node.value.attr in CLOCK_OWNERS)):
                found.append(f"{where} {ast.unparse(node)}")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                found.append(f"{where} {node.func.id}(…)")
            elif isinstance(node.func, ast.Attribute) and node.func.attr in ("open", "read_text", "read_bytes", "write_text"):
                found.append(f"{where} {ast.unparse(node.func)}(…)")
    return found


CORE_FILES = sorted(CORE.rglob("*.py"))


def test_the_core_has_files_to_scan():
    names = {p.relative_to(CORE).as_posix() for p in CORE_FILES}
    assert {"engine/__init__.py", "engine/core.py", "engine/decision.py", "engine/checks/__init__.py"} <= names
    assert {"canonical.py", "pack.py", "pack_fields.py", "model/types.py"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(CORE).as_posix())
def test_core_module_reads_no_clock_and_does_no_io(path):
    assert impurities(path.read_text(encoding="utf-8"), path.name) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.datetime.now()",
        "from datetime import date\nx = date.today()",
        "import pendulum\nx = pendulum.now('Asia/Shanghai')",
        "import pendulum\nx = pendulum.today()",
        "import pendulum\nclock = pendulum.now",
        "from pendulum import now",
        "with open('x') as f: pass",
        "def f(p): return p.open()",
        "def f(p): return p.read_text()",
        "print('x')",
        "eval('1')",
    ],
)
def test_the_scanner_catches_impurities(snippet):
    assert impurities(snippet) != []


@pytest.mark.parametrize(
    "snippet",
    [
        "from datetime import date, timedelta",
        "import pendulum\nd = pendulum.Date(2026, 1, 1).add(months=18)",
        "from decimal import Decimal",
        "import hashlib, rfc8785",
        "x = ctx.as_of.subtract(years=1)",
        "import os.path",  # an import is a contract's business (core-no-io), not the scanner's
    ],
)
def test_the_scanner_allows_pure_code(snippet):
    assert impurities(snippet) == []

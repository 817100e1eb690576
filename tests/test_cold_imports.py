"""A ``check`` of an application without trip logs loads none of the heavy libraries it does not use.

What a command imports is most of what a cold ``icv-permits check`` costs (docs/benchmarks.md): the
database layer (SQLAlchemy, SQLModel), the terminal app (Textual) and the columnar engine of the
trip-log reader (polars, pyarrow) are imported only by the commands and inputs that need them. A
child process runs the command line as the console script does, then reports which modules it
loaded, so that an import made eager again is caught here, whatever the timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bench" / "data" / "app-5x5.yaml"
EXAMPLE = ROOT / "examples" / "da-trip-logs.yaml"
HEAVY = ("sqlalchemy", "sqlmodel", "textual", "polars", "pyarrow", "alembic", "psycopg")

CHILD = """
import json, sys
sys.argv = ["icv-permits", *json.loads(sys.argv[1])]
from icv_permits.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted({m.split(".")[0] for m in sys.modules})
sys.__stderr__.write("\\nLOADED " + json.dumps({"code": code, "loaded": loaded}) + "\\n")
"""


def _loaded(*args: str) -> tuple[object, set[str]]:
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(list(args))], capture_output=True, encoding="utf-8",
                       timeout=120, check=False, cwd=ROOT)
    line = next(ln for ln in r.stderr.splitlines() if ln.startswith("LOADED "))
    out = json.loads(line.removeprefix("LOADED "))
    return out["code"], set(out["loaded"])


def test_check_without_trip_logs_imports_no_database_tui_or_columnar_library():
    code, loaded = _loaded("check", str(APP), "--as-of", "2026-11-27")
    assert code in (0, 1, 3), code  # a decision was printed (compliant or not)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_no_database_tui_or_columnar_library():
    code, loaded = _loaded("--help")
    assert code == 0
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("heavy", ["polars"])
def test_a_check_with_trip_logs_loads_the_columnar_library_then_only(heavy):
    """The counter-check: the guard above sees an import when there is one."""
    code, loaded = _loaded("check", str(EXAMPLE), "--as-of", "2026-11-27")
    assert code in (0, 1, 3), code
    assert heavy in loaded
    assert not loaded & {"sqlalchemy", "sqlmodel", "textual"}

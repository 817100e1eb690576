"""A ``check`` of an application without trip logs loads none of the heavy libraries it does not use,
nor the command groups it does not run.

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
groups = sorted(m.rpartition(".")[2] for m in sys.modules if m.startswith("icv_permits.cli."))
sys.__stderr__.write("\\nLOADED " + json.dumps({"code": code, "loaded": loaded, "groups": groups}) + "\\n")
"""


def _run(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(list(args))], capture_output=True, encoding="utf-8",
                       timeout=120, check=False, cwd=ROOT)
    line = next(ln for ln in r.stderr.splitlines() if ln.startswith("LOADED "))
    return json.loads(line.removeprefix("LOADED "))


def _loaded(*args: str) -> tuple[object, set[str]]:
    out = _run(*args)
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


# ---------------------------------------------------------------- command groups

REGISTERED = """
import json, sys
from icv_permits import cli

def names():
    return ({c.name or c.callback.__name__.replace("_", "-") for c in cli.root.registered_commands}
            | {g.name for g in cli.root.registered_groups})

out = {}
for group in cli.GROUPS:
    before = names()
    __import__(f"icv_permits.cli.{group}")
    out[group] = sorted(names() - before)
import typer.main
cmd = typer.main.get_command(cli.app)
out["*app*"] = list(cmd.list_commands(None))
print(json.dumps(out))
"""


def test_each_command_group_registers_what_the_table_of_groups_says():
    """The console script imports the one group a command line names (``GROUPS``): a command missing
    from the table would be missing from the command line, one in the wrong group would not be found."""
    from icv_permits.cli import GROUPS

    r = subprocess.run([sys.executable, "-c", REGISTERED], capture_output=True, encoding="utf-8", timeout=120, check=True, cwd=ROOT)
    out = json.loads(r.stdout)
    for group, names in GROUPS.items():
        assert out[group] == sorted(names), group
    # ``app`` has every group, listed in the order of the table (commands first, then sub-groups, as typer lists them)
    assert sorted(out["*app*"]) == sorted(n for names in GROUPS.values() for n in names)


@pytest.mark.parametrize(("argv", "groups"), [
    (["check", str(APP), "--as-of", "2026-11-27"], ["check"]),
    (["schema"], ["check"]),
    (["rules", "list"], ["rules"]),
    (["audit", "--help"], ["audit"]),
    (["entity", "--help"], ["office"]),
    (["--help"], ["app_cmd", "audit", "check", "database", "office", "rules"]),
    (["chek"], ["app_cmd", "audit", "check", "database", "office", "rules"]),  # a mistyped command: suggestions from all
    ([], ["app_cmd", "audit", "check", "database", "office", "rules"]),
])
def test_the_console_script_imports_the_command_group_it_runs(argv, groups):
    assert _run(*argv)["groups"] == groups


def test_the_app_object_has_every_command_whatever_was_imported_first():
    """``icv_permits.cli.app`` (what tests and tools drive with typer's runner) lists every command in
    the order of ``--help``, also after the console script registered one group alone."""
    child = """
import json, sys
from icv_permits import cli
cli._register(["rules"])
cli._register(["audit", "check"])
import typer.main
print(json.dumps(list(typer.main.get_command(cli.app).list_commands(None))))
"""
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, encoding="utf-8", timeout=120, check=True, cwd=ROOT)
    from icv_permits.cli import GROUPS

    commands = [n for names in GROUPS.values() for n in names if n not in ("entity", "plates", "audit", "db", "rules")]
    assert json.loads(r.stdout) == [*commands, "entity", "plates", "audit", "db", "rules"]

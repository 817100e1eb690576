"""The goals farm: every speed goal of the benchmarks' table as a ratio to its baseline, for one or more checkouts (not a test).

Run from a checkout (any Python 3.11 will do: the farm itself imports only the standard library)::

    python3 bench/bench_goals.py                                                  # this checkout only
    python3 bench/bench_goals.py --tree before=/work/before --tree after=/work/main --pairs 5 --json goals.json
    python3 bench/bench_goals.py --tree before=/work/before --tree after=. --quick   # smoke run, small sizes
    python3 bench/bench_goals.py --rows 1,2                                        # only rows 1 and 2

Each ``--tree NAME=PATH`` is a repository checkout with its own ``.venv`` (``pip install -e .`` in it).
Every measurement runs in a child process of that checkout's venv (this file run by
``PATH/.venv/bin/python --child …``, cwd ``PATH``, no ``PYTHONPATH``; the child checks that it
imported ``icv_permits`` from ``PATH``). The checkouts alternate run by run (A B A B …, ``--pairs``
rounds), so that each tree's runs see the same load; the 1-minute load average (what ``uptime``
prints) is recorded at each run. A measure and its baseline are taken in the same child, so their
ratio holds better than either figure when the machine is shared.

The rows (``docs/benchmarks.md``, section "The goals farm"):

1. ``evaluate(app, pack, 2026-11-27)`` of ``bench/data/app-5x5.yaml``: median ms; baseline
   ``Application.model_validate`` of the same document in the same process (blocks of each,
   alternating). Goal: ≤ 1 ms and ≤ 4 × the baseline.
2. cold ``icv-permits check bench/data/app-5x5.yaml --as-of 2026-11-27`` (the venv's console script):
   median ms over ``--spawns`` runs; baseline ``python -c "import pydantic, yaml"`` spawned
   alternately. Goal: ≤ 250 ms on an idle machine.
3. trip logs, ``--trip-rows`` rows of 200 vehicles made once by ``bench/gen_trips.py`` into
   ``--cache`` and shared by every tree: ``icv_permits.adapters.evidence.summarise(app, folder,
   pack, as_of)`` (time of the call, peak RSS of the process); baseline ``csv.reader`` over the same
   file in a fresh process of the same interpreter. Goal: ≤ 3 s and ≤ 200 MB (10**6 bytes).
4. ``audit.verify(store)`` records/s on a SQLite log of ``--ledger-n`` engine decisions, built once
   per tree by that tree's own ``bench/bench_ledger.py --child build`` (its builder); baseline, the
   floor (``bench/_floor.py``, the same in ``bench_ledger.py``): what verify cannot avoid — every
   column the record hash covers and the stored hash read with ``sqlite3`` as the bytes stored, in
   keyset batches of 500, each row through SHA-256. Goal: ≥ 50,000 records/s and ≤ 1.2 × the floor.
5. ``audit.replay(store)`` over the first ``--replay-sample`` decisions of that log: decisions per
   CPU-second (this process and any workers it starts); baseline, reading the same bodies with
   ``sqlite3`` and ``json.loads``. Goal: ≥ 1,500 per CPU-second.

The tree named ``before`` (else the first ``--tree``) is the reference: the report gives each tree's
median ÷ that tree's ("after ÷ before"). A tree
that lacks something (no venv, no builder, a function renamed) gets the reason in its row instead
of a figure. Output: one Markdown table per row, and with ``--json`` every run's figures.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FARM = Path(__file__).resolve()
APP_5X5 = ROOT / "bench" / "data" / "app-5x5.yaml"
AS_OF = "2026-11-27"
VEHICLES = 200
DEFAULT_CACHE = Path("/tmp/icv-permits-bench")
BENCH_KEY = "YmVuY2gta2V5LW5vdC1zZWNyZXQtMDEyMzQ1Njc4OWE="  # the key bench_ledger.py builds with (benchmark only)

GOAL_EVALUATE_MS = 1.0
GOAL_EVALUATE_RATIO = 4.0
GOAL_COLD_MS = 250.0
GOAL_TRIPS_S = 3.0
GOAL_TRIPS_MB = 200.0  # 10**6 bytes
GOAL_VERIFY_PER_S = 50_000
GOAL_VERIFY_RATIO = 1.2
GOAL_REPLAY_PER_CPU_S = 1_500

ROW_TITLES = {
    1: "`evaluate`, bench/data/app-5x5.yaml",
    2: "cold `icv-permits check` of that file",
    3: "trip logs",
    4: "`audit verify`",
    5: "`audit replay`",
}


# ==================================================================================== children
# Run by a tree's venv Python: ``bench_goals.py --child NAME SPEC_JSON``; print one ``RESULT {json}``.


def _result(obj: dict) -> None:
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def _maxrss_mb() -> float:
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib * (1 if sys.platform == "darwin" else 1024) / 1e6


def _cpu_s() -> tuple[float, float]:
    """CPU time of this process, and of the children it waited for (workers a replay may start)."""
    import resource

    out = []
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        out.append(r.ru_utime + r.ru_stime)
    return out[0], out[1]


def _library() -> str:
    import icv_permits

    return str(Path(icv_permits.__file__).resolve().parent.parent)


def child_evaluate(spec: dict) -> None:
    import gc

    from icv_permits.adapters.documents import read_document
    from icv_permits.adapters.packs import load_pack
    from icv_permits.core.engine import evaluate
    from icv_permits.core.model.application import Application
    from icv_permits.core.pack import DEFAULT_PACK

    as_of = _dt.date.fromisoformat(AS_OF)
    data = read_document(Path(spec["app"]))
    app = Application.model_validate(data)
    pack = load_pack(DEFAULT_PACK)
    decision = evaluate(app, pack, as_of)
    verdict = getattr(decision, "verdict", None)
    verdict = getattr(verdict, "value", verdict)
    reps, rounds = spec["reps"], 10
    per = max(1, reps // rounds)
    clk = time.perf_counter_ns

    def block(fn, n: int, out: list[int]) -> None:
        for _ in range(n):
            t0 = clk()
            fn()
            out.append(clk() - t0)

    ev, va = [], []
    warm = max(5, per // 5)
    block(lambda: evaluate(app, pack, as_of), warm, [])
    block(lambda: Application.model_validate(data), warm, [])
    gc.collect()
    for _ in range(rounds):  # alternating blocks: both see the same moments of the machine's load
        block(lambda: evaluate(app, pack, as_of), per, ev)
        block(lambda: Application.model_validate(data), per, va)
    _result({"library": _library(), "verdict": str(verdict), "samples": len(ev),
             "measure": statistics.median(ev) / 1e6, "baseline": statistics.median(va) / 1e6})


def child_csv_read(spec: dict) -> None:
    import csv

    t0 = time.perf_counter()
    rows = 0
    with open(spec["csv"], encoding="utf-8-sig", newline="") as fh:
        for _ in csv.reader(fh):
            rows += 1
    _result({"seconds": time.perf_counter() - t0, "rows": rows - 1, "peak_rss_mb": _maxrss_mb()})


def child_trips(spec: dict) -> None:
    from icv_permits.adapters import evidence
    from icv_permits.adapters.packs import load_pack
    from icv_permits.core.pack import DEFAULT_PACK

    app_path = Path(spec["app"])
    try:
        from icv_permits.services.precheck import load_application

        app = load_application(app_path)
    except ImportError:
        from icv_permits.adapters.documents import read_document
        from icv_permits.core.model.application import Application

        app = Application.model_validate(read_document(app_path))
    pack = load_pack(DEFAULT_PACK)
    rss_before = _maxrss_mb()
    t0 = time.perf_counter()
    # the entry point both the old and the new reader accept: summarise(app, folder, pack, as_of)
    s = evidence.summarise(app, app_path.parent, pack, _dt.date.fromisoformat(AS_OF))
    seconds = time.perf_counter() - t0
    files = getattr(s, "files", None) or []
    rows = sum(getattr(f, "rows", 0) for f in files if getattr(f, "kind", "trips") == "trips")
    bad = len(getattr(s, "bad_rows", None) or []) + sum((getattr(s, "bad_row_counts", None) or {}).values())
    buckets = getattr(s, "buckets", None) or []
    _result({"library": _library(), "seconds": seconds, "rows": rows, "bad_rows": bad, "buckets": len(buckets),
             "peak_rss_mb": _maxrss_mb(), "rss_before_mb": rss_before})


def _floor_pass(path: str) -> int:
    """The floor of verifying (``bench/_floor.py``, shared with ``bench_ledger.py``): every column
    the record hash covers and the stored hash, read with ``sqlite3`` as the bytes stored in keyset
    batches as verify reads them, each row through SHA-256."""
    from _floor import sqlite_floor_pass  # bench/, beside this script

    return sqlite_floor_pass(path)


def child_verify(spec: dict) -> None:
    import gc

    from icv_permits.adapters.store import db
    from icv_permits.services import audit

    path, n = spec["db"], spec["n"]
    store = db.open_store(f"sqlite:///{path}")
    clk = time.perf_counter
    floors, verifies, notes = [], [], []
    floor_error = None
    try:
        _floor_pass(path)  # page cache warm-up (untimed)
    except Exception as exc:  # noqa: BLE001 - a log table of another shape: report, measure verify anyway
        floor_error = f"{type(exc).__name__}: {exc}"
    audit.verify(store)  # warm-up (untimed): first-call costs, connection pool, compiled statements
    checked = intact = None
    for _ in range(spec["reps"]):  # floor and verify alternately
        if floor_error is None:
            gc.collect()
            t0 = clk()
            rows = _floor_pass(path)
            floors.append(clk() - t0)
            if rows != n:
                notes.append(f"floor read {rows} rows, expected {n}")
        gc.collect()
        t0 = clk()
        rep = audit.verify(store)
        verifies.append(clk() - t0)
        checked, intact = getattr(rep, "checked", None), getattr(rep, "intact", None)
    if checked != n or intact is False:
        notes.append(f"verify: checked={checked}, intact={intact} (expected {n}, intact)")
    v = statistics.median(verifies)
    out = {"library": _library(), "measure": n / v, "verify_s": v, "checked": checked, "intact": intact, "notes": notes}
    if floors:
        f = statistics.median(floors)
        out |= {"floor_s": f, "baseline": n / f}
    else:
        out["floor_error"] = floor_error
    _result(out)


def child_replay(spec: dict) -> None:
    import gc
    import itertools
    import sqlite3

    from icv_permits.adapters.store import db
    from icv_permits.services import audit

    path, m = spec["db"], spec["sample"]
    # baseline: the same decisions' bodies read and parsed (CPU time of this process)
    base = None
    base_error = None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        q = "SELECT body FROM decision_log WHERE kind = 'engine_decision' ORDER BY seq LIMIT ?"
        con.execute(q, (m,)).fetchall()  # page cache warm-up
        gc.collect()
        c0 = time.process_time()
        k = 0
        for (body,) in con.execute(q, (m,)):
            json.loads(body)
            k += 1
        base_cpu = time.process_time() - c0
        con.close()
        base = k / base_cpu if base_cpu > 0 else None
    except Exception as exc:  # noqa: BLE001 - another log shape: say so, measure replay anyway
        base_error = f"{type(exc).__name__}: {exc}"
    store = db.open_store(f"sqlite:///{path}")
    # the first few decisions untimed (the pack snapshot is read and built once per replay), then
    # the next m from the same generator
    results = audit.replay(store)
    for _ in itertools.islice(results, spec["warmup"]):
        pass
    gc.collect()
    c0 = _cpu_s()
    t0 = time.perf_counter()
    n = bad = 0
    first_bad = None
    for r in itertools.islice(results, m):
        n += 1
        if not getattr(r, "match", True) or getattr(r, "error", None):
            bad += 1
            first_bad = first_bad or f"seq {getattr(r, 'seq', '?')}: error={getattr(r, 'error', None)}"
    wall = time.perf_counter() - t0
    if hasattr(results, "close"):
        results.close()  # a replay that runs workers shuts them down here, so that their CPU time is counted
    c1 = _cpu_s()
    own, workers = c1[0] - c0[0], c1[1] - c0[1]
    cpu = own + workers
    notes = []
    if workers > 0.05 * cpu:
        notes.append(f"replay ran worker processes ({workers:.1f} of {cpu:.1f} CPU-s): the rate counts their CPU time, "
                     "including any work on decisions after the sample")
    if n != m:
        notes.append(f"replayed {n} decisions, expected {m}")
    if bad:
        notes.append(f"{bad} replays did not match ({first_bad})")
    out = {"library": _library(), "measure": n / cpu if cpu > 0 else None, "cpu_s": cpu, "workers_cpu_s": workers, "wall_s": wall,
           "replayed": n, "notes": notes}
    if base is not None:
        out["baseline"] = base
    else:
        out["baseline_error"] = base_error
    _result(out)


def child_build(spec: dict) -> None:
    """The fallback builder, for a tree without a working ``bench/bench_ledger.py --child build``:
    through the services API, every example of ``examples/expected.yaml`` submitted into a fresh
    SQLite store (fixed clock), then copies of their engine decisions appended (``audit.append``,
    batches of 1000) with ``submission_id``, ``engine_run_id`` and ``clock`` varied, until the log
    holds ``n`` engine decisions."""
    import pendulum
    import yaml

    from icv_permits.adapters.store import db
    from icv_permits.services import audit, office
    from icv_permits.services.precheck import FixedClock

    path = Path(spec["db"])
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    db.upgrade(url)
    store = db.open_store(url)
    examples = Path(_library()) / "examples"
    names = list(yaml.safe_load((examples / "expected.yaml").read_text(encoding="utf-8"))["examples"])
    clock = FixedClock(pendulum.parse("2026-11-27T10:00:00+08:00"))
    for name in names:
        office.submit(store, examples / name, actor="bench", clock=clock)
    templates = [rec.body for rec in audit.iter_records(store) if rec.kind == "engine_decision"]
    base = _dt.datetime(2026, 11, 27, 2, 0, tzinfo=_dt.UTC)
    for lo in range(len(templates), spec["n"], 1000):
        with store.write() as s:
            for i in range(lo, min(spec["n"], lo + 1000)):
                now = base + _dt.timedelta(seconds=i * 2.5, microseconds=(i * 7919) % 1_000_000)
                body = dict(templates[i % len(templates)])
                body.update(submission_id=100_000 + i, engine_run_id=100_000 + i, clock=audit.utc_timestamp(now))
                audit.append(s, "engine_decision", body, now)
    db.dispose_all()
    _result({"library": _library(), "templates": len(templates)})


CHILDREN = {"build": child_build, "evaluate": child_evaluate, "csv-read": child_csv_read, "trips": child_trips, "verify": child_verify, "replay": child_replay}


# ==================================================================================== orchestrator


class Tree:
    def __init__(self, name: str, path: Path):
        self.name, self.path = name, path.resolve()
        self.python = self.path / ".venv" / "bin" / "python"
        self.script = self.path / ".venv" / "bin" / "icv-permits"
        self.problem = None if self.python.exists() else f"no venv ({self.python} missing)"
        if self.problem is None:
            self.problem = self._imports_from_here()
        self.commit = self._git("rev-parse", "--short", "HEAD")
        dirty = self._git("status", "--porcelain", "--", "icv_permits", "rules")
        self.dirty = len(dirty.splitlines()) if dirty else 0
        self.ledger_db: Path | None = None
        self.ledger_problem: str | None = None
        self.ledger_builder: str | None = None
        self.ledger_records: int | None = None

    def _imports_from_here(self) -> str | None:
        """A venv installed from another folder would measure that folder's code: refuse it up front."""
        code = "import icv_permits, pathlib; print(pathlib.Path(icv_permits.__file__).resolve().parent.parent)"
        try:
            proc = subprocess.run([str(self.python), "-c", code], check=False, capture_output=True, text=True, cwd="/",
                                  env=child_env(), timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{self.python} does not run: {exc}"
        if proc.returncode != 0:
            return f"{self.python} cannot import icv_permits: {_tail(proc.stderr)}"
        lib = proc.stdout.strip()
        return None if Path(lib) == self.path else f"{self.python} imports icv_permits from {lib}, not from {self.path}"

    def _git(self, *argv: str) -> str:
        try:
            return subprocess.run(["git", *argv], check=False, cwd=self.path, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    def describe(self) -> str:
        return f"{self.name} = {self.path} (commit {self.commit or '?'}{f', {self.dirty} library files modified' if self.dirty else ''})"


def child_env(extra: dict | None = None) -> dict:
    """A user's shell: default language and pack cache, ``.pyc`` written, nothing pointing at another
    checkout (``PYTHONPATH``) or another database."""
    env = dict(os.environ)
    for k in ("ICV_PERMITS_LANG", "ICV_PERMITS_CACHE_DIR", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONPATH",
              "PYTHONHOME", "VIRTUAL_ENV", "ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_NOW", "ICV_PERMITS_KEY_FILE",
              "ICV_PERMITS_RULES_DIR", "ICV_PERMITS_TEST_CLOCK"):
        env.pop(k, None)
    return env | (extra or {})


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _tail(text: str, n: int = 300) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[-n:]


def run_child(tree: Tree, name: str, spec: dict, timeout: float = 3600) -> dict:
    """One measurement in a fresh process of the tree's venv; ``{"error": …}`` instead of a crash."""
    argv = [str(tree.python), str(FARM), "--child", name, json.dumps(spec)]
    load = os.getloadavg()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=tree.path, timeout=timeout,
                              env=child_env({"ICV_PERMITS_SECRET_KEY": BENCH_KEY}))
    except subprocess.TimeoutExpired:
        return {"error": f"{name}: no result within {timeout:.0f} s", "load": load}
    wall = time.perf_counter() - t0
    res = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if proc.returncode != 0 or res is None:
        return {"error": f"{name} exited {proc.returncode}: {_tail(proc.stderr) or _tail(proc.stdout)}", "load": load}
    lib = res.get("library")
    if lib and Path(lib).resolve() != tree.path:
        return {"error": f"{tree.python} imports icv_permits from {lib}, not from {tree.path}", "load": load}
    res["process_wall_s"] = wall
    res["load"] = load
    return res


# ------------------------------------------------------------------------------------ preparation


def prepare_trips(args, trees: list[Tree]) -> dict:
    """Generate (or reuse) the trip log once, with this checkout's gen_trips.py, in a venv that has
    the package (this checkout's, else the first tree's)."""
    pythons = [ROOT / ".venv" / "bin" / "python"] + [t.python for t in trees]
    py = next((p for p in pythons if p.exists()), None)
    if py is None:
        return {"error": "no venv to run bench/gen_trips.py with"}
    argv = [str(py), str(ROOT / "bench" / "gen_trips.py"), "--rows", str(args.trip_rows), "--vehicles", str(VEHICLES),
            "--out", str(args.cache)]
    log(f"trip log: {' '.join(argv[1:])}")
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=ROOT, env=child_env())
    if proc.returncode != 0:
        return {"error": f"gen_trips.py exited {proc.returncode}: {_tail(proc.stderr)}"}
    meta_path = args.cache / f"trips-{VEHICLES}v-{args.trip_rows}.meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return {"csv": str(args.cache / meta["csv"]), "app": str(args.cache / meta["app"]), "rows": meta["rows"], "csv_bytes": meta["csv_bytes"]}


def prepare_ledger(args, tree: Tree) -> None:
    """The log of ``--ledger-n`` engine decisions, built once per tree by the tree's own builder
    (``bench/bench_ledger.py --child build``, which reuses an identical log already there)."""
    if tree.problem:
        tree.ledger_problem = tree.problem
        return
    builder = tree.path / "bench" / "bench_ledger.py"
    key = hashlib.sha1(str(tree.path).encode()).hexdigest()[:8]
    workdir = args.cache / f"goals-ledger-{tree.path.name}-{key}"  # per checkout, whatever name it is given
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / f"ledger-{args.ledger_n}.db"
    t0 = time.perf_counter()
    problem = "no bench/bench_ledger.py in this tree"
    if builder.exists():
        argv = [str(tree.python), str(builder), "--child", "build", "--n", str(args.ledger_n), "--workdir", str(workdir)]
        if args.rebuild:
            argv.append("--rebuild")
        log(f"{tree.name}: building (or reusing) a log of {args.ledger_n:,} decisions in {workdir} with its bench_ledger.py")
        proc = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=tree.path, env=child_env({"ICV_PERMITS_SECRET_KEY": BENCH_KEY}))
        if proc.returncode == 0 and db_path.exists():
            reused = '"reused": true' in proc.stdout
            log(f"{tree.name}: log {'reused' if reused else f'built in {time.perf_counter() - t0:.0f} s'}")
            tree.ledger_db, tree.ledger_builder = db_path, "bench/bench_ledger.py"
        else:
            problem = f"bench_ledger.py --child build exited {proc.returncode}: {_tail(proc.stderr)}"
    if tree.ledger_db is None:
        fallback = workdir / f"services-{args.ledger_n}.db"
        log(f"{tree.name}: {problem}; building {fallback} through the services API")
        res = run_child(tree, "build", {"db": str(fallback), "n": args.ledger_n}, timeout=7200)
        if "error" in res:
            tree.ledger_problem = f"{problem}; the services-API builder failed too: {res['error']}"
            return
        log(f"{tree.name}: log built in {time.perf_counter() - t0:.0f} s through the services API")
        tree.ledger_db, tree.ledger_builder = fallback, "services API (bench_goals.py)"
    tree.ledger_records = log_records(tree.ledger_db)


def log_records(path: Path) -> int | None:
    """How many records the log holds (what a whole verify checks), read with ``sqlite3``."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return con.execute("SELECT COUNT(*) FROM decision_log").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


# ------------------------------------------------------------------------------------ one run of a row


def measure_row(row: int, tree: Tree, args, trips: dict | None) -> dict:
    if tree.problem:
        return {"error": tree.problem, "load": os.getloadavg()}
    if row == 1:
        return run_child(tree, "evaluate", {"app": str(APP_5X5), "reps": args.eval_reps})
    if row == 2:
        return cold_run(tree, args.spawns)
    if row == 3:
        if trips is None or "error" in trips:
            return {"error": (trips or {}).get("error", "no trip log"), "load": os.getloadavg()}
        base = run_child(tree, "csv-read", {"csv": trips["csv"]})
        res = run_child(tree, "trips", {"app": trips["app"]})
        if "error" in res:
            return res
        if res.get("rows") != trips["rows"] or res.get("bad_rows"):
            res.setdefault("notes", []).append(f"summarise saw {res.get('rows')} rows ({res.get('bad_rows')} bad), expected {trips['rows']}")
        res["measure"] = res["seconds"]
        if "error" in base:
            res["baseline_error"] = base["error"]
        else:
            res["baseline"], res["csv_rss_mb"] = base["seconds"], base["peak_rss_mb"]
        return res
    if tree.ledger_db is None:
        return {"error": tree.ledger_problem or "no log", "load": os.getloadavg()}
    if row == 4:
        return run_child(tree, "verify", {"db": str(tree.ledger_db), "n": tree.ledger_records or args.ledger_n, "reps": args.verify_reps})
    warmup = min(20, args.ledger_n // 10)
    return run_child(tree, "replay", {"db": str(tree.ledger_db), "warmup": warmup, "sample": min(args.replay_sample, args.ledger_n - warmup)})


def cold_run(tree: Tree, spawns: int) -> dict:
    """The console script and the import baseline spawned alternately, after two warm-up runs each."""
    if not tree.script.exists():
        return {"error": f"no console script {tree.script}", "load": os.getloadavg()}
    check = [str(tree.script), "check", str(APP_5X5), "--as-of", AS_OF]
    base = [str(tree.python), "-c", "import pydantic, yaml"]
    env = child_env()
    load = os.getloadavg()
    times: dict[str, list[float]] = {"check": [], "base": []}
    for i in range(spawns + 2):
        for key, argv in (("check", check), ("base", base)):
            t0 = time.perf_counter()
            proc = subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tree.path, env=env)
            dt = time.perf_counter() - t0
            if proc.returncode != 0:
                return {"error": f"{' '.join(argv[:2])} … exited {proc.returncode}: {_tail(proc.stderr.decode(errors='replace'))}", "load": load}
            if i >= 2:
                times[key].append(dt * 1e3)
    return {"measure": statistics.median(times["check"]), "baseline": statistics.median(times["base"]), "spawns": spawns, "load": load}


# ------------------------------------------------------------------------------------ summary and report


def summarise_runs(runs: list[dict], row: int) -> dict:
    ok = [r for r in runs if "error" not in r and r.get("measure") is not None]
    out: dict = {"runs": len(runs), "ok": len(ok), "errors": sorted({r["error"] for r in runs if "error" in r}),
                 "load_1min": [r["load"][0] for r in runs if r.get("load")]}
    notes = sorted({n for r in ok for n in r.get("notes", [])} | {r[k] for r in ok for k in ("baseline_error", "floor_error") if r.get(k)})
    out["notes"] = notes
    if not ok:
        return out
    m = [r["measure"] for r in ok]
    out["measure"] = {"median": statistics.median(m), "min": min(m), "max": max(m)}
    b = [r["baseline"] for r in ok if r.get("baseline")]
    if b:
        out["baseline"] = {"median": statistics.median(b), "min": min(b), "max": max(b)}
        # ratio per run (measure and baseline from the same child, or the same spawning loop)
        if row in (4, 5):  # rates: how many times slower than the baseline = baseline rate / measured rate
            rs = [r["baseline"] / r["measure"] for r in ok if r.get("baseline")]
        else:
            rs = [r["measure"] / r["baseline"] for r in ok if r.get("baseline")]
        out["ratio"] = {"median": statistics.median(rs), "min": min(rs), "max": max(rs)}
    if row == 3:
        rss = [r["peak_rss_mb"] for r in ok]
        out["peak_rss_mb"] = {"median": statistics.median(rss), "min": min(rss), "max": max(rss)}
    if row == 1:
        out["verdicts"] = sorted({r.get("verdict", "?") for r in ok})
    return out


def goal_met(row: int, s: dict) -> tuple[bool | None, str]:
    if "measure" not in s:
        return None, "—"
    m = s["measure"]["median"]
    ratio = s.get("ratio", {}).get("median")
    if row == 1:
        parts = [(m <= GOAL_EVALUATE_MS, f"{m:.2f} ms {'≤' if m <= GOAL_EVALUATE_MS else '>'} {GOAL_EVALUATE_MS:g}")]
        if ratio is not None:
            parts.append((ratio <= GOAL_EVALUATE_RATIO, f"{ratio:.1f} × {'≤' if ratio <= GOAL_EVALUATE_RATIO else '>'} {GOAL_EVALUATE_RATIO:g}"))
    elif row == 2:
        parts = [(m <= GOAL_COLD_MS, f"{m:.0f} ms {'≤' if m <= GOAL_COLD_MS else '>'} {GOAL_COLD_MS:g}")]
    elif row == 3:
        rss = s["peak_rss_mb"]["max"]
        parts = [(m <= GOAL_TRIPS_S, f"{m:.2f} s {'≤' if m <= GOAL_TRIPS_S else '>'} {GOAL_TRIPS_S:g}"),
                 (rss <= GOAL_TRIPS_MB, f"{rss:.0f} MB {'≤' if rss <= GOAL_TRIPS_MB else '>'} {GOAL_TRIPS_MB:g}")]
    elif row == 4:
        parts = [(m >= GOAL_VERIFY_PER_S, f"{m / 1e3:.1f} k/s {'≥' if m >= GOAL_VERIFY_PER_S else '<'} {GOAL_VERIFY_PER_S / 1e3:g} k")]
        if ratio is not None:
            parts.append((ratio <= GOAL_VERIFY_RATIO, f"{ratio:.2f} × {'≤' if ratio <= GOAL_VERIFY_RATIO else '>'} {GOAL_VERIFY_RATIO:g}"))
    else:
        parts = [(m >= GOAL_REPLAY_PER_CPU_S, f"{m:,.0f} {'≥' if m >= GOAL_REPLAY_PER_CPU_S else '<'} {GOAL_REPLAY_PER_CPU_S:,}")]
    met = all(p[0] for p in parts)
    return met, ("**met**" if met else "**not met**") + " (" + "; ".join(p[1] for p in parts) + ")"


def _fmt(row: int, key: str, v: float) -> str:
    if key == "ratio":
        return f"{v:.2f}"
    if row == 1:
        return f"{v:.3f}"
    if row == 2:
        return f"{v:.0f}"
    if row == 3:
        return f"{v:.2f}" if key != "rss" else f"{v:.0f}"
    return f"{v:,.0f}"


def _cell(row: int, key: str, d: dict | None) -> str:
    if not d:
        return "—"
    return f"{_fmt(row, key, d['median'])} ({_fmt(row, key, d['min'])}–{_fmt(row, key, d['max'])})"


HEADERS = {
    1: ("evaluate, median ms", "model_validate, median ms", "ratio (× validation)"),
    2: ("check, median ms", "`python -c \"import pydantic, yaml\"`, median ms", "ratio (× import)"),
    3: ("summarise, s", "`csv.reader` pass, s", "ratio (× csv)"),
    4: ("verify, records/s", "floor (read + SHA-256), records/s", "ratio (× the floor's time)"),
    5: ("replay, decisions per CPU-s", "read + `json.loads`, bodies per CPU-s", "ratio (× the baseline's CPU)"),
}


def report(out: dict) -> str:
    m = out["machine"]
    L = [(f"Machine: {m['nproc']} CPU(s), {m['cpu_model']}; Python {m['python']}; {m['date']}; "
          f"{out['pairs']} run(s) per tree per row, trees alternating run by run."), ""]
    L += [f"* {d}" for d in out["trees"]]
    if out.get("trips"):
        t = out["trips"]
        L.append(f"* trip log: {t.get('rows', 0):,} rows of {VEHICLES} vehicles, {t.get('csv', t.get('error'))}")
    if 4 in out["rows"] or 5 in out["rows"]:
        L.append(f"* decision log: {out['ledger_n']:,} engine decisions per tree (SQLite), replay sample {out['replay_sample']:,}")
        for info in out["tree_info"]:
            if info.get("ledger_db"):
                L.append(f"  * {info['name']}: {info['ledger_records'] or 0:,} records in {info['ledger_db']}, built by {info['ledger_builder']}")
    names = [t["name"] for t in out["tree_info"]]
    first = "before" if "before" in names else names[0]
    for row in out["rows"]:
        hm, hb, hr = HEADERS[row]
        L += ["", f"### Row {row}: {ROW_TITLES[row]}", ""]
        extra = " peak RSS, MB |" if row == 3 else ""
        L.append(f"| tree | runs | {hm} (range) | {hb} (range) | {hr} (range) |{extra} ÷ {first} | goal | load (1 min) |")
        L.append("|---|---:|---:|---:|---:|" + ("---:|" if row == 3 else "") + "---:|---|---|")
        s0 = out["results"][str(row)][first]
        for name in names:
            s = out["results"][str(row)][name]
            loads = s["load_1min"]
            load = f"{min(loads):.2f}–{max(loads):.2f}" if loads else "—"
            if "measure" not in s:
                L.append(f"| {name} | {s['ok']}/{s['runs']} | {'; '.join(s['errors'])[:300] or 'no figure'} | — | — |"
                         + (" — |" if row == 3 else "") + f" — | — | {load} |")
                continue
            rel = "—"
            if "measure" in s0:
                rel = f"{s['measure']['median'] / s0['measure']['median']:.2f}"
            _, goal = goal_met(row, s)
            rss = f" {_cell(row, 'rss', s.get('peak_rss_mb'))} |" if row == 3 else ""
            L.append(f"| {name} | {s['ok']}/{s['runs']} | {_cell(row, 'm', s['measure'])} | {_cell(row, 'b', s.get('baseline'))} | "
                     f"{_cell(row, 'ratio', s.get('ratio'))} |{rss} {rel} | {goal} | {load} |")
        better = "above" if row in (4, 5) else "below"
        L.append(f"\n÷ {first}: the tree's median over {first}'s; {better} 1 is faster.")
        for name in names:
            s = out["results"][str(row)][name]
            for n in s["notes"] + ([f"{len(s['errors'])} failed run(s): " + "; ".join(s['errors'])[:300]] if s["errors"] and "measure" in s else []):
                L.append(f"\n* {name}: {n}")
            if row == 1 and s.get("verdicts") and s["verdicts"] != ["compliant"]:
                L.append(f"\n* {name}: verdict {s['verdicts']} (expected compliant)")
    la0, la1 = out["load_start"], out["load_end"]
    L += ["", (f"Load average (1/5/15 min, as `uptime` prints it) at start {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f}, "
               f"at end {la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f}; total {out['total_s']:.0f} s.")]
    return "\n".join(L)


def machine() -> dict:
    model = ""
    try:
        model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(), "cpu_model": model,
            "python": platform.python_version(), "platform": platform.platform(),
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}


def parse_tree(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--tree wants NAME=PATH, got {text!r}")
    return name, Path(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        CHILDREN[argv[1]](json.loads(argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", type=parse_tree, metavar="NAME=PATH",
                    help="a checkout with its own .venv; repeat for before/after (the first is 'before'; default: this checkout)")
    ap.add_argument("--pairs", type=int, help="runs per tree and row, trees alternating (default 5; 1 with --quick)")
    ap.add_argument("--rows", default="1,2,3,4,5", help="rows of the table to measure, e.g. 1,2 (default all)")
    ap.add_argument("--quick", action="store_true", help="smoke run: small sizes (20,000 trip rows, a log of 2,000), 1 pair unless --pairs")
    ap.add_argument("--json", metavar="OUT", help="also write every run's figures to this JSON file")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"folder of the trip log and the decision logs (default {DEFAULT_CACHE})")
    ap.add_argument("--eval-reps", type=int, default=1000, help="row 1: evaluate and model_validate calls per run (default 1000)")
    ap.add_argument("--spawns", type=int, default=10, help="row 2: spawns of each command per run (default 10)")
    ap.add_argument("--trip-rows", type=int, default=1_000_000, help="row 3: trip rows (default 1,000,000)")
    ap.add_argument("--ledger-n", type=int, default=100_000, help="rows 4-5: engine decisions in each tree's log (default 100,000)")
    ap.add_argument("--verify-reps", type=int, default=2, help="row 4: verify and floor passes per run (default 2)")
    ap.add_argument("--replay-sample", type=int, default=2000, help="row 5: decisions replayed per run, after 20 untimed (default 2000)")
    ap.add_argument("--rebuild", action="store_true", help="rows 4-5: build the logs again even if identical ones exist")
    args = ap.parse_args(argv)
    if args.quick:
        args.eval_reps, args.spawns, args.trip_rows = 200, 3, 20_000
        args.ledger_n, args.verify_reps, args.replay_sample = 2000, 1, 200
    if args.pairs is None:
        args.pairs = 1 if args.quick else 5
    if args.pairs < 1:
        ap.error("--pairs must be at least 1")
    try:
        rows = sorted({int(x) for x in args.rows.split(",") if x.strip()})
    except ValueError:
        ap.error(f"--rows wants numbers 1-5, got {args.rows!r}")
    if not rows or not set(rows) <= set(ROW_TITLES):
        ap.error(f"--rows wants numbers 1-5, got {args.rows!r}")
    specs = args.tree or [("this", ROOT)]
    if len({n for n, _ in specs}) != len(specs):
        ap.error("each --tree needs its own name")
    trees = [Tree(n, p) for n, p in specs]
    args.cache.mkdir(parents=True, exist_ok=True)

    t_start = time.perf_counter()
    out: dict = {"machine": machine(), "load_start": os.getloadavg(), "pairs": args.pairs, "rows": rows,
                 "trees": [t.describe() for t in trees],
                 "tree_info": [{"name": t.name, "path": str(t.path), "commit": t.commit, "dirty_library_files": t.dirty, "problem": t.problem}
                               for t in trees],
                 "ledger_n": args.ledger_n, "replay_sample": args.replay_sample, "trip_rows": args.trip_rows,
                 "eval_reps": args.eval_reps, "spawns": args.spawns, "runs": {}, "results": {}}
    for t in trees:
        log(t.describe() + (f": {t.problem}" if t.problem else ""))
    trips = prepare_trips(args, trees) if 3 in rows else None
    out["trips"] = trips
    if 4 in rows or 5 in rows:
        for t in trees:
            prepare_ledger(args, t)
    for row in rows:
        runs: dict[str, list[dict]] = {t.name: [] for t in trees}
        for p in range(args.pairs):
            for t in trees:  # A B A B …
                res = measure_row(row, t, args, trips)
                runs[t.name].append(res)
                fig = res.get("error") or f"{res.get('measure')!r} (baseline {res.get('baseline')!r})"
                log(f"row {row} run {p + 1}/{args.pairs} {t.name}: {fig}; load {res['load'][0]:.2f}")
        out["runs"][str(row)] = runs
        out["results"][str(row)] = {name: summarise_runs(r, row) for name, r in runs.items()}
    for info, t in zip(out["tree_info"], trees):
        info |= {"ledger_db": str(t.ledger_db) if t.ledger_db else None, "ledger_builder": t.ledger_builder,
                 "ledger_records": t.ledger_records, "ledger_problem": t.ledger_problem}
    out["load_end"] = os.getloadavg()
    out["total_s"] = time.perf_counter() - t_start
    for row in rows:
        for s in out["results"][str(row)].values():
            s["goal_met"] = goal_met(row, s)[0]
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the store: 10,000 submissions into SQLite and PostgreSQL (not a test).

Run from the repository root::

    /work/main/.venv/bin/python bench/bench_store.py                        # both backends, n=10000 (~35 min on 2 shared CPUs)
    /work/main/.venv/bin/python bench/bench_store.py --commit HEAD          # measure a commit, not the working tree
    /work/main/.venv/bin/python bench/bench_store.py --backend sqlite       # one backend
    /work/main/.venv/bin/python bench/bench_store.py --quick                # n=500, smoke run (~2 min)
    /work/main/.venv/bin/python bench/bench_store.py --json out.json        # also write the figures as JSON
    /work/main/.venv/bin/python bench/bench_store.py --pg-url postgresql+psycopg://icv:icv@127.0.0.1:5432/icv_test

What it does (see ``docs/benchmarks.md``, section "Store: 10,000 submissions"):

1. ``bench/make_store_apps.py`` writes N distinct compliant application files (2 vehicles,
   2 drivers each; distinct entities, credit codes, VINs and ID numbers with valid check
   characters) into a temporary folder, or reuses them;
2. per backend, in a new process: a fresh database (an SQLite file in ``--workdir``; for
   PostgreSQL a schema ``icv_bench`` in the database of ``--pg-url``, dropped and re-created,
   reached with ``?options=-csearch_path=icv_bench``), migrated with ``db.upgrade``; then

   * ``workflow.submit`` of the N files one after the other, as the CLI would (default pack,
     a ``FixedClock`` at 2026-11-27 10:00 Asia/Shanghai), one ``perf_counter`` sample per call;
     every verdict must be ``compliant`` and every submission new;
   * ``workflow.queue`` over the N submissions under review (``--queue-runs`` times);
   * ``workflow.decide(..., "approve")`` of ``--decide`` of them, evenly spread (each issues a
     notice and two plates);
   * ``queue`` again (N − decided rows), then, for comparison, the bare ``SELECT`` it starts
     with and the same list built from 3 queries (``queue_batched`` below; its result is
     compared with ``queue``'s);
   * the size of the database after the submissions and at the end, the peak RSS of the process
     (``resource.getrusage``) after each phase, and the number of SQL statements (SQLAlchemy
     cursor events, which also sum the time spent inside ``cursor.execute``);

3. per backend, in another new process on another fresh database: ``--profile`` submits
   (default 500) after 20 warm-up submits, twice: once with light timers wrapped around the
   steps of ``submit`` (exclusive wall time per step, grouped as file parsing, key derivation,
   engine, store, decision log, serialisation), once under ``cProfile`` (self time by package, the
   largest functions; the stats are written to ``--workdir``).

The N files are reused between runs (``--apps``, default ``/tmp/icv-permits-bench/store-apps``);
the databases are deleted at the end unless ``--keep``. The benchmark sets its own
``ICV_PERMITS_SECRET_KEY`` (a fixed bench-only key) in its children. The orchestrating process
imports only the standard library, so the children's peak RSS is their own. With ``--commit``,
a ``git archive`` of that commit is put on the children's ``PYTHONPATH`` (the repository itself is
only read), so a commit can be measured while the working tree changes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

BENCH = ROOT / "bench"
DEFAULT_APPS = Path("/tmp/icv-permits-bench/store-apps")
DEFAULT_WORKDIR = Path("/tmp/icv-permits-bench/store-db")
DEFAULT_PG_URL = os.environ.get("ICV_PERMITS_TEST_PG_URL") or "postgresql+psycopg://icv:icv@127.0.0.1:5432/icv_test"
PG_SCHEMA = "icv_bench"
PG_PROFILE_SCHEMA = "icv_bench_profile"
BENCH_KEY = "YmVuY2gta2V5LW5vdC1zZWNyZXQtMDEyMzQ1Njc4OWE="  # 32 bytes, benchmark only
NOW = "2026-11-27T10:00:00+08:00"
WARMUP = 20
ACTOR = "bench"


# ------------------------------------------------------------------------------------ helpers


def stats_ms(samples_s: list[float]) -> dict[str, float]:
    s = sorted(samples_s)
    n = len(s)
    if not n:
        return {"n": 0}

    def rank(q: float) -> float:  # nearest rank
        return s[max(0, math.ceil(q * n) - 1)] * 1e3

    return {"n": n, "total_s": sum(s), "mean_ms": statistics.fmean(s) * 1e3, "median_ms": statistics.median(s) * 1e3,
            "p95_ms": rank(0.95), "p99_ms": rank(0.99), "min_ms": s[0] * 1e3, "max_ms": s[-1] * 1e3}


def maxrss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pg_schema_url(pg_url: str, schema: str) -> str:
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options=-csearch_path%3D{schema}"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ children: setup


class _Counter:
    """SQL statements and the time spent between before/after cursor execute (driver + server)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.statements = 0
        self.seconds = 0.0
        self._t0 = 0.0

        @event.listens_for(engine, "before_cursor_execute")
        def _before(*_a, **_k):
            self.statements += 1
            self._t0 = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(*_a, **_k):
            self.seconds += time.perf_counter() - self._t0


def fresh_database(backend: str, workdir: Path, pg_url: str, schema: str, name: str) -> tuple[str, dict]:
    """Create an empty database; returns its URL and facts about the backend."""
    import sqlalchemy as sa

    facts: dict = {}
    if backend == "sqlite":
        import sqlite3

        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        facts["sqlite_version"] = sqlite3.sqlite_version
        facts["path"] = str(path)
        return f"sqlite:///{path}", facts
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        for setting in ("server_version", "shared_buffers", "synchronous_commit", "fsync", "wal_level"):
            facts[setting] = conn.exec_driver_sql(f"SHOW {setting}").scalar()
    admin.dispose()
    facts["schema"] = schema
    return pg_schema_url(pg_url, schema), facts


def drop_database(backend: str, url: str, pg_url: str, schema: str) -> None:
    from icv_permits.adapters.store import db

    db.dispose_all()
    if backend == "sqlite":
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    import sqlalchemy as sa

    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


def database_size(store, backend: str, schema: str) -> dict:
    """Bytes on disk: SQLite main file + WAL; PostgreSQL tables + indexes + TOAST of the schema."""
    out: dict = {}
    with store.engine.connect() as conn:
        if backend == "sqlite":
            path = Path(store.url.removeprefix("sqlite:///"))
            out["file_bytes"] = path.stat().st_size
            wal = Path(str(path) + "-wal")
            out["wal_bytes"] = wal.stat().st_size if wal.exists() else 0
            page = conn.exec_driver_sql("PRAGMA page_size").scalar()
            out["logical_bytes"] = conn.exec_driver_sql("PRAGMA page_count").scalar() * page
            out["bytes"] = out["logical_bytes"]
            try:
                rows = conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").all()
                out["by_object"] = {n: int(b) for n, b in rows}
            except Exception:  # noqa: BLE001 - dbstat is not compiled into every SQLite
                pass
        else:
            rows = conn.exec_driver_sql(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 2 DESC", (schema,)).all()
            out["by_object"] = {n: int(b) for n, b in rows}
            out["bytes"] = sum(out["by_object"].values())
    return out


def _setup(backend: str, args, schema: str, name: str):
    os.environ["ICV_PERMITS_SECRET_KEY"] = BENCH_KEY
    os.environ.pop("ICV_PERMITS_DATABASE_URL", None)
    os.environ.pop("ICV_PERMITS_NOW", None)
    t0 = time.perf_counter()
    import pendulum

    from icv_permits.adapters.store import db
    from icv_permits.services import office as workflow
    from icv_permits.services.precheck import FixedClock

    imports_s = time.perf_counter() - t0
    import icv_permits

    facts_lib = str(Path(icv_permits.__file__).parent)
    url, facts = fresh_database(backend, Path(args.workdir), args.pg_url, schema, name)
    t0 = time.perf_counter()
    db.upgrade(url)
    upgrade_s = time.perf_counter() - t0
    store = db.open_store(url)
    facts["library"] = facts_lib
    facts["schema_revision"] = db.head_revision()
    if backend == "sqlite":
        with store.engine.connect() as conn:
            facts["journal_mode"] = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            facts["synchronous"] = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    clock = FixedClock(pendulum.parse(NOW))
    return workflow, store, url, clock, facts, imports_s, upgrade_s


def _paths(apps: Path, lo: int, hi: int) -> list[str]:
    return [str(apps / f"app-{i:06d}.yaml") for i in range(lo, hi)]


def _result(obj: dict) -> None:
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------------ child: the run


def queue_batched(store, workflow) -> list:
    """What ``workflow.queue`` returns, from 3 queries instead of 1 + 3 per row, and without
    loading the engine runs' decision JSON: a measure of what the N+1 pattern costs. Only for the
    default state (under review). Compared with ``queue``'s result on every run."""
    import sqlalchemy as sa

    from icv_permits.adapters.store import tables as T

    S, E, V, R = T.Submission, T.Entity, T.SubmissionVersion, T.EngineRun
    states = [T.State.under_review.value]
    with store.read() as s:
        subs = s.execute(sa.select(S, E.credit_code, E.name).join(E, E.id == S.entity_id).where(S.state.in_(states))
                         .order_by(S.updated_at, S.id)).all()
        vehicles = {sid: len(json.loads(doc)["vehicles"]) for sid, doc in
                    s.execute(sa.select(V.submission_id, V.document).join(S, S.id == V.submission_id)
                              .where(S.state.in_(states), V.number == S.current_version))}
        verdict: dict[int, tuple[int, str]] = {}
        for sid, rid, v in s.execute(sa.select(V.submission_id, R.id, R.verdict).join(V, V.id == R.version_id).join(S, S.id == V.submission_id)
                                     .where(S.state.in_(states))).all():
            if sid not in verdict or rid > verdict[sid][0]:
                verdict[sid] = (rid, v)
        from icv_permits.core.canonical import utc_timestamp as iso
        return [workflow.SubmissionView(
            id=sub.id, state=sub.state, revision=sub.revision, version=sub.current_version, activity=sub.activity,
            application_id=sub.application_id, credit_code=code, entity_name=name, created_at=iso(sub.created_at),
            updated_at=iso(sub.updated_at), verdict=verdict[sub.id][1] if sub.id in verdict else None,
            vehicles=vehicles.get(sub.id, 0)) for sub, code, name in subs]


def child_run(backend: str, args) -> None:
    import sqlalchemy as sa
    import sqlmodel

    workflow, store, url, clock, facts, imports_s, upgrade_s = _setup(backend, args, PG_SCHEMA, "bench")
    from icv_permits.adapters.store import tables as T
    from icv_permits.core.engine.decision import Verdict

    counter = _Counter(store.engine)
    out: dict = {"backend": backend, "n": args.n, "facts": facts, "imports_s": imports_s, "upgrade_s": upgrade_s,
                 "rss_after_setup_mib": maxrss_mib(), "versions": {"sqlalchemy": sa.__version__, "sqlmodel": sqlmodel.__version__}}
    if backend == "postgresql":
        import psycopg

        out["versions"]["psycopg"] = psycopg.__version__

    # ---- submit
    paths = _paths(Path(args.apps), 0, args.n)
    samples: list[float] = []
    stmts: list[int] = []
    ids: list[int] = []
    clk = time.perf_counter
    cpu0, sql0, la0 = cpu_s(), counter.seconds, os.getloadavg()
    t_all = clk()
    for i, path in enumerate(paths):
        c0 = counter.statements
        t0 = clk()
        r = workflow.submit(store, path, actor=ACTOR, clock=clock)
        samples.append(clk() - t0)
        stmts.append(counter.statements - c0)
        if r.decision.verdict is not Verdict.compliant or not r.new_submission:
            sys.exit(f"{path}: verdict {r.decision.verdict.value}, new={r.new_submission}: the bench files must be compliant and new")
        ids.append(r.submission.id)
        if (i + 1) % 1000 == 0:
            log(f"{backend}: {i + 1:,} submitted, last 1000 median {statistics.median(samples[-1000:]) * 1e3:.1f} ms")
    wall = clk() - t_all
    band = max(1, args.n // 10)
    out["submit"] = stats_ms(samples) | {
        "wall_s": wall, "per_second": args.n / wall, "cpu_s": cpu_s() - cpu0, "sql_s": counter.seconds - sql0,
        "first_ms": samples[0] * 1e3, "statements_first": stmts[0], "statements_median": statistics.median(stmts),
        "statements_total": sum(stmts),
        "band_medians_ms": [statistics.median(samples[k:k + band]) * 1e3 for k in range(0, args.n, band)],
        "loadavg_start": la0, "loadavg_end": os.getloadavg(),
    }
    out["rss_after_submit_mib"] = maxrss_mib()
    out["size_after_submit"] = database_size(store, backend, PG_SCHEMA)
    log(f"{backend}: {args.n:,} submits in {wall:.1f} s; size {out['size_after_submit']['bytes'] / 2**20:.1f} MiB")

    # ---- queue over N rows
    def time_queue(expected: int) -> dict:
        runs, st = [], []
        for _ in range(args.queue_runs):
            c0 = counter.statements
            t0 = clk()
            rows = workflow.queue(store)
            runs.append(clk() - t0)
            st.append(counter.statements - c0)
            if len(rows) != expected:
                sys.exit(f"queue returned {len(rows)} rows, expected {expected}")
            del rows
        return {"rows": expected, "runs": len(runs), "median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs),
                "statements": st[0], "rss_after_mib": maxrss_mib()}

    out["queue_before"] = time_queue(args.n)
    out["rss_after_queue_mib"] = out["queue_before"]["rss_after_mib"]
    log(f"{backend}: queue over {args.n:,}: {out['queue_before']['median_s']:.2f} s")

    # ---- decide (approve) a spread of them
    d = min(args.decide, args.n)
    step = args.n / d if d else 1
    chosen = [ids[int(k * step)] for k in range(d)]
    dsamples, dstmts = [], []
    cpu0 = cpu_s()
    t_all = clk()
    for sid in chosen:
        c0 = counter.statements
        t0 = clk()
        r = workflow.decide(store, sid, "approve", reason=None, actor=ACTOR, clock=clock, expected_revision=1)
        dsamples.append(clk() - t0)
        dstmts.append(counter.statements - c0)
        if r.notice is None or r.submission.state != "approved":
            sys.exit(f"submission {sid}: approval issued no notice")
    wall = clk() - t_all
    out["decide"] = stats_ms(dsamples) | {"wall_s": wall, "per_second": d / wall if wall else 0.0, "cpu_s": cpu_s() - cpu0,
                                          "statements_median": statistics.median(dstmts) if dstmts else 0}
    out["rss_after_decide_mib"] = maxrss_mib()
    log(f"{backend}: {d:,} approvals in {wall:.1f} s")
    out["queue_after"] = time_queue(args.n - d)

    # ---- last (they allocate too): the bare first SELECT of queue, and the same rows from 3 queries
    bare, batched = [], []
    rows = workflow.queue(store)
    for _ in range(args.queue_runs):
        t0 = clk()
        with store.read() as s:
            subs = s.exec(sa.select(T.Submission).where(T.Submission.state.in_([T.State.under_review.value]))
                          .order_by(T.Submission.updated_at, T.Submission.id)).scalars().all()
        bare.append(clk() - t0)
        del subs
        t0 = clk()
        alt = queue_batched(store, workflow)
        batched.append(clk() - t0)
    out["queue_after"] |= {"bare_select_median_s": statistics.median(bare), "batched_median_s": statistics.median(batched),
                           "batched_same_result": alt == rows}
    del rows, alt
    out["rss_peak_mib"] = maxrss_mib()
    out["size_end"] = database_size(store, backend, PG_SCHEMA)
    if not args.keep:
        drop_database(backend, url, args.pg_url, PG_SCHEMA)
    _result(out)


# ------------------------------------------------------------------------------------ child: the profile

# (label, category) of the steps of ``workflow.submit``; each is timed exclusively (a nested
# timed step is not counted in its caller), so the steps add up. Steps missing from the library
# being measured are skipped (the workflow changes between commits).
STEPS = {
    "office.read_document": ("read_document (YAML parse)", "file parsing"),
    "office.parse_application": ("parse_application (pydantic validation)", "file parsing"),
    "office._load_file": ("_load_file rest (stat, read_bytes)", "file parsing"),
    "Keys.load": ("Keys.load (sub-key derivation)", "key derivation"),
    "Keys.id_lookup": ("Keys.id_lookup (HMAC per driver)", "key derivation"),
    "Keys.stand_in": ("Keys.stand_in (ID stand-in per driver)", "key derivation"),
    "Keys.seal": ("Keys.seal (Fernet)", "key derivation"),
    "office.evaluate": ("engine.evaluate", "engine"),
    "records.registry_facts": ("registry_facts (queries + RegistryFacts)", "store"),
    "records.upsert_parties": ("upsert_parties (SELECT per entity/vehicle/driver)", "store"),
    "office.insert_missing": ("insert_missing (INSERT … ON CONFLICT DO NOTHING)", "store"),
    "office._target_submission": ("_target_submission", "store"),
    "office._view": ("_view (3 queries)", "store"),
    "Session.flush": ("Session.flush (INSERTs, UPDATEs)", "store"),
    "Session.commit": ("Session.commit", "store"),
    "office.pseudonymise": ("pseudonymise rest (model_dump, masking, re-validate)", "serialisation"),
    "office.redact": ("redact (model_dump + masking)", "serialisation"),
    "office.canonical": ("canonical (json.dumps)", "serialisation"),
    "Decision.to_json_dict": ("Decision.to_json_dict", "serialisation"),
    "office._run": ("_run rest (EngineRun)", "serialisation"),
    "ledger.snapshot_pack": ("ledger.snapshot_pack (s.get of the pack snapshot)", "decision log"),
    "ledger.canonical_text": ("ledger.canonical_text (rfc8785.dumps of the body)", "decision log"),
    "ledger.db_actor": ("ledger.db_actor", "decision log"),
    "ledger.record_hash": ("ledger.record_hash", "decision log"),
    "ledger.engine_body": ("ledger.engine_body rest", "decision log"),
    "ledger.append": ("ledger.append rest (SELECT … FOR UPDATE of the head, uuid)", "decision log"),
    "office._pack": ("_pack (load_pack, lru_cache hit)", "other"),
}


class _Timers:
    def __init__(self):
        self.excl: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []  # [child time] per open frame

    def wrap(self, key: str, fn):
        clk = time.perf_counter
        stack = self._stack
        excl, calls = self.excl, self.calls
        excl.setdefault(key, 0.0)
        calls.setdefault(key, 0)

        def wrapper(*a, **k):
            stack.append([0.0])
            t0 = clk()
            try:
                return fn(*a, **k)
            finally:
                el = clk() - t0
                child = stack.pop()[0]
                excl[key] += el - child
                calls[key] += 1
                if stack:
                    stack[-1][0] += el

        wrapper.__wrapped__ = fn
        return wrapper


def _instrument(workflow, timers: _Timers):
    """Wrap the steps in timers; returns a function that undoes it."""
    import importlib

    from sqlmodel import Session

    from icv_permits.core.engine.decision import Decision

    try:
        ledger = importlib.import_module("icv_permits.services.audit")
    except ImportError:  # a commit before the decision log
        ledger = None
    owners = {"workflow": workflow, "ledger": ledger, "Keys": workflow.Keys, "Session": Session, "Decision": Decision}
    undo: list[tuple[object, str, object, bool]] = []
    for key in STEPS:
        owner_name, attr = key.split(".", 1)
        owner = owners[owner_name]
        if owner is None or not hasattr(owner, attr):
            continue
        own = getattr(owner, "__dict__", {})
        raw = own.get(attr)
        undo.append((owner, attr, raw if raw is not None else getattr(owner, attr), attr in own))
        if isinstance(raw, classmethod):
            setattr(owner, attr, classmethod(timers.wrap(key, raw.__func__)))
        else:
            setattr(owner, attr, timers.wrap(key, getattr(owner, attr)))

    def restore() -> None:
        for owner, attr, original, was_own in reversed(undo):
            if was_own or isinstance(owner, type(workflow)):
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)  # it was inherited

    return restore


def _package_of(filename: str, func: str) -> str:
    f = filename.replace("\\", "/")
    if filename == "~":  # a built-in
        for key, label in (("sqlite3", "sqlite3 (C)"), ("psycopg", "psycopg (C)"), ("pydantic_core", "pydantic_core (C)"),
                           ("_yaml", "yaml (libyaml)"), ("yaml", "yaml (libyaml)"), ("_hashlib", "hashlib/hmac (C)"),
                           ("_hmac", "hashlib/hmac (C)"), ("cryptography", "cryptography (C)"), ("_json", "json (C)"),
                           ("builtins.exec", "other built-ins")):
            if key in func:
                return label
        if "poll" in func or "select" in func or "recv" in func or "send" in func or "socket" in func:
            return "psycopg (socket wait)"
        return "other built-ins"
    for key, label in (("/icv_permits/core/engine/", "icv_permits.core.engine"), ("/icv_permits/adapters/store/", "icv_permits.adapters.store"),
                       ("/icv_permits/services/office.py", "icv_permits.services.office"), ("/icv_permits/", "icv_permits (other)"),
                       ("/sqlalchemy/", "sqlalchemy"), ("/sqlmodel/", "sqlmodel"), ("/alembic/", "alembic"),
                       ("/psycopg/", "psycopg (Python)"), ("/psycopg_binary/", "psycopg (C)"), ("/pydantic/", "pydantic (Python)"),
                       ("/pydantic_core/", "pydantic_core"), ("/yaml/", "yaml (Python)"), ("/pendulum/", "pendulum"),
                       ("/cryptography/", "cryptography (Python)"), ("/json/", "json (Python)"), ("/sqlite3/", "sqlite3 (Python)"),
                       ("/rfc8785/", "rfc8785")):
        if key in f:
            return label
    return "stdlib (other)"


def child_profile(backend: str, args) -> None:
    import cProfile
    import pstats

    schema = PG_PROFILE_SCHEMA
    workflow, store, url, clock, facts, _i, _u = _setup(backend, args, schema, "profile")
    counter = _Counter(store.engine)
    p = args.profile
    need = WARMUP + 2 * p
    paths = _paths(Path(args.apps), 0, need)
    for path in paths[:WARMUP]:
        workflow.submit(store, path, actor=ACTOR, clock=clock)
    out: dict = {"backend": backend, "profile_n": p, "warmup": WARMUP}

    # (a) timers, exclusive per step
    timers = _Timers()
    restore = _instrument(workflow, timers)
    c0, s0 = counter.statements, counter.seconds
    clk = time.perf_counter
    t0 = clk()
    for path in paths[WARMUP:WARMUP + p]:
        workflow.submit(store, path, actor=ACTOR, clock=clock)
    total = clk() - t0
    restore()
    out["timers"] = {"total_s": total, "per_submit_ms": total / p * 1e3, "statements_per_submit": (counter.statements - c0) / p,
                     "sql_execute_s": counter.seconds - s0,
                     "steps": {k: {"s": v, "calls": timers.calls[k]} for k, v in timers.excl.items()}}

    # a per-submit constant, alone
    ks = []
    for _ in range(200):
        t = clk()
        workflow.Keys.load()
        ks.append(clk() - t)
    out["keys_load_median_ms"] = statistics.median(ks) * 1e3

    # (b) cProfile
    prof = cProfile.Profile()
    t0 = clk()
    prof.enable()
    for path in paths[WARMUP + p:need]:
        workflow.submit(store, path, actor=ACTOR, clock=clock)
    prof.disable()
    out["cprofile_total_s"] = clk() - t0
    dump = Path(args.workdir) / f"profile-{backend}.pstats"
    prof.dump_stats(dump)
    out["pstats_file"] = str(dump)
    st = pstats.Stats(prof)
    by_pkg: dict[str, float] = {}
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():
        pkg = _package_of(filename, func)
        by_pkg[pkg] = by_pkg.get(pkg, 0.0) + tt
        short = filename if filename == "~" else "/".join(Path(filename).parts[-2:])
        rows.append({"func": f"{short}:{line}({func})" if filename != "~" else func, "ncalls": nc, "tottime": tt, "cumtime": ct, "pkg": pkg})
    out["cprofile_by_package"] = dict(sorted(by_pkg.items(), key=lambda kv: -kv[1]))
    out["cprofile_top_self"] = sorted(rows, key=lambda r: -r["tottime"])[:25]
    wanted = ("workflow.py", "secrets.py", "loader.py", "service.py", "engine/__init__.py")
    out["cprofile_cumulative"] = [r for r in sorted(rows, key=lambda r: -r["cumtime"])
                                  if any(w in r["func"] for w in wanted)][:25]
    if not args.keep:
        drop_database(backend, url, args.pg_url, schema)
    _result(out)


# ------------------------------------------------------------------------------------ orchestrator


def snapshot_source(rev: str, workdir: Path) -> tuple[str, Path]:
    """``git archive`` of ``rev`` into ``workdir/src-<commit>`` (read-only for the repository), so
    that a commit can be measured while the working tree changes."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    dest = workdir / f"src-{commit}"
    if not (dest / "icv_permits" / "__init__.py").is_file():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit, dest


def child_env(args) -> dict[str, str]:
    env = dict(os.environ)
    env["ICV_PERMITS_SECRET_KEY"] = BENCH_KEY
    if getattr(args, "source", None):
        env["PYTHONPATH"] = str(args.source) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_child(mode: str, backend: str, args) -> dict:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--backend", backend, "--n", str(args.n),
            "--decide", str(args.decide), "--profile", str(args.profile), "--queue-runs", str(args.queue_runs),
            "--apps", str(args.apps), "--workdir", str(args.workdir), "--pg-url", args.pg_url] + (["--keep"] if args.keep else [])
    env = child_env(args)
    for k in ("ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_NOW", "ICV_PERMITS_KEY_FILE", "ICV_PERMITS_LANG"):
        env.pop(k, None)
    la0 = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=None, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"child {mode} {backend} failed with exit code {proc.returncode}:\n{proc.stdout[-3000:]}")
    res = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if res is None:
        sys.exit(f"no result from child {mode} {backend}:\n{proc.stdout[-3000:]}")
    res["process_wall_s"] = time.perf_counter() - t0
    res["loadavg"] = [la0, os.getloadavg()]
    return res


def _mib(b: float) -> str:
    return f"{b / 2**20:,.1f}"


def report(out: dict) -> str:
    m = out["machine"]
    lines = [f"# Store benchmark: n = {out['n']:,}, decide = {out['decide']:,}, profile = {out['profile']}",
             "",
             (f"measured: {out['measured']}; " if out.get("measured", "working tree") != "working tree" else
              f"working tree at commit {m['git'].get('commit', '?')} (library files modified: {m['git'].get('dirty_library_files') or 'none'}); ")
             + f"{m['nproc']} CPUs ({m['cpu_model']}); Python {m['python']}; {m['date']}",
             ""]
    runs = out["runs"]
    backends = list(runs)
    if backends:
        lines += ["| | " + " | ".join(backends) + " |", "|---|" + "---:|" * len(backends)]

        def row(label: str, fn) -> None:
            vals = []
            for b in backends:
                try:
                    vals.append(fn(runs[b]))
                except (KeyError, TypeError, ZeroDivisionError):
                    vals.append("—")
            lines.append(f"| {label} | " + " | ".join(vals) + " |")

        row("backend", lambda r: ", ".join(f"{k} {v}" for k, v in r["facts"].items() if k not in ("path", "schema", "library")))
        row("library measured", lambda r: f"`{r['facts']['library']}` (schema {r['facts']['schema_revision']})")
        row("load average 1 min (submit start → end)", lambda r: f"{r['submit']['loadavg_start'][0]:.2f} → {r['submit']['loadavg_end'][0]:.2f}")
        row("`db.upgrade` (fresh database) s", lambda r: f"{r['upgrade_s']:.2f}")
        row(f"**submit ×{out['n']:,}: total s**", lambda r: f"**{r['submit']['wall_s']:.1f}**")
        row("submissions per second", lambda r: f"**{r['submit']['per_second']:.1f}**")
        row("per submit: median ms", lambda r: f"**{r['submit']['median_ms']:.2f}**")
        row("per submit: p95 ms", lambda r: f"**{r['submit']['p95_ms']:.2f}**")
        row("per submit: p99 / max ms", lambda r: f"{r['submit']['p99_ms']:.1f} / {r['submit']['max_ms']:.0f}")
        row("per submit: min / first ms", lambda r: f"{r['submit']['min_ms']:.2f} / {r['submit']['first_ms']:.0f}")
        row("median per tenth of the run, ms", lambda r: " ".join(f"{x:.1f}" for x in r["submit"]["band_medians_ms"]))
        row("process CPU during submits, s (% of wall)", lambda r: f"{r['submit']['cpu_s']:.1f} ({100 * r['submit']['cpu_s'] / r['submit']['wall_s']:.0f} %)")
        row("in cursor.execute (driver + server), s", lambda r: f"{r['submit']['sql_s']:.1f}")
        row("SQL statements per submit (first / median)", lambda r: f"{r['submit']['statements_first']} / {r['submit']['statements_median']:g}")
        row("database size after submits, MiB", lambda r: _mib(r["size_after_submit"]["bytes"]))
        row("peak RSS after submits, MiB", lambda r: f"{r['rss_after_submit_mib']:.1f}")
        row(f"`queue` over {out['n']:,} rows: s (median of runs)", lambda r: f"**{r['queue_before']['median_s']:.2f}** ({r['queue_before']['runs']} runs)")
        row("`queue`: SQL statements", lambda r: f"{r['queue_before']['statements']:,}")
        row("peak RSS after `queue`, MiB", lambda r: f"{r['rss_after_queue_mib']:.1f}")
        row(f"**approve ×{out['decide']:,}: total s**", lambda r: f"**{r['decide']['wall_s']:.1f}**")
        row("approvals per second", lambda r: f"{r['decide']['per_second']:.1f}")
        row("per approval: median / p95 ms", lambda r: f"**{r['decide']['median_ms']:.2f}** / {r['decide']['p95_ms']:.2f}")
        row("SQL statements per approval (median)", lambda r: f"{r['decide']['statements_median']:g}")
        row("peak RSS after the approvals, MiB", lambda r: f"{r['rss_after_decide_mib']:.1f}")
        row("`queue` after the approvals, rows: s", lambda r: f"{r['queue_after']['rows']:,}: {r['queue_after']['median_s']:.2f}")
        row("its first `SELECT` alone, s", lambda r: f"{r['queue_after']['bare_select_median_s']:.3f}")
        row("the same rows from 3 queries (bench's `queue_batched`), s", lambda r: f"{r['queue_after']['batched_median_s']:.2f}"
            + ("" if r["queue_after"]["batched_same_result"] else " (result differs!)"))
        row("database size at the end, MiB", lambda r: _mib(r["size_end"]["bytes"]))
        row("peak RSS at the end (after the comparisons), MiB", lambda r: f"**{r['rss_peak_mib']:.1f}**")
        lines.append("")
        for b in backends:
            objs = runs[b]["size_end"].get("by_object")
            if objs:
                top = sorted(objs.items(), key=lambda kv: -kv[1])[:6]
                lines.append(f"{b} size at the end by table (MiB): " + ", ".join(f"{k} {_mib(v)}" for k, v in top))
        lines.append("")
    profs = out["profiles"]
    for b, pr in profs.items():
        t = pr["timers"]
        lines += [f"## Where a submit's time goes: {b} ({pr['profile_n']} submits after {pr['warmup']} warm-up)", "",
                  f"Timed steps: {t['per_submit_ms']:.2f} ms per submit ({t['statements_per_submit']:.1f} SQL statements; "
                  f"{t['sql_execute_s'] / pr['profile_n'] * 1e3:.2f} ms of it inside cursor.execute). "
                  f"`Keys.load()` alone: {pr['keys_load_median_ms']:.3f} ms. cProfile run: {pr['cprofile_total_s'] / pr['profile_n'] * 1e3:.2f} ms per submit.",
                  "", "| category | step (exclusive) | ms per submit | % |", "|---|---|---:|---:|"]
        steps = t["steps"]
        total = t["total_s"]
        accounted = 0.0
        by_cat: dict[str, float] = {}
        for key, (label, cat) in STEPS.items():
            s = steps.get(key, {}).get("s", 0.0)
            accounted += s
            by_cat[cat] = by_cat.get(cat, 0.0) + s
        by_cat["other"] = by_cat.get("other", 0.0) + (total - accounted)
        for key, (label, cat) in sorted(STEPS.items(), key=lambda kv: (kv[1][1], -steps.get(kv[0], {}).get("s", 0.0))):
            if key not in steps:
                continue
            s = steps[key]["s"]
            lines.append(f"| {cat} | {label} | {s / pr['profile_n'] * 1e3:.3f} | {100 * s / total:.1f} |")
        lines.append(f"| other | `submit` itself (ORM objects, sessions, sha256, the rest) | {(total - accounted) / pr['profile_n'] * 1e3:.3f} | {100 * (total - accounted) / total:.1f} |")
        lines += ["", "| category | ms per submit | % |", "|---|---:|---:|"]
        for cat, s in sorted(by_cat.items(), key=lambda kv: -kv[1]):
            lines.append(f"| **{cat}** | {s / pr['profile_n'] * 1e3:.2f} | {100 * s / total:.1f} |")
        lines += ["", "cProfile, self time by package (ms per submit): " + ", ".join(
            f"{k} {v / pr['profile_n'] * 1e3:.2f}" for k, v in list(pr["cprofile_by_package"].items())[:12]), ""]
        lines += ["| largest self times (cProfile) | calls per submit | self ms per submit |", "|---|---:|---:|"]
        for r in pr["cprofile_top_self"][:12]:
            lines.append(f"| `{r['func']}` | {r['ncalls'] / pr['profile_n']:.1f} | {r['tottime'] / pr['profile_n'] * 1e3:.3f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="applications to submit (default 10000)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help=f"PostgreSQL database to create the bench schema in (default {DEFAULT_PG_URL})")
    ap.add_argument("--decide", type=int, default=1000, help="submissions to approve (default 1000)")
    ap.add_argument("--profile", type=int, default=500, help="submits to profile per backend (default 500; 0 = skip)")
    ap.add_argument("--queue-runs", type=int, default=3, help="runs of `queue` before and after the approvals (default 3)")
    ap.add_argument("--apps", type=Path, default=DEFAULT_APPS, help=f"folder of the generated applications (default {DEFAULT_APPS})")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"folder of the SQLite files and profiles (default {DEFAULT_WORKDIR})")
    ap.add_argument("--commit", metavar="REV", help="measure this commit (a `git archive` of it on PYTHONPATH) instead of the working tree")
    ap.add_argument("--keep", action="store_true", help="keep the databases (SQLite files, PostgreSQL schemas)")
    ap.add_argument("--skip-run", action="store_true", help="only the profiles")
    ap.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    ap.add_argument("--quick", action="store_true", help="n=500, decide=100, profile=100, 1 queue run (smoke run)")
    ap.add_argument("--child", choices=("run", "profile"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.decide, args.profile, args.queue_runs = 500, 100, 100, 1
    args.workdir.mkdir(parents=True, exist_ok=True)

    if args.child:
        (child_run if args.child == "run" else child_profile)(args.backend, args)
        return 0

    args.source = None
    measured = "working tree"
    if args.commit:
        commit, args.source = snapshot_source(args.commit, args.workdir)
        measured = f"commit {commit} (git archive in {args.source})"
        log(f"measuring {measured}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    need = max(args.n, WARMUP + 2 * args.profile if args.profile else 0)
    log(f"generating / reusing {need:,} application files in {args.apps}")
    gen = subprocess.run([sys.executable, str(BENCH / "make_store_apps.py"), "--n", str(need), "--out", str(args.apps)], cwd=ROOT,
                         env=child_env(args))
    if gen.returncode:
        return gen.returncode
    out: dict = {"n": args.n, "decide": min(args.decide, args.n), "profile": args.profile, "machine": machine_info(), "measured": measured,
                 "loadavg_start": os.getloadavg(), "runs": {}, "profiles": {}}
    for b in backends:
        if not args.skip_run:
            log(f"{b}: run (n={args.n:,})")
            out["runs"][b] = run_child("run", b, args)
        if args.profile:
            log(f"{b}: profile ({args.profile} submits)")
            out["profiles"][b] = run_child("profile", b, args)
    out["loadavg_end"] = os.getloadavg()
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

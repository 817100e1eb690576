"""Benchmark of the decision log: verify and replay of 100,000 decisions (not a test).

Run from the repository root::

    /work/main/.venv/bin/python bench/bench_ledger.py --commit HEAD        # SQLite + PostgreSQL, n=100000 (~40 min on a loaded 2-vCPU VM, +4 min to build the log once)
    /work/main/.venv/bin/python bench/bench_ledger.py --backend sqlite     # SQLite only (the working tree)
    /work/main/.venv/bin/python bench/bench_ledger.py --steps verify       # only verify (or replay, parallel)
    /work/main/.venv/bin/python bench/bench_ledger.py --quick              # n=5000, sample=500, 1 verify run (smoke run, ~2 min)
    /work/main/.venv/bin/python bench/bench_ledger.py --json out.json      # also write the figures as JSON
    /work/main/.venv/bin/python bench/bench_ledger.py --pg-url "$(bash .ci/pg-start)"
    .venv/bin/python bench/bench_ledger.py --pairs 3 --baseline 87a00d5 --n 20000 --sample 1000 --steps verify,replay \
        --keep --skip-profile --skip-prototypes --skip-parallel   # before/after alternately, one table with ratios

``--commit REV`` measures a ``git archive`` of that commit (its code, rules and examples) on
``PYTHONPATH``, so that the figures belong to one commit while the working tree changes.
Needs about 3.5 GB of disk in ``--workdir`` (the SQLite log, kept for the next run), 1 GB in
PostgreSQL during the run, and about 11 GB of RAM at n=100,000: ``replay_parallel`` holds every
record in memory (the prototype after it does not).

Goals: ``ledger.verify`` ≥ 50,000 records/s and ≤ 1.2 × its floor — what verify cannot avoid:
every column the record hash covers and the stored hash, read by the bare DB-API cursor as the
bytes the database holds and each row hashed with SHA-256, nothing else (``bench/_floor.py``, the
floor of ``bench_goals.py`` row 4 too), measured before each verify run in the same process (the
report gives both and their ratio); replay ≥ 1,500 decisions per
CPU-second of the replaying process (and, for ``replay_parallel``, ≥ 2,000 decisions/s per core).

What it does (see ``docs/benchmarks.md``, section "Decision log: verify and replay of 100,000
decisions"):

1. **build** (once; reused while the generated log would be the same): every example application
   listed in ``examples/expected.yaml`` is submitted with ``workflow.submit`` into a scratch SQLite
   store (default pack, a ``FixedClock`` at 2026-11-27 10:00 Asia/Shanghai, a fixed bench-only key);
   their ``engine_decision`` bodies are the templates. A fresh SQLite database (``db.upgrade``) then
   gets the pack snapshot (``ledger.snapshot_pack``) and ``--n`` records written with
   ``ledger.append`` inside ``store.write()`` transactions of ``--batch`` records (INSERTs only — the
   triggers refuse UPDATE and DELETE), cycling through the templates with ``submission_id``,
   ``engine_run_id`` and ``clock`` (and the record's ``recorded_at``) different for every record.
   Submitting 100,000 applications for real would take hours (see the store benchmark); the bodies
   are real engine decisions, only their identifiers are varied.
2. **verify**: ``ledger.verify(store)`` over all records, ``--verify-runs`` times (records/s, and
   records per CPU-second of the process), then ``ledger.verify(store, jobs=--jobs)``; to say where
   the time goes, the same rows read by the bare DB-API cursor (body as ``str`` and as bytes), by
   the product's read path (``_raw_records``) and by ``iter_records``, and one pass timing reading
   and ``record_hash`` separately, with ``sha256`` of the body bytes alone for comparison; a
   prototype of a cheaper walk (DB-API rows, bodies as the bytes the driver received), alone and
   with the hashing on a thread pool, checked to find every stored hash equal; a cProfile of
   ``ledger.verify``.
3. **replay, one process**: ``ledger.replay(store)`` for the first ``--sample`` decisions
   (decisions/s, and per CPU-second: per core); each step of ``replay_record`` timed alone on the
   same records; a prototype of a cheaper ``replay_record`` (body parsed once) checked to give the
   same results, A/B in alternating rounds; what ``replay_parallel`` does in the parent before
   the first worker starts (read every record, ``json.loads`` every body); a cProfile.
4. **replay, all cores**: ``ledger.replay_parallel(store, jobs=--jobs)`` over all ``--n``
   decisions (decisions/s in total), with the memory of the parent and its workers sampled from
   ``/proc`` (RSS and PSS; a forked worker's RSS counts pages it shares with the parent); then the
   prototype: workers that read their own range of the log (bounded memory) and use the cheaper
   ``replay_record``.
5. **PostgreSQL** (``--backend both|postgresql``): the same records copied row for row into a schema
   ``bench_ledger`` of ``--pg-url`` (migrated with ``db.upgrade``; reached with
   ``?options=-csearch_path%3Dbench_ledger``), then step 2 there. The schema is dropped at the end
   unless ``--keep``.

The steps follow the measured code: where a commit already does what a prototype does (the body
parsed once since 3063a9b, workers reading their own ranges since 3063a9b), the prototype is
skipped and the report says so.

Every step runs in a new process (the orchestrator imports only the standard library), so each
peak RSS is that step's own. All results are checked: the chain intact with ``--n`` records, every
replay matching its record. The SQLite file (3.1 GiB at n=100,000) stays in ``--workdir`` for
the next run; ``--rebuild`` forces a new one.
"""

from __future__ import annotations

import argparse
import datetime as _dt
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

DEFAULT_WORKDIR = Path("/tmp/icv-permits-bench/ledger")
DEFAULT_PG_URL = os.environ.get("ICV_PERMITS_TEST_PG_URL") or "postgresql+psycopg://icv:icv@127.0.0.1:5432/icv_test"
PG_SCHEMA = "bench_ledger"
BENCH_KEY = "YmVuY2gta2V5LW5vdC1zZWNyZXQtMDEyMzQ1Njc4OWE="  # 32 bytes, benchmark only
NOW = "2026-11-27T10:00:00+08:00"
ACTOR = "bench"
GENERATOR = "bench_ledger/1"  # change when the way the log is generated changes

GOAL_VERIFY_PER_S = 50_000
GOAL_VERIFY_FLOOR_RATIO = 1.2  # verify's time ≤ 1.2 × the floor (every hashed column and the hash read raw, each row hashed)
GOAL_REPLAY_PER_CPU_S = 1_500  # decisions per CPU-second of the replaying process
GOAL_REPLAY_PER_CORE_S = 2_000  # (older goal of replay_parallel, per core)


# ------------------------------------------------------------------------------------ helpers


def maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    rss = resource.getrusage(who).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def pg_schema_url(pg_url: str, schema: str) -> str:
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options=-csearch_path%3D{schema}"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _result(obj: dict) -> None:
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def _sqlite_path(args) -> Path:
    return Path(args.workdir) / f"ledger-{args.n}.db"


def _meta_path(args) -> Path:
    return Path(args.workdir) / f"ledger-{args.n}.json"


def _env_setup() -> None:
    os.environ["ICV_PERMITS_SECRET_KEY"] = BENCH_KEY
    for k in ("ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_NOW", "ICV_PERMITS_KEY_FILE"):
        os.environ.pop(k, None)


def _library() -> str:
    import icv_permits

    return str(Path(icv_permits.__file__).resolve().parent)


class MemSampler:
    """Samples this process's memory and its children's from ``/proc``: RSS (``statm``, cheap) every
    ``interval`` s, PSS (``smaps_rollup``) every ``pss_every`` samples — reading ``smaps_rollup``
    walks the page tables and costs about 13 ms of CPU per 3 GB mapped, so sampling it twice a
    second over 20 GB of mappings would itself use a tenth of a core. A forked child's RSS includes
    the pages it still shares with its parent; PSS divides shared pages among the processes sharing
    them, so the sum of PSS is what the processes really occupy. The sampler's own CPU time is
    reported (``sampler_cpu_s``)."""

    def __init__(self, interval: float = 0.5, pss_every: int = 20):
        import threading

        self.interval = interval
        self.pss_every = pss_every
        self.page_mib = os.sysconf("SC_PAGE_SIZE") / 2**20
        self.peak = {"self_rss_mib": 0.0, "children_rss_max_mib": 0.0, "total_rss_mib": 0.0, "self_pss_mib": 0.0,
                     "children_pss_sum_mib": 0.0, "total_pss_mib": 0.0, "children_seen": 0, "samples": 0, "pss_samples": 0,
                     "sampler_cpu_s": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._seen: set[int] = set()

    @staticmethod
    def _pss(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
        return 0.0

    def _rss(self, pid: int) -> float:
        try:
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.page_mib
        except (OSError, ValueError, IndexError):
            return 0.0

    @staticmethod
    def _children(pid: int) -> list[int]:
        kids: list[int] = []
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                try:
                    kids += [int(x) for x in (task / "children").read_text().split()]
                except OSError:
                    pass
        except OSError:
            pass
        return kids

    def sample(self, pss: bool) -> None:
        me = os.getpid()
        kids = self._children(me)
        self._seen.update(kids)
        p = self.peak
        own, rss = self._rss(me), [self._rss(k) for k in kids]
        p["self_rss_mib"] = max(p["self_rss_mib"], own)
        p["children_rss_max_mib"] = max([p["children_rss_max_mib"]] + rss)
        p["total_rss_mib"] = max(p["total_rss_mib"], own + sum(rss))
        p["children_seen"] = len(self._seen)
        p["samples"] += 1
        if pss:
            own_p, kids_p = self._pss(me), [self._pss(k) for k in kids]
            p["self_pss_mib"] = max(p["self_pss_mib"], own_p)
            p["children_pss_sum_mib"] = max(p["children_pss_sum_mib"], sum(kids_p))
            p["total_pss_mib"] = max(p["total_pss_mib"], own_p + sum(kids_p))
            p["pss_samples"] += 1

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.interval):
            i += 1
            self.sample(pss=i % self.pss_every == 0)
        self.peak["sampler_cpu_s"] = time.thread_time()

    def __enter__(self) -> "MemSampler":
        self.sample(pss=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample(pss=True)


# ------------------------------------------------------------------------------------ cProfile


def _package_of(filename: str, func: str) -> str:
    f = filename.replace("\\", "/")
    if filename == "~":  # a built-in
        for key, label in (("sha256", "hashlib (C)"), ("hexdigest", "hashlib (C)"), ("_hashlib", "hashlib (C)"),
                           ("sqlite3", "sqlite3 (C)"), ("psycopg", "psycopg (C)"), ("pydantic_core", "pydantic_core (C)"),
                           ("_json", "json (C)"), ("encode", "str.encode / decode"), ("decode", "str.encode / decode"),
                           ("strftime", "datetime (C)"), ("astimezone", "datetime (C)"), ("replace", "datetime (C)")):
            if key in func:
                return label
        return "other built-ins"
    for key, label in (("/icv_permits/core/engine/", "icv_permits.core.engine"), ("/icv_permits/services/audit.py", "icv_permits.services.audit"),
                       ("/icv_permits/adapters/store/", "icv_permits.adapters.store"), ("/icv_permits/core/model/", "icv_permits.core.model"),
                       ("/icv_permits/", "icv_permits (other)"), ("/rfc8785/", "rfc8785"), ("/sqlalchemy/", "sqlalchemy"),
                       ("/sqlmodel/", "sqlmodel"), ("/psycopg/", "psycopg (Python)"), ("/psycopg_binary/", "psycopg (C)"),
                       ("/pydantic/", "pydantic (Python)"), ("/pydantic_core/", "pydantic_core"), ("/pendulum/", "pendulum"),
                       ("/json/", "json (Python)"), ("/sqlite3/", "sqlite3 (Python)"), ("/hashlib.py", "hashlib (C)"),
                       ("/dataclasses.py", "dataclasses"), ("/enum.py", "enum")):
        if key in f:
            return label
    return "stdlib (other)"


def profile_call(fn, top: int = 20) -> dict:
    """cProfile ``fn()``: total, self time by package, the largest self and cumulative times."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    fn()
    prof.disable()
    total = time.perf_counter() - t0
    st = pstats.Stats(prof)
    by_pkg: dict[str, float] = {}
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        by_pkg[_package_of(filename, func)] = by_pkg.get(_package_of(filename, func), 0.0) + tt
        short = f"{Path(filename).parent.name}/{Path(filename).name}:{line}({func})" if filename != "~" else func
        rows.append({"func": short, "ncalls": nc, "tottime": tt, "cumtime": ct})
    profiled = sum(by_pkg.values())
    return {
        "wall_s": total,
        "profiled_s": profiled,
        "by_package": dict(sorted(by_pkg.items(), key=lambda kv: -kv[1])),
        "top_self": sorted(rows, key=lambda r: -r["tottime"])[:top],
        "top_cum": sorted((r for r in rows if not r["func"].startswith("bench/")), key=lambda r: -r["cumtime"])[:top],
    }


# ------------------------------------------------------------------------------------ child: build


def _template_bodies(args) -> tuple[list[dict], str, dict]:
    """Submit every example listed in examples/expected.yaml into a scratch store; return their
    engine_decision bodies, a fingerprint of them, and the pack's revision."""
    import hashlib

    import pendulum
    import yaml

    from icv_permits.adapters.store import db
    from icv_permits.services import audit as ledger
    from icv_permits.services import office as workflow
    from icv_permits.services.precheck import FixedClock

    examples = Path(_library()).parent / "examples"  # the measured source's own examples (see --commit)
    names = list(yaml.safe_load((examples / "expected.yaml").read_text(encoding="utf-8"))["examples"])
    path = Path(args.workdir) / "templates.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    db.upgrade(url)
    store = db.open_store(url)
    clock = FixedClock(pendulum.parse(NOW))
    verdicts = {}
    for name in names:
        r = workflow.submit(store, examples / name, actor=ACTOR, clock=clock)
        verdicts[name] = r.decision.verdict.value
    templates = []
    for rec in ledger.iter_records(store):
        if rec.kind == "engine_decision":
            templates.append(rec.body)
    db.dispose_all()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    if len(templates) != len(names):
        sys.exit(f"expected {len(names)} engine decisions from the examples, got {len(templates)}")
    fp = hashlib.sha256(json.dumps(templates, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    info = {"examples": [{"file": n, "verdict": verdicts[n], "body_chars": len(ledger.canonical_json(b))} for n, b in zip(names, templates)]}
    return templates, fp, info


class _Splicer:
    """Stands in for ``ledger.canonical_json`` while the log is built: the RFC 8785 text of a body is
    ``{`` + its members sorted by key (UTF-16 code units) + ``}``, each ``"key":value`` canonical on
    its own. The template's members are canonicalised once with ``rfc8785.dumps``; only the members
    the build changes (submission_id, engine_run_id, clock) are canonicalised per record. The result
    is the same text — the build compares it with the product's ``canonical_json`` on every 997th
    record. Only the build uses it: ``rfc8785.dumps`` of a 30-70 kB body takes 3-8 ms in pure
    Python (before 41f3856 ``canonical_json`` always used it), which made building 100,000 records
    take 10-20 minutes; the splice takes about 1 ms."""

    def __init__(self, templates: list[dict]):
        import rfc8785

        self._dumps = lambda v: rfc8785.dumps(v).decode("utf-8")
        self.templates = templates
        self.parts = [{k: self._dumps(v) for k, v in t.items()} for t in templates]
        self.template = 0
        self.last = ""

    def __call__(self, body: dict) -> str:
        tpl, parts = self.templates[self.template], self.parts[self.template]
        members = []
        for key in sorted(body, key=lambda k: k.encode("utf-16-be")):
            v = body[key]
            members.append(self._dumps(key) + ":" + (parts[key] if key in tpl and tpl[key] is v else self._dumps(v)))
        self.last = "{" + ",".join(members) + "}"
        return self.last


def child_build(args) -> None:
    _env_setup()
    import pendulum

    from icv_permits.adapters.packs import load_pack
    from icv_permits.adapters.store import db
    from icv_permits.core.pack import DEFAULT_PACK
    from icv_permits.services import audit as ledger

    t0 = time.perf_counter()
    templates, fingerprint, info = _template_bodies(args)
    templates_s = time.perf_counter() - t0
    path, meta_path = _sqlite_path(args), _meta_path(args)
    url = f"sqlite:///{path}"
    out: dict = {"templates": info, "templates_s": templates_s, "fingerprint": fingerprint}

    # reuse the log of an earlier run if it was generated from the same bodies
    if not args.rebuild and path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            store = db.open_store(url)
            if meta.get("generator") == GENERATOR and meta.get("fingerprint") == fingerprint and meta.get("batch") == args.batch \
                    and list(ledger.head(store)) == meta.get("head"):
                log(f"build: reusing {path} ({args.n:,} records; --rebuild to make a new one)")
                _result(meta | {"reused": True, "templates_s": templates_s})
                return
        except Exception as exc:  # noqa: BLE001 - anything wrong with the old file: rebuild
            log(f"build: not reusing {path}: {type(exc).__name__}: {exc}")
        db.dispose_all()

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)
    db.upgrade(url)
    store = db.open_store(url)
    pack = load_pack(DEFAULT_PACK)
    revisions = {t["pack"]["revision"] for t in templates}
    if revisions != {pack.revision}:
        sys.exit(f"the templates name pack revisions {revisions}, the default pack is {pack.revision}")
    utc = pendulum.parse(NOW).in_timezone("UTC")
    base = _dt.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, tzinfo=_dt.timezone.utc)
    with store.write() as s:
        ledger.snapshot_pack(s, pack, base)
    k = len(templates)
    splicer = _Splicer(templates)
    product_canonical = ledger.canonical_json
    ledger.canonical_json = splicer  # append() looks it up at call time; restored below
    clk = time.perf_counter
    t0 = clk()
    cpu0 = cpu_s()
    try:
        for lo in range(0, args.n, args.batch):
            with store.write() as s:
                for i in range(lo, min(args.n, lo + args.batch)):
                    # one decision every 2.5 s of simulated time, microseconds varied too
                    now = base + _dt.timedelta(seconds=i * 2.5, microseconds=(i * 7919) % 1_000_000)
                    body = dict(templates[i % k])
                    body.update(submission_id=i + 1, engine_run_id=i + 1, clock=ledger.utc_timestamp(now))
                    splicer.template = i % k
                    ledger.append(s, "engine_decision", body, now)
                    if i % 997 == 0 and splicer.last != product_canonical(body):
                        sys.exit(f"record {i + 1}: the spliced canonical JSON differs from rfc8785.dumps")
            done = min(args.n, lo + args.batch)
            if done % max(args.batch, args.n // 20) == 0 or done == args.n:
                el = clk() - t0
                log(f"build: {done:,}/{args.n:,} records, {done / el:,.0f}/s")
    finally:
        ledger.canonical_json = product_canonical
    wall = clk() - t0
    out["build"] = {"records": args.n, "wall_s": wall, "per_second": args.n / wall, "cpu_s": cpu_s() - cpu0,
                    "batch": args.batch, "spliced_checked": len(range(0, args.n, 997))}
    with store.engine.connect() as conn:
        sizes = conn.exec_driver_sql("SELECT COUNT(*), SUM(LENGTH(body)), SUM(LENGTH(CAST(body AS BLOB))), MIN(LENGTH(CAST(body AS BLOB))), "
                                     "MAX(LENGTH(CAST(body AS BLOB))) FROM decision_log").one()
    out["head"] = list(ledger.head(store))
    db.dispose_all()  # the last connection closed checkpoints the WAL into the file
    out["log"] = {"records": sizes[0], "body_chars": sizes[1], "body_bytes": sizes[2], "body_bytes_min": sizes[3], "body_bytes_max": sizes[4],
                  "body_bytes_mean": sizes[2] / sizes[0],
                  "file_bytes": path.stat().st_size + (Path(str(path) + "-wal").stat().st_size if Path(str(path) + "-wal").exists() else 0)}
    out["generator"] = GENERATOR
    out["batch"] = args.batch
    out["pack_revision"] = pack.revision
    out["rss_peak_mib"] = maxrss_mib()
    meta_path.write_text(json.dumps(out, indent=2) + "\n")
    log(f"build: {args.n:,} records in {wall:.1f} s; {out['log']['body_bytes'] / 2**30:.2f} GiB of bodies; file {out['log']['file_bytes'] / 2**30:.2f} GiB")
    _result(out | {"reused": False})


# ------------------------------------------------------------------------------------ child: copy to PostgreSQL


def child_pg_load(args) -> None:
    _env_setup()
    import sqlalchemy as sa

    from icv_permits.adapters.store import db
    from icv_permits.adapters.store import tables as T
    from icv_permits.services import audit as ledger

    src = db.open_store(f"sqlite:///{_sqlite_path(args)}")
    src_head = list(ledger.head(src))
    url = pg_schema_url(args.pg_url, PG_SCHEMA)
    admin = sa.create_engine(args.pg_url)
    facts = {}
    with admin.begin() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_namespace WHERE nspname = %s", (PG_SCHEMA,)).first() is not None
        for setting in ("server_version", "shared_buffers", "synchronous_commit", "default_toast_compression"):
            try:
                facts[setting] = conn.exec_driver_sql(f"SHOW {setting}").scalar()
            except Exception:  # noqa: BLE001 - an older server
                pass
    if exists and not args.rebuild:
        try:
            store = db.open_store(url)
            if list(ledger.head(store)) == src_head:
                log(f"pg: reusing schema {PG_SCHEMA} ({args.n:,} records)")
                _result({"reused": True, "facts": facts, "size": _pg_size(store)})
                return
        except Exception as exc:  # noqa: BLE001
            log(f"pg: not reusing schema {PG_SCHEMA}: {type(exc).__name__}: {exc}")
        db.dispose_all()
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {PG_SCHEMA}")
    admin.dispose()
    db.upgrade(url)
    dst = db.open_store(url)
    cols = [c.name for c in T.DecisionLog.__table__.columns]
    t0 = time.perf_counter()
    with src.read() as s, dst.write() as d:
        for snap in s.execute(sa.select(T.PackSnapshot)).scalars().all():
            d.add(T.PackSnapshot(revision=snap.revision, pack_id=snap.pack_id, content=snap.content, stored_at=snap.stored_at))
    last = 0
    batch = 1000
    while True:
        with src.read() as s:
            rows = s.execute(sa.select(T.DecisionLog.__table__).where(T.DecisionLog.seq > last).order_by(T.DecisionLog.seq).limit(batch)).all()
        if not rows:
            break
        with dst.write() as d:
            # one record after the other, the head moved to each (the log's triggers, migration 0004,
            # let a record in only right after the head, and the head move only to the next record)
            for r in rows:
                rec = dict(zip(cols, r))
                d.execute(sa.insert(T.DecisionLog.__table__), rec)
                d.execute(sa.text("UPDATE log_head SET seq = :seq, hash = :hash WHERE id = 1"), {"seq": rec["seq"], "hash": rec["hash"]})
        last = rows[-1][0]
        if last % (args.n // 10 or 1) == 0:
            log(f"pg: copied {last:,} records")
    if list(ledger.head(dst)) != src_head:
        sys.exit(f"pg: the copied log's head {ledger.head(dst)} is not the source's {src_head}")
    with dst.engine.connect() as conn:
        conn.exec_driver_sql(f"ANALYZE {PG_SCHEMA}.decision_log")
    wall = time.perf_counter() - t0
    log(f"pg: {last:,} records copied in {wall:.1f} s")
    _result({"reused": False, "copy_s": wall, "facts": facts, "size": _pg_size(dst)})


def _pg_size(store) -> dict:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 2 DESC", (PG_SCHEMA,)).all()
    return {"by_table": {n: int(t) for n, t, _ in rows}, "bytes": sum(int(t) for _, t, _ in rows)}


def child_pg_drop(args) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(args.pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
    admin.dispose()
    _result({"dropped": PG_SCHEMA})


# ------------------------------------------------------------------------------------ child: verify


def _store_for(args, backend: str):
    from icv_permits.adapters.store import db

    url = f"sqlite:///{_sqlite_path(args)}" if backend == "sqlite" else pg_schema_url(args.pg_url, PG_SCHEMA)
    return db.open_store(url), url


def _raw_rows(store, backend: str, body_bytes: bool = False, batch: int = 2000):  # noqa: C901
    """The log's rows in seq order straight from the DB-API cursor (keyset batches, like
    ``iter_records``); ``recorded_at`` as the driver gives it; the body as ``str``, or with
    ``body_bytes`` as its UTF-8 bytes, never decoded (SQLite: ``CAST(body AS BLOB)``; psycopg: a
    loader that returns the ``text`` column's bytes as received — the other columns are
    ``varchar``)."""
    ph = "?" if backend == "sqlite" else "%s"
    body = "CAST(body AS BLOB)" if body_bytes and backend == "sqlite" else "body"
    q = (f"SELECT seq, decision_id, kind, recorded_at, actor, {body}, prev_hash, hash FROM decision_log "
         f"WHERE seq > {ph} ORDER BY seq LIMIT {ph}")
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if body_bytes and backend == "postgresql":
            from psycopg.adapt import Loader

            class RawText(Loader):
                def load(self, data):
                    return bytes(data)

            cur.adapters.register_loader("text", RawText)
        last = 0
        while True:
            cur.execute(q, (last, batch))
            rows = cur.fetchall()
            if not rows:
                break
            yield rows
            last = rows[-1][0]
        cur.close()
    finally:
        raw.close()


def _iso_of(backend: str):
    """``recorded_at`` as the driver returns it → the string the hash covers."""
    from icv_permits.core.canonical import utc_timestamp as iso_utc

    if backend == "sqlite":
        # SQLAlchemy stores naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'
        return lambda v: v.replace(" ", "T") + "Z" if len(v) == 26 else iso_utc(_dt.datetime.fromisoformat(v).replace(tzinfo=_dt.timezone.utc))
    return iso_utc


def proto_verify_bytes(store, backend: str, threads: int = 0) -> dict:
    """PROTOTYPE (not product code): the chain walk of ``verify`` on rows straight from the DB-API
    cursor (no SQLAlchemy ``Row``s, no ``Record`` objects, no datetime round trip), each body as
    UTF-8 bytes as stored (see ``_raw_rows``: on PostgreSQL the ``text`` column's bytes as received
    instead of ``convert_to(body, 'UTF8')``), hashed incrementally (``head + body + tail``). With
    ``threads``, the hashing runs on a thread pool (``hashlib`` releases the GIL for inputs over
    2 kB) while the next batch is read."""
    import hashlib

    from icv_permits.services.audit import GENESIS, _c

    iso = _iso_of(backend)
    sha = hashlib.sha256
    actors: dict[str, bytes] = {}

    def hash_rows(rows) -> list[str]:
        out = []
        for seq, did, kind, at, actor, body, prev, _h in rows:
            a = actors.get(actor)
            if a is None:
                a = actors[actor] = ('{"actor":' + _c(actor) + ',"body":').encode()
            h = sha(a)
            h.update(body)
            h.update((',"decision_id":' + _c(did) + ',"kind":' + _c(kind) + ',"prev_hash":' + _c(prev)
                      + ',"recorded_at":' + _c(iso(at)) + ',"seq":' + str(int(seq)) + "}").encode())
            out.append("sha256:" + h.hexdigest())
        return out

    prev = GENESIS
    expected = 1
    checked = 0
    bad = []

    def check(rows, hashes) -> None:
        nonlocal prev, expected, checked
        for row, computed in zip(rows, hashes):
            seq, did, _k, _a, _ac, _b, prev_hash, stored = row
            if seq != expected or prev_hash != prev or computed != stored:
                bad.append(seq)
            prev = stored
            expected += 1
            checked += 1

    t0 = time.perf_counter()
    if not threads:
        for rows in _raw_rows(store, backend, True):
            check(rows, hash_rows(rows))
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            pending = None
            for rows in _raw_rows(store, backend, True):
                step = math.ceil(len(rows) / threads)
                parts = [rows[i:i + step] for i in range(0, len(rows), step)]
                futs = [pool.submit(hash_rows, p) for p in parts]
                if pending is not None:
                    check(pending[0], [h for f in pending[1] for h in f.result()])
                pending = (rows, futs)
            if pending is not None:
                check(pending[0], [h for f in pending[1] for h in f.result()])
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "checked": checked, "breaks": len(bad), "first_break": bad[0] if bad else None}


def _forget_engines() -> None:
    from icv_permits.adapters.store import db

    if hasattr(db, "forget_engines"):
        db.forget_engines()
    else:
        db._ENGINES.clear()  # noqa: SLF001 - forked: never touch the parent's pooled connections


def _read_path(ledger, store):
    """The records as ``ledger.verify`` reads them: ``_raw_records`` (bodies as bytes) where the
    product has it, else ``iter_records``."""
    if hasattr(ledger, "_log_rows"):
        return "_log_rows", lambda: (ledger.Record(*r) for rows in ledger._log_rows(store, 1) for r in rows)  # noqa: SLF001
    if hasattr(ledger, "_raw_records"):
        return "_raw_records", lambda: ledger._raw_records(store, 1)  # noqa: SLF001
    return "iter_records", lambda: ledger.iter_records(store)


def child_verify(args, backend: str) -> None:
    _env_setup()
    import gc
    import hashlib
    import inspect

    from icv_permits.services import audit as ledger

    store, url = _store_for(args, backend)
    n = args.n
    out: dict = {"backend": backend, "n": n, "loadavg_start": os.getloadavg(), "library": _library()}
    if backend == "postgresql":
        import psycopg

        out["psycopg"] = psycopg.__version__
    else:
        import sqlite3

        out["sqlite_version"] = sqlite3.sqlite_version
    clk = time.perf_counter
    parallel = "jobs" in inspect.signature(ledger.verify).parameters

    # ---- ledger.verify, as `icv-permits log verify` runs it: one process, then --jobs processes
    def floor_pass() -> float:
        """The floor of verifying (``bench/_floor.py``, the same as ``bench_goals.py``'s): every
        column the record hash covers and the stored hash, read by the bare DB-API cursor as the
        bytes the database holds, each row through SHA-256 — nothing else."""
        from _floor import floor_pass as read_and_hash
        from _floor import raw_bytes

        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            if backend == "postgresql":
                raw_bytes(cur)
            t0 = clk()
            count = read_and_hash(cur, backend)
            wall = clk() - t0
            cur.close()
        finally:
            raw.close()
        if count != n:
            sys.exit(f"floor pass read {count} rows, expected {n}")
        return wall

    def timed_verify(label: str, **kw) -> dict:
        runs, cpus, ccpus, floors = [], [], [], []
        for r in range(args.verify_runs):
            if not kw:  # the floor, alternating with verify's runs in the same process (the load varies)
                gc.collect()
                floors.append(floor_pass())
            gc.collect()
            c0, cc0 = cpu_s(), cpu_s(resource.RUSAGE_CHILDREN)
            t0 = clk()
            rep = ledger.verify(store, **kw)
            runs.append(clk() - t0)
            cpus.append(cpu_s() - c0)
            ccpus.append(cpu_s(resource.RUSAGE_CHILDREN) - cc0)
            if not rep.intact or rep.checked != n:
                sys.exit(f"verify {kw}: intact={rep.intact}, checked={rep.checked} (expected {n}): {rep.to_json()}")
            log(f"verify {backend} {label} run {r + 1}: {runs[-1]:.2f} s, {n / runs[-1]:,.0f} records/s"
                + (f"; floor {floors[-1]:.2f} s ({n / floors[-1]:,.0f}/s), ratio {runs[-1] / floors[-1]:.2f}" if floors else ""))
        res = {"runs_s": runs, "cpu_s": cpus, "children_cpu_s": ccpus, "median_s": statistics.median(runs), "min_s": min(runs),
               "per_second_median": n / statistics.median(runs), "per_second_best": n / min(runs)}
        if floors:
            res["floor_runs_s"] = floors
            res["floor_median_s"] = statistics.median(floors)
            res["floor_per_second_median"] = n / statistics.median(floors)
            res["ratios"] = [a / b for a, b in zip(runs, floors)]
            res["ratio_median"] = statistics.median(res["ratios"])
        return res

    out["verify"] = timed_verify("jobs=1")
    out["rss_after_verify_mib"] = maxrss_mib()
    if parallel and args.jobs > 1:
        out["verify_jobs"] = timed_verify(f"jobs={args.jobs}", jobs=args.jobs) | {"jobs": args.jobs}

    # ---- where the time goes
    bd: dict = {}
    read_name, read_records = _read_path(ledger, store)
    bd["read_path"] = read_name

    def driver_pass(as_bytes: bool) -> int:
        total = 0
        for rows in _raw_rows(store, backend, as_bytes):
            for row in rows:
                total += len(row[5])
        return total

    def consume(gen) -> None:
        for _rec in gen:
            pass

    # each pass twice, alternating, keeping the faster (the page cache and the load vary)
    passes = {"driver_rows_text_s": lambda: bd.__setitem__("body_chars", driver_pass(False)),
              "driver_rows_bytes_s": lambda: bd.__setitem__("body_bytes", driver_pass(True)),
              "product_read_s": lambda: consume(read_records()),
              "iter_records_s": lambda: consume(ledger.iter_records(store))}
    times: dict[str, list[float]] = {k: [] for k in passes}
    for _ in range(2):
        for key, fn in passes.items():
            t0 = clk()
            fn()
            times[key].append(clk() - t0)
    for key, ts in times.items():
        bd[key] = min(ts)
        bd[key + "_runs"] = ts
    log(f"verify {backend}: DB-API text {bd['driver_rows_text_s']:.2f} s, DB-API bytes {bd['driver_rows_bytes_s']:.2f} s, "
        f"{read_name} {bd['product_read_s']:.2f} s, iter_records {bd['iter_records_s']:.2f} s")

    # one pass over the product's read path, each part timed alone: reading, record_hash, the sha256 of the body alone
    t_read = t_hash = t_bsha = 0.0
    it = read_records()
    t_all0 = clk()
    while True:
        a = clk()
        rec = next(it, None)
        b = clk()
        t_read += b - a
        if rec is None:
            break
        h = ledger.record_hash(rec.seq, rec.decision_id, rec.kind, rec.recorded_at, rec.actor, rec.body_text, rec.prev_hash)
        c = clk()
        t_hash += c - b
        if h != rec.hash:
            sys.exit(f"hash mismatch at {rec.seq}")
        body = rec.body_text if isinstance(rec.body_text, bytes) else rec.body_text.encode("utf-8")
        d = clk()
        hashlib.sha256(body).digest()
        t_bsha += clk() - d
    bd["split_pass_s"] = clk() - t_all0
    bd["split"] = {"read_s": t_read, "record_hash_s": t_hash, "sha256_body_only_s": t_bsha}
    out["breakdown"] = bd
    log(f"verify {backend}: split pass {bd['split_pass_s']:.2f} s: " + ", ".join(f"{k} {v:.2f}" for k, v in bd["split"].items()))

    # ---- prototypes (not product code), checked to agree with the stored hashes
    if not args.skip_prototypes:
        protos = {}
        for name, kw in (("dbapi_bytes", {}), ("dbapi_bytes_threads", {"threads": args.jobs})):
            gc.collect()
            res = proto_verify_bytes(store, backend, **kw)
            if res["checked"] != n or res["breaks"]:
                sys.exit(f"prototype {name}: {res}")
            protos[name] = res
            log(f"verify {backend} prototype {name}: {res['wall_s']:.2f} s, {n / res['wall_s']:,.0f} records/s")
        out["prototypes"] = protos

    # ---- cProfile
    if not args.skip_profile:
        rep_box = []
        out["profile"] = profile_call(lambda: rep_box.append(ledger.verify(store)))
        assert rep_box[0].intact and rep_box[0].checked == n
        log(f"verify {backend}: cProfile {out['profile']['wall_s']:.1f} s")
    out["rss_peak_mib"] = maxrss_mib()
    out["loadavg_end"] = os.getloadavg()
    _result(out)


# ------------------------------------------------------------------------------------ child: replay, one process


def _input_and_decision(body: dict, pack) -> tuple[dict, dict]:
    """The input snapshot and whole decision of an engine body: as stored in a record of format 1;
    a record of format 2 (since record format 2, ``core/log_compact.py``) rebuilt with its pack."""
    if "record_format" not in body:
        return body["input"], body["decision"]
    from icv_permits.core.log_compact import expand

    return expand(body, pack)


def proto_replay_record(rec, packs: dict):
    """PROTOTYPE (not product code) of ``ledger.replay_record`` in recorded mode, with the body
    parsed once: ``Record.body`` is a property that runs ``json.loads`` on every access, and
    ``replay`` / ``_replay_worker`` read it once to find the pack revision, then ``replay_record``
    reads it again. Otherwise the same steps as the product (since 0097a7b: only ``evidence`` and
    ``registry`` of the recorded decision validated); the same result object."""
    from icv_permits.core.engine import evaluate
    from icv_permits.core.model.application import Application
    from icv_permits.core.model.evidence import EvidenceSummary
    from icv_permits.core.model.registry import RegistryFacts
    from icv_permits.services.audit import ReplayResult, diff_decisions

    body = json.loads(rec.body_text)
    pack = packs[body["pack"]["revision"]]
    snapshot, recorded = _input_and_decision(body, pack)
    try:
        app = Application.model_validate(snapshot)
        ev = recorded.get("evidence")
        reg = recorded.get("registry")
        as_of = _dt.date.fromisoformat(body["as_of"])
        replayed = evaluate(app, pack, as_of, EvidenceSummary.model_validate(ev) if ev else None,
                            RegistryFacts.model_validate(reg) if reg else None).to_json_dict()
    except Exception as exc:  # noqa: BLE001
        return ReplayResult(rec.seq, rec.decision_id, body.get("submission_id", 0), "recorded", pack.revision, body.get("verdict", "?"), "—",
                            False, [], error=f"{type(exc).__name__}: {str(exc)[:300]}")
    match = replayed == recorded
    return ReplayResult(rec.seq, rec.decision_id, body["submission_id"], "recorded", pack.revision, recorded["verdict"], replayed["verdict"],
                        match, [] if match else diff_decisions(recorded, replayed), [])


def child_replay(args) -> None:
    _env_setup()
    import gc
    import itertools

    from icv_permits.core.engine import evaluate
    from icv_permits.core.engine.decision import Decision
    from icv_permits.core.model.application import Application
    from icv_permits.core.model.evidence import EvidenceSummary
    from icv_permits.core.model.registry import RegistryFacts
    from icv_permits.services import audit as ledger

    store, _url = _store_for(args, "sqlite")
    m = min(args.sample, args.n)
    out: dict = {"sample": m, "loadavg_start": os.getloadavg(), "library": _library()}
    clk = time.perf_counter

    # ---- the product: ledger.replay over the first m decisions
    gc.collect()
    c0 = cpu_s()
    t0 = clk()
    results = list(itertools.islice(ledger.replay(store), m))
    wall = clk() - t0
    cpu = cpu_s() - c0
    bad = [r for r in results if not r.match or r.error]
    if len(results) != m or bad:
        sys.exit(f"replay: {len(results)} results, {len(bad)} not matching, e.g. {bad[0].to_json() if bad else ''}")
    out["replay"] = {"wall_s": wall, "cpu_s": cpu, "per_second": m / wall, "per_cpu_second": m / cpu, "ms_per_decision": wall / m * 1e3}
    log(f"replay: {m:,} decisions in {wall:.2f} s ({m / wall:,.0f}/s, {m / cpu:,.0f} per CPU-second)")
    del results

    # ---- each step of replay_record alone, on the same records
    import functools
    import inspect

    body_cached = isinstance(inspect.getattr_static(ledger.Record, "body"), functools.cached_property)
    parses = 1 if body_cached else 2  # before 3063a9b, replay() and replay_record() each parsed the body
    out["body_parses"] = parses
    parse_label = "json.loads of the body" + ("" if body_cached else ", twice (replay, then replay_record)")
    recs = list(itertools.islice((r for r in ledger.iter_records(store) if r.kind == "engine_decision"), m))
    pack = ledger.pack_from_snapshot(store, recs[0].body["pack"]["revision"])
    steps = dict.fromkeys(("read the records (iter_records)", parse_label, "rebuild a compact record (record format 2)",
                           "Application.model_validate(input)", "EvidenceSummary / RegistryFacts.model_validate (recorded decision)",
                           "evaluate(...)", "Decision.to_json_dict()", "replayed == recorded"), 0.0)
    t0 = clk()
    for _ in itertools.islice((r for r in ledger.iter_records(store) if r.kind == "engine_decision"), m):
        pass
    steps["read the records (iter_records)"] = clk() - t0
    t_decision = 0.0
    for rec in recs:
        a = clk()
        body = json.loads(rec.body_text)
        if parses == 2:
            json.loads(rec.body_text)
        b = clk()
        snapshot, recorded = _input_and_decision(body, pack)
        b2 = clk()
        app = Application.model_validate(snapshot)
        c = clk()
        ev = EvidenceSummary.model_validate(recorded["evidence"]) if recorded.get("evidence") else None
        reg = RegistryFacts.model_validate(recorded["registry"]) if recorded.get("registry") else None
        e = clk()
        dec = evaluate(app, pack, _dt.date.fromisoformat(body["as_of"]), ev, reg)
        f = clk()
        replayed = dec.to_json_dict()
        g = clk()
        same = replayed == recorded
        h = clk()
        Decision.model_validate(recorded)
        t_decision += clk() - h
        if not same:
            sys.exit(f"record {rec.seq}: the replayed decision differs from the recorded one")
        steps[parse_label] += b - a
        steps["rebuild a compact record (record format 2)"] += b2 - b
        steps["Application.model_validate(input)"] += c - b2
        steps["EvidenceSummary / RegistryFacts.model_validate (recorded decision)"] += e - c
        steps["evaluate(...)"] += f - e
        steps["Decision.to_json_dict()"] += g - f
        steps["replayed == recorded"] += h - g
    out["steps_ms_per_decision"] = {k: v / m * 1e3 for k, v in steps.items()}
    out["decision_model_validate_ms"] = t_decision / m * 1e3  # what replay_record did before 0097a7b
    findings = [len(_input_and_decision(json.loads(r.body_text), pack)[1]["findings"]) for r in recs[:len(recs)]]
    out["findings_per_decision"] = {"mean": statistics.fmean(findings), "min": min(findings), "max": max(findings)}
    log("replay steps (ms/decision): " + ", ".join(f"{k.split('(')[0].strip()} {v:.3f}" for k, v in out["steps_ms_per_decision"].items()))

    # ---- prototype of a cheaper replay_record, checked against the product's; A/B in alternating
    # rounds, timed by process CPU as well as wall clock (the machine's load drifts)
    if not args.skip_prototypes and not body_cached:
        packs = {pack.revision: pack}

        def product_step(rec):  # what replay() does per record: body parsed for the revision, then replay_record
            rev = rec.body["pack"]["revision"]
            return ledger.replay_record(rec, packs[rev], "recorded")

        same = all(proto_replay_record(r, packs).to_json() == product_step(r).to_json() for r in recs[:200])
        ab = {"product": [0.0, 0.0], "prototype": [0.0, 0.0]}
        rounds = 6
        size = math.ceil(len(recs) / rounds)
        for i in range(rounds):
            part = recs[i * size:(i + 1) * size]
            order = (("product", product_step), ("prototype", lambda r: proto_replay_record(r, packs)))
            for name, fn in (order if i % 2 == 0 else order[::-1]):
                gc.collect()
                c0, t0 = cpu_s(), clk()
                for rec in part:
                    res = fn(rec)
                    if not res.match:
                        same = False
                ab[name][0] += clk() - t0
                ab[name][1] += cpu_s() - c0
        out["prototype"] = {k: {"wall_s": w, "cpu_s": c, "per_second": m / w, "per_cpu_second": m / c} for k, (w, c) in ab.items()}
        out["prototype"]["same_results"] = same
        log(f"replay prototype: {m / ab['prototype'][1]:,.0f} vs product {m / ab['product'][1]:,.0f} per CPU-second (same results: {same})")
        if not same:
            sys.exit("the replay prototype gives other results than the product")
    del recs

    # ---- cProfile of ledger.replay over min(m, 2000) decisions
    if not args.skip_profile:
        pm = min(m, 2000)
        out["profile_n"] = pm
        out["profile"] = profile_call(lambda: list(itertools.islice(ledger.replay(store), pm)))
        log(f"replay: cProfile of {pm} decisions {out['profile']['wall_s']:.1f} s")

    # ---- what replay_parallel did in the parent before the first worker started (before 3063a9b)
    if not args.skip_parallel and not hasattr(ledger, "_replay_range"):
        gc.collect()
        t0 = clk()
        count = 0
        chars = 0
        held = 0
        revs = set()
        t_json = 0.0
        for r in ledger.iter_records(store):
            if r.kind != "engine_decision":
                continue
            count += 1
            chars += len(r.body_text)
            held += sys.getsizeof(r.body_text)
            a = clk()
            revs.add(json.loads(r.body_text)["pack"]["revision"])
            t_json += clk() - a
        out["parallel_prework"] = {"wall_s": clk() - t0, "json_loads_s": t_json, "records": count, "body_str_bytes_held": held,
                                   "revisions": len(revs)}
        log(f"replay_parallel's pre-work: {out['parallel_prework']['wall_s']:.1f} s ({t_json:.1f} s json.loads); "
            f"the record list it builds holds {held / 2**30:.2f} GiB of body strings")
    out["rss_peak_mib"] = maxrss_mib()
    out["loadavg_end"] = os.getloadavg()
    _result(out)


# ------------------------------------------------------------------------------------ child: replay, all cores


_PROTO: dict = {}


def _proto_range_init(url: str, packs: dict[str, str]) -> None:
    from icv_permits.adapters.store import db
    from icv_permits.services import audit as ledger

    _forget_engines()
    _PROTO["packs"] = {rev: ledger._pack_from_text(text, rev) for rev, text in packs.items()}  # noqa: SLF001
    _PROTO["store"] = db.open_store(url, check_schema=False)


def _proto_range_worker(lo: int, hi: int) -> list:
    import itertools

    from icv_permits.services import audit as ledger

    recs = itertools.takewhile(lambda r: r.seq <= hi, ledger.iter_records(_PROTO["store"], lo, batch=hi - lo + 1))
    return [proto_replay_record(rec, _PROTO["packs"]) for rec in recs if rec.kind == "engine_decision"]


def proto_replay_parallel(store, url: str, jobs: int, chunk: int = 500):
    """PROTOTYPE: the parent sends only seq ranges; each worker reads its own records from the
    database (its own connection) and replays them with ``proto_replay_record``. The pack snapshots
    come from ``pack_snapshot`` (a handful of rows), not from parsing every body. Memory stays
    bounded by ``jobs × chunk`` records; results come back in log order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import sqlalchemy as sa

    from icv_permits.adapters.store import db
    from icv_permits.adapters.store import tables as T

    with store.read() as s:
        packs = {snap.revision: snap.content for snap in s.execute(sa.select(T.PackSnapshot)).scalars().all()}
        hi = s.execute(sa.select(sa.func.max(T.DecisionLog.seq))).scalar() or 0
    db.dispose_all()
    ranges = [(lo, min(hi, lo + chunk - 1)) for lo in range(1, hi + 1, chunk)]
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork"), initializer=_proto_range_init, initargs=(url, packs)) as pool:
        for results in pool.map(_proto_range_worker, [r[0] for r in ranges], [r[1] for r in ranges]):
            yield from results


def _run_parallel(gen, n: int, label: str) -> dict:
    clk = time.perf_counter
    c0, ch0 = cpu_s(), cpu_s(resource.RUSAGE_CHILDREN)
    t0 = clk()
    first = None
    count = mismatched = 0
    with MemSampler() as mem:
        for res in gen:
            if first is None:
                first = clk() - t0
            count += 1
            if not res.match or res.error:
                mismatched += 1
            if count % max(1, n // 10) == 0:
                log(f"{label}: {count:,} replayed, {count / (clk() - t0):,.0f}/s")
    wall = clk() - t0
    out = {"wall_s": wall, "decisions": count, "mismatched": mismatched, "per_second": count / wall, "first_result_s": first,
           "after_first_per_second": (count - 1) / (wall - first) if first and count > 1 else None,
           "parent_cpu_s": cpu_s() - c0, "workers_cpu_s": cpu_s(resource.RUSAGE_CHILDREN) - ch0,
           "memory_sampled_peaks": mem.peak, "rss_peak_self_mib": maxrss_mib(), "rss_peak_children_max_mib": maxrss_mib(resource.RUSAGE_CHILDREN)}
    out["cores_used"] = (out["parent_cpu_s"] + out["workers_cpu_s"]) / wall
    return out


def child_replay_parallel(args) -> None:
    _env_setup()
    from icv_permits.services import audit as ledger

    store, url = _store_for(args, "sqlite")
    out: dict = {"jobs": args.jobs, "n": args.n, "loadavg_start": os.getloadavg()}
    if args.child == "replay-parallel":
        res = _run_parallel(ledger.replay_parallel(store, jobs=args.jobs), args.n, f"replay_parallel jobs={args.jobs}")
    elif hasattr(ledger, "_replay_range"):
        log("prototype parallel: skipped, the product's workers already read their own ranges (3063a9b)")
        _result(out | {"skipped": "the product's workers already read their own ranges"})
        return
    else:
        res = _run_parallel(proto_replay_parallel(store, url, args.jobs), args.n, f"prototype parallel jobs={args.jobs}")
    if res["decisions"] != args.n or res["mismatched"]:
        sys.exit(f"{args.child}: {res['decisions']} decisions replayed, {res['mismatched']} not matching")
    out["result"] = res
    out["loadavg_end"] = os.getloadavg()
    log(f"{args.child}: {args.n:,} decisions in {res['wall_s']:.1f} s ({res['per_second']:,.0f}/s; first result after "
        f"{res['first_result_s']:.1f} s; {res['cores_used']:.2f} cores busy; sampled PSS peak {res['memory_sampled_peaks']['total_pss_mib']:,.0f} MiB)")
    _result(out)


# ------------------------------------------------------------------------------------ orchestrator


def snapshot_source(rev: str, workdir: Path) -> tuple[str, Path]:
    """``git archive`` of ``rev`` into ``workdir/src-<commit>``, so that one commit is measured
    while the working tree changes (the same as ``bench_store.py --commit``)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    dest = workdir / f"src-{commit}"
    if not (dest / "icv_permits" / "__init__.py").is_file():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit, dest


def run_child(mode: str, args, backend: str = "sqlite") -> dict:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--backend", backend, "--n", str(args.n),
            "--sample", str(args.sample), "--jobs", str(args.jobs), "--batch", str(args.batch), "--verify-runs", str(args.verify_runs),
            "--workdir", str(args.workdir), "--pg-url", args.pg_url]
    argv += [f for f, on in (("--rebuild", args.rebuild), ("--skip-profile", args.skip_profile), ("--skip-prototypes", args.skip_prototypes),
                             ("--skip-parallel", args.skip_parallel)) if on]
    env = dict(os.environ)
    env["ICV_PERMITS_SECRET_KEY"] = BENCH_KEY
    for k in ("ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_NOW", "ICV_PERMITS_KEY_FILE", "ICV_PERMITS_LANG", "ICV_PERMITS_RULES_DIR"):
        env.pop(k, None)
    if getattr(args, "source", None):
        env["PYTHONPATH"] = str(args.source) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
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


def _met(value: float, goal: float) -> str:
    return f"**met** ({value / goal:.2f}× the goal)" if value >= goal else f"**not met** ({value / goal:.2f}× the goal; {goal / value:.1f}× too slow)"


def report(out: dict) -> str:
    m = out["machine"]
    n = out["n"]
    L = [f"# Decision log benchmark: n = {n:,}, sample = {out['sample']:,}, jobs = {out['jobs']}", "",
         (f"measured: {out['measured']}; " if out.get("measured", "working tree") != "working tree" else
          f"working tree at commit {m['git'].get('commit', '?')} (library files modified: {m['git'].get('dirty_library_files') or 'none'}); ")
         + f"library `{out['verify'].get('sqlite', {}).get('library', out.get('replay', {}).get('library', '?'))}`; "
         f"{m['nproc']} CPUs ({m['cpu_model']}), {m['memory']}; Python {m['python']}; {m['date']}", ""]
    b = out["build"]
    lg = b["log"]
    L += [f"Log: {lg['records']:,} engine_decision records from {len(b['templates']['examples'])} example decisions; bodies "
          f"{lg['body_bytes'] / 2**30:.2f} GiB UTF-8 (mean {lg['body_bytes_mean'] / 1024:.1f} KiB, {lg['body_bytes_min'] / 1024:.1f}–{lg['body_bytes_max'] / 1024:.1f} KiB); "
          f"SQLite file {lg['file_bytes'] / 2**30:.2f} GiB. "
          f"Built with `ledger.append` in {b['build']['wall_s']:.0f} s ({b['build']['per_second']:,.0f} appends/s, batches of {b['build']['batch']:,}).", ""]
    if b.get("reused"):
        L += ["(The log was reused from an earlier run; the build time is that run's.)", ""]

    ver = out.get("verify", {})
    if ver:
        L += ["## Verify", "", "| | " + " | ".join(ver) + " |", "|---|" + "---:|" * len(ver)]

        def row(label, fn):
            vals = []
            for bk in ver:
                try:
                    vals.append(fn(ver[bk]))
                except (KeyError, TypeError, ZeroDivisionError):
                    vals.append("—")
            L.append(f"| {label} | " + " | ".join(vals) + " |")

        row("load average 1 min (start → end)", lambda r: f"{r['loadavg_start'][0]:.2f} → {r['loadavg_end'][0]:.2f}")
        row("`ledger.verify(store)` runs, s", lambda r: " / ".join(f"{x:.2f}" for x in r["verify"]["runs_s"]))
        row(f"**records/s, one process (median run)** — goal ≥ {GOAL_VERIFY_PER_S:,}", lambda r: f"**{r['verify']['per_second_median']:,.0f}**")
        row("records/s, one process (best run)", lambda r: f"{r['verify']['per_second_best']:,.0f}")
        row("floor (DB-API rows, every hashed column and the hash as bytes, SHA-256 of each row; alternating with verify's runs), s",
            lambda r: " / ".join(f"{x:.2f}" for x in r["verify"]["floor_runs_s"]))
        row("floor, records/s (median run)", lambda r: f"{r['verify']['floor_per_second_median']:,.0f}")
        row(f"**verify ÷ floor (median of the run pairs)** — goal ≤ {GOAL_VERIFY_FLOOR_RATIO}",
            lambda r: f"**{r['verify']['ratio_median']:.2f}** (" + " / ".join(f"{x:.2f}" for x in r["verify"]["ratios"]) + ")")
        row("µs per record (median run)", lambda r: f"{r['verify']['median_s'] / n * 1e6:.1f}")
        row("CPU s of the verify process (median run) → records per CPU-second",
            lambda r: f"{statistics.median(r['verify']['cpu_s']):.2f} → {n / statistics.median(r['verify']['cpu_s']):,.0f}")
        row(f"`ledger.verify(store, jobs={out['jobs']})` runs, s", lambda r: " / ".join(f"{x:.2f}" for x in r["verify_jobs"]["runs_s"]))
        row(f"**records/s, jobs={out['jobs']} (median run)**", lambda r: f"**{r['verify_jobs']['per_second_median']:,.0f}**")
        row(f"records/s, jobs={out['jobs']} (best run)", lambda r: f"{r['verify_jobs']['per_second_best']:,.0f}")
        row("read: DB-API cursor alone, body as `str`, s", lambda r: f"{r['breakdown']['driver_rows_text_s']:.2f}")
        row("read: DB-API cursor alone, body as UTF-8 bytes, s", lambda r: f"{r['breakdown']['driver_rows_bytes_s']:.2f}")
        row("read: the product's path alone, s", lambda r: f"`{r['breakdown']['read_path']}` {r['breakdown']['product_read_s']:.2f}")
        row("read: `iter_records` alone (body as `str`; used by replay), s", lambda r: f"{r['breakdown']['iter_records_s']:.2f}")
        row("split pass: reading, s", lambda r: f"{r['breakdown']['split']['read_s']:.2f}")
        row("split pass: `record_hash`, s", lambda r: f"{r['breakdown']['split']['record_hash_s']:.2f}")
        row("(for comparison) `sha256` of the body bytes alone, s", lambda r: f"{r['breakdown']['split']['sha256_body_only_s']:.2f}")
        row("prototype: DB-API rows, bytes, incremental sha256 — records/s", lambda r: f"{n / r['prototypes']['dbapi_bytes']['wall_s']:,.0f}")
        row(f"prototype: the same, hashing on {out['jobs']} threads — records/s", lambda r: f"{n / r['prototypes']['dbapi_bytes_threads']['wall_s']:,.0f}")
        row("peak RSS of the verify process, MiB", lambda r: f"{r['rss_after_verify_mib']:.1f} (all steps: {r['rss_peak_mib']:.1f})")
        L.append("")
        for bk, r in ver.items():
            if "profile" in r:
                p = r["profile"]
                L += [f"cProfile of `ledger.verify` ({bk}, {p['wall_s']:.1f} s under the profiler), self time by package: "
                      + ", ".join(f"{k} {v:.2f} s ({100 * v / p['profiled_s']:.0f} %)" for k, v in list(p["by_package"].items())[:10]), ""]
                L += ["| largest self times | calls | self s |", "|---|---:|---:|"]
                L += [f"| `{x['func']}` | {x['ncalls']:,} | {x['tottime']:.2f} |" for x in p["top_self"][:10]]
                L.append("")
        if "postgresql" in ver and "pg" in out:
            pg = out["pg"]
            L += [f"PostgreSQL: {pg['facts']}; schema size {pg['size']['bytes'] / 2**30:.2f} GiB"
                  + (f"; records copied in {pg['copy_s']:.0f} s" if pg.get("copy_s") else " (reused)"), ""]

    rp = out.get("replay")
    if rp:
        r = rp["replay"]
        L += ["## Replay", "",
              f"One process, `ledger.replay(store)` over the first {out['sample']:,} decisions: **{r['per_second']:,.0f} decisions/s** "
              f"({r['ms_per_decision']:.2f} ms each); **{r['per_cpu_second']:,.0f} decisions per CPU-second** of the process — goal ≥ {GOAL_REPLAY_PER_CPU_S:,}: "
              + _met(r["per_cpu_second"], GOAL_REPLAY_PER_CPU_S) + f". Load average {rp['loadavg_start'][0]:.2f} → {rp['loadavg_end'][0]:.2f}.", "",
              "| step of `replay_record`, timed alone on the same records | ms per decision |", "|---|---:|"]
        L += [f"| {k} | {v:.3f} |" for k, v in rp["steps_ms_per_decision"].items()]
        L += [f"| **sum** | **{sum(rp['steps_ms_per_decision'].values()):.3f}** |", "",
              f"(`Decision.model_validate` of the whole recorded decision, which `replay_record` did before commit 0097a7b: "
              f"{rp['decision_model_validate_ms']:.3f} ms. Findings per decision: {rp['findings_per_decision']['mean']:.0f} on average, "
              f"{rp['findings_per_decision']['min']}–{rp['findings_per_decision']['max']}.)", ""]
        if "prototype" in rp:
            p = rp["prototype"]
            L += [f"Prototype `replay_record` (body parsed once), A/B against the product's per-record work in `replay` on the same records, "
                  f"alternating rounds: {p['prototype']['per_cpu_second']:,.0f} vs {p['product']['per_cpu_second']:,.0f} decisions per CPU-second "
                  f"({p['prototype']['per_second']:,.0f} vs {p['product']['per_second']:,.0f}/s wall; results identical: {p['same_results']}).", ""]
        if "profile" in rp:
            p = rp["profile"]
            L += [f"cProfile of `ledger.replay` over {rp['profile_n']:,} decisions ({p['wall_s']:.1f} s under the profiler), self time by package: "
                  + ", ".join(f"{k} {v:.2f} s ({100 * v / p['profiled_s']:.0f} %)" for k, v in list(p["by_package"].items())[:10]), "",
                  "| largest cumulative times | calls | cum s | self s |", "|---|---:|---:|---:|"]
            L += [f"| `{x['func']}` | {x['ncalls']:,} | {x['cumtime']:.2f} | {x['tottime']:.2f} |" for x in p["top_cum"][:16]]
            L.append("")
        if "parallel_prework" in rp:
            pw = rp["parallel_prework"]
            L += [f"`replay_parallel`'s work in the parent before any worker starts (all {pw['records']:,} records read and each body "
                  f"parsed with `json.loads` to find {pw['revisions']} pack revision(s)): {pw['wall_s']:.1f} s, of which json.loads {pw['json_loads_s']:.1f} s; "
                  f"the list of records it keeps holds {pw['body_str_bytes_held'] / 2**30:.2f} GiB of body strings.", ""]
    for key, title in (("replay_parallel", "`ledger.replay_parallel`"), ("replay_parallel_proto", "prototype: range workers + cheaper `replay_record`")):
        rr = out.get(key)
        if not rr or "result" not in rr:
            continue
        r = rr["result"]
        mem = r["memory_sampled_peaks"]
        line = (f"{title}, jobs={rr['jobs']}, all {r['decisions']:,} decisions: **{r['per_second']:,.0f} decisions/s** in {r['wall_s']:.1f} s "
                f"(first result after {r['first_result_s']:.1f} s; {r['after_first_per_second']:,.0f}/s after it); "
                f"{r['cores_used']:.2f} cores busy (parent {r['parent_cpu_s']:.0f} CPU-s, workers {r['workers_cpu_s']:.0f} CPU-s: "
                f"{(r['parent_cpu_s'] + r['workers_cpu_s']) / r['decisions'] * 1e3:.2f} CPU-ms per decision); "
                f"peak RSS parent {r['rss_peak_self_mib']:,.0f} MiB, largest worker {r['rss_peak_children_max_mib']:,.0f} MiB (counts pages shared with the parent); "
                f"sampled peaks: parent + workers PSS {mem['total_pss_mib']:,.0f} MiB (every {mem['samples'] // max(1, mem['pss_samples'])} samples), "
                f"RSS sum {mem['total_rss_mib']:,.0f} MiB (sampler's own CPU {mem['sampler_cpu_s']:.1f} s). "
                f"Load average {rr['loadavg_start'][0]:.2f} → {rr['loadavg_end'][0]:.2f}.")
        if key == "replay_parallel":
            line += f" Goal ≥ {GOAL_REPLAY_PER_CORE_S * rr['jobs']:,}/s on {rr['jobs']} cores: " + _met(r["per_second"], GOAL_REPLAY_PER_CORE_S * rr["jobs"]) + "."
        L += [line, ""]
    return "\n".join(L)


def run_pairs(args, argv: list[str]) -> int:
    """``--pairs K --baseline REV``: this benchmark run 2·K times, the baseline commit and the
    working tree alternately (B A A B B A …, so that neither always runs first on a warming or
    cooling machine), each a whole run of its own with ``--json``; then one table of the figures
    of each run, their medians and the ratios after ÷ before."""
    rest = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--pairs", "--baseline", "--json", "--commit"):
            skip = True
            continue
        if a.startswith(("--pairs=", "--baseline=", "--json=", "--commit=")):
            continue
        rest.append(a)
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    loads = []
    for i in range(args.pairs):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")
        for which in order:
            out_json = Path(args.workdir) / f"pair-{i + 1}-{which}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), *rest, "--json", str(out_json)]
            if which == "before":
                cmd += ["--commit", args.baseline]
            log(f"pair {i + 1}/{args.pairs}: {which}")
            loads.append(os.getloadavg()[0])
            proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
            if proc.returncode:
                sys.exit(f"run {which} {i + 1} failed ({proc.returncode})")
            runs[which].append(json.loads(out_json.read_text(encoding="utf-8")))

    def fig(o: dict) -> dict:
        f = {}
        for bk, r in o.get("verify", {}).items():
            v = r["verify"]
            f[f"verify {bk}, records/s"] = v["per_second_median"]
            f[f"verify {bk}, records per CPU-second"] = o["n"] / statistics.median(v["cpu_s"])
            if "floor_per_second_median" in v:
                f[f"floor {bk} (raw read + SHA-256), records/s"] = v["floor_per_second_median"]
                f[f"verify ÷ floor, {bk}"] = v["ratio_median"]
        if "replay" in o:
            f["replay, decisions per CPU-second"] = o["replay"]["replay"]["per_cpu_second"]
            f["replay, decisions/s (wall)"] = o["replay"]["replay"]["per_second"]
        return f

    figs = {w: [fig(o) for o in rs] for w, rs in runs.items()}
    keys = list(dict.fromkeys(k for w in ("after", "before") for f in figs[w] for k in f))
    m = machine_info()
    L = [f"# Audit: verify at the floor, replay — before/after, {args.pairs} pairs", "",
         f"before: `{args.baseline}`; after: the working tree at {m['git'].get('commit', '?')}; n = {args.n:,}, replay sample {args.sample:,}; "
         f"{m['nproc']} CPUs ({m['cpu_model']}), {m['memory']}; Python {m['python']}; {m['date']}; "
         f"load average (1 min) at the start of each run: {', '.join(f'{x:.2f}' for x in loads)}", "",
         "| figure | before, each run | after, each run | before (median) | after (median) | after ÷ before | goal |",
         "|---|---|---|---:|---:|---:|---|"]
    goals = {"verify ÷ floor": f"≤ {GOAL_VERIFY_FLOOR_RATIO}", "replay, decisions per CPU": f"≥ {GOAL_REPLAY_PER_CPU_S:,}", "verify sqlite": f"≥ {GOAL_VERIFY_PER_S:,}",
             "verify postgresql": f"≥ {GOAL_VERIFY_PER_S:,}"}
    for k in keys:
        b = [f[k] for f in figs["before"] if k in f]
        a = [f[k] for f in figs["after"] if k in f]
        fmt = (lambda x: f"{x:.2f}") if "÷" in k else (lambda x: f"{x:,.0f}")
        bm = statistics.median(b) if b else None
        am = statistics.median(a) if a else None
        goal = next((g for p, g in goals.items() if k.startswith(p)), "")
        L.append(f"| {k} | {' / '.join(fmt(x) for x in b) or '—'} | {' / '.join(fmt(x) for x in a) or '—'} | "
                 f"{fmt(bm) if bm is not None else '—'} | {fmt(am) if am is not None else '—'} | "
                 f"{f'{am / bm:.2f}' if am is not None and bm else '—'} | {goal} |")
    print("\n".join(L))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "figures": figs, "loads": loads}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="engine decisions in the log (default 100000)")
    ap.add_argument("--sample", type=int, default=5_000, help="decisions replayed by one process (default 5000)")
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), help="processes for replay_parallel (default: every core)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both",
                    help="where to verify (default both; replay runs on SQLite)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help=f"PostgreSQL database to create the schema {PG_SCHEMA} in (default {DEFAULT_PG_URL})")
    ap.add_argument("--batch", type=int, default=1000, help="records per write transaction when building the log (default 1000)")
    ap.add_argument("--verify-runs", type=int, default=3, help="timed runs of ledger.verify per backend (default 3)")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"folder of the SQLite log (default {DEFAULT_WORKDIR})")
    ap.add_argument("--rebuild", action="store_true", help="build the log again even if an identical one exists")
    ap.add_argument("--commit", metavar="REV", help="measure this commit (a `git archive` of it on PYTHONPATH) instead of the working tree")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    ap.add_argument("--steps", default="verify,replay,parallel",
                    help="what to measure after building the log: any of verify, replay, parallel (default all three)")
    ap.add_argument("--skip-profile", action="store_true", help="no cProfile runs")
    ap.add_argument("--skip-prototypes", action="store_true", help="no prototype variants")
    ap.add_argument("--skip-parallel", action="store_true", help="no replay over all cores")
    ap.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    ap.add_argument("--quick", action="store_true", help="n=5000, sample=500, 1 verify run (smoke run)")
    ap.add_argument("--child", choices=("build", "pg-load", "pg-drop", "verify", "replay", "replay-parallel", "replay-parallel-proto"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--pairs", type=int, default=0, metavar="K",
                    help="run K pairs: --baseline and the working tree alternately, whole runs each, then a table of both (see run_pairs)")
    ap.add_argument("--baseline", default="87a00d5", metavar="REV", help="the commit --pairs compares with (default 87a00d5)")
    args = ap.parse_args(argv)
    if args.pairs and not args.child:
        return run_pairs(args, list(sys.argv[1:] if argv is None else argv))
    if args.quick:
        args.n, args.sample, args.verify_runs = min(args.n, 5000), min(args.sample, 500), 1
    args.workdir.mkdir(parents=True, exist_ok=True)

    if args.child:
        {"build": child_build, "pg-load": child_pg_load, "pg-drop": child_pg_drop, "replay": child_replay,
         "replay-parallel": child_replay_parallel, "replay-parallel-proto": child_replay_parallel}[args.child](args) \
            if args.child != "verify" else child_verify(args, args.backend)
        return 0

    args.source = None
    measured = "working tree"
    if args.commit:
        commit, args.source = snapshot_source(args.commit, args.workdir)
        measured = f"commit {commit} (git archive in {args.source})"
    log(f"measuring {measured}")
    out: dict = {"machine": machine_info(), "measured": measured, "n": args.n, "sample": args.sample, "jobs": args.jobs,
                 "goals": {"verify_records_per_s": GOAL_VERIFY_PER_S, "verify_floor_ratio": GOAL_VERIFY_FLOOR_RATIO,
                           "replay_decisions_per_cpu_second": GOAL_REPLAY_PER_CPU_S, "replay_decisions_per_s_per_core": GOAL_REPLAY_PER_CORE_S}}
    log(f"building (or reusing) the log of {args.n:,} records in {args.workdir}")
    out["build"] = run_child("build", args)
    steps = {x.strip() for x in args.steps.split(",") if x.strip()}
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    out["verify"] = {}
    for bk in backends if "verify" in steps else []:
        if bk == "postgresql":
            try:
                out["pg"] = run_child("pg-load", args)
            except SystemExit as exc:
                log(f"PostgreSQL skipped: {str(exc)[:500]}")
                out["pg_skipped"] = str(exc)[:500]
                continue
        out["verify"][bk] = run_child("verify", args, bk)
    if "pg" in out and not args.keep:
        run_child("pg-drop", args)
    if "replay" in steps:
        out["replay"] = run_child("replay", args)
    if "parallel" in steps and not args.skip_parallel:
        out["replay_parallel"] = run_child("replay-parallel", args)
        if not args.skip_prototypes:
            out["replay_parallel_proto"] = run_child("replay-parallel-proto", args)
    v = out["verify"].get("sqlite") or next(iter(out["verify"].values()), None)
    out["goal_status"] = {
        "verify": None if v is None else v["verify"]["per_second_median"] >= GOAL_VERIFY_PER_S,
        "verify_all_cores": None if v is None or "verify_jobs" not in v else v["verify_jobs"]["per_second_median"] >= GOAL_VERIFY_PER_S,
        "verify_floor_ratio": None if v is None or "ratio_median" not in v["verify"] else v["verify"]["ratio_median"] <= GOAL_VERIFY_FLOOR_RATIO,
        "replay_per_cpu_second": None if "replay" not in out else out["replay"]["replay"]["per_cpu_second"] >= GOAL_REPLAY_PER_CPU_S,
        "replay_all_cores": None if "replay_parallel" not in out else
        out["replay_parallel"]["result"]["per_second"] >= GOAL_REPLAY_PER_CORE_S * args.jobs,
    }
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

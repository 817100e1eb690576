"""Benchmark of the decision log's record formats (not a test): engine-decision records written whole
(record format 1) against compact ones (record format 2, ``icv_permits/core/log_compact.py``) — their
size, ``audit verify`` records/s and ``audit replay`` decisions per CPU-second — side by side in one
run, as ratios to the baseline.

Run from the repository root::

    .venv/bin/python bench/bench_log_format.py                       # n=10000, sample=500, 3 rounds (~10 min on a loaded 2-vCPU VM)
    .venv/bin/python bench/bench_log_format.py --quick               # n=1000, sample=100, 1 round (smoke run)
    .venv/bin/python bench/bench_log_format.py --json out.json       # also write the figures as JSON
    .venv/bin/python bench/bench_log_format.py --backend sqlite      # verify on SQLite only (default: SQLite and PostgreSQL)

What it does (see ``docs/benchmarks.md``, section "Decision log: record format 2"):

1. **templates** (the working tree's code): every example of ``examples/expected.yaml`` and
   ``bench/data/app-5x5.yaml`` submitted with ``office.submit`` into a scratch SQLite store (a fixed
   clock at 2026-11-27 10:00 Asia/Shanghai, the default pack, a bench-only key) and decided with
   ``office.decide`` (approved when the engine finds it compliant, else returned with a reason):
   38 engine decisions, written in format 2. Their format-1 bodies are ``log_compact.expand_body``
   of them — byte for byte what the code before format 2 wrote (the office writes format 2 only
   when that expansion gives back the decision's digest). Sizes are the bytes of the canonical body
   (``decision_log.body``): median, mean and p95 (nearest rank) for app-5x5's two records and for
   the examples' 36, each format.
2. **build**: two SQLite logs of ``--n`` engine-decision records, one of each format, the same
   templates in the same order (``ledger.append`` in transactions of ``--batch``; submission id,
   engine run id and clock varied per record, as ``bench_ledger.py`` does). With
   ``--backend both``, each is copied row for row into a PostgreSQL schema.
3. **measure**, in alternating rounds (each configuration once per round, the order rotating):

   * ``before``: the code of ``--base`` (default ``826db32``, main before format 2; a ``git
     archive`` of it on ``PYTHONPATH``) on the format-1 log — the baseline;
   * ``old log, new code``: the working tree on the format-1 log (what an office upgraded today
     reads);
   * ``after``: the working tree on the format-2 log.

   Each: ``ledger.verify(store)`` ``--verify-runs`` times (records/s, and per CPU-second of the
   process), on each backend; ``ledger.replay(store)`` of the first ``--sample`` decisions on
   SQLite (decisions per CPU-second, every one checked identical to its record). Every
   measurement runs in a new process, and the 1-minute load average is taken before and after.

The report gives each figure's median over the rounds and its ratio to ``before`` measured in the
same run, the figure least disturbed by the machine's load.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)

DEFAULT_WORKDIR = Path("/tmp/icv-permits-bench/log-format")
DEFAULT_PG_URL = os.environ.get("ICV_PERMITS_TEST_PG_URL") or "postgresql+psycopg://icv:icv@127.0.0.1:5432/icv_test"
PG_SCHEMAS = {"1": "bench_logfmt_1", "2": "bench_logfmt_2"}
BENCH_KEY = "YmVuY2gta2V5LW5vdC1zZWNyZXQtMDEyMzQ1Njc4OWE="  # 32 bytes, benchmark only
NOW = "2026-11-27T10:00:00+08:00"
ACTOR = "bench"
BASE = "826db32"  # main as merged into this branch: the last commit before record format 2
CONFIGS = (("before", "1", "base"), ("old log, new code", "1", "tree"), ("after", "2", "tree"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _result(obj: dict) -> None:
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def _env_setup() -> None:
    os.environ["ICV_PERMITS_SECRET_KEY"] = BENCH_KEY
    os.environ["ICV_PERMITS_TEST_CLOCK"] = "1"
    for k in ("ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_NOW", "ICV_PERMITS_KEY_FILE"):
        os.environ.pop(k, None)


def pg_schema_url(pg_url: str, schema: str) -> str:
    return f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"


def stats(values: list[int]) -> dict:
    s = sorted(values)
    return {"n": len(s), "median": statistics.median(s), "mean": statistics.fmean(s), "p95": s[max(0, -(-95 * len(s) // 100) - 1)],
            "min": s[0], "max": s[-1]}


def _sqlite_path(args, fmt: str) -> Path:
    return Path(args.workdir) / f"log-format{fmt}-{args.n}.db"


def _url(args, fmt: str, backend: str) -> str:
    return f"sqlite:///{_sqlite_path(args, fmt)}" if backend == "sqlite" else pg_schema_url(args.pg_url, PG_SCHEMAS[fmt])


# ------------------------------------------------------------------------------------ child: templates + build


def child_build(args) -> None:
    _env_setup()
    import base64
    import zlib

    import pendulum
    import yaml

    from icv_permits.adapters.packs import load_pack
    from icv_permits.adapters.store import db
    from icv_permits.core import log_compact
    from icv_permits.core.canonical import canonical_json
    from icv_permits.core.pack import DEFAULT_PACK
    from icv_permits.services import audit as ledger
    from icv_permits.services import office
    from icv_permits.services.precheck import FixedClock

    # ---- templates: every example and app-5x5, submitted and decided
    names = list(yaml.safe_load((ROOT / "examples" / "expected.yaml").read_text(encoding="utf-8"))["examples"])
    files = [("examples", ROOT / "examples" / n) for n in names] + [("app-5x5", ROOT / "bench" / "data" / "app-5x5.yaml")]
    path = Path(args.workdir) / "templates.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db.upgrade(f"sqlite:///{path}")
    store = db.open_store(f"sqlite:///{path}")
    clock = FixedClock(pendulum.parse(NOW))
    group_of: dict[int, str] = {}
    for group, f in files:
        r = office.submit(store, f, actor=ACTOR, clock=clock)
        ok = r.decision.verdict.value == "compliant"
        office.decide(store, r.submission.id, "approve" if ok else "return", reason=None if ok else "请补正", actor=ACTOR, clock=clock)
        group_of[r.submission.id] = group
    pack = load_pack(DEFAULT_PACK)
    templates = []
    for rec in ledger.iter_records(store):
        if rec.kind != "engine_decision":
            continue
        new = rec.body
        if new.get("record_format") != 2:
            sys.exit(f"record {rec.seq} was written in format 1: the compact form did not give its decision back")
        old = log_compact.expand_body(new, ledger.pack_from_snapshot(store, new["pack"]["revision"]))
        templates.append({"group": group_of[new["submission_id"]], "purpose": new["purpose"], "1": old, "2": new})
    sizes: dict = {}
    for group in ("app-5x5", "examples", "all"):
        chosen = [t for t in templates if group in ("all", t["group"])]
        sizes[group] = {fmt: stats([len(canonical_json(t[fmt]).encode("utf-8")) for t in chosen]) for fmt in ("1", "2")}
    for group in ("app-5x5", "examples", "all"):  # for comparison: format 1 deflated whole (level 9, base64 as in format 2)
        chosen = [t for t in templates if group in ("all", t["group"])]
        sizes[group]["1z"] = stats([len(base64.b64encode(zlib.compress(canonical_json(t["1"]).encode("utf-8"), 9))) for t in chosen])
    out: dict = {"templates": len(templates), "sizes": sizes}

    # ---- what reading one record costs: its body parsed, and for format 2 rebuilt (digest checked)
    snapshot = ledger.pack_from_snapshot(db.open_store(f"sqlite:///{path}"), pack.revision)
    read: dict = {}
    for group in ("app-5x5", "examples"):
        chosen = [t for t in templates if t["group"] == group]
        texts = {fmt: [canonical_json(t[fmt]) for t in chosen] for fmt in ("1", "2")}
        read[group] = {}
        for fmt in ("1", "2"):
            reps = max(1, 400 // len(chosen))
            t0 = time.perf_counter()
            for _ in range(reps):
                for text in texts[fmt]:
                    log_compact.expand(json.loads(text), snapshot)
            read[group][fmt] = (time.perf_counter() - t0) / (reps * len(chosen)) * 1e3
        one = json.loads(texts["2"][0])
        t0 = time.perf_counter()
        for _ in range(reps):
            for text in texts["2"]:
                log_compact.unseal(json.loads(text)["deflated"])
        read[group]["2_unseal"] = (time.perf_counter() - t0) / (reps * len(chosen)) * 1e3
        read[group]["2_inflated_bytes"] = statistics.median(len(canonical_json(log_compact.unseal(json.loads(x)["deflated"])).encode()) for x in texts["2"])
        del one
    out["read_ms_per_record"] = read
    db.dispose_all()

    # ---- two logs of n records, one per format
    revisions = {t["2"]["pack"]["revision"] for t in templates}
    if revisions != {pack.revision}:
        sys.exit(f"the templates name pack revisions {revisions}, the default pack is {pack.revision}")
    utc = pendulum.parse(NOW).in_timezone("UTC")
    base = _dt.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, tzinfo=_dt.timezone.utc)
    out["logs"] = {}
    for fmt in ("1", "2"):
        p = _sqlite_path(args, fmt)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(p) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{p}"
        db.upgrade(url)
        s_ = db.open_store(url)
        with s_.write() as s:
            ledger.snapshot_pack(s, pack, base)
        t0 = time.perf_counter()
        for lo in range(0, args.n, args.batch):
            with s_.write() as s:
                for i in range(lo, min(args.n, lo + args.batch)):
                    now = base + _dt.timedelta(seconds=i * 2.5, microseconds=(i * 7919) % 1_000_000)
                    body = dict(templates[i % len(templates)][fmt])
                    body.update(submission_id=i + 1, engine_run_id=i + 1, clock=ledger.utc_timestamp(now))
                    ledger.append(s, "engine_decision", body, now)
        with s_.engine.connect() as conn:
            n, total = conn.exec_driver_sql("SELECT COUNT(*), SUM(LENGTH(CAST(body AS BLOB))) FROM decision_log").one()
        db.dispose_all()
        out["logs"][fmt] = {"records": n, "body_bytes": total, "file_bytes": p.stat().st_size, "build_s": time.perf_counter() - t0}
        log(f"build: format {fmt}, {n:,} records, {total / 2**20:.1f} MiB of bodies, file {p.stat().st_size / 2**20:.1f} MiB")
    _result(out)


def child_pg_load(args) -> None:
    """Copy both SQLite logs row for row into their PostgreSQL schemas (migrated by ``db.upgrade``),
    as ``audit import`` loads a log: each record behind the head, the head moved to it."""
    _env_setup()
    import sqlalchemy as sa

    from icv_permits.adapters.store import db
    from icv_permits.adapters.store import tables as T

    admin = sa.create_engine(args.pg_url)
    out = {}
    for fmt, schema in PG_SCHEMAS.items():
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = pg_schema_url(args.pg_url, schema)
        db.upgrade(url)
        src, dst = db.open_store(_url(args, fmt, "sqlite")), db.open_store(url)
        with src.read() as s:
            snaps = [dict(r._mapping) for r in s.execute(sa.select(T.PackSnapshot.__table__))]
            rows = [dict(r._mapping) for r in s.execute(sa.select(T.DecisionLog.__table__).order_by(T.DecisionLog.seq))]
        with dst.write() as s:
            s.execute(T.PackSnapshot.__table__.insert(), snaps)
            head = sa.update(T.LogHead.__table__).where(T.LogHead.__table__.c.id == 1)
            for row in rows:  # one at a time behind the head, as audit import does: the log's triggers take nothing else
                s.execute(T.DecisionLog.__table__.insert().values(**row))
                s.execute(head.values(seq=row["seq"], hash=row["hash"]))
        with admin.connect() as conn:
            out[fmt] = {"relation_bytes": conn.exec_driver_sql(f"SELECT pg_total_relation_size('{schema}.decision_log')").scalar()}
        db.dispose_all()
    admin.dispose()
    _result(out)


def child_pg_drop(args) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(args.pg_url)
    with admin.begin() as conn:
        for schema in PG_SCHEMAS.values():
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()
    _result({})


# ------------------------------------------------------------------------------------ child: measure


def child_measure(args) -> None:
    """Verify (every backend) and replay (SQLite) one log with the code on ``PYTHONPATH``."""
    _env_setup()
    import gc
    import itertools

    import icv_permits
    from icv_permits.adapters.store import db
    from icv_permits.services import audit as ledger

    out: dict = {"library": str(Path(icv_permits.__file__).resolve().parent), "verify": {}}
    for backend in args.backends.split(","):
        store = db.open_store(_url(args, args.format, backend), check_schema=False)
        runs = []
        for _ in range(args.verify_runs):
            gc.collect()
            c0, t0 = cpu_s(), time.perf_counter()
            rep = ledger.verify(store)
            wall, cpu = time.perf_counter() - t0, cpu_s() - c0
            if not rep.intact or rep.checked != args.n:
                sys.exit(f"verify {backend}: intact={rep.intact}, checked={rep.checked}")
            # the chain walk alone (reading and hashing every record), without the fixed checks of the
            # pack snapshots and the triggers that verify adds
            c1, t1 = cpu_s(), time.perf_counter()
            walk = ledger._verify_chain(store, from_seq=1, expect_head=None, jobs=1, chunk=25000)
            wall_w, cpu_w = time.perf_counter() - t1, cpu_s() - c1
            if not walk.intact or walk.checked != args.n:
                sys.exit(f"chain walk {backend}: intact={walk.intact}, checked={walk.checked}")
            runs.append({"wall_s": wall, "cpu_s": cpu, "per_second": args.n / wall, "per_cpu_second": args.n / cpu,
                         "walk_per_second": args.n / wall_w, "walk_per_cpu_second": args.n / cpu_w})
        out["verify"][backend] = {"runs": runs, **{k: statistics.median(r[k] for r in runs)
                                                   for k in ("per_second", "per_cpu_second", "walk_per_second", "walk_per_cpu_second")}}
        db.dispose_all()
    store = db.open_store(_url(args, args.format, "sqlite"), check_schema=False)
    m = min(args.sample, args.n)
    gc.collect()
    c0, t0 = cpu_s(), time.perf_counter()
    results = list(itertools.islice(ledger.replay(store), m))
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    bad = [r for r in results if not r.match or r.error]
    if len(results) != m or bad:
        sys.exit(f"replay: {len(results)} results, {len(bad)} not identical, e.g. {bad[0].to_json() if bad else ''}")
    out["replay"] = {"decisions": m, "wall_s": wall, "cpu_s": cpu, "per_second": m / wall, "per_cpu_second": m / cpu}
    _result(out)


# ------------------------------------------------------------------------------------ orchestrator


def snapshot_source(rev: str, workdir: Path) -> tuple[str, Path]:
    """``git archive`` of ``rev`` into ``workdir/src-<commit>`` (as ``bench_ledger.py --commit``)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    dest = workdir / f"src-{commit}"
    if not (dest / "icv_permits" / "__init__.py").is_file():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit, dest


def run_child(mode: str, args, *, source: Path | None = None, fmt: str = "1", backends: str = "sqlite") -> dict:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--n", str(args.n), "--sample", str(args.sample),
            "--batch", str(args.batch), "--verify-runs", str(args.verify_runs), "--workdir", str(args.workdir), "--pg-url", args.pg_url,
            "--format", fmt, "--backends", backends]
    env = dict(os.environ)
    for k in ("ICV_PERMITS_DATABASE_URL", "ICV_PERMITS_NOW", "ICV_PERMITS_KEY_FILE", "ICV_PERMITS_LANG", "ICV_PERMITS_RULES_DIR"):
        env.pop(k, None)
    if source is not None:
        env["PYTHONPATH"] = str(source) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    la0 = os.getloadavg()[0]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=None, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"child {mode} failed with exit code {proc.returncode}:\n{proc.stdout[-3000:]}")
    res = next((json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")), None)
    if res is None:
        sys.exit(f"no result from child {mode}:\n{proc.stdout[-3000:]}")
    res["loadavg_1min"] = [la0, os.getloadavg()[0]]
    return res


def _kb(x: float) -> str:
    return f"{x / 1000:,.1f} kB"


def report(out: dict) -> str:
    lines = ["# Decision log: record format 1 (whole) vs 2 (compact)", ""]
    m = out["machine"]
    lines += [f"Machine: {m['nproc']} × {m['cpu_model']}, {m['memory']}, Python {m['python']}, {m['platform']}; measured {m['date']}, "
              f"working tree at {m['git'].get('commit')} (library files changed: {', '.join(m['git'].get('dirty_library_files') or []) or 'none'}); "
              f"before = {out['base']}.", ""]
    lines += ["## Record size (bytes of the canonical body)", "",
              "| records | | format 1 | format 2 | 2 ÷ 1 | format 1 deflated whole¹ |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for group, label in (("app-5x5", "app-5x5, submit + decide (2)"), ("examples", f"examples, submit + decide ({out['build']['sizes']['examples']['1']['n']})"),
                         ("all", f"all ({out['build']['sizes']['all']['1']['n']})")):
        s = out["build"]["sizes"][group]
        for k in ("median", "mean", "p95"):
            lines.append(f"| {label} | {k} | {s['1'][k]:,.0f} | {s['2'][k]:,.0f} | {s['2'][k] / s['1'][k]:.3f} | {s['1z'][k]:,.0f} |")
    logs = out["build"]["logs"]
    lines += [f"| log of {out['n']:,} records | SQLite file | {logs['1']['file_bytes']:,} | {logs['2']['file_bytes']:,} | "
              f"{logs['2']['file_bytes'] / logs['1']['file_bytes']:.3f} | |"]
    if "pg" in out:
        pg = out["pg"]
        lines.append(f"| log of {out['n']:,} records | PostgreSQL `pg_total_relation_size` | {pg['1']['relation_bytes']:,} | "
                     f"{pg['2']['relation_bytes']:,} | {pg['2']['relation_bytes'] / pg['1']['relation_bytes']:.3f} | |")
    lines += ["", "¹ not a format: the format-1 body zlib-compressed (level 9) and base64-encoded, as format 2 stores its payload.", ""]
    rd = out["build"]["read_ms_per_record"]
    lines += ["Reading one record (body parsed; format 2 also inflated, rebuilt with the pack snapshot and its digest checked), ms:", "",
              "| records | format 1 | format 2 | of which inflate + parse the payload | payload inflated, bytes |", "| --- | ---: | ---: | ---: | ---: |"]
    for group in ("app-5x5", "examples"):
        lines.append(f"| {group} | {rd[group]['1']:.2f} | {rd[group]['2']:.2f} | {rd[group]['2_unseal']:.2f} | {rd[group]['2_inflated_bytes']:,.0f} |")
    lines.append("")
    lines += [f"## Verify and replay ({out['rounds']} rounds; median over the rounds, ratio to *before*)", "",
              "| figure | " + " | ".join(c[0] for c in CONFIGS) + " |", "| --- | " + " | ".join("---:" for _ in CONFIGS) + " |"]

    def row(label: str, get) -> None:
        vals = {c[0]: statistics.median(get(r) for r in out["runs"][c[0]]) for c in CONFIGS}
        base = vals["before"]
        lines.append(f"| {label} | " + " | ".join(f"{vals[c[0]]:,.0f}" + ("" if c[0] == "before" else f" ({vals[c[0]] / base:.2f}×)") for c in CONFIGS) + " |")

    for bk in out["backends"]:
        row(f"`audit verify` records/s, {bk}", lambda r, bk=bk: r["verify"][bk]["per_second"])
        row(f"`audit verify` records per CPU-second, {bk}", lambda r, bk=bk: r["verify"][bk]["per_cpu_second"])
        row(f"chain walk alone, records/s, {bk}", lambda r, bk=bk: r["verify"][bk]["walk_per_second"])
    row("`audit replay` decisions per CPU-second (SQLite)", lambda r: r["replay"]["per_cpu_second"])
    row("`audit replay` decisions/s (SQLite)", lambda r: r["replay"]["per_second"])
    lines += ["", "1-minute load average before → after each measurement, per round:", "",
              "| round | " + " | ".join(c[0] for c in CONFIGS) + " |", "| ---: | " + " | ".join("---" for _ in CONFIGS) + " |"]
    for i in range(out["rounds"]):
        lines.append(f"| {i + 1} | " + " | ".join("{:.2f} → {:.2f}".format(*out["runs"][c[0]][i]["loadavg_1min"]) for c in CONFIGS) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="engine decisions per log (default 10000)")
    ap.add_argument("--sample", type=int, default=500, help="decisions replayed per measurement (default 500)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of the three configurations (default 3)")
    ap.add_argument("--verify-runs", type=int, default=3, help="timed runs of ledger.verify per measurement (default 3)")
    ap.add_argument("--batch", type=int, default=500, help="records per write transaction when building (default 500)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both", help="where to verify (default both; replay runs on SQLite)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL database for the schemas " + ", ".join(PG_SCHEMAS.values()))
    ap.add_argument("--base", default=BASE, help=f"the commit measured as *before* (default {BASE})")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"scratch folder (default {DEFAULT_WORKDIR})")
    ap.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    ap.add_argument("--quick", action="store_true", help="n=1000, sample=100, 1 round, 1 verify run (smoke run)")
    ap.add_argument("--child", choices=("build", "pg-load", "pg-drop", "measure"), help=argparse.SUPPRESS)
    ap.add_argument("--format", default="1", help=argparse.SUPPRESS)
    ap.add_argument("--backends", default="sqlite", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.sample, args.rounds, args.verify_runs = min(args.n, 1000), min(args.sample, 100), 1, 1
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        {"build": child_build, "pg-load": child_pg_load, "pg-drop": child_pg_drop, "measure": child_measure}[args.child](args)
        return 0

    commit, source = snapshot_source(args.base, args.workdir)
    out: dict = {"machine": machine_info(), "base": f"commit {commit} (git archive in {source})", "n": args.n, "sample": args.sample,
                 "rounds": args.rounds, "loadavg_start": os.getloadavg()}
    log(f"templates and two logs of {args.n:,} records in {args.workdir}")
    out["build"] = run_child("build", args)
    backends = ["sqlite"]
    if args.backend in ("postgresql", "both"):
        try:
            out["pg"] = run_child("pg-load", args)
            backends = ["sqlite", "postgresql"]  # replay runs on SQLite either way
        except SystemExit as exc:
            log(f"PostgreSQL skipped: {str(exc)[:300]}")
            out["pg_skipped"] = str(exc)[:300]
    out["backends"] = backends
    out["runs"] = {c[0]: [] for c in CONFIGS}
    for i in range(args.rounds):
        order = CONFIGS[i % 3:] + CONFIGS[:i % 3]
        for label, fmt, code in order:
            res = run_child("measure", args, source=source if code == "base" else None, fmt=fmt, backends=",".join(backends))
            expect = str(source / "icv_permits") if code == "base" else str(ROOT / "icv_permits")
            if Path(res["library"]) != Path(expect):
                sys.exit(f"{label}: measured the library in {res['library']}, not {expect}")
            out["runs"][label].append(res)
            v = res["verify"]["sqlite"]
            log(f"round {i + 1} {label}: verify {v['per_second']:,.0f}/s, replay {res['replay']['per_cpu_second']:,.0f}/CPU-s "
                f"(load {res['loadavg_1min'][0]:.2f} → {res['loadavg_1min'][1]:.2f})")
    if "pg" in out:
        run_child("pg-drop", args)
    out["loadavg_end"] = os.getloadavg()
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of ``icv-permits audit import`` on a large export: peak memory and time (not a test).

Run from the repository root::

    .venv/bin/python bench/bench_import.py                       # 50 MB export, SQLite and PostgreSQL, this tree and main
    .venv/bin/python bench/bench_import.py --size-mb 5 --backend sqlite --base ''   # quick, this tree only

What it does (see ``docs/benchmarks.md``, section "audit import"):

1. **Templates.** ``examples/da-compliant.yaml`` is submitted and approved, and
   ``examples/fail-liability-4999999.yaml`` submitted and returned with a reason, into a scratch
   SQLite store (default pack, a fixed clock, a key used only by benchmarks): eight records of the
   four kinds the office writes, and the pack snapshot.
2. **The export.** Those records repeated with new decision IDs, submission ids, engine run ids and
   times (one second apart), every submission and review naming its new engine decision, the chain
   recomputed, until the file holds ``--size-mb`` MB; the header states the head. Written once to
   ``--workdir`` and reused while its size is the same. ``--record-format 1`` writes the engine
   decisions whole, as logs written before record format 2 hold them (about 30 kB each).
3. **Import.** Each configuration imports the file into a fresh database in a new process
   (``icv-permits audit import FILE``; SQLite in ``--workdir``, PostgreSQL in a schema of its own),
   timed; the peak RSS is the child's ``ru_maxrss``. *before* is ``--base`` (a ``git archive`` of that
   commit on ``PYTHONPATH``), *after* this tree. Every import must exit 0 with every record loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "YmVuY2gta2V5LW5vdC1zZWNyZXQtMDEyMzQ1Njc4OWE="  # 32 bytes, benchmark only
DEFAULT_PG = os.environ.get("ICV_PERMITS_TEST_PG_URL", "postgresql+psycopg://icv:icv@127.0.0.1:5432/icv_test")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def templates(workdir: Path, record_format: int = 2) -> list[str]:
    """The lines of an export of eight real records (and the pack snapshot), header first; with
    ``record_format`` 1 the engine decisions written whole, as before record format 2."""
    sys.path.insert(0, str(ROOT))
    os.environ["ICV_PERMITS_SECRET_KEY"] = BENCH_KEY
    import pendulum

    from icv_permits.adapters.store import db
    from icv_permits.services import audit, office
    from icv_permits.services.precheck import FixedClock

    path = workdir / "templates.db"
    for p in workdir.glob("templates.db*"):
        p.unlink()
    url = f"sqlite:///{path}"
    db.upgrade(url)
    store = db.open_store(url)
    clock = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, 0, tz="Asia/Shanghai"))
    da = office.submit(store, ROOT / "examples" / "da-compliant.yaml", actor="bench", clock=clock)
    office.decide(store, da.submission.id, "approve", reason=None, actor="bench", clock=clock)
    rt = office.submit(store, ROOT / "examples" / "fail-liability-4999999.yaml", actor="bench", clock=clock)
    office.decide(store, rt.submission.id, "return", reason="第三者责任险保额不足，请补正", actor="bench", clock=clock)
    out = workdir / "templates.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        audit.export_jsonl(store, fh)
    lines = out.read_text(encoding="utf-8").splitlines()
    if record_format == 1:
        pack = audit.pack_from_snapshot(store, json.loads(lines[1])["revision"])
        objs = [json.loads(x) for x in lines]
        for o in objs[2:]:
            if o["kind"] == "engine_decision":
                o["body"] = audit.expand_body(o["body"], pack)
        lines = [json.dumps(o, ensure_ascii=False) for o in objs]  # the chain is recomputed by build_export
    db.dispose_all()
    return lines


def build_export(workdir: Path, size_mb: float, record_format: int = 2) -> tuple[Path, int]:
    """The export of about ``size_mb`` MB (reused when already built at that size); its record count."""
    target = workdir / (f"export-{size_mb:g}mb.jsonl" if record_format == 2 else f"export-{size_mb:g}mb-format1.jsonl")
    meta = target.with_suffix(".json")
    if target.exists() and meta.exists():
        return target, json.loads(meta.read_text())["records"]
    sys.path.insert(0, str(ROOT))
    import datetime as dt

    from icv_permits.core.canonical import canonical_json
    from icv_permits.core.log import GENESIS, record_hash

    lines = templates(workdir, record_format)
    snapshot = lines[1]
    recs = [json.loads(x) for x in lines[2:]]
    assert [r["kind"] for r in recs] == ["engine_decision", "submission", "engine_decision", "review"] * 2
    t0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)
    body_file = workdir / "records.part"
    prev, seq, cycle, written = GENESIS, 0, 0, len(lines[0]) + len(snapshot) + 2
    limit = size_mb * 1e6
    with body_file.open("w", encoding="utf-8") as fh:
        while written < limit:
            cycle += 1
            engine_id = None
            for i, r in enumerate(recs):
                seq += 1
                body = json.loads(json.dumps(r["body"]))
                body["submission_id"] = 2 * cycle - 1 + i // 4
                if r["kind"] == "engine_decision":
                    body["engine_run_id"] = seq
                    engine_id = str(uuid.uuid4())
                    did = engine_id
                else:
                    body["engine_decision"] = engine_id
                    did = str(uuid.uuid4())
                at = (t0 + dt.timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                h = record_hash(seq, did, r["kind"], at, r["actor"], canonical_json(body), prev)
                line = json.dumps({"type": "record", "seq": seq, "decision_id": did, "kind": r["kind"], "recorded_at": at, "actor": r["actor"],
                                   "body": body, "prev_hash": prev, "hash": h}, ensure_ascii=False) + "\n"
                fh.write(line)
                written += len(line.encode("utf-8"))
                prev = h
    header = json.dumps({"type": "header", "format": "icv-permits/audit-export/1", "head": {"seq": seq, "hash": prev}})
    with target.open("w", encoding="utf-8") as out, body_file.open(encoding="utf-8") as src:
        out.write(header + "\n" + snapshot + "\n")
        for line in src:
            out.write(line)
    body_file.unlink()
    meta.write_text(json.dumps({"records": seq, "bytes": target.stat().st_size}))
    return target, seq


def base_tree(workdir: Path, commit: str) -> Path:
    """``commit``'s package, extracted once (its own code on PYTHONPATH)."""
    out = workdir / f"base-{commit}"
    if not (out / "icv_permits").exists():
        out.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "icv_permits"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


CHILD = """
import resource, sys, time
import icv_permits
assert icv_permits.__file__.startswith(sys.argv[3]), (icv_permits.__file__, sys.argv[3])
from icv_permits.adapters.store import db
url, path = sys.argv[1], sys.argv[2]
db.upgrade(url)
sys.argv = ["icv-permits", "audit", "import", path, "--lang", "en"]
from icv_permits.cli import main
t = time.perf_counter()
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("BENCH", code, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def run_import(code_path: Path, url: str, export: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICV_PERMITS_")}
    env.update(PYTHONPATH=str(code_path), ICV_PERMITS_SECRET_KEY=BENCH_KEY, ICV_PERMITS_DATABASE_URL=url, ICV_PERMITS_CACHE_DIR=str(export.parent / "cache"))
    t = time.perf_counter()
    # run outside the repository: ``python -c`` puts the working directory before PYTHONPATH on sys.path
    proc = subprocess.run([sys.executable, "-c", CHILD, url, str(export), str(code_path)], env=env, capture_output=True, text=True, cwd=export.parent)
    wall = time.perf_counter() - t
    line = next((x for x in proc.stderr.splitlines() if x.startswith("BENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"import failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    _, exit_code, import_s, maxrss_kib = line.split()
    return {"exit": int(exit_code), "import_s": round(float(import_s), 2), "process_s": round(wall, 2), "peak_rss_mib": round(int(maxrss_kib) / 1024, 1),
            "stdout_tail": proc.stdout.strip().splitlines()[-1:]}


def pg_url(schema: str, base: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def pg_schema(base: str, schema: str, create: bool) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if create:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=50)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/icv-permits-bench/import"))
    ap.add_argument("--base", default="4014687", help="the commit measured as 'before' ('' for none)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--record-format", type=int, choices=(1, 2), default=2, help="engine decisions compact (2, as the office writes them) or whole (1)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    export, n = build_export(args.workdir, args.size_mb, args.record_format)
    log(f"export {export}: {export.stat().st_size:,} bytes, {n:,} records")
    configs = ([("before", base_tree(args.workdir, args.base))] if args.base else []) + [("after", ROOT)]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        for label, code_path in configs:
            if backend == "sqlite":
                db_path = args.workdir / f"target-{label}.db"
                for p in args.workdir.glob(f"target-{label}.db*"):
                    p.unlink()
                url = f"sqlite:///{db_path}"
            else:
                schema = f"bench_import_{label}"
                pg_schema(args.pg_url, schema, True)
                url = pg_url(schema, args.pg_url)
            r = run_import(code_path, url, export)
            if backend == "postgresql":
                pg_schema(args.pg_url, f"bench_import_{label}", False)
            r.update(backend=backend, code=label, records=n, bytes=export.stat().st_size, record_format=args.record_format, load=os.getloadavg()[0])
            log(json.dumps(r, ensure_ascii=False))
            assert r["exit"] == 0, r
            results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

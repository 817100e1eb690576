"""The engine's golden cases: inputs and the decisions recorded for them, byte for byte.

Each case is an engine input — pack, as-of date, the application as the engine saw it (free text
masked as the service masks it), evidence summary, registry facts — with what the engine made of it
when the golden file was written: the decision's canonical JSON in both decision layouts
(``in_format`` 1 and 2, as the log may hold either) and the text reports in Chinese and English
(plus a verbose Chinese one, which shows every finding). ``tests/test_engine_golden.py`` runs every
input through the engine again and compares the bytes.

Cases (deterministic: a seeded ``random.Random``, fixed dates, evidence files written to a
temporary folder and summarised):

- every application in ``examples/`` on several as-of dates, and the do-/da- examples again with
  registry facts (notices on record, VINs elsewhere, driver loads);
- every case of the packs' own ``tests/*.yaml`` (thresholds at their boundaries), with both packs;
- a few hundred applications made from ``tests/builders.py`` baselines with 0–4 random edits each
  (vehicle and driver counts, flags, boundary numbers, missing facts, dates), on as-of dates at the
  packs' effective dates ± 1 day;
- DA applications whose prior testing is proved by trip logs and incident records (evidence summaries
  in format 2, and the same totals as a format-1 summary counted by the reader).

The inputs are stored with the outputs, so the test does not depend on the builders staying as they
are. Regenerate (only when a pack or the engine's output changes on purpose; review the diff of the
decisions then)::

    .venv/bin/python tests/golden_cases.py          # writes tests/golden/engine.jsonl.xz
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import lzma
import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden" / "engine.jsonl.xz"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

LANGS = ("zh", "en")
SEED = 16
GENERATED = 320


# ---------------------------------------------------------------- outputs


def outputs(case: dict[str, Any]) -> dict[str, str | None]:
    """What the engine (and the reports over it) make of one stored input, as text."""
    from icv_permits.adapters.packs import load_pack
    from icv_permits.core.canonical import canonical_json
    from icv_permits.core.engine import evaluate
    from icv_permits.core.engine.decision import DECISION_FORMAT, LEGACY_DECISION_FORMAT
    from icv_permits.core.model.application import Application
    from icv_permits.core.model.evidence import EvidenceSummary
    from icv_permits.core.model.registry import RegistryFacts
    from icv_permits.present.report import render_text

    pack = load_pack(case["pack"])
    app = Application.model_validate(case["app"])
    evidence = EvidenceSummary.model_validate(case["evidence"]) if case["evidence"] is not None else None
    registry = RegistryFacts.model_validate(case["registry"]) if case["registry"] is not None else None
    decision = evaluate(app, pack, dt.date.fromisoformat(case["as_of"]), evidence, registry)
    out: dict[str, str | None] = {
        "decision/2": canonical_json(decision.in_format(DECISION_FORMAT).to_json_dict()),
        "decision/1": canonical_json(decision.in_format(LEGACY_DECISION_FORMAT).to_json_dict()),
    }
    for lang in LANGS:
        out[f"text/{lang}"] = render_text(decision, pack, lang)
    out["text/zh/verbose"] = render_text(decision, pack, "zh", verbose=True)
    return out


def read_golden(path: Path = GOLDEN) -> list[dict[str, Any]]:
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# ---------------------------------------------------------------- inputs


def _engine_app(app) -> dict[str, Any]:
    """The application as the service hands it to the engine (free text masked)."""
    from icv_permits.services.precheck import _text_masked

    return _text_masked(app).model_dump(mode="json")


def _case(name: str, pack: str, as_of: str, app: dict[str, Any], evidence: Any = None, registry: Any = None) -> dict[str, Any]:
    return {"name": name, "pack": pack, "as_of": as_of, "app": app, "evidence": evidence, "registry": registry}


EXAMPLE_DATES = ("2026-11-27", "2021-09-01", "2025-04-07", "2025-04-08", "2026-12-01", "2027-11-30", "2028-06-01")


def example_cases() -> Iterator[dict[str, Any]]:
    from icv_permits.adapters.evidence import summarise
    from icv_permits.adapters.packs import load_pack
    from icv_permits.core.errors import InputError
    from icv_permits.services.precheck import load_application

    packs = {p: load_pack(p) for p in ("anhui-2025", "national-2021")}
    files = sorted(p for p in (ROOT / "examples").glob("*") if p.suffix in (".yaml", ".json") and p.name != "expected.yaml")
    files.append(ROOT / "examples" / "evidence" / "bad-rows.yaml")
    for path in files:
        app = load_application(path)
        doc = _engine_app(app)
        for pack_id, pack in packs.items():
            dates = EXAMPLE_DATES if pack_id == "anhui-2025" else EXAMPLE_DATES[:1]
            for as_of in dates:
                evidence = None
                if app.evidence is not None:
                    try:
                        s = summarise(app, path.parent, pack, dt.date.fromisoformat(as_of), lenient=True)
                    except InputError:
                        continue
                    evidence = s.model_dump(mode="json") if s is not None else None
                yield _case(f"example {path.relative_to(ROOT)} {pack_id} {as_of}", pack_id, as_of, doc, evidence)
        if path.name.startswith(("do-", "da-", "rt-")) and app.evidence is None:
            for variant, registry in _registries(doc).items():
                yield _case(f"example {path.name} registry {variant}", "anhui-2025", "2026-11-27", doc, None, registry)


def _registries(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Registry facts for a review of ``doc``: its home notices on record, none, VINs elsewhere, loaded drivers."""
    vins = [v["vin"] for v in doc["vehicles"]]
    home = [n for n in doc.get("notices", []) if n.get("issuer_province") == "anhui"]
    base = {"source": "store", "database": "sqlite@0007", "read_at": "2026-11-27T02:00:00Z", "notices": home}
    elsewhere = [{"vin": vins[0], "credit_code": "91340100MA0000009X", "entity_name": "别家公司", "notice": "皖智网示〔2026〕099号",
                  "valid_until": "2027-06-30"}]
    loads = [{"driver_ref": d["ref"], "vins": sorted(f"LSVAU2180N2{i:06d}" for i in range(k + 1))}
             for k, d in enumerate(doc["drivers"])]
    out = {
        "records": base,
        "no-records": {**base, "notices": []},
        "elsewhere": {**base, "vins_elsewhere": elsewhere},
        "loads": {**base, "driver_loads": loads},
    }
    if home:
        later = copy.deepcopy(home[0])
        later["issued"] = "2026-12-15"  # after the as-of date: not history
        out["future-notice"] = {**base, "notices": [*home, later]}
    return out


def pack_test_cases() -> Iterator[dict[str, Any]]:
    from icv_permits.adapters.packs import load_pack
    from icv_permits.services.rules import load_cases

    for pack_id in ("anhui-2025", "national-2021"):
        for loaded in load_cases(pack_id):
            doc = _engine_app(loaded.app)
            as_of = loaded.case.as_of.isoformat()
            yield _case(f"pack-test {pack_id}: {loaded.case.name}", pack_id, as_of, doc)
            other = "national-2021" if pack_id == "anhui-2025" else "anhui-2025"
            load_pack(other)
            yield _case(f"pack-test {pack_id} with {other}: {loaded.case.name}", other, as_of, doc)


# ---------------------------------------------------------------- generated applications


Edit = Callable[[dict[str, Any], random.Random], None]


def _veh(d: dict[str, Any], r: random.Random) -> dict[str, Any]:
    return r.choice(d["vehicles"])


def _drv(d: dict[str, Any], r: random.Random) -> dict[str, Any]:
    return r.choice(d["drivers"])


def _shift(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def _years_before(day: str, years: int, days: int = 0) -> str:
    d = dt.date.fromisoformat(day)
    try:
        d = d.replace(year=d.year - years)
    except ValueError:
        d = d.replace(year=d.year - years, day=28)
    return (d + dt.timedelta(days=days)).isoformat()


def _edits(as_of: str) -> list[Edit]:
    from builders import DELETE, make_vin  # noqa: F401

    def takeover(d, r):
        _veh(d, r)["modes"]["instant_manual_takeover"] = r.choice([False, None])

    def roof_lamp(d, r):
        _veh(d, r)["roof_sign_lamp"] = r.choice([False, None])

    def pre_event(d, r):
        _veh(d, r)["data_recording"]["pre_event_seconds"] = r.choice([0, 29, 30, 31, 89, 90, 91, None])

    def retention(d, r):
        _veh(d, r)["data_recording"]["retention_months"] = r.choice([0, 5, 6, 7, 11, 12, 13, None])

    def upload(d, r):
        v = _veh(d, r)
        items = v["data_recording"]["realtime_upload"]
        v["data_recording"]["realtime_upload"] = items[: r.randrange(len(items))]

    def seats(d, r):
        _veh(d, r)["rated_seats"] = r.choice([1, 2, 5, 7, 9])

    def marking(d, r):
        _veh(d, r)["body_marking"] = r.choice(["", "自动驾驶道路测试", "自动驾驶示范应用", "测试车"])

    def remote(d, r):
        _veh(d, r)["connected_remote_control"] = True

    def test_zone(d, r):
        tz = _veh(d, r)["test_zone"]
        tz[r.choice(["tested", "third_party_inspection_passed"])] = r.choice([False, None])

    def prior(d, r):
        h = r.choice(["0", "100", "239.99", "240", "240.01", "500"])
        km = r.choice(["0", "999.99", "1000", "1000.01", "3000"])
        _veh(d, r)["prior_testing"] = [{"section": "HF-GX-001", "hours": h, "km": km, "records_submitted": r.choice([True, False])}]

    def inspection(d, r):
        _veh(d, r)["inspection"]["passed_except_durability"] = r.choice([False, None])

    def registered(d, r):
        _veh(d, r)["previously_registered"] = True

    def bad_vin(d, r):
        v = _veh(d, r)
        v["vin"] = v["vin"][:8] + ("0" if v["vin"][8] != "0" else "1") + v["vin"][9:]

    def licence_age(d, r):
        _drv(d, r)["licence"]["first_issued"] = _years_before(as_of, 3, r.choice([-1, 0, 1, 400]))

    def licence_class(d, r):
        _drv(d, r)["licence"]["classes"] = r.choice([["C2"], ["A1"], ["B2"], ["C1", "A2"]])

    def drink(d, r):
        _drv(d, r)["drink_or_drug_record"] = r.choice([True, None])

    def training(d, r):
        t = _drv(d, r)["training"]
        t[r.choice(["certified", "covers_plan", "covers_emergency"])] = r.choice([False, None])

    def contract(d, r):
        _drv(d, r)["contract"] = r.choice(["labour", "secondment", "other"])

    def full_score(d, r):
        _drv(d, r)["full_score_dates"] = [_years_before(as_of, r.choice([0, 1, 3]), r.choice([-1, 0, 1]))]

    def id_number(d, r):
        dr = _drv(d, r)
        dr["id_number"] = dr["id_number"][:-1] + ("0" if dr["id_number"][-1] != "0" else "1")

    def liability(d, r):
        for p in d["insurance"]:
            if p["kind"] == "liability":
                p["amount_yuan"] = r.choice([4_999_999, 5_000_000, 5_000_001, 1_000_000])

    def insurance_dates(d, r):
        p = r.choice(d["insurance"])
        p[r.choice(["valid_from", "valid_to"])] = _shift(p["valid_to"], r.choice([-400, -1, 0, 1]))

    def insurance_vins(d, r):
        p = r.choice(d["insurance"])
        p["vins"] = p["vins"][:-1]

    def drop_policy(d, r):
        if len(d["insurance"]) > 1:
            d["insurance"].pop(r.randrange(len(d["insurance"])))

    def period(d, r):
        start = d["period"]["start"]
        months = r.choice([6, 12, 18])
        end = dt.date.fromisoformat(start)
        y, m = divmod(end.month - 1 + months, 12)
        end = end.replace(year=end.year + y, month=m + 1)
        d["period"]["end"] = _shift(end.isoformat(), r.choice([-2, -1, 0, 1]))

    def period_start(d, r):
        d["period"]["start"] = _shift(as_of, r.choice([-1, 0, 1, 30]))

    def operations(d, r):
        key = r.choice(["fee_charged", "carries_goods", "dangerous_goods", "unlicensed_transport_business",
                        "brake_tests_on_public_roads", "autonomous_only_on_declared_sections"])
        d["operations"][key] = not d["operations"].get(key, False)

    def people(d, r):
        d["operations"]["max_people_per_vehicle"] = r.choice([1, 4, 5, 8])

    def materials(d, r):
        if d["materials"]:
            key = r.choice(sorted(d["materials"]))
            if r.random() < 0.5:
                d["materials"][key] = False
            else:
                del d["materials"][key]

    def capability(d, r):
        d["entity"]["capabilities"][r.choice(["test_evaluation_procedure", "remote_monitoring", "event_recording",
                                              "cybersecurity"])] = r.choice([False, None])

    def entity_flags(d, r):
        d["entity"][r.choice(["independent_legal_person", "registered_in_prc"])] = False

    def credit_code(d, r):
        c = d["entity"]["credit_code"]
        d["entity"]["credit_code"] = c[:-1] + ("0" if c[-1] != "0" else "1")

    def sections(d, r):
        d["sections"] = r.choice([["HF-GX-001", "HF-BH-A01"], ["HF-GX-002"], ["XX-UNKNOWN-1"], ["HF-GX-001", "HW-G4221-HF"]])

    def renewal(d, r):
        d["modifiers"]["renewal"] = True

    def modifier(d, r):
        d["modifiers"][r.choice(["night", "highway", "adding_vehicles"])] = True

    def notice_dates(d, r):
        if d["notices"]:
            n = r.choice(d["notices"])
            n["issued"] = _shift(as_of, r.choice([-500, -1, 0, 1]))
            n["valid_until"] = _shift(as_of, r.choice([-1, 0, 1, 200]))

    def notice_vins(d, r):
        if d["notices"]:
            d["notices"][0]["vins"] = d["notices"][0]["vins"][:1]

    def no_id(d, r):
        d["application_id"] = None

    def incidents(d, r):
        v = _veh(d, r)
        d["incidents"] = [{"date": _shift(as_of, -r.choice([10, 200, 800])), "vin": v["vin"], "section": "HF-GX-001",
                           "kind": r.choice(["accident", "violation"]), "liability": r.choice(["", "full", "none", "primary"]),
                           "police_reference": "合公交认字〔2025〕第0914号", "description": ""}]

    return [takeover, roof_lamp, pre_event, retention, upload, seats, marking, remote, test_zone, prior, inspection,
            registered, bad_vin, licence_age, licence_class, drink, training, contract, full_score, id_number, liability,
            insurance_dates, insurance_vins, drop_policy, period, period_start, operations, people, materials, capability,
            entity_flags, credit_code, sections, renewal, modifier, notice_dates, notice_vins, no_id, incidents]


def _boundary_dates() -> list[str]:
    from icv_permits.adapters.packs import load_pack

    days = {"2026-11-27"}
    for pack_id in ("anhui-2025", "national-2021"):
        for p in load_pack(pack_id).parameters.values():
            for v in p.values:
                days |= {_shift(v.effective_from.isoformat(), k) for k in (-1, 0, 1)}
    return sorted(days)


def generated_cases(n: int = GENERATED) -> Iterator[dict[str, Any]]:
    from builders import ACTIVITIES, baseline, driver, with_vehicles
    from pydantic import ValidationError

    from icv_permits.core.model.application import Application

    rng = random.Random(SEED)
    dates = _boundary_dates()
    made = 0
    attempt = 0
    while made < n:
        attempt += 1
        activity = rng.choice(ACTIVITIES)
        as_of = rng.choice(dates) if rng.random() < 0.6 else "2026-11-27"
        d = with_vehicles(baseline(activity), rng.randint(1, 5))
        for k in range(2, rng.randint(1, 3) + 1):
            d["drivers"].append(driver(f"D{k}", k))
            for v in d["vehicles"]:
                if rng.random() < 0.6:
                    v["drivers"].append(f"D{k}")
        edits = _edits(as_of)
        chosen = [rng.randrange(len(edits)) for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4]))]
        for i in chosen:
            edits[i](d, rng)
        try:
            app = Application.model_validate(d)
        except ValidationError:
            continue
        pack_id = "anhui-2025" if rng.random() < 0.85 else "national-2021"
        registry = None
        if rng.random() < 0.2:
            registry = rng.choice(list(_registries(d).values()))
        made += 1
        names = ",".join(edits[i].__name__ for i in chosen) or "baseline"
        yield _case(f"generated {made:03d} {activity} {names}", pack_id, as_of, _engine_app(app), None, registry)


def evidence_cases() -> Iterator[dict[str, Any]]:
    """DA applications proved by trip logs (format-2 summaries), and the same totals as format 1."""
    from evidence_builders import (
        NOT_APPLIED,
        SECTION2,
        T0,
        ev_app,
        hours_trips,
        incident,
        trip,
        vins_of,
        write_incidents,
        write_trips,
    )

    from icv_permits.adapters.evidence import summarise
    from icv_permits.adapters.packs import load_pack
    from icv_permits.core.engine import evaluate
    from icv_permits.core.model.application import Application
    from icv_permits.core.model.evidence import EvidenceSummary

    pack = load_pack("anhui-2025")
    scenarios: dict[str, Callable[[list[str]], tuple[list, list]]] = {
        "enough-hours": lambda vins: ([t for v in vins for t in hours_trips(v, 12, 20, 80_000, prefix=v[-4:])], []),
        "one-hour-short": lambda vins: ([t for v in vins for t in hours_trips(v, 239, 1, 4_000, prefix=v[-4:])], []),
        "enough-km": lambda vins: ([t for v in vins for t in hours_trips(v, 10, 2, 100_000, prefix=v[-4:])], []),
        "manual": lambda vins: ([t for v in vins for t in hours_trips(v, 13, 20, 80_000, prefix=v[-4:], mode="manual")], []),
        "not-applied": lambda vins: ([t for v in vins for t in hours_trips(v, 13, 20, 80_000, prefix=v[-4:], section=NOT_APPLIED)], []),
        "second-section": lambda vins: ([t for v in vins for t in hours_trips(v, 13, 20, 80_000, prefix=v[-4:], section=SECTION2)], []),
        "too-fast": lambda vins: ([trip(v, f"F{v[-4:]}{i}", T0 + dt.timedelta(days=i), 3600, 400_000) for v in vins for i in range(20)]
                                  + [t for v in vins for t in hours_trips(v, 12, 20, 80_000, prefix=v[-4:], start=T0 + dt.timedelta(days=40))], []),
        "overlap": lambda vins: ([t for v in vins for t in hours_trips(v, 12, 20, 80_000, prefix=v[-4:])]
                                 + [trip(v, f"O{v[-4:]}", T0 + dt.timedelta(hours=1), 7200, 5000) for v in vins], []),
        "incident": lambda vins: ([t for v in vins for t in hours_trips(v, 12, 20, 80_000, prefix=v[-4:])],
                                  [incident(vins[0], liability=lia) for lia in ("full", "none")]),
        "outside-notice": lambda vins: ([t for v in vins for t in hours_trips(v, 12, 20, 80_000, prefix=v[-4:],
                                                                              start=dt.datetime(2027, 1, 1, 8, tzinfo=T0.tzinfo))], []),
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for name, make in scenarios.items():
            for vehicles in (1, 2):
                for as_of in ("2026-11-27", "2025-04-08", "2026-12-10"):
                    vins = vins_of(ev_app(vehicles=vehicles))
                    trips, incidents = make(vins)
                    if name != "second-section":  # both sections applied for are tested (EVD-04)
                        trips += [t for v in vins for t in hours_trips(v, 2, 10, 40_000, prefix=f"S{v[-4:]}", section=SECTION2,
                                                                         start=T0 + dt.timedelta(days=100))]
                    d = ev_app(("trips.csv",), ("incidents.csv",) if incidents else (), vehicles=vehicles)
                    write_trips(base / "trips.csv", trips)
                    if incidents:
                        write_incidents(base / "incidents.csv", incidents)
                    app = Application.model_validate(d)
                    day = dt.date.fromisoformat(as_of)
                    summary = summarise(app, base, pack, day, lenient=True)
                    doc = _engine_app(app)
                    ev = summary.model_dump(mode="json")
                    yield _case(f"evidence {name} {vehicles}v {as_of}", "anhui-2025", as_of, doc, ev)
                    counted = evaluate(app, pack, day, summary).evidence_counted
                    if counted:
                        legacy = summary.model_copy(update={"buckets": None, "vehicles": counted})
                        legacy = EvidenceSummary.model_validate(legacy.model_dump(mode="json"))
                        yield _case(f"evidence {name} {vehicles}v {as_of} format-1", "anhui-2025", as_of, doc,
                                    legacy.model_dump(mode="json"))


def all_cases() -> Iterator[dict[str, Any]]:
    yield from example_cases()
    yield from pack_test_cases()
    yield from evidence_cases()
    yield from generated_cases()


def regenerate(path: Path = GOLDEN) -> int:
    import os

    os.environ.pop("ICV_PERMITS_LANG", None)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with lzma.open(path, "wt", encoding="utf-8", preset=9) as fh:
        for case in all_cases():
            case["out"] = outputs(case)
            fh.write(json.dumps(case, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


if __name__ == "__main__":
    count = regenerate()
    print(f"{count} cases written to {GOLDEN.relative_to(ROOT)}")

"""Notice and plate numbers and the plate renewal window come from the pack.

``pack.yaml`` ``numbering`` gives the formats (checked when the pack loads, so a malformed one is a
PackError naming it, and ``rules lint`` fails); ``plate.renewal_window_days`` is a dated parameter
read by ``plates renew``. Boundaries: plates ending 29, 30 and 31 days ahead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa
import yaml

from builders import DA, RT, baseline, copy_rules, edit_pack_yaml, entry, make_vin, with_, with_vehicles
from icv_permits.services import office as W
from icv_permits.core.errors import PackError
from icv_permits.services.rules import lint_pack
from icv_permits.adapters.packs import load_pack
from icv_permits.services.precheck import FixedClock
from icv_permits.adapters.store import tables as T
from icv_permits.adapters.store.db import Conflict

REPO = Path(__file__).resolve().parent.parent
ACTOR = "审核员乙"
_n = iter(range(1, 10_000))


def clock(y: int, m: int, d: int) -> FixedClock:
    return FixedClock(pendulum.datetime(y, m, d, 10, tz="Asia/Shanghai"))


SUBMIT_DAY = clock(2026, 11, 27)


def approve(store, tmp_path: Path, app: dict[str, Any], pack: Any = "anhui-2025", clk: FixedClock = SUBMIT_DAY) -> dict:
    path = tmp_path / f"app-{next(_n)}.yaml"
    path.write_text(yaml.safe_dump(app, allow_unicode=True, sort_keys=False), encoding="utf-8")
    sub = W.submit(store, path, actor=ACTOR, clock=clk, pack=pack)
    res = W.decide(store, sub.submission.id, "approve", reason="同意", actor=ACTOR, clock=clk, pack=pack)
    return res.notice


def revin(app: dict[str, Any], first: int) -> dict[str, Any]:
    """``app`` with its vehicles renumbered from make_vin(first) (insurance and notices follow)."""
    out = with_(app, "application_id", f"{app['application_id']}-V{first}")
    mapping = {}
    for i, v in enumerate(out["vehicles"]):
        mapping[v["vin"]] = v["vin"] = make_vin(first + i)
    for p in out["insurance"]:
        p["vins"] = [mapping.get(x, x) for x in p["vins"]]
    for n in out["notices"]:
        n["vins"] = [mapping.get(x, x) for x in n.get("vins", [])]
    return out


def numbering(rules: Path, **changes: Any) -> None:
    def edit(d: dict) -> dict:
        d["numbering"] = {**d["numbering"], **changes}
        return d

    edit_pack_yaml(rules / "anhui-2025" / "pack.yaml", edit)


# ---------------------------------------------------------------- formats checked at load time


@pytest.mark.parametrize(("change", "message"), [
    ({"plate": "{prefix}-TP-{seq:05d}"}, "the placeholder {year} is required"),
    ({"plate": "{prefix}-TP-{year}"}, "the placeholder {seq} is required"),
    ({"plate": "{prefix}-TP-{year}-{serial}"}, "unknown placeholder {serial}"),
    ({"plate": "{prefix}-TP-{year}-{seq:05s}"}, "{prefix}-TP-{year}-{seq:05s}"),
    ({"plate": "{prefix}-TP-{year}-{seq!r}"}, "no conversion"),
    ({"plate": "{prefix}-TP-{year:04d}-{seq}"}, "{year} takes no format"),
    ({"plate": "{prefix}-TP-{year}-{seq"}, "not a valid format"),
    ({"plate": "{prefix} TP {year} {seq}"}, "no braces or spaces"),
    ({"plate": "{prefix}-DA-{year}-{seq:04d}"}, "give the same number"),
    ({"notice": {"road_test": "{prefix}-X-{year}-{seq:04d}", "demonstration_application": "{prefix}-X-{year}-{seq:03d}0",
                 "demonstration_operation": "{prefix}-DO-{year}-{seq:04d}"}}, "give the same number"),
    ({"notice": {"road_test": "{prefix}-RT-{year}-{seq:04d}"}}, "missing: demonstration_application, demonstration_operation"),
    ({"plate": "{prefix}-" + "X" * 40 + "-{year}-{seq}"}, "longer than 40 characters"),
    ({"prefix": "A H"}, "prefix"),
])
def test_a_malformed_numbering_is_a_pack_error_at_load_time(tmp_path, change, message):
    rules = copy_rules(tmp_path)
    numbering(rules, **change)
    with pytest.raises(PackError) as e:
        load_pack(str(rules / "anhui-2025"))
    assert "numbering" in str(e.value) and message in str(e.value)


def test_rules_lint_fails_on_a_malformed_numbering(tmp_path):
    rules = copy_rules(tmp_path)
    numbering(rules, plate="{prefix}-TP-{seq}")
    env = {**os.environ, "ICV_PERMITS_RULES_DIR": str(rules)}
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", "rules", "lint", "--lang", "en"], cwd=REPO, env=env,
                       capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert r.returncode != 0 and "numbering.plate" in r.stdout + r.stderr and "{year} is required" in r.stdout + r.stderr


def test_lint_wants_the_office_parts_together(tmp_path):
    rules = copy_rules(tmp_path)
    edit_pack_yaml(rules / "anhui-2025" / "pack.yaml", lambda d: {k: v for k, v in d.items() if k != "numbering"})
    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml",
                   lambda d: {"parameters": [p for p in d["parameters"] if p["id"] != "plate.renewal_window_days"]})
    found = [str(p) for p in lint_pack(load_pack(str(rules / "anhui-2025")))]
    assert any("numbering is not" in p for p in found)
    assert any(p.startswith("plate.renewal_window_days: the office workflow reads this parameter") for p in found)


def test_the_shipped_numbering_and_window_lint_clean():
    p = load_pack("anhui-2025")
    assert p.meta.numbering.number(p.meta.numbering.notice["demonstration_application"], 2026, 1) == "AH-DA-2026-0001"
    assert p.meta.numbering.number(p.meta.numbering.plate, 2026, 7) == "AH-TP-2026-00007"
    assert p.parameters["plate.renewal_window_days"].values[0].confidence.value == "unconfirmed"
    assert p.parameters["plate.renewal_window_days"].values[0].citation.source == "ICVP-OFFICE"
    assert lint_pack(p) == []


# ---------------------------------------------------------------- numbers issued


def test_numbers_follow_the_packs_formats(store, tmp_path):
    rules = copy_rules(tmp_path)
    numbering(rules, prefix="WAN", notice={"road_test": "{prefix}{year}-{seq:03d}", "demonstration_application": "{prefix}{year}-{seq:03d}",
                                          "demonstration_operation": "{prefix}{year}-{seq:03d}"},
              plate="{prefix}-P{year}/{seq}")
    pack = load_pack(str(rules / "anhui-2025"))
    da = approve(store, tmp_path, baseline(DA), pack)
    rt = approve(store, tmp_path, revin(baseline(RT), 20), pack)
    # kinds sharing one format share its series
    assert (da["number"], rt["number"]) == ("WAN2026-001", "WAN2026-002")
    assert [p["number"] for p in da["plates"] + rt["plates"]] == ["WAN-P2026/1", "WAN-P2026/2"]
    out = W.renew_plates(store, da["number"], actor=ACTOR, clock=clock(2027, 5, 20), pack=pack)
    assert [r["number"] for r in out["renewed"]] == ["WAN-P2027/1"]


def test_a_number_already_on_record_is_skipped(store, tmp_path):
    first = approve(store, tmp_path, baseline(DA))
    assert first["number"] == "AH-DA-2026-0001"
    with store.write() as s:  # counters lost, or kept under other names by an earlier version
        s.execute(sa.delete(T.Counter.__table__))
    second = approve(store, tmp_path, revin(baseline(DA), 30))
    assert second["number"] == "AH-DA-2026-0002"
    assert [p["number"] for p in second["plates"]] == ["AH-TP-2026-00002"]


# ---------------------------------------------------------------- the renewal window


@pytest.mark.parametrize(("day", "renews"), [
    (clock(2027, 5, 2), True),  # 29 days before the plates end on 2027-05-31
    (clock(2027, 5, 1), True),  # 30 days before: the window opens
    (clock(2027, 4, 30), False),  # 31 days before: too early
])
def test_renewal_window_boundaries(store, tmp_path, day, renews):
    n = approve(store, tmp_path, with_vehicles(baseline(DA), 1))
    assert n["plates"][0]["valid_until"] == "2027-05-31"
    if renews:
        out = W.renew_plates(store, n["number"], actor=ACTOR, clock=day)
        assert [(r["valid_from"], r["valid_until"]) for r in out["renewed"]] == [("2027-06-01", "2027-11-30")]
        return
    with pytest.raises(Conflict) as e:
        W.renew_plates(store, n["number"], actor=ACTOR, clock=day)
    (problem,) = e.value.problems
    assert problem.code == "renewal_too_early" and problem.params["days"] == 30 and problem.params["opens"] == "2027-05-01"
    assert "renewal opens 30 days before they end, on 2027-05-01" in e.value.render("en")
    assert "30" in e.value.render("zh") and "2027-05-01" in e.value.render("zh")


def _window(rules: Path, value: Any, effective_from: str = "2027-01-01") -> None:
    def edit(d: dict) -> None:
        entry(d["parameters"], "id", "plate.renewal_window_days")["values"].append(
            {"effective_from": effective_from, "value": value, "citation": {"source": "ICVP-OFFICE", "locator": "测试"},
             "confidence": "unconfirmed"})

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", edit)


def test_a_new_window_value_holds_from_its_date(store, tmp_path):
    rules = copy_rules(tmp_path)
    _window(rules, 10)
    pack = load_pack(str(rules / "anhui-2025"))
    n = approve(store, tmp_path, baseline(DA), pack)
    with pytest.raises(Conflict) as e:
        W.renew_plates(store, n["number"], actor=ACTOR, clock=clock(2027, 5, 20), pack=pack)  # 11 days before
    assert e.value.problems[0].params == {"vin": n["plates"][0]["vin"], "until": "2027-05-31", "days": 10, "opens": "2027-05-21"}
    assert "renewal opens 10 days before they end, on 2027-05-21" in e.value.render("en")
    out = W.renew_plates(store, n["number"], actor=ACTOR, clock=clock(2027, 5, 21), pack=pack)
    assert len(out["renewed"]) == 1


def test_no_window_in_force_refuses_renewal(store, tmp_path):
    rules = copy_rules(tmp_path)

    def later(d: dict) -> None:
        entry(d["parameters"], "id", "plate.renewal_window_days")["values"][0]["effective_from"] = "2028-01-01"

    edit_pack_yaml(rules / "anhui-2025" / "parameters.yaml", later)
    pack = load_pack(str(rules / "anhui-2025"))
    n = approve(store, tmp_path, baseline(DA), pack)
    with pytest.raises(Conflict) as e:
        W.renew_plates(store, n["number"], actor=ACTOR, clock=clock(2027, 5, 20), pack=pack)
    assert [p.code for p in e.value.problems] == ["no_renewal_window"]
    assert "plate.renewal_window_days" in e.value.render("en") and "无法换领号牌" in e.value.render("zh")

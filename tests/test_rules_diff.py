"""``rules diff A B``: what changed between two packs (folders, bundled ids or stored revisions).

Exit 0 when identical, 1 when they differ (as ``diff``), 2 for bad input. The packs edited here
are copies of the repository's ``rules/``; which threshold, rule and citation are edited is read
from the pack, so the tests hold whatever the packs say.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from icv_permits.adapters.packs import load_pack, read_test_file
from icv_permits.cli import app as cli_app
from icv_permits.core.pack_diff import diff_packs

REPO = Path(__file__).resolve().parent.parent
PACK = "national-2021"  # extends nothing: its files hold every entry they define


def cli(*args: object, env: dict[str, str] | None = None):
    from typer.testing import CliRunner

    r = CliRunner().invoke(cli_app, [str(a) for a in args], env=env)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise AssertionError(f"uncaught {type(r.exception).__name__}: {r.exception!r} (the installed CLI exits 70)\n{r.output}")
    return r


def _dump(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def edited(tmp_path):
    """A copy of the packs, and a second copy whose national pack has one threshold's latest
    value, one rule's confidence and another rule's citation article edited; returns both pack
    folders and what was edited."""
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(REPO / "rules", a)
    shutil.copytree(REPO / "rules", b)
    params = read_test_file(b / PACK / "parameters.yaml")
    param = next(p for p in params["parameters"]
                 if p.get("comparison") == "ge" and isinstance(p["values"][-1]["value"], int) and not isinstance(p["values"][-1]["value"], bool))
    value = param["values"][-1]
    value["value"] += 1
    _dump(b / PACK / "parameters.yaml", params)
    rules = read_test_file(b / PACK / "rules.yaml")
    first, second = rules["rules"][0], rules["rules"][1]
    before_conf = first["confidence"]
    first["confidence"] = "unconfirmed" if before_conf != "unconfirmed" else "confirmed"
    second["citation"]["article"] = "第九十九条"
    _dump(b / PACK / "rules.yaml", rules)
    return a / PACK, b / PACK, {"param": param["id"], "date": str(value["effective_from"]), "value": value["value"],
                                "conf_rule": first["id"], "conf": (before_conf, first["confidence"]), "cite_rule": second["id"],
                                "article_before": load_pack(str(a / PACK)).rules[second["id"]].citation.article}


def test_a_copied_pack_with_three_edits_lists_exactly_those(edited):
    a, b, e = edited
    d = diff_packs(load_pack(str(a)), load_pack(str(b)))
    assert not d.identical
    assert d.rules.added == {} and d.rules.removed == {}
    assert {k: [(c.field, c.before, c.after) for c in v] for k, v in d.rules.changed.items()} == {
        e["conf_rule"]: [("confidence", *e["conf"])],
        e["cite_rule"]: [("citation.article", e["article_before"], "第九十九条")],
    }
    assert d.parameters.added == {} and d.parameters.removed == {} and d.parameters.fields == {}
    [change] = d.parameters.values[e["param"]]
    assert list(d.parameters.values) == [e["param"]]
    assert change.effective_from == e["date"] and change.change == "changed"
    assert [(f.field, f.before, f.after) for f in change.fields] == [("value", e["value"] - 1, e["value"])]
    assert change.after["citation"]["source"]  # the dated value is shown with its citation
    assert not (d.meta or d.sources or d.sections or d.common_messages or d.vocabulary)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_cli_shows_the_edits_and_exits_1(edited, lang):
    a, b, e = edited
    r = cli("rules", "diff", a, b, "--lang", lang)
    assert r.exit_code == 1, r.output
    out = r.stdout
    assert e["conf_rule"] in out and e["cite_rule"] in out and e["param"] in out
    assert f"confidence: {e['conf'][0]} → {e['conf'][1]}" in out.replace("：", ": ")
    assert "第九十九条" in out and e["date"] in out
    assert ("value from" if lang == "en" else "起的取值变更") in out
    assert ("Rules:" if lang == "en" else "规则：") in out


def test_the_json_form_lists_the_same(edited):
    a, b, e = edited
    r = cli("rules", "diff", a, b, "--format", "json")
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert d["identical"] is False
    assert sorted(d["rules"]["changed"]) == sorted([e["conf_rule"], e["cite_rule"]])
    assert list(d["parameters"]["changed"]) == [e["param"]]
    [v] = d["parameters"]["changed"][e["param"]]["values"]
    assert v["fields"] == [{"field": "value", "before": e["value"] - 1, "after": e["value"]}]
    assert v["after"]["citation"]["source"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_bundled_id_and_its_folder_are_identical_exit_0(lang):
    r = cli("rules", "diff", "anhui-2025", REPO / "rules" / "anhui-2025", "--lang", lang)
    assert r.exit_code == 0, r.output
    assert ("identical" if lang == "en" else "完全相同") in r.stdout


def test_rules_added_and_removed(tmp_path):
    b = tmp_path / "rules"
    shutil.copytree(REPO / "rules", b)
    rules = read_test_file(b / PACK / "rules.yaml")
    gone = rules["rules"].pop()["id"]
    _dump(b / PACK / "rules.yaml", rules)
    r = cli("rules", "diff", PACK, b / PACK, "--format", "json")
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert list(d["rules"]["removed"]) == [gone] and d["rules"]["added"] == {}
    r = cli("rules", "diff", b / PACK, PACK, "--lang", "en")
    assert r.exit_code == 1 and f"added {gone}" in r.stdout


def test_bundled_packs_differ_in_sections_and_rules():
    r = cli("rules", "diff", "national-2021", "anhui-2025", "--format", "json")
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert d["rules"]["added"]  # the Anhui pack's own rules
    assert any(c["field"] == "id" for c in d["meta"])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_path_that_does_not_exist_exits_2(tmp_path, lang):
    r = cli("rules", "diff", tmp_path / "nowhere", "anhui-2025", "--lang", lang)
    assert r.exit_code == 2 and r.stdout == ""
    assert "nowhere" in r.stderr
    assert ("no such folder" if lang == "en" else "文件夹不存在") in r.stderr


def test_a_file_instead_of_a_folder_exits_2(tmp_path):
    f = tmp_path / "pack.yaml"
    f.write_text("id: x\n", encoding="utf-8")
    r = cli("rules", "diff", "anhui-2025", f, "--lang", "en")
    assert r.exit_code == 2 and "a file, not a rule pack folder" in r.stderr


def test_a_folder_without_a_pack_exits_2(tmp_path):
    r = cli("rules", "diff", tmp_path, "anhui-2025", "--lang", "en")
    assert r.exit_code == 2 and "no pack.yaml" in r.stderr


def test_control_characters_and_unknown_names_exit_2():
    r = cli("rules", "diff", "anhui-2025\x1b[2J", "anhui-2025", "--lang", "en")
    assert r.exit_code == 2 and "\x1b" not in r.stderr and "\\x1b" in r.stderr
    r = cli("rules", "diff", "no-such-pack", "anhui-2025", "--lang", "en")
    assert r.exit_code == 2 and "anhui-2025, national-2021" in r.stderr


# ---------------------------------------------------------------- stored revisions


def _snapshot(store, pack) -> None:
    from icv_permits.services import audit

    with store.write() as s:
        audit.snapshot_pack(s, pack, datetime(2026, 11, 27, tzinfo=UTC))


def test_a_revision_stored_in_the_database(store, db_url, edited):
    a, b, e = edited
    pack = load_pack("anhui-2025")
    _snapshot(store, pack)
    rev = pack.revision
    short = rev.removeprefix("sha256:")[:12]
    r = cli("rules", "diff", short, "anhui-2025", "--db", db_url, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert rev in r.stdout
    r = cli("rules", "diff", rev, a.parent / "anhui-2025", "--db", db_url)
    assert r.exit_code == 0, r.output
    r = cli("rules", "diff", short, b.parent / "anhui-2025", "--db", db_url, "--format", "json")
    assert r.exit_code == 1, r.output
    d = json.loads(r.stdout)
    assert d["a"]["revision"] == rev and e["param"] in d["parameters"]["changed"]


def test_an_unknown_or_ambiguous_revision_exits_2(store, db_url):
    import sqlalchemy as sa

    from icv_permits.adapters.store import tables as T

    pack = load_pack("anhui-2025")
    _snapshot(store, pack)
    head = pack.revision[:11]  # sha256: and 4 hex digits
    twin = head + ("0" if pack.revision[11] != "0" else "1") * (len(pack.revision) - 11)
    with store.write() as s:
        s.execute(sa.insert(T.PackSnapshot.__table__).values(revision=twin, pack_id="anhui-2025", content="{}",
                                                              stored_at=datetime(2026, 11, 28, tzinfo=UTC)))
    r = cli("rules", "diff", head.removeprefix("sha256:"), "anhui-2025", "--db", db_url, "--lang", "en")
    assert r.exit_code == 2 and "matches 2 pack revisions" in r.stderr
    r = cli("rules", "diff", "ffffeeee", "anhui-2025", "--db", db_url, "--lang", "zh")
    assert r.exit_code == 2 and "数据库中保存的规则包修订" in r.stderr

"""``rules show ID``: one page per rule, and ``rules docs``: those pages generated under docs/rules/.

A page names the rule's law (quote, locator, source and its address), the parameters it reads with
every dated value and its citation, the reason codes with their messages, the check's code, the
pack's own cases and the project tests that mention it. Run in process through typer's CliRunner
(an exception the CLI does not turn into an exit code fails the test).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from icv_permits.adapters.packs import load_pack, read_test_file
from icv_permits.cli import app as cli_app
from icv_permits.core.pack import Source
from icv_permits.services import rules as rules_service

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "rules"
CJK = re.compile(r"[\u4e00-\u9fff]")
RULE = "EVD-01"  # a headline rule: 240 h or 1000 km, quoted from the Anhui rules


def cli(*args: object, env: dict[str, str] | None = None):
    from typer.testing import CliRunner

    r = CliRunner().invoke(cli_app, [str(a) for a in args], env=env)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise AssertionError(f"uncaught {type(r.exception).__name__}: {r.exception!r} (the installed CLI exits 70)\n{r.output}")
    return r


@pytest.fixture(scope="module")
def anhui():
    return load_pack("anhui-2025")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_holds_law_parameters_code_cases_and_tests(anhui, lang):
    r = cli("rules", "show", RULE, "--lang", lang)
    assert r.exit_code == 0, r.output
    out = r.stdout
    rule = anhui.rules[RULE]
    assert rule.title("zh") in out and rule.title("en") in out
    assert rule.citation.quote and rule.citation.quote in out  # the words of the law
    assert anhui.sources[rule.citation.source].title(lang) in out  # its source
    for name in rule.params:  # every parameter, with each dated value and the source it cites
        assert name in out
        for v in anhui.parameters[name].values:
            line = next((ln for ln in out.splitlines() if name in ln), None)
            assert line is not None
            assert any(v.effective_from.isoformat() in ln and v.citation.source in ln for ln in out.splitlines()), (name, v.effective_from)
    # the check's code: module:function and file:line
    assert re.search(r"icv_permits\.core\.engine\.checks\.\w+:evd_01", out)
    assert re.search(r"icv_permits/core/engine/checks/\w+\.py:\d+", out)
    # the reason codes with both messages
    for reason in ("below", "ok"):
        m = anhui.message(RULE, reason)
        assert m.zh in out and m.en in out
    # the pack's own cases that expect an outcome of the rule, by name
    cases = [c for c in read_test_file(REPO / "rules" / "anhui-2025" / "tests" / "thresholds.yaml")["cases"] if RULE in c["expect"]]
    assert cases
    for c in cases:
        assert c["name"] in out
    # the project tests that mention it: this file does (RULE above), and tests by name
    assert re.search(r"tests/test_rules_show\.py[ （(]", out)
    assert re.search(r"tests/test_boundaries\.py::test_evd_01_\w+[ （(]", out)
    if lang == "zh":
        assert CJK.search(out.split("\n")[0])
        assert "法规依据" in out and "参数及其历次取值" in out


def test_the_page_cites_the_source_address_when_the_pack_gives_one(tmp_path):
    """An address (``address``, or ``url``) of the cited source, where the pack schema carries one."""
    field = next((f for f in ("address", "url") if f in Source.model_fields), None)
    if field is None:
        pytest.skip("the pack schema gives a source no address field yet")
    import yaml

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    key = load_pack("anhui-2025").rules[RULE].citation.source
    owner = next(p for p in ("anhui-2025", "national-2021") if any(s.get("key") == key for s in (read_test_file(rules / p / "sources.yaml") or {}).get("sources", [])))
    data = read_test_file(rules / owner / "sources.yaml")
    for s in data["sources"]:
        if s["key"] == key:
            s[field] = "https://example.org/law/ah-2025.html"
    (rules / owner / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    r = cli("rules", "show", RULE, "--pack", str(rules / "anhui-2025"), "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "https://example.org/law/ah-2025.html" in r.stdout


def test_the_page_as_json(anhui):
    r = cli("rules", "show", RULE.lower(), "--format", "json", "--lang", "en")
    assert r.exit_code == 0, r.output
    page = json.loads(r.stdout)
    assert page["rule"]["id"] == RULE and page["pack_revision"] == anhui.revision
    assert [p["id"] for p in page["parameters"]] == anhui.rules[RULE].params
    assert page["code"]["function"] == "evd_01" and page["code"]["line"] > 0
    assert page["source"]["key"] == anhui.rules[RULE].citation.source
    assert {"ok", "missing", "below"} <= set(page["reasons"])
    assert page["pack_cases"] and all(c["file"].endswith(".yaml") for c in page["pack_cases"])
    assert any(t["file"] == "tests/test_rules_show.py" for t in page["project_tests"])
    assert any((t["name"] or "").startswith("test_") for t in page["project_tests"])


def test_a_rule_the_tests_do_not_mention_as_a_word_is_not_found_inside_a_longer_id(tmp_path):
    folder = tmp_path / "tests"
    folder.mkdir()
    (folder / "test_x.py").write_text("def test_a():\n    assert 'VEH-07a'\n\n\ndef test_b():\n    assert 'VEH-07' and 'XVEH-01'\n", encoding="utf-8")
    found = rules_service.project_tests(["VEH-07", "VEH-07a", "VEH-01"], folder)
    assert [t.name for t in found["VEH-07"]] == ["test_b"]
    assert [t.name for t in found["VEH-07a"]] == ["test_a"]
    assert found["VEH-01"] == ()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_the_tests_folder_the_page_says_so(monkeypatch, lang):
    monkeypatch.setattr(rules_service, "tests_folder", lambda: None)
    r = cli("rules", "show", RULE, "--lang", lang)
    assert r.exit_code == 0, r.output
    assert ("tests folder is not here" if lang == "en" else "没有项目的 tests 文件夹") in r.stdout


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_unknown_id_exits_2_naming_it_and_the_closest(lang):
    r = cli("rules", "show", "EVD-1", "--lang", lang)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "EVD-1" in r.stderr and "EVD-01" in r.stderr
    if lang == "zh":
        assert "最接近" in r.stderr
    else:
        assert "closest" in r.stderr


def test_control_characters_in_an_id_are_shown_escaped_and_exit_2():
    r = cli("rules", "show", "VEH-0\x1b[31m1\u202e", "--lang", "en")
    assert r.exit_code == 2
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    assert "\\x1b" in r.stderr and "VEH-01" in r.stderr  # escaped, and the closest ID named


def test_an_unknown_pack_exits_2():
    r = cli("rules", "show", RULE, "--pack", str(Path("/nonexistent/pack")), "--lang", "en")
    assert r.exit_code == 2 and "Traceback" not in r.output


# ---------------------------------------------------------------- rules docs


def test_the_committed_rule_pages_equal_a_fresh_generation(tmp_path):
    r = cli("rules", "docs", "--out", tmp_path / "rules", "--lang", "en")
    assert r.exit_code == 0, r.output
    fresh = {p.relative_to(tmp_path / "rules").as_posix(): p.read_text(encoding="utf-8") for p in sorted((tmp_path / "rules").rglob("*.md"))}
    committed = {p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))} if DOCS.is_dir() else {}
    stale = sorted(k for k in set(fresh) | set(committed) if fresh.get(k) != committed.get(k))
    assert not stale, ("docs/rules/ is out of date (a pack, a check's code or a test changed); regenerate it with "
                       f"`icv-permits rules docs --out docs/rules --lang en` and commit the result. Differing: {stale[:10]}")


def test_the_index_leads_to_a_page_for_every_rule_of_every_pack(tmp_path):
    r = cli("rules", "docs", "--out", tmp_path, "--lang", "en")
    assert r.exit_code == 0, r.output
    index = (tmp_path / "README.md").read_text(encoding="utf-8")
    for pack_id in ("anhui-2025", "national-2021"):
        pack = load_pack(pack_id)
        for rid in pack.rules:
            assert f"]({pack_id}/{rid}.md)" in index
            page = (tmp_path / pack_id / f"{rid}.md").read_text(encoding="utf-8")
            assert page.startswith(f"# {rid} ") and "](../README.md)" in page
    again = tmp_path / "again"
    assert cli("rules", "docs", "--out", again, "--lang", "en").exit_code == 0
    assert all((again / p.relative_to(tmp_path)).read_bytes() == p.read_bytes() for p in tmp_path.rglob("*.md") if again not in p.parents)


def test_docs_remove_the_page_of_a_rule_no_longer_there_and_refuse_a_file(tmp_path):
    out = tmp_path / "out"
    (out / "national-2021").mkdir(parents=True)
    (out / "national-2021" / "ZZZ-99.md").write_text("old", encoding="utf-8")
    assert cli("rules", "docs", "--out", out, "--pack", "national-2021", "--lang", "en").exit_code == 0
    assert not (out / "national-2021" / "ZZZ-99.md").exists() and (out / "national-2021" / "EVD-01.md").is_file()
    a_file = tmp_path / "file.md"
    a_file.write_text("x", encoding="utf-8")
    r = cli("rules", "docs", "--out", a_file, "--lang", "zh")
    assert r.exit_code == 2 and "不是文件夹" in r.stderr


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_malformed_pack_test_file_does_not_hide_the_page(tmp_path, lang):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (rules / "anhui-2025" / "tests" / "broken.yaml").write_text("cases: [{name: x}]\n", encoding="utf-8")
    r = cli("rules", "show", RULE, "--pack", rules / "anhui-2025", "--lang", lang)
    assert r.exit_code == 0, r.output
    assert "rules test" in r.stdout
    assert cli("rules", "test", "--pack", rules / "anhui-2025").exit_code == 2  # where the problem is named


@pytest.mark.parametrize("typed", ["VEH-07a", "veh-07a", "VEH-07A", " Veh-07a "])
def test_a_sub_id_with_a_lower_case_letter_is_found_however_it_is_typed(typed):
    r = cli("rules", "show", typed, "--lang", "en", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rule"]["id"] == "VEH-07a"


def test_a_near_miss_names_the_closest_ids_in_the_packs_spelling():
    r = cli("rules", "show", "VEH-07b", "--lang", "en")
    assert r.exit_code == 2
    assert "VEH-07a" in r.output and "VEH-07A" not in r.output

"""The CLI on good input: exit codes, the text/JSON/markdown reports, schema, rules, languages.

Every command runs as a real subprocess (``python -m icv_permits.cli``) in the repository root,
with ``ICV_PERMITS_LANG`` unset unless a test sets it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

import icv_permits
from icv_permits.adapters.documents import read_document
from icv_permits.core.i18n import t
from icv_permits.present.report import CONFIDENCE

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"
SCHEMA_FILE = ROOT / "docs" / "application.schema.json"
AS_OF = "2026-11-27"  # the example is compliant on this day
LANGS = ("zh", "en")
FORMATS = ("text", "json", "markdown")
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: object, env: dict[str, str] | None = None, raw: bool = False) -> subprocess.CompletedProcess:
    """``python -m icv_permits.cli *args`` in the repository root, ICV_PERMITS_LANG unset.

    ``env`` adds variables; ``raw=True`` keeps stdout/stderr as bytes.
    """
    base = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    base["PYTHONIOENCODING"] = "utf-8"
    base.update(env or {})
    kw = {} if raw else {"encoding": "utf-8", "errors": "strict"}
    r = subprocess.run(
        [sys.executable, "-m", "icv_permits.cli", *map(str, args)],
        cwd=ROOT,
        env=base,
        capture_output=True,
        timeout=120,
        **kw,
    )
    out = r.stdout + r.stderr
    assert (b"Traceback" if raw else "Traceback") not in out, out
    return r


def run_all(*commands: tuple) -> list[subprocess.CompletedProcess]:
    """Several commands at once (each a tuple of arguments)."""
    with ThreadPoolExecutor(min(len(commands), 4)) as pool:
        return list(pool.map(lambda a: run(*a), commands))


def width(line: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def squash(text: str) -> str:
    """Text without any whitespace, to compare through line wrapping (Chinese wraps anywhere)."""
    return "".join(text.split())


# ----------------------------------------------------------------------------------- variants

DRIVER_SECRETS = ("340104199001011239", "13955512345", "340202198805120025")
BAD_ID = "340104199001011230"  # D1's number with a wrong check digit


def base_doc() -> dict:
    return read_document(EXAMPLE)


def non_compliant_doc() -> dict:
    """The example with liability cover below the minimum (INS-02 fails on both vehicles) and a
    wrong check digit in D1's identity number (DRV-08 fails)."""
    doc = base_doc()
    liability = next(i for i in doc["insurance"] if i["kind"] == "liability")
    liability["amount_yuan"] = 1_000_000
    doc["drivers"][0]["id_number"] = BAD_ID
    return doc


def incomplete_doc() -> dict:
    doc = base_doc()
    del doc["materials"]
    return doc


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("apps")
    out = {"compliant": EXAMPLE}
    for name, doc in (("non_compliant", non_compliant_doc()), ("incomplete", incomplete_doc())):
        path = d / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        out[name] = path
    return out


@pytest.fixture(scope="module")
def reports(files) -> dict[tuple[str, str, str], subprocess.CompletedProcess]:
    """Every variant × format × language, run once for the module."""
    keys = [(v, f, lang) for v in files for f in FORMATS for lang in LANGS]
    results = run_all(*(("check", files[v], "--as-of", AS_OF, "--format", f, "--lang", lang) for v, f, lang in keys))
    return dict(zip(keys, results, strict=True))


# ---------------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(("variant", "code", "verdict"), [("compliant", 0, "compliant"), ("non_compliant", 1, "non_compliant"), ("incomplete", 3, "incomplete")])
def test_check_exit_codes(reports, variant: str, code: int, verdict: str) -> None:
    for fmt in FORMATS:
        for lang in LANGS:
            r = reports[(variant, fmt, lang)]
            assert r.returncode == code, (variant, fmt, lang, r.stderr)
            assert r.stderr == "", r.stderr
            assert r.stdout.strip()
    assert json.loads(reports[(variant, "json", "en")].stdout)["verdict"] == verdict


def test_incomplete_names_the_missing_field(reports) -> None:
    data = json.loads(reports[("incomplete", "json", "en")].stdout)
    missing = [f for f in data["findings"] if f["outcome"] == "missing"]
    assert missing and not [f for f in data["findings"] if f["outcome"] == "fail"]
    assert any("materials" in (f["remedy"] or "") for f in missing), missing
    assert "materials" in reports[("incomplete", "text", "en")].stdout


def test_input_files_are_not_modified(files, tmp_path: Path) -> None:
    copy_ = tmp_path / "example.yaml"
    copy_.write_bytes(EXAMPLE.read_bytes())
    before = (copy_.read_bytes(), copy_.stat().st_mtime_ns, sorted(tmp_path.iterdir()))
    run_all(*(("check", copy_, "--as-of", AS_OF, "--format", f) for f in FORMATS))
    assert (copy_.read_bytes(), copy_.stat().st_mtime_ns, sorted(tmp_path.iterdir())) == before


# ------------------------------------------------------------------------------- text report


@pytest.mark.parametrize("variant", ["compliant", "non_compliant", "incomplete"])
@pytest.mark.parametrize("lang", LANGS)
def test_text_lines_fit_80_columns(reports, variant: str, lang: str) -> None:
    text = reports[(variant, "text", lang)].stdout
    too_wide = [(width(line), line) for line in text.splitlines() if width(line) > 80]
    assert not too_wide, too_wide
    if lang == "zh":
        assert CJK.search(text.splitlines()[0]), text[:200]


def groups(text: str, marker: str) -> list[list[str]]:
    """The lines of each party group, a group starting at a line that starts with ``marker``."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith(marker):
            out.append([line])
        elif out:
            out[-1].append(line)
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("fmt", "marker", "fail", "passed"), [("text", "── ", "✗", "✓"), ("markdown", "## ", "- **✗", "- ✓")])
def test_failures_come_before_passes_in_each_group(reports, lang: str, fmt: str, marker: str, fail: str, passed: str) -> None:
    text = reports[("non_compliant", fmt, lang)].stdout
    found = 0
    for lines in groups(text, marker):
        fails = [i for i, line in enumerate(lines) if line.startswith(fail)]
        passes = [i for i, line in enumerate(lines) if line.startswith(passed)]
        if fails and passes:
            found += 1
            assert max(fails) < min(passes), "\n".join(lines)
    assert found >= 3  # D1 (DRV-08) and both vehicles (INS-02)


@pytest.fixture(scope="module")
def rules_json() -> dict:
    r = run("rules", "list", "--format", "json")
    assert r.returncode == 0
    return {rule["id"]: rule for rule in json.loads(r.stdout)["rules"]}


@pytest.mark.parametrize("lang", LANGS)
def test_text_failure_shows_id_citation_confidence_values_remedy(reports, rules_json, lang: str) -> None:
    text = reports[("non_compliant", "text", lang)].stdout
    rule = rules_json["INS-02"]
    vehicle_groups = ["\n".join(g) for g in groups(text, "── ") if "LSVAU218XN2183294" in g[0]]
    assert len(vehicle_groups) == 1, text
    block = vehicle_groups[0]
    head = block.index("✗ INS-02")
    failure = squash(block[head : block.index("✓", head)])  # the failure up to the passed line
    assert squash(rule["title"][lang]) in failure
    assert squash(rule["citation"]["source"]) in failure  # NAT-2021
    assert squash(t(lang, CONFIDENCE[rule["confidence"]])) in failure
    assert squash(rule["remedy"][lang]) in failure
    observed, required = ("实际", "要求") if lang == "zh" else ("observed", "required")
    lines = [line for line in block.splitlines() if observed in line and required in line]
    assert lines and "1,000,000" in lines[0] and "5,000,000" in lines[0], block
    assert "insurance[1].amount_yuan" in failure


def test_text_headline(reports) -> None:
    en = reports[("compliant", "text", "en")].stdout
    zh = reports[("compliant", "text", "zh")].stdout
    assert en.splitlines()[0] == "icv-permits pre-check report"
    assert "COMPLIANT" in en and AS_OF in en and "anhui-2025" in en
    assert AS_OF in zh and "anhui-2025" in zh and "符合要求" in zh
    assert "NON-COMPLIANT" in reports[("non_compliant", "text", "en")].stdout
    assert "INCOMPLETE" in reports[("incomplete", "text", "en")].stdout


# ------------------------------------------------------------------------------- JSON report

FINDING_KEYS = {"rule_id", "outcome", "subject", "reason", "values", "message", "remedy"}


@pytest.mark.parametrize("variant", ["compliant", "non_compliant", "incomplete"])
def test_json_report_shape(reports, variant: str) -> None:
    for lang in LANGS:
        data = json.loads(reports[(variant, "json", lang)].stdout)
        assert {"format", "verdict", "pack_revision", "as_of", "findings"} <= data.keys()
        assert data["as_of"] == AS_OF
        assert data["lang"] == lang
        assert data["pack_revision"].startswith("sha256:")
        assert data["findings"]
        for f in data["findings"]:
            assert FINDING_KEYS <= f.keys(), f
            assert isinstance(f["values"], dict) and isinstance(f["subject"], dict)
            assert isinstance(f["message"], str) and f["message"]
            if f["outcome"] in ("fail", "missing"):
                assert f["remedy"], f


def test_json_is_byte_identical_on_two_runs(files) -> None:
    args = ("check", files["non_compliant"], "--as-of", AS_OF, "--format", "json", "--lang", "zh")
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: run(*args, raw=True), range(2))
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
    assert first.stdout.endswith(b"\n")


def _language_neutral(data: dict) -> dict:
    data = copy.deepcopy(data)
    data.pop("lang", None)
    for f in data["findings"]:
        f.pop("message", None)
        f.pop("remedy", None)
    return data


@pytest.mark.parametrize("variant", ["compliant", "non_compliant", "incomplete"])
def test_json_languages_differ_only_in_messages(reports, variant: str) -> None:
    zh = json.loads(reports[(variant, "json", "zh")].stdout)
    en = json.loads(reports[(variant, "json", "en")].stdout)
    assert zh != en
    assert _language_neutral(zh) == _language_neutral(en)
    if variant != "compliant":
        assert any(CJK.search(f["message"]) for f in zh["findings"] if f["outcome"] != "pass")


# --------------------------------------------------------------------------- markdown report


@pytest.mark.parametrize("variant", ["compliant", "non_compliant"])
@pytest.mark.parametrize("lang", LANGS)
def test_markdown_has_a_heading_per_party(reports, variant: str, lang: str) -> None:
    md = reports[(variant, "markdown", lang)].stdout
    assert md.startswith("# ")
    data = json.loads(reports[(variant, "json", lang)].stdout)
    parties = []
    for f in data["findings"]:
        s = f["subject"]
        key = (s["kind"], s["order"], s["ref"])
        if key not in parties:
            parties.append(key)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert len(headings) == len(parties), (headings, parties)
    for heading, (_, _, ref) in zip(headings, parties, strict=True):
        assert ref.replace("_", "\\_") in heading, (heading, ref)


# ------------------------------------------------------------------------------------- schema


def test_schema() -> None:
    r = run("schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert "activity" in schema["properties"]
    assert "activity" in schema.get("required", [])


@pytest.mark.skipif(not SCHEMA_FILE.exists(), reason="docs/application.schema.json is not committed")
def test_schema_matches_committed_file() -> None:
    r = run("schema")
    assert r.stdout == SCHEMA_FILE.read_text(encoding="utf-8"), "regenerate: icv-permits schema > docs/application.schema.json"


# -------------------------------------------------------------------------------------- rules


@pytest.mark.parametrize("lang", LANGS)
def test_rules_list_text(rules_json, lang: str) -> None:
    r = run("rules", "list", "--lang", lang)
    assert r.returncode == 0, r.stderr
    for rid in rules_json:
        assert rid in r.stdout
    assert "anhui-2025" in r.stdout
    if lang == "zh":
        assert CJK.search(r.stdout)


def test_rules_list_json(rules_json) -> None:
    r = run("rules", "list", "--format", "json")
    data = json.loads(r.stdout)
    assert data["pack_id"] == "anhui-2025"
    ids = [rule["id"] for rule in data["rules"]]
    assert len(ids) == len(set(ids)) > 0
    assert "EVD-01" in ids
    for rule in data["rules"]:
        assert {"zh", "en"} <= rule["title"].keys()
        assert rule["citation"]["source"]
        assert rule["confidence"] in CONFIDENCE


@pytest.mark.parametrize("lang", LANGS)
def test_rules_show_evd01(rules_json, lang: str) -> None:
    r = run("rules", "show", "EVD-01", "--lang", lang)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "EVD-01" in out
    assert "240" in out and "1000" in out
    assert "AH-2025" in out and "NAT-2021" in out  # the sources of the parameters
    assert squash(rules_json["EVD-01"]["title"][lang]) in squash(out)
    if lang == "zh":
        assert CJK.search(out)


def test_rules_show_is_case_insensitive() -> None:
    assert run("rules", "show", "evd-01", "--lang", "en").stdout == run("rules", "show", "EVD-01", "--lang", "en").stdout


@pytest.mark.parametrize("lang", LANGS)
def test_rules_show_unknown_rule(lang: str) -> None:
    r = run("rules", "show", "NOPE-01", "--lang", lang)
    assert r.returncode == 2
    assert r.stdout == ""
    assert "NOPE-01" in r.stderr
    if lang == "zh":
        assert CJK.search(r.stderr)


@pytest.mark.parametrize("lang", LANGS)
def test_rules_lint_is_clean(lang: str) -> None:
    r = run("rules", "lint", "--lang", lang)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "anhui-2025" in r.stdout and "national-2021" in r.stdout


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout == f"icv-permits {icv_permits.__version__}\n"


def test_help() -> None:
    r = run("--help", env={"COLUMNS": "120"})
    assert r.returncode == 0
    for command in ("check", "schema", "rules"):
        assert command in r.stdout


# ---------------------------------------------------------------------------- default language


def test_default_language_comes_from_environment(files, reports) -> None:
    path = files["non_compliant"]
    check = ("check", path, "--as-of", AS_OF)
    with ThreadPoolExecutor(4) as pool:
        env_en, env_en_us, env_zh, unset, override = pool.map(
            lambda e: run(*check, *e[1], env=e[0]),
            [
                ({"ICV_PERMITS_LANG": "en"}, ()),
                ({"ICV_PERMITS_LANG": "en_US.UTF-8"}, ()),
                ({"ICV_PERMITS_LANG": "zh"}, ()),
                ({}, ()),
                ({"ICV_PERMITS_LANG": "en"}, ("--lang", "zh")),
            ],
        )
    en = reports[("non_compliant", "text", "en")].stdout
    zh = reports[("non_compliant", "text", "zh")].stdout
    assert env_en.stdout == en
    assert env_en_us.stdout == en
    assert env_zh.stdout == zh
    assert unset.stdout == zh  # Chinese by default
    assert override.stdout == zh  # --lang wins


def test_default_language_for_rules_and_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with ThreadPoolExecutor(4) as pool:
        show_en, show_zh, bad_en, bad_zh = pool.map(
            lambda a: run(*a[1], env=a[0]),
            [
                ({"ICV_PERMITS_LANG": "en"}, ("rules", "show", "EVD-01")),
                ({"ICV_PERMITS_LANG": "zh"}, ("rules", "show", "EVD-01")),
                ({"ICV_PERMITS_LANG": "en"}, ("check", missing)),
                ({"ICV_PERMITS_LANG": "zh"}, ("check", missing)),
            ],
        )
    assert show_en.stdout == run("rules", "show", "EVD-01", "--lang", "en").stdout
    assert show_zh.stdout == run("rules", "show", "EVD-01", "--lang", "zh").stdout
    assert bad_en.returncode == bad_zh.returncode == 2
    assert bad_en.stderr.startswith("Bad input") and not CJK.search(bad_en.stderr)
    assert CJK.search(bad_zh.stderr)


# ------------------------------------------------------------------------------ personal data


@pytest.mark.parametrize("variant", ["compliant", "non_compliant", "incomplete"])
def test_no_personal_data_in_any_output(reports, variant: str) -> None:
    secrets = DRIVER_SECRETS + (BAD_ID,)
    for fmt in FORMATS:
        for lang in LANGS:
            r = reports[(variant, fmt, lang)]
            out = r.stdout + r.stderr
            for secret in secrets:
                assert secret not in out, (variant, fmt, lang, secret)
    # the driver is still recognisable by a masked number
    assert "340**************9" in reports[("compliant", "text", "en")].stdout

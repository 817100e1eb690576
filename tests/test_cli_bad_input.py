"""The CLI on bad input: exit code 2, a clear message naming the file or field path, no traceback.

Every case runs ``python -m icv_permits.cli check`` as a real subprocess, in Chinese and in
English, on a broken copy of ``examples/da-compliant.yaml`` written to ``tmp_path``. Each run
also proves that the input is left exactly as it was (bytes and modification time) and that
nothing is written next to it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from icv_permits.adapters.documents import MAX_BYTES, MAX_DEPTH, read_document
from icv_permits.core.model.application import Activity, VehicleCategory

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"
AS_OF = "2026-11-27"  # the example is compliant on this day
LANGS = ("zh", "en")
CJK = re.compile(r"[\u4e00-\u9fff]")
DEEP = 100_000


def run(*args: object, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m icv_permits.cli *args`` in the repository root, ICV_PERMITS_LANG unset."""
    base = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    base["PYTHONIOENCODING"] = "utf-8"
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "icv_permits.cli", *map(str, args)],
        cwd=ROOT,
        env=base,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def run_langs(*args: object, langs: tuple[str, ...] = LANGS) -> dict[str, subprocess.CompletedProcess]:
    """The same command once per language (``--lang`` appended), run concurrently."""
    with ThreadPoolExecutor(len(langs)) as pool:
        futures = {lang: pool.submit(run, *args, "--lang", lang) for lang in langs}
        return {lang: f.result() for lang, f in futures.items()}


# ------------------------------------------------------------------------------------ helpers


def base_doc() -> dict:
    """The compliant example as a plain dict (dates stay text, as the loader reads them)."""
    return read_document(EXAMPLE)


def write(directory: Path, name: str, doc: Any) -> Path:
    """Write ``doc`` as YAML or JSON according to the suffix of ``name``."""
    path = directory / name
    if name.endswith(".json"):
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file under ``directory``."""
    out = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(directory))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def no_traceback(r: subprocess.CompletedProcess) -> None:
    both = r.stdout + r.stderr
    assert "Traceback" not in both, both
    assert "Internal error" not in both and "内部错误" not in both, both


def assert_bad(
    target: Path | str,
    *,
    location: str | None = None,
    words: dict[str, list[str]] | None = None,
    extra: tuple[str, ...] = (),
    langs: tuple[str, ...] = LANGS,
) -> dict[str, subprocess.CompletedProcess]:
    """``check target`` is refused: exit 2 in every language, message on stderr, nothing on stdout.

    ``location`` (a field path) must appear in stderr; so must the file name; ``words[lang]``
    (``words["*"]`` for every language) must appear in the message of that language. The
    directory holding ``target`` is unchanged afterwards.
    """
    target = Path(target)
    watched = target.parent
    before = snapshot(watched) if watched.is_dir() else None
    results = run_langs("check", target, "--as-of", AS_OF, *extra, langs=langs)
    for lang, r in results.items():
        no_traceback(r)
        assert r.returncode == 2, (lang, r.returncode, r.stdout[:500], r.stderr)
        assert r.stdout == "", (lang, r.stdout[:500])
        err = r.stderr
        assert err.strip(), lang
        assert str(target) in err, (lang, err)
        if location is not None:
            # the path is shown as a location ("<file>: <path>: ...") or inside the sentence
            assert re.search(rf"(?:^|: ){re.escape(location)}(?:[:\s]|$)", err, re.M), (lang, location, err)
        if lang == "zh":
            assert CJK.search(err), err
        else:
            assert err.splitlines()[0].startswith("Bad input"), err
        for word in (words or {}).get("*", []) + (words or {}).get(lang, []):
            assert word in err, (lang, word, err)
    if before is not None:
        assert snapshot(watched) == before, "the input directory was modified"
    return results


# ------------------------------------------------------------------- document-level mutations


def setter(path: tuple, value: Any) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        *head, last = path
        for key in head:
            doc = doc[key]
        doc[last] = value

    return mutate


def remover(path: tuple) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        *head, last = path
        for key in head:
            doc = doc[key]
        del doc[last]

    return mutate


def misspell_category(doc: dict) -> None:
    vehicle = doc["vehicles"][0]
    vehicle["categroy"] = vehicle.pop("category")


def undefined_driver(doc: dict) -> None:
    doc["vehicles"][0]["drivers"] = ["D1", "D9"]


MISSING = {"en": ["required field is missing"], "zh": ["缺少"]}
WHOLE = {"en": ["whole number"], "zh": ["整数"]}

# (id, mutation, field path, words expected in the message)
CASES: list[tuple[str, Callable[[dict], None], str, dict[str, list[str]]]] = [
    ("entity-is-list", setter(("entity",), ["合肥星途智行科技有限公司"]), "entity", {"en": ["mapping", "list"], "zh": ["映射", "列表"]}),
    ("seats-text", setter(("vehicles", 0, "rated_seats"), "five"), "vehicles[0].rated_seats", {"*": ["five"], **WHOLE}),
    ("amount-fraction", setter(("insurance", 0, "amount_yuan"), 5000000.5), "insurance[0].amount_yuan", {"*": ["5000000.5"], **WHOLE}),
    ("amount-commas", setter(("insurance", 0, "amount_yuan"), "5,000,000"), "insurance[0].amount_yuan", {"*": ["5,000,000"], **WHOLE}),
    ("night-maybe", setter(("modifiers", "night"), "maybe"), "modifiers.night", {"*": ["maybe", "true", "false"]}),
    ("no-credit-code", remover(("entity", "credit_code")), "entity.credit_code", MISSING),
    ("no-activity", remover(("activity",)), "activity", MISSING),
    ("no-vehicles", remover(("vehicles",)), "vehicles", MISSING),
    ("activity-enum", setter(("activity",), "test_drive"), "activity", {"*": ["test_drive", *(a.value for a in Activity)]}),
    ("category-enum", setter(("vehicles", 0, "category"), "truck"), "vehicles[0].category", {"*": ["truck", *(c.value for c in VehicleCategory)]}),
    ("start-impossible", setter(("period", "start"), "2026-02-30"), "period.start", {"*": ["2026-02-30"]}),
    ("application-date-impossible", setter(("application_date",), "2026-13-01"), "application_date", {"*": ["2026-13-01"]}),
    ("end-words", setter(("period", "end"), "next year"), "period.end", {"*": ["next year", "YYYY-MM-DD"]}),
    ("misspelt-field", misspell_category, "vehicles[0].categroy", {"*": ["category"], "en": ["did you mean category"]}),
    ("undefined-driver-ref", undefined_driver, "vehicles[0].drivers", {"*": ["D9"]}),
]


# Every case as YAML; the JSON reader is exercised with a few of them (each run costs a process).
JSON_CASES = {"entity-is-list", "amount-fraction", "activity-enum", "start-impossible", "misspelt-field"}
PARAMS = [pytest.param(".yaml", *c[1:], id=f"{c[0]}-yaml") for c in CASES] + [
    pytest.param(".json", *c[1:], id=f"{c[0]}-json") for c in CASES if c[0] in JSON_CASES
]


@pytest.mark.parametrize(("suffix", "mutate", "location", "words"), PARAMS)
def test_bad_field(tmp_path: Path, suffix: str, mutate, location: str, words) -> None:
    doc = base_doc()
    mutate(doc)
    path = write(tmp_path, "application" + suffix, doc)
    results = assert_bad(path, location=location, words=words)
    for lang, r in results.items():
        problems = r.stderr.splitlines()[1:]
        assert problems, r.stderr
        # one problem per line, each "<file>: ..." and naming nothing outside the broken part
        assert all(line.startswith(f"{path}: ") for line in problems), r.stderr
        if mutate is misspell_category:
            # the misspelt key (with the suggestion) and the then-missing real key, nothing else
            assert len(problems) == 2, r.stderr
            assert any("vehicles[0].categroy" in line and "category" in line for line in problems), r.stderr
        else:
            assert len(problems) == 1, r.stderr


# ------------------------------------------------------------------ raw YAML text mutations


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def edit_line(text: str, old: str, new: str) -> tuple[str, int]:
    """Replace the first line containing ``old``; return the text and that line's number."""
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if old in line]
    assert hits, old
    lines[hits[0]] = lines[hits[0]].replace(old, new)
    return "\n".join(lines), hits[0] + 1


@pytest.mark.parametrize(
    ("old", "new", "location", "value"),
    [
        ("start: 2026-12-01", "start: 2026-02-30", "period.start", "2026-02-30"),
        ("application_date: 2026-11-20", "application_date: 2026-13-01", "application_date", "2026-13-01"),
        ("end: 2027-11-30}", "end: next year}", "period.end", "next year"),
        ("    category: passenger", "    categroy: passenger", "vehicles[0].categroy", "category"),
    ],
    ids=["start-unquoted", "application-date-unquoted", "end-words-unquoted", "misspelt"],
)
def test_bad_field_in_handwritten_yaml(tmp_path: Path, old: str, new: str, location: str, value: str) -> None:
    """Values written by hand (unquoted dates) give the same located messages as generated ones."""
    text, _ = edit_line(example_text(), old, new)
    path = tmp_path / "application.yaml"
    path.write_text(text, encoding="utf-8")
    assert_bad(path, location=location, words={"*": [value]})


def test_malformed_yaml_bad_indentation_names_line(tmp_path: Path) -> None:
    text, line = edit_line(example_text(), "  name: 合肥星途智行科技有限公司", "     name: 合肥星途智行科技有限公司")
    path = tmp_path / "application.yaml"
    path.write_text(text, encoding="utf-8")
    results = assert_bad(path, words={"*": ["YAML"]})
    # libyaml notices the bad indentation on that line or the next one
    assert re.search(rf"line ({line}|{line + 1}), column \d+", results["en"].stderr), results["en"].stderr
    assert re.search(rf"第 ({line}|{line + 1}) 行", results["zh"].stderr), results["zh"].stderr


def test_malformed_yaml_unclosed_bracket_names_line(tmp_path: Path) -> None:
    text, line = edit_line(
        example_text(),
        "business_scopes: [icv_manufacturing, technology_rd]",
        "business_scopes: [icv_manufacturing, technology_rd",
    )
    path = tmp_path / "application.yaml"
    path.write_text(text, encoding="utf-8")
    results = assert_bad(path, words={"*": ["YAML", "]"]})
    en, zh = results["en"].stderr, results["zh"].stderr
    assert re.search(r"line \d+, column \d+", en), en
    assert f"starts at line {line}" in en, en  # the unclosed "[" is located
    assert f"第 {line} 行" in zh, zh


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    text = json.dumps(base_doc(), ensure_ascii=False, indent=2)
    text, line = edit_line(text, '"activity": "demonstration_application",', '"activity": demonstration_application,')
    column = text.split("\n")[line - 1].index("demonstration_application") + 1
    path = tmp_path / "application.json"
    path.write_text(text, encoding="utf-8")
    results = assert_bad(path, words={"*": ["JSON"]})
    assert f"line {line}, column {column}" in results["en"].stderr, results["en"].stderr
    assert f"第 {line} 行第 {column} 列" in results["zh"].stderr, results["zh"].stderr


def test_malformed_json_trailing_comma(tmp_path: Path) -> None:
    path = tmp_path / "application.json"
    path.write_text('{\n  "activity": "road_test",\n  "entity": {"name": "x",}\n}\n', encoding="utf-8")
    results = assert_bad(path, words={"*": ["JSON"]})
    assert "line 3, column 26" in results["en"].stderr, results["en"].stderr
    assert "第 3 行第 26 列" in results["zh"].stderr, results["zh"].stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [("top.yaml", "- activity: road_test\n- entity: {}\n"), ("top.json", '[{"activity": "road_test"}]')],
)
def test_document_is_a_list(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert_bad(path, words={"en": ["mapping", "a list"], "zh": ["映射", "列表"]})


def test_document_is_the_example_inside_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "wrapped.yaml", [base_doc()])
    assert_bad(path, words={"en": ["mapping", "a list"], "zh": ["列表"]})


# ---------------------------------------------------------------------------- the file itself


def test_gbk_file_names_the_line(tmp_path: Path) -> None:
    """A file saved as GBK: the first non-ASCII line is named, with advice to save as UTF-8."""
    lines = [line for line in example_text().split("\n") if not line.startswith("#")]
    text = "\n".join(lines)
    first = next(i for i, line in enumerate(lines) if not line.isascii()) + 1
    path = tmp_path / "application.yaml"
    path.write_bytes(text.encode("gbk"))
    results = assert_bad(path, words={"*": ["UTF-8", "GBK"]})
    assert f"(line {first})" in results["en"].stderr, results["en"].stderr
    assert f"第 {first} 行" in results["zh"].stderr, results["zh"].stderr


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"", "empty.yaml"), (b"  \n\t\n   \r\n\n", "blank.yaml"), (b"\n \n", "blank.json")],
    ids=["empty-yaml", "whitespace-yaml", "whitespace-json"],
)
def test_empty_file(tmp_path: Path, content: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert_bad(path, words={"en": ["empty"], "zh": ["空"]})


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    (folder / "inside.txt").write_text("keep me", encoding="utf-8")
    assert_bad(folder, words={"en": ["directory"], "zh": ["目录"]})
    assert (folder / "inside.txt").read_text(encoding="utf-8") == "keep me"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert_bad(path, words={"en": ["not found"], "zh": ["不存在"]})
    assert not path.exists()


def padded_example(size: int) -> bytes:
    """The valid example padded with a YAML comment to exactly ``size`` bytes."""
    data = EXAMPLE.read_bytes().rstrip(b"\n") + b"\n# "
    assert len(data) + 1 < size
    data = data + b"x" * (size - len(data) - 1) + b"\n"
    assert len(data) == size
    return data


def test_file_over_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(padded_example(MAX_BYTES + 1))
    results = assert_bad(path, words={"en": ["too large"], "zh": ["过大"]})
    for r in results.values():
        digits = r.stderr.replace(",", "")
        assert str(MAX_BYTES + 1) in digits and str(MAX_BYTES) in digits, r.stderr


def test_file_of_exactly_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "exact.yaml"
    path.write_bytes(padded_example(MAX_BYTES))
    before = snapshot(tmp_path)
    r = run("check", path, "--as-of", AS_OF, "--lang", "en")
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    assert "too large" not in r.stderr
    assert snapshot(tmp_path) == before


def _timed_bad(path: Path, line: int) -> None:
    start = time.monotonic()
    results = assert_bad(path, words={"*": [str(MAX_DEPTH)]})
    elapsed = time.monotonic() - start
    assert elapsed < 20, f"took {elapsed:.1f}s"
    assert f"line {line}" in results["en"].stderr, results["en"].stderr
    assert "nested" in results["en"].stderr
    assert "嵌套" in results["zh"].stderr


def test_deep_nesting_json(tmp_path: Path) -> None:
    text = json.dumps(base_doc(), ensure_ascii=False, indent=2)
    assert text.endswith("\n}")
    text = text[:-2] + ',\n  "deep": ' + "[" * DEEP + "]" * DEEP + "\n}\n"
    path = tmp_path / "deep.json"
    path.write_text(text, encoding="utf-8")
    _timed_bad(path, text.count("\n") - 1)


@pytest.mark.parametrize(
    "tail",
    ["deep: " + "{a: " * DEEP + "}" * DEEP + "\n", "deep:\n" + "- " * DEEP + "x\n"],
    ids=["flow-mapping", "block-list"],
)
def test_deep_nesting_yaml(tmp_path: Path, tail: str) -> None:
    text = example_text().rstrip("\n") + "\n"
    line = text.count("\n") + tail.count("\n")  # the last line holds the nesting
    path = tmp_path / "deep.yaml"
    path.write_text(text + tail, encoding="utf-8")
    _timed_bad(path, line)


# ------------------------------------------------------------------------------- the options


@pytest.mark.parametrize("value", ["2026-02-30", "tomorrow", "20261127", "2026-W48-5", "２０２６-11-27"])  # only YYYY-MM-DD, as in the application
def test_bad_as_of(tmp_path: Path, value: str) -> None:
    results = run_langs("check", EXAMPLE, "--as-of", value)
    for lang, r in results.items():
        no_traceback(r)
        assert r.returncode == 2, (lang, r.stdout[:300], r.stderr)
        assert r.stdout == ""
        assert "--as-of" in r.stderr and value in r.stderr, r.stderr
        assert "YYYY-MM-DD" in r.stderr
        if lang == "zh":
            assert CJK.search(r.stderr), r.stderr


def test_unknown_pack() -> None:
    results = run_langs("check", EXAMPLE, "--as-of", AS_OF, "--pack", "nope-2099")
    for lang, r in results.items():
        no_traceback(r)
        assert r.returncode == 2, (lang, r.stdout[:300], r.stderr)
        assert r.stdout == ""
        assert "nope-2099" in r.stderr
        assert "anhui-2025" in r.stderr  # the packs that do exist are listed
        if lang == "zh":
            assert CJK.search(r.stderr), r.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--format", "pdf"), ["--format", "pdf"]),
        (("--lang", "fr"), ["--lang", "fr"]),
        (("--no-such-option",), ["--no-such-option"]),
    ],
    ids=["format", "lang", "unknown-option"],
)
def test_usage_errors(args: tuple[str, ...], words: list[str]) -> None:
    r = run("check", EXAMPLE, "--as-of", AS_OF, *args, env={"COLUMNS": "200"})
    no_traceback(r)
    assert r.returncode == 2, (r.stdout[:300], r.stderr)
    assert r.stdout == ""
    assert "Usage" in r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


def test_usage_error_in_chinese_session() -> None:
    r = run("check", EXAMPLE, "--as-of", AS_OF, "--lang", "zh", "--format", "pdf", env={"COLUMNS": "200"})
    no_traceback(r)
    assert r.returncode == 2
    assert "pdf" in r.stderr


def test_missing_file_argument() -> None:
    r = run("check", "--lang", "en")
    no_traceback(r)
    assert r.returncode == 2
    assert "Usage" in r.stderr


# ------------------------------------------------------------ a wrong VIN is a rule's business


def replace_everywhere(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: replace_everywhere(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_everywhere(v, old, new) for v in value]
    return new if value == old else value


def vin_findings(tmp_path: Path, vin: str) -> tuple[dict[str, subprocess.CompletedProcess], list[dict]]:
    doc = base_doc()
    old = doc["vehicles"][0]["vin"]
    doc = replace_everywhere(doc, old, vin)  # insurance, notices... follow the vehicle
    path = write(tmp_path, "application.yaml", doc)
    before = snapshot(tmp_path)
    results = run_langs("check", path, "--as-of", AS_OF, "--format", "json")
    assert snapshot(tmp_path) == before
    for lang, r in results.items():
        no_traceback(r)
        assert r.returncode == 1, (lang, r.stderr, r.stdout[:300])
        assert r.stderr == "", r.stderr  # not "Bad input"
    findings = json.loads(results["en"].stdout)["findings"]
    return results, findings


@pytest.mark.parametrize(
    "vin",
    ["LSVAU2180N2183294", "LSVAU218XN"],
    ids=["wrong-check-digit", "ten-characters"],
)
def test_bad_vin_is_a_failing_rule_not_bad_input(tmp_path: Path, vin: str) -> None:
    results, findings = vin_findings(tmp_path, vin)
    failing = {(f["rule_id"], f["subject"]["path"]) for f in findings if f["outcome"] == "fail"}
    assert failing == {("VEH-10", "vehicles[0]")}, failing
    veh10 = [f for f in findings if f["rule_id"] == "VEH-10" and f["outcome"] == "fail"]
    assert veh10[0]["field"] == "vehicles[0].vin"
    assert veh10[0]["reason"] in {"vin_check_digit", "vin_length"}, veh10[0]["reason"]
    assert json.loads(results["en"].stdout)["verdict"] == "non_compliant"
    # the text report shows it too
    text = run("check", write(tmp_path, "again.yaml", replace_everywhere(base_doc(), "LSVAU218XN2183294", vin)), "--as-of", AS_OF, "--lang", "en")
    assert text.returncode == 1 and "VEH-10" in text.stdout, text.stdout


def test_ten_character_vin_message_says_the_length(tmp_path: Path) -> None:
    results, _ = vin_findings(tmp_path, "LSVAU218XN")
    for lang, r in results.items():
        veh10 = [f for f in json.loads(r.stdout)["findings"] if f["rule_id"] == "VEH-10"][0]
        assert "10" in veh10["message"].replace("LSVAU218XN", ""), (lang, veh10["message"])
        assert "17" in veh10["message"], (lang, veh10["message"])
        assert "—" not in veh10["message"], (lang, veh10["message"])


# ------------------------------------------------------------------------ fixed library bugs (regression tests)


def test_unknown_material_key_path(tmp_path: Path) -> None:
    doc = base_doc()
    doc["materials"]["unknown_thing"] = True
    path = write(tmp_path, "application.yaml", doc)
    results = assert_bad(path, location="materials.unknown_thing", words={"*": ["unknown_thing"]})
    for r in results.values():
        assert "[key]" not in r.stderr, r.stderr
        assert f"{path}: materials.unknown_thing: " in r.stderr, r.stderr


def test_unknown_material_lists_every_allowed_value(tmp_path: Path) -> None:
    from icv_permits.core.model.application import Material

    doc = base_doc()
    doc["materials"]["unknown_thing"] = True
    path = write(tmp_path, "application.yaml", doc)
    assert_bad(path, words={"*": ["unknown_thing", *(m.value for m in Material)]})


def test_empty_credit_code_is_worded_as_text(tmp_path: Path) -> None:
    doc = base_doc()
    doc["entity"]["credit_code"] = ""
    path = write(tmp_path, "application.yaml", doc)
    results = assert_bad(path, location="entity.credit_code")
    en = results["en"].stderr
    assert "item" not in en, en
    assert "empty" in en or "character" in en, en


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_is_refused_quickly(tmp_path: Path) -> None:
    fifo = tmp_path / "application.yaml"
    os.mkfifo(fifo)
    r = run("check", fifo, "--as-of", AS_OF, "--lang", "en", timeout=5)  # TimeoutExpired = hang
    no_traceback(r)
    assert r.returncode == 2, r.stderr
    assert str(fifo) in r.stderr


def test_personal_numbers_are_masked_in_bad_input_messages(tmp_path):
    """An ID or phone number of the wrong type is named with its field, never shown in clear."""
    doc = base_doc()
    doc["drivers"][0]["phone"] = 13955512345  # a number, not text
    doc["entity"]["contact_phone"] = ["13812345678"]
    path = write(tmp_path, "numbers.json", doc)
    for lang, r in run_langs("check", path).items():
        assert r.returncode == 2, r.stderr
        out = r.stdout + r.stderr
        assert "drivers[0].phone" in out and "entity.contact_phone" in out, out
        for clear in ("13955512345", "13812345678"):
            assert clear not in out, (lang, out)
        assert "139****2345" in out, out


# ---------------------------------------------------------------- arguments that are not UTF-8


def _run_bytes(argv: list[bytes], env: dict[bytes, bytes] | None = None, tmp: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI with arguments (and environment) given as bytes, as a shell passes them."""
    base = {k.encode(): v.encode() for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    base[b"PYTHONIOENCODING"] = b"utf-8"
    if tmp is not None:
        base[b"ICV_PERMITS_DATABASE_URL"] = f"sqlite:///{tmp / 'store.db'}".encode()
    base.update(env or {})
    return subprocess.run([sys.executable.encode(), b"-m", b"icv_permits.cli", *argv], cwd=ROOT, env=base,
                          capture_output=True, timeout=120)


@pytest.mark.parametrize(("argv", "number"), [
    ([b"decide", b"4", b"--approve", b"--actor", b"\xff\xfe"], 5),
    ([b"entity", b"show", b"ab\xff"], 3),
    ([b"submit", b"rt\xff.yaml"], 2),
    ([b"audit", b"explain", b"\xff"], 3),
    ([b"check", EXAMPLE.as_posix().encode(), b"--as-of", AS_OF.encode(), b"--pack", b"\xc3\x28"], 6),
])
def test_an_argument_that_is_not_utf8_is_refused_naming_it(tmp_path, argv, number):
    for lang in LANGS:
        r = _run_bytes([*argv, b"--lang", lang.encode()], tmp=tmp_path)
        out = (r.stdout + r.stderr).decode("utf-8")
        assert r.returncode == 2, out
        assert "Traceback" not in out
        assert (f"argument {number} " if lang == "en" else f"第 {number} 个参数") in out, out
        assert "\\xff" in out or "\\xc3" in out  # the byte shown, escaped
    assert not (tmp_path / "store.db").exists()  # refused before any command opened the store


def test_an_environment_variable_that_is_not_utf8_is_refused_naming_it(tmp_path):
    r = _run_bytes([b"queue", b"--lang", b"en"], env={b"ICV_PERMITS_ACTOR": b"\xff"}, tmp=tmp_path)
    out = (r.stdout + r.stderr).decode("utf-8")
    assert r.returncode == 2 and "ICV_PERMITS_ACTOR is not UTF-8 text" in out, out
    r = _run_bytes([b"queue"], env={b"ICV_PERMITS_DATABASE_URL": b"sqlite:////tmp/\xff/x.db"})
    out = (r.stdout + r.stderr).decode("utf-8")
    assert r.returncode == 2 and "环境变量 ICV_PERMITS_DATABASE_URL" in out, out


def test_utf8_arguments_in_chinese_pass_through():
    r = _run_bytes([b"check", EXAMPLE.as_posix().encode(), b"--as-of", AS_OF.encode(), b"--pack", "安徽".encode()])
    out = (r.stdout + r.stderr).decode("utf-8")
    assert r.returncode == 2 and "UTF-8" not in out and "安徽" in out, out  # read as typed: no such pack

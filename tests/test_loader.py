"""Tests for icv_permits.adapters.documents and icv_permits.core.errors: bad input never yields a traceback."""

from __future__ import annotations

import datetime
import enum
import os
import re
import time
from pathlib import Path

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icv_permits.adapters import documents as loader
from icv_permits.adapters.documents import (
    MAX_BYTES,
    MAX_DEPTH,
    parse_document,
    read_document,
    validation_problems,
)
from icv_permits.core.errors import InputError, Problem

CJK = re.compile(r"[\u4e00-\u9fff]")


def check_problem(exc: InputError, code: str, location: str | None = None) -> Problem:
    """The error has exactly one problem, with ``code``, rendered in both languages."""
    assert isinstance(exc, InputError)
    assert exc.exit_code == 2
    assert [p.code for p in exc.problems] == [code], exc.render("en")
    problem = exc.problems[0]
    if location is not None:
        assert problem.location == location
    check_rendering(problem)
    assert exc.render("en") == problem.render("en")
    return problem


def check_rendering(problem: Problem) -> None:
    en, zh = problem.render("en"), problem.render("zh")
    assert en.strip() and zh.strip()
    assert en != zh
    assert CJK.search(zh), zh
    for text in (en, zh):
        assert "Traceback" not in text
        assert not re.search(r"\{\w+\}", text), text  # every placeholder was filled
    if problem.location:
        assert en.startswith(problem.location + ": ")
        assert zh.startswith(problem.location + ": ")


def parse_fails(data: bytes | str, name: str = "doc.yaml", **kw) -> InputError:
    if isinstance(data, str):
        data = data.encode("utf-8")
    with pytest.raises(InputError) as info:
        parse_document(data, name=name, **kw)
    return info.value


def read_fails(path: Path | str) -> InputError:
    with pytest.raises(InputError) as info:
        read_document(path)
    return info.value


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# ---- the happy path ---------------------------------------------------------------------------


def test_reads_yaml_and_json(tmp_path):
    y = write(tmp_path, "a.yaml", "name: 合肥测试\ncount: 3\nok: true\nitems:\n  - {x: 1.5}\n")
    j = write(tmp_path, "a.json", '{"name": "合肥测试", "count": 3, "ok": true, "items": [{"x": 1.5}]}')
    expected = {"name": "合肥测试", "count": 3, "ok": True, "items": [{"x": 1.5}]}
    assert read_document(y) == expected
    assert read_document(str(j)) == expected


def test_format_is_guessed_from_suffix_then_content():
    assert parse_document(b'{"a": 1}', name="x") == {"a": 1}
    assert parse_document(b'\n {"a": [1]}', name="x.txt") == {"a": [1]}
    assert parse_document(b"a: 1", name="x.txt") == {"a": 1}
    assert parse_document(b"a: 1", name="X.YML") == {"a": 1}
    # a YAML flow mapping in a .yaml file is YAML, not JSON
    assert parse_document(b"{a: 1}", name="x.yaml") == {"a": 1}
    # explicit format wins over the suffix
    assert parse_document(b"a: 1", name="x.json", fmt="yaml") == {"a": 1}
    check_problem(parse_fails(b"a: 1", name="x.yaml", fmt="json"), "json_syntax")
    with pytest.raises(ValueError):
        parse_document(b"a: 1", name="x", fmt="toml")


def test_dates_and_lookalikes_stay_strings():
    doc = parse_document(
        b"bad: 2026-02-30\ngood: 2026-01-05\nstamp: 2026-01-05 09:30:00\n"
        b"licence: 0123\ntime: 09:30\nhex: 0x1F\ninf: .inf\nnan: .nan\nmerge: <<\neq: =\n"
        b"n: 12\nneg: -3\nbig: 1_000\nf: 2.5\nb: yes\nz: ~\n",
        name="d.yaml",
    )
    assert doc["bad"] == "2026-02-30" and isinstance(doc["bad"], str)
    assert doc["good"] == "2026-01-05" and isinstance(doc["good"], str)
    assert doc["stamp"] == "2026-01-05 09:30:00"
    assert doc["licence"] == "0123"
    assert doc["time"] == "09:30"
    assert doc["hex"] == "0x1F"
    assert doc["inf"] == ".inf" and doc["nan"] == ".nan"
    assert doc["merge"] == "<<" and doc["eq"] == "="
    assert (doc["n"], doc["neg"], doc["big"], doc["f"], doc["b"], doc["z"]) == (12, -3, 1000, 2.5, True, None)


def test_yaml_loader_class_does_not_touch_the_global_safe_loader():
    import yaml

    assert yaml.load("d: 2026-01-05", Loader=loader._YamlLoader) == {"d": "2026-01-05"}
    assert yaml.safe_load("d: 2026-01-05") == {"d": datetime.date(2026, 1, 5)}


def test_merge_key_is_an_ordinary_key():
    assert parse_document(b"<<: {a: 1}\nb: 2", name="m.yaml") == {"<<": {"a": 1}, "b": 2}


def test_utf8_bom_is_accepted(tmp_path):
    path = write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + "名称: 测试\n".encode())
    assert read_document(path) == {"名称": "测试"}
    assert parse_document(b'\xef\xbb\xbf{"a": 1}', name="bom.json") == {"a": 1}


def test_inputs_are_not_modified(tmp_path):
    path = write(tmp_path, "a.yaml", "a: [1, 2]\n")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    listing = sorted(os.listdir(tmp_path))
    data = bytearray(b"a: [1, 2]\n")
    read_document(path)
    parse_document(data, name="a.yaml")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert data == bytearray(b"a: [1, 2]\n")
    assert sorted(os.listdir(tmp_path)) == listing


# ---- the file --------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    check_problem(read_fails(path), "not_found", str(path))
    check_problem(read_fails(tmp_path / "nope.yaml" / "below.yaml"), "not_found")


def test_directory(tmp_path):
    check_problem(read_fails(tmp_path), "is_directory", str(tmp_path))


def test_unreadable_reports_the_os_reason(tmp_path, monkeypatch):
    path = write(tmp_path, "a.yaml", "a: 1")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loader, "open", denied, raising=False)
    problem = check_problem(read_fails(path), "unreadable", str(path))
    assert problem.params["reason_text"] == "permission denied"
    assert "没有读取权限" in problem.render("zh")

    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(loader, "open", broken, raising=False)
    problem = check_problem(read_fails(path), "unreadable")
    assert "input/output error" in problem.render("en")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_for_real(tmp_path):
    path = write(tmp_path, "secret.yaml", "a: 1")
    path.chmod(0)
    try:
        check_problem(read_fails(path), "unreadable", str(path))
    finally:
        path.chmod(0o600)


def test_nul_in_path_name():
    check_problem(read_fails("bad\0name.yaml"), "unreadable")


def test_empty_file(tmp_path):
    check_problem(read_fails(write(tmp_path, "empty.yaml", b"")), "empty")
    check_problem(read_fails(write(tmp_path, "empty.json", b"")), "empty")


def test_whitespace_only_file(tmp_path):
    check_problem(read_fails(write(tmp_path, "blank.yaml", " \n\t\r\n   \n")), "empty")
    check_problem(read_fails(write(tmp_path, "blank.json", "\n\n  ")), "empty")
    check_problem(read_fails(write(tmp_path, "bom.yaml", b"\xef\xbb\xbf  \n")), "empty")


def test_comments_only_and_bare_document_marker_are_empty():
    check_problem(parse_fails("# 申请表\n# nothing yet\n"), "empty")
    check_problem(parse_fails("---\n"), "empty")


def test_too_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:  # sparse: no data is actually written
        fh.truncate(MAX_BYTES + 1)

    def must_not_open(*args, **kwargs):
        raise AssertionError("the file was opened although stat() says it is too large")

    monkeypatch.setattr(loader, "open", must_not_open, raising=False)
    problem = check_problem(read_fails(path), "too_large", str(path))
    assert problem.params["size"] == f"{MAX_BYTES + 1:,}"
    assert problem.params["limit"] == f"{MAX_BYTES:,}"


def test_exactly_max_bytes_passes_the_size_check(tmp_path):
    head = b"a: 1\n#"
    data = head + b"x" * (MAX_BYTES - len(head) - 1) + b"\n"
    assert len(data) == MAX_BYTES
    assert read_document(write(tmp_path, "max.yaml", data)) == {"a": 1}
    assert parse_document(data, name="max.yaml") == {"a": 1}
    check_problem(parse_fails(data + b"\n", name="over.yaml"), "too_large")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_are_refused_before_reading():
    # /dev/zero reports size 0 but never ends: it is refused as not a regular file
    check_problem(read_fails("/dev/zero"), "not_regular", "/dev/zero")


# ---- encoding --------------------------------------------------------------------------------


def test_gbk_bytes_name_the_offset_and_line(tmp_path):
    data = b"applicant: acme\n" + "名称: 测试\n".encode("gbk")
    problem = check_problem(read_fails(write(tmp_path, "gbk.yaml", data)), "encoding")
    assert problem.params["line"] == 2
    assert problem.params["offset"] == len(b"applicant: acme\n")
    assert problem.params["byte"] == f"0x{data[16]:02X}"
    assert "第 2 行" in problem.render("zh")
    assert "line 2" in problem.render("en")


def test_bad_byte_offset_counts_the_bom():
    problem = check_problem(parse_fails(b"\xef\xbb\xbfa: \xff\n"), "encoding")
    assert problem.params["offset"] == 6 and problem.params["line"] == 1


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_file_says_save_as_utf8(tmp_path, codec):
    text = "名称: 测试\n"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    problem = check_problem(read_fails(write(tmp_path, "u16.yaml", data)), "encoding")
    assert "UTF-8" in problem.render("en") and "UTF-8" in problem.render("zh")
    assert problem.params["encoding"] in ("UTF-16", "UTF-32")


def test_utf16_without_bom_is_caught_by_its_nul_bytes():
    problem = check_problem(parse_fails("a: 1\nb: 2\n".encode("utf-16-le")), "encoding")
    assert problem.params["offset"] == 1 and problem.params["line"] == 1


def test_control_character_is_refused_with_line_and_column():
    problem = check_problem(parse_fails("a: 1\nb: x\x07y\n"), "encoding")
    assert (problem.params["line"], problem.params["column"]) == (2, 5)
    assert problem.params["char"] == "U+0007"


# ---- syntax ----------------------------------------------------------------------------------


def test_malformed_yaml(tmp_path):
    path = write(tmp_path, "bad.yaml", "applicant: acme\nvehicles: [1, 2\nother: 3\n")
    problem = check_problem(read_fails(path), "yaml_syntax", str(path))
    assert problem.params["line"] >= 2 and problem.params["column"] >= 1
    assert f"line {problem.params['line']}" in problem.render("en")
    assert "YAML" in problem.render("zh")


def test_yaml_syntax_line_and_column_are_one_based():
    problem = check_problem(parse_fails("a: 1\nb: c: d\n"), "yaml_syntax")
    assert (problem.params["line"], problem.params["column"]) == (2, 5)
    assert "mapping values" in problem.render("en")


def test_yaml_tab_indentation_gets_a_clear_message():
    problem = check_problem(parse_fails("a:\n\tb: 1\n"), "yaml_syntax")
    assert problem.params["line"] == 2
    assert "tab" in problem.render("en") and "制表符" in problem.render("zh")


def test_full_width_colon_hint():
    problem = check_problem(parse_fails("a: 1\n名称：测试\nc: 3\n"), "yaml_syntax")
    assert problem.params["hint_line"] == 2
    assert "：" in problem.render("en") and "全角冒号" in problem.render("zh")
    problem = check_problem(parse_fails("名称：测试\n"), "not_a_mapping")
    assert "全角冒号" in problem.render("zh")


def test_malformed_json(tmp_path):
    path = write(tmp_path, "bad.json", '{\n  "a": 1,\n  "b": 2,\n}\n')
    problem = check_problem(read_fails(path), "json_syntax", str(path))
    assert (problem.params["line"], problem.params["column"]) == (4, 1)
    assert "line 4, column 1" in problem.render("en")
    assert "第 4 行第 1 列" in problem.render("zh")


def test_json_trailing_garbage():
    problem = check_problem(parse_fails('{"a": 1}\n{"b": 2}', name="x.json"), "json_syntax")
    assert problem.params["line"] == 2


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_refused(literal):
    problem = check_problem(parse_fails(f'{{"a": 1,\n "b": {literal}}}', name="x.json"), "json_syntax")
    assert problem.params["line"] == 2 and problem.params["column"] == 7
    assert problem.params["constant"] == literal


def test_json_strings_containing_nan_are_fine():
    assert parse_document(b'{"a": "NaN", "b": "[[[["}', name="x.json") == {"a": "NaN", "b": "[[[["}


def test_json_huge_integer_is_a_clear_error():
    check_problem(parse_fails(b'{"a": ' + b"9" * 5000 + b"}", name="x.json"), "json_syntax")


# ---- structure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        ("- a\n- b\n", "list.yaml", "a list"),
        ('[{"a": 1}]', "list.json", "a list"),
        ("just some text\n", "s.yaml", "text"),
        ("42\n", "n.yaml", "a whole number"),
        ("4.5\n", "n.yaml", "a number"),
        ("null\n", "n.yaml", "null (an empty value)"),
        ('"text"', "s.json", "text"),
        ("true", "b.json", "true/false"),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path, data, name, kind):
    path = write(tmp_path, name, data)
    problem = check_problem(read_fails(path), "not_a_mapping", str(path))
    assert problem.params["kind_text"] == kind


def _nested_json(depth: int) -> str:
    return '{"a": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


def _nested_yaml_flow(depth: int) -> str:
    return "a: " + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "\n"


def _nested_yaml_block(depth: int) -> str:
    lines = [("  " * i) + f"k{i}:" for i in range(depth - 1)]
    lines.append(("  " * (depth - 1)) + "k: 1")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("build", "name"),
    [(_nested_json, "d.json"), (_nested_yaml_flow, "d.yaml"), (_nested_yaml_block, "d.yaml")],
)
def test_depth_limit_is_exact(build, name):
    assert isinstance(parse_document(build(MAX_DEPTH).encode(), name=name), dict)
    problem = check_problem(parse_fails(build(MAX_DEPTH + 1), name=name), "too_deep")
    assert problem.params["limit"] == MAX_DEPTH
    if name.endswith(".yaml") and build is _nested_yaml_block:
        assert problem.params["line"] == MAX_DEPTH + 1  # where the 33rd mapping starts


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ("[" * 100_000, "deep.json"),
        ('{"a":' * 100_000, "deep.json"),
        ("[" * 100_000 + "]" * 100_000, "deep.json"),
        ("[" * 100_000, "deep.yaml"),
        ("[" * 100_000 + "]" * 100_000, "deep.yaml"),
        ("- " * 100_000 + "x\n", "deep.yaml"),
        ("{a: " * 100_000, "deep.yaml"),
    ],
)
def test_100000_deep_nesting_is_refused_quickly(tmp_path, data, name):
    path = write(tmp_path, name, data)
    started = time.perf_counter()
    exc = read_fails(path)  # a RecursionError would escape pytest.raises(InputError)
    assert time.perf_counter() - started < 5
    check_problem(exc, "too_deep", str(path))


def test_yaml_aliases_and_anchors_are_refused():
    problem = check_problem(parse_fails("base: &b {x: 1}\nother: *b\n"), "alias")
    assert problem.params["line"] == 1  # the anchor is reported first
    problem = check_problem(parse_fails("a: 1\nb: *x\n"), "alias")
    assert problem.params["line"] == 2
    assert "anchors and aliases are not allowed" in problem.render("en")
    assert "锚点" in problem.render("zh")


def test_billion_laughs_is_refused_without_expansion():
    lol = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    check_problem(parse_fails(lol), "alias")


def test_yaml_duplicate_keys():
    problem = check_problem(parse_fails("a: 1\nvehicles:\n  - vin: X\n    vin: Y\n"), "duplicate_key")
    assert problem.params["line"] == 4 and problem.params["first_line"] == 3
    assert problem.params["path"] == "vehicles[0].vin"
    assert "vin" in problem.render("zh")


def test_yaml_duplicate_keys_differently_quoted():
    check_problem(parse_fails("a: 1\n'a': 2\n"), "duplicate_key")


def test_json_duplicate_keys():
    problem = check_problem(
        parse_fails('{"a": 1,\n "list": [{"x": 1}, {"x": 2,\n "x": 3}]}', name="d.json"), "duplicate_key"
    )
    assert problem.params["line"] == 3 and problem.params["first_line"] == 2
    assert problem.params["path"] == "list[1].x"
    # the same key spelt with an escape is still the same key
    check_problem(parse_fails('{"a": 1, "\\u0061": 2}', name="d.json"), "duplicate_key")


def test_multiple_documents():
    problem = check_problem(parse_fails("a: 1\n---\nb: 2\n"), "multiple_documents")
    assert problem.params["line"] == 2
    check_problem(parse_fails("--- {a: 1}\n...\n--- {b: 2}\n"), "multiple_documents")


@pytest.mark.parametrize(
    ("data", "path_text", "line"),
    [
        ("1: x\n", "the top level", 1),
        ("a:\n  b:\n    - null: y\n", "a.b[0]", 3),
        ("a: 1\nyes: 2\n", "the top level", 2),
        ("? [a, b]\n: 1\n", "the top level", 1),
        ("?\n: empty key\n", "the top level", 1),
        ("a: {~: x}\n", "a", 1),
    ],
)
def test_non_string_keys(data, path_text, line):
    problem = check_problem(parse_fails(data), "key_type")
    assert problem.params["path_text"] == path_text
    assert problem.params["line"] == line


def test_quoted_number_key_is_fine():
    assert parse_document(b"'1': x\n\"null\": y\n", name="k.yaml") == {"1": "x", "null": "y"}


@pytest.mark.parametrize(
    "tagged",
    [
        "a: !!python/object:os.system x",
        "a: !!binary aGk=",
        "a: !!set {x}",
        "a: !foo x",
        "a: !!timestamp 2026-01-05",
        "a: !!int 5",
    ],
)
def test_yaml_tags_are_refused(tagged):
    problem = check_problem(parse_fails(tagged), "yaml_tag")
    assert problem.params["line"] == 1


def test_str_tag_is_allowed():
    assert parse_document(b"a: !!str 0123\nb: !!str 2026-01-05\n", name="t.yaml") == {"a": "0123", "b": "2026-01-05"}


# ---- Problem / InputError --------------------------------------------------------------------


def test_problem_rendering_and_input_error():
    root = Problem("", "required field is missing", {}, "missing")
    assert root.render("en") == "required field is missing"
    assert root.render("zh") == "缺少必填字段"
    located = Problem("vehicles[2].vin", "required field is missing", {}, "missing")
    assert located.render("en") == "vehicles[2].vin: required field is missing"
    err = InputError([root, located])
    assert err.exit_code == 2
    assert err.render("zh").splitlines() == ["缺少必填字段", "vehicles[2].vin: 缺少必填字段"]
    assert str(err) == err.render("en")
    with pytest.raises(ValueError):
        InputError([])
    with pytest.raises(TypeError):
        Problem("x", "m", {"bad": [1]}, "code")


def test_problem_with_unknown_msgid_or_missing_param_never_raises():
    assert Problem("", "no such message {x}", {}, "c").render("zh") == "no such message {x}"
    assert Problem("", "cannot read the file: {reason_text}", {"other": 1}, "c").render("en") == (
        "cannot read the file: {reason_text}"
    )


# ---- validation_problems ---------------------------------------------------------------------


class Category(str, enum.Enum):
    M1 = "M1"
    N1 = "N1"


class Vehicle(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    vin: str
    category: Category
    registered: datetime.date
    seats: int = pydantic.Field(ge=0)

    @pydantic.field_validator("vin")
    @classmethod
    def _vin(cls, value: str) -> str:
        if value.startswith("BAD"):
            raise ValueError("VIN checksum does not match")
        if value.startswith("MISS"):
            raise ValueError("required field is missing")  # a known msgid: translated
        return value


class Application(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    applicant: str
    vehicles: list[Vehicle] = pydantic.Field(min_length=1)


def problems_for(data: dict, **kw) -> dict[str, Problem]:
    with pytest.raises(pydantic.ValidationError) as info:
        Application.model_validate(data)
    found = validation_problems(info.value, **kw)
    for problem in found:
        check_rendering(problem)
    return {p.location: p for p in found}


GOOD_VEHICLE = {"vin": "LSVAA4182E2100001", "category": "M1", "registered": "2026-01-05", "seats": 5}


def test_validation_paths_and_codes():
    data = {
        "applicant": ["not", "text"],
        "vehicles": [
            dict(GOOD_VEHICLE, registered="2026-02-30", colour="red"),
            dict(GOOD_VEHICLE, category="X9", seats=-1, vin="BAD" + "1" * 14),
            {"vin": "MISS", "category": "N1", "registered": "2026/01/05"},
            dict(GOOD_VEHICLE, seats="many", registered=[2026]),
        ],
        "extra_top": 1,
    }
    found = problems_for(data)
    assert found["applicant"].code == "wrong_type"
    assert found["vehicles[0].registered"].code == "date"
    assert found["vehicles[0].colour"].code == "extra_forbidden"
    assert found["vehicles[1].category"].code == "enum"
    assert found["vehicles[1].seats"].code == "constraint"
    assert found["vehicles[1].vin"].code == "value_error"
    assert found["vehicles[2].vin"].code == "value_error"
    assert found["vehicles[2].registered"].code == "date"
    assert found["vehicles[2].seats"].code == "missing"
    assert found["vehicles[3].seats"].code == "constraint"
    assert found["vehicles[3].registered"].code == "wrong_type"
    assert found["extra_top"].code == "extra_forbidden"

    assert "真实存在" in found["vehicles[0].registered"].render("zh")  # impossible date
    assert "2026-02-30" in found["vehicles[0].registered"].render("en")
    assert "YYYY-MM-DD" in found["vehicles[2].registered"].render("zh")  # malformed date
    enum_problem = found["vehicles[1].category"]
    assert enum_problem.params["allowed"] == "M1, N1"
    assert "X9" in enum_problem.render("zh") and "M1, N1" in enum_problem.render("en")
    assert found["vehicles[1].seats"].render("zh").endswith("必须大于或等于 0")
    assert "VIN checksum does not match" in found["vehicles[1].vin"].render("zh")
    assert found["vehicles[2].vin"].render("zh") == "vehicles[2].vin: 缺少必填字段"
    wrong = found["applicant"]
    assert wrong.render("en") == "applicant: expected text, but got a list"
    assert wrong.render("zh") == "applicant: 应为文本，实际为列表"


def test_validation_missing_and_too_short():
    found = problems_for({"vehicles": []})
    assert found["applicant"].code == "missing"
    assert found["vehicles"].code == "constraint"
    assert "1" in found["vehicles"].render("zh")


def test_validation_wrong_container_and_root_errors():
    found = problems_for({"applicant": "x", "vehicles": {"vin": 1}})
    assert found["vehicles"].code == "wrong_type"
    assert "映射" in found["vehicles"].render("zh")


def test_unknown_field_suggestion_needs_the_model():
    data = {"applicant": "x", "vehicles": [dict(GOOD_VEHICLE, categroy="M1")], "aplicant": "y"}
    plain = problems_for(data)
    assert plain["vehicles[0].categroy"].params == {"field": "categroy"}
    helped = problems_for(data, model=Application)
    assert helped["vehicles[0].categroy"].params["suggestion"] == "category"
    assert helped["aplicant"].params["suggestion"] == "applicant"
    assert "category" in helped["vehicles[0].categroy"].render("zh")


def test_validation_never_echoes_more_than_40_characters():
    long_value = "Z" * 500
    found = problems_for({"applicant": "x", "vehicles": [dict(GOOD_VEHICLE, category=long_value, seats=long_value)]})
    for problem in found.values():
        for lang in ("zh", "en"):
            assert "Z" * 41 not in problem.render(lang)
            assert "Z" * 40 in problem.render(lang)


def test_validation_paths_quote_odd_keys():
    class Loose(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        items: dict[str, int]

    with pytest.raises(pydantic.ValidationError) as info:
        Loose.model_validate({"items": {"a b": "x", "ok": 1}, "名 称": 1})
    locations = {p.location for p in validation_problems(info.value)}
    assert locations == {'items["a b"]', '["名 称"]'}


def test_root_level_validator_error_has_no_location():
    class Pair(pydantic.BaseModel):
        a: int
        b: int

        @pydantic.model_validator(mode="after")
        def _order(self):
            if self.a > self.b:
                raise ValueError("a must not exceed b")
            return self

    with pytest.raises(pydantic.ValidationError) as info:
        Pair.model_validate({"a": 2, "b": 1})
    (problem,) = validation_problems(info.value)
    assert problem.location == "" and problem.code == "value_error"
    assert problem.render("en") == "invalid value: a must not exceed b"
    assert problem.render("zh") == "取值无效：a must not exceed b"


def test_unknown_error_type_falls_back_to_pydantic_message():
    from pydantic_core import PydanticCustomError

    class Custom(pydantic.BaseModel):
        x: int

        @pydantic.field_validator("x")
        @classmethod
        def _x(cls, value):
            raise PydanticCustomError("odd_thing", "odd thing {n}", {"n": 3})

    with pytest.raises(pydantic.ValidationError) as info:
        Custom.model_validate({"x": 1})
    (problem,) = validation_problems(info.value)
    assert problem.code == "invalid" and problem.location == "x"
    assert problem.render("en") == "x: invalid value: odd thing 3"


# ---- never anything but a dict or InputError -------------------------------------------------

YAMLISH = st.text(
    alphabet=st.sampled_from(list("[]{}:,-?!&*#|>'\"%@`~.=< \t\n\r\\abcnNy01249：名\x00\x07\ufeff\u3000")),
    max_size=60,
)


def _parse_or_input_error(data: bytes, name: str) -> None:
    try:
        result = parse_document(data, name=name)
    except InputError as exc:
        for problem in exc.problems:
            assert problem.render("en") and problem.render("zh")
        return
    assert isinstance(result, dict)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200), name=st.sampled_from(["a.yaml", "a.json", "a", "a.txt"]))
def test_arbitrary_bytes_give_a_dict_or_input_error(data, name):
    _parse_or_input_error(data, name)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=YAMLISH, name=st.sampled_from(["a.yaml", "a.json", "a"]))
def test_arbitrary_yamlish_text_gives_a_dict_or_input_error(text, name):
    _parse_or_input_error(text.encode("utf-8"), name)


@settings(max_examples=200, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
        max_leaves=20,
    )
)
def test_arbitrary_json_values(value):
    import json

    _parse_or_input_error(json.dumps(value, ensure_ascii=False).encode("utf-8"), "v.json")
    _parse_or_input_error(json.dumps({"k": value}).encode("utf-8"), "v")

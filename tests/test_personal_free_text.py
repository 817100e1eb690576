"""ID and phone numbers typed into free text are masked before anything is stored, logged, exported
or shown in an error message (core/personal_text.py).

The scanner: what it finds and masks, what it must leave alone (VINs, credit codes, dates, amounts,
plates, notice numbers), and properties (idempotent, never adds a digit, a valid ID number or a
mobile number inside random Chinese text is always masked). The office: after submit, decide and a
plate renewal with numbers in descriptions, names, reasons and the actor, neither the database
(its rows and, on SQLite, its files' bytes) nor the log's export holds the clear number, the
submission's list of changed fields says where text was masked, and every decision replays
identically. Error messages: a number put into any field is echoed masked (exit 2, zh and en).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import types
import typing
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import DA, baseline, make_credit_code, make_vin, with_
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ledger import cli
from test_store_workflow import (
    ACTOR,
    SUBMIT_DAY,
    clock,
    decide,
    dump_text,
    submit,
    write,
)

from icv_permits.core.model.application import Application
from icv_permits.core.model.ids import (
    mask_id_number,
    mask_phone,
    resident_id_check_char,
    uscc_check_char,
    vin_check_digit,
)
from icv_permits.core.personal_text import (
    FREE_TEXT_FIELDS,
    KEPT_TEXT_FIELDS,
    MASKED_IN_TEXT,
    find_numbers,
    mask_free_text,
    mask_text,
    mask_value,
)

ID = "11010519491231002X"  # a valid number (GB 11643 check character X)
ID_MASKED = mask_id_number(ID)
MOBILE = "13812345678"
MOBILE_MASKED = mask_phone(MOBILE)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def valid_id(area: str, birth: dt.date, seq: int) -> str:
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + resident_id_check_char(first17)


# ---------------------------------------------------------------- the scanner: hits


@pytest.mark.parametrize(("text", "expected"), [
    (f"驾驶人身份证号{ID}，电话{MOBILE}。", f"驾驶人身份证号{ID_MASKED}，电话{MOBILE_MASKED}。"),
    (ID, ID_MASKED),
    (ID.lower(), ID_MASKED),  # a lower-case check character
    ("身份证 110105 19491231 002X 已核实", f"身份证 {ID_MASKED} 已核实"),
    ("110105-19491231-002X", ID_MASKED),
    (ID.translate(FULL_WIDTH), ID_MASKED),  # full-width digits are read as digits
    ("旧证号340104900101001", "旧证号" + mask_id_number("340104900101001")),  # the 15-digit first generation
    ("340104 900101 001", mask_id_number("340104900101001")),
    (MOBILE, MOBILE_MASKED),
    (MOBILE.translate(FULL_WIDTH), MOBILE_MASKED),
    ("手机：138 1234 5678", "手机：" + mask_phone("138 1234 5678")),
    ("138-1234-5678", mask_phone("138-1234-5678")),
    ("+86 138-1234-5678", "+86 " + mask_phone("138-1234-5678")),
    ("+8613812345678", "+86" + MOBILE_MASKED),
    ("0086 13812345678", "0086 " + MOBILE_MASKED),
    ("(+86)13812345678", "(+86)" + MOBILE_MASKED),
    ("8613812345678", "86" + MOBILE_MASKED),
    ("Tel:19912345678;", "Tel:" + mask_phone("19912345678") + ";"),
    ("电话:13812345678,13912345678、13712345678", "电话:" + ",".join(mask_phone(m) for m in ("13812345678", "13912345678")) + "、" + mask_phone("13712345678")),
    ("座机0551-65123456", "座机" + mask_phone("0551-65123456")),
    ("(010)87654321", mask_phone("(010)87654321")),
    ("021 6512 3456", mask_phone("021 6512 3456")),
    ("0551-6520 7731", mask_phone("0551-6520 7731")),
    ("02165123456", mask_phone("02165123456")),
])
def test_numbers_are_found_and_masked_with_the_ids_masks(text, expected):
    assert mask_text(text) == expected
    assert mask_text(expected) == expected


def test_what_is_found_is_named_and_placed():
    text = f"甲{ID}乙{MOBILE}丙0551-65123456"
    found = find_numbers(text)
    assert [(f.kind, text[f.start:f.end], f.masked) for f in found] == [
        ("id_number", ID, ID_MASKED), ("mobile", MOBILE, MOBILE_MASKED), ("landline", "0551-65123456", mask_phone("0551-65123456"))]


# ---------------------------------------------------------------- the scanner: near misses


@pytest.mark.parametrize("text", [
    make_vin(1), f"车辆{make_vin(138)}发生事故", "LSVAU2180N2000017", "1G1YY22G965104378",  # VINs
    make_credit_code(1), f"统一社会信用代码{make_credit_code(12)}",  # credit codes with letters
    "2026-01-05", "20260105", "2026年1月5日", "2026/01/05 09:30:00",  # dates and times
    "13800000000元", "¥13912345678", "￥ 13912345678", "RMB 13912345678", "13812345678.50", "1.13812345678",
    "赔偿50000元", "1,380,000,000", "13812345678万元",  # amounts
    "皖A12345试", "皖AD12345", "沪A·1234学",  # plate numbers
    "AH-RT-2026-0001", "皖智网测〔2026〕001号", "AH-DA-2026-0001",  # notice numbers
    "tel13812345678", "ID11010519491231002X", f"{ID}A", f"9{MOBILE}", f"{MOBILE}0",  # glued to letters or digits
    "11010519491231002Y", "110105194912310021",  # wrong check character (strict)
    "000105194912310021", "990105194912310027",  # no province
    "110105194913310021", "110105184912310020",  # impossible birth date or year
    "1234567890", "12345678901", "10012345678", "123456789012345678901",  # other lengths and prefixes
    "sha256:4f1a13812345678ab", "0123456789", "01012345678901",
    "policy PDAA202534010000012345", "报告编号AHTC-2025-0001",
])
def test_near_misses_are_left_alone(text):
    assert find_numbers(text) == []
    assert mask_text(text) == text


def test_a_credit_code_of_digits_only_is_not_an_id_number_even_loosely():
    first17 = "11010519491231000"  # a credit code may be all digits, and read as an ID number have a
    code = first17 + uscc_check_char(first17)  # province and a birth date: it is still not a mistyped ID
    assert code.isdigit() and resident_id_check_char(first17) != code[-1]
    assert mask_text(code, strict=False) == code
    other = first17 + str((int(code[-1]) + 1) % 10)  # neither a credit code nor a valid ID number
    assert mask_text(other, strict=False) == mask_id_number(other)


def test_error_messages_scan_loosely_a_mistyped_id_number_is_masked():
    wrong = ID[:-1] + "5"
    assert mask_text(wrong) == wrong  # stored text: strict
    assert mask_text(wrong, strict=False) == mask_id_number(wrong)
    assert mask_value(wrong) == mask_id_number(wrong)
    assert mask_value(13812345678) == MOBILE_MASKED  # an integer read from YAML
    assert mask_value(2026) == 2026 and mask_value(True) is True and mask_value(None) is None


# ---------------------------------------------------------------- the scanner: properties

AREAS = st.sampled_from(["110105", "340104", "310115", "440305", "510107", "650102"])
BIRTHS = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2015, 12, 31))
CJK = st.text(alphabet=st.sampled_from("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手期根论运农指几九区强放决西被干做必战先回则任取据处理府研质难"),
              max_size=12)
PUNCT = st.sampled_from(["", " ", "，", "。", "：", ":", "（", "）", "、", "\n"])


@settings(max_examples=300)
@given(CJK, PUNCT, AREAS, BIRTHS, st.integers(0, 999), PUNCT, CJK, st.booleans(), st.sampled_from(["", " ", "-"]))
def test_a_valid_id_number_in_chinese_text_is_always_masked(before, p1, area, birth, seq, p2, after, full_width, sep):
    number = valid_id(area, birth, seq)
    written = number[:6] + sep + number[6:14] + sep + number[14:]
    if full_width:
        written = written.translate(FULL_WIDTH)
    out = mask_text(before + p1 + written + p2 + after)
    assert out == before + p1 + mask_id_number(number) + p2 + after
    assert number[6:14] not in out  # the birth date never shows


@settings(max_examples=300)
@given(CJK, PUNCT, st.sampled_from("3456789"), st.integers(0, 10**9 - 1), PUNCT, CJK,
       st.sampled_from(["", "+86", "+86 ", "0086", "86"]), st.booleans(), st.sampled_from(["", " ", "-"]))
def test_a_mobile_number_in_chinese_text_is_always_masked(before, p1, second, rest, p2, after, prefix, full_width, sep):
    number = f"1{second}{rest:09d}"
    national = number[:3] + sep + number[3:7] + sep + number[7:]
    written = prefix + national
    if full_width:
        written = written.translate(FULL_WIDTH)
    out = mask_text(before + p1 + written + p2 + after)
    assert out == before + p1 + prefix + mask_phone(national) + p2 + after


def _digits(s: str) -> int:
    return sum(c.isdigit() for c in s)  # full-width digits count too


TEXT = st.text(alphabet=st.sampled_from(list("0123456789０１２３８９Xx +-()（）.,元¥年月日号abcLS电话身份证") + ["\u3000"]), max_size=60)


@settings(max_examples=500)
@given(TEXT)
def test_masking_is_idempotent_and_never_adds_a_digit(text):
    once = mask_text(text)
    assert mask_text(once) == once
    assert find_numbers(once) == []
    assert _digits(once) <= _digits(text)
    assert len(once) <= len(text)
    # every number found hides at least four of its digits
    for f in find_numbers(text):
        assert f.masked.count("*") >= 4


@settings(max_examples=200)
@given(CJK, st.text(alphabet="0123456789ABCDEFGHJKLMNPRSTUVWXYZ", min_size=17, max_size=17), CJK)
def test_a_vin_is_never_masked(before, body, after):
    vin = body[:8] + vin_check_digit(body) + body[9:]
    if vin.isdigit():  # a VIN always holds letters (its maker's code)
        vin = "L" + vin[1:]
    text = before + vin + after
    assert mask_text(text) == text


@settings(max_examples=200)
@given(CJK, st.sampled_from("159Y"), st.sampled_from("123"), AREAS, st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9), CJK)
def test_a_credit_code_with_a_letter_is_never_masked(before, authority, kind, area, org, after):
    first17 = authority + kind + area + ("M" + org[1:] if org.isdigit() else org)
    code = first17 + uscc_check_char(first17)
    text = before + code + after
    assert mask_text(text) == text and mask_text(text, strict=False) == text


# ---------------------------------------------------------------- the application's text fields


def _text_leaves(model, path: str = "") -> set[str]:
    from pydantic import BaseModel

    out: set[str] = set()
    for name, info in model.model_fields.items():
        ann, here = info.annotation, f"{path}{name}"
        while True:
            origin = typing.get_origin(ann)
            if origin is typing.Annotated:
                ann = typing.get_args(ann)[0]
            elif origin in (typing.Union, types.UnionType):
                ann = next(a for a in typing.get_args(ann) if a is not type(None))
            elif origin is list:
                ann, here = typing.get_args(ann)[0], here + "[]"
            else:
                break
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= _text_leaves(ann, here + ".")
        elif ann is str:
            out.add(here)
    return out


def test_every_text_field_of_the_model_is_either_masked_or_kept_for_a_reason():
    leaves = _text_leaves(Application)
    assert set(FREE_TEXT_FIELDS) | set(KEPT_TEXT_FIELDS) == leaves
    assert not set(FREE_TEXT_FIELDS) & set(KEPT_TEXT_FIELDS)
    assert {"incidents[].description", "drivers[].name", "entity.name"} <= set(FREE_TEXT_FIELDS)


def _with_numbers(app: dict) -> dict:
    app = with_(app, "entity.name", f"合肥测试智行科技有限公司（联系人{MOBILE}）", "drivers[0].name", f"张三 {ID}",
                "vehicles[0].brand_model", "测试 T-1 Robotaxi 售后0551-65123456")
    app["incidents"] = [{"kind": "violation", "date": "2026-10-01", "vin": app["vehicles"][0]["vin"], "during_road_test": False,
                         "police_reference": "皖公交决字〔2026〕第340104202610010012号",
                         "description": f"驾驶人张三（身份证{ID.translate(FULL_WIDTH)}，手机 +86 139-1234-5678）违停，已处理"}]
    return app


def test_mask_free_text_changes_only_the_free_text_and_says_where():
    doc = _with_numbers(baseline(DA))
    before = json.loads(json.dumps(doc))
    changed = mask_free_text(doc)
    assert changed == [{"path": p, "method": MASKED_IN_TEXT} for p in
                       ("entity.name", "drivers[0].name", "vehicles[0].brand_model", "incidents[0].description")]
    assert doc["incidents"][0]["description"] == f"驾驶人张三（身份证{ID_MASKED}，手机 +86 {mask_phone('139-1234-5678')}）违停，已处理"
    assert doc["drivers"][0]["name"] == f"张三 {ID_MASKED}"
    assert doc["incidents"][0]["police_reference"] == before["incidents"][0]["police_reference"]  # a document number: kept
    assert doc["drivers"][0]["id_number"] == before["drivers"][0]["id_number"]  # the store's pseudonymisation handles it
    doc["incidents"][0]["description"] = before["incidents"][0]["description"]
    for key in ("entity", "drivers", "vehicles"):
        doc[key], before[key] = None, None
    assert doc == before
    assert mask_free_text(doc) == [{"path": "incidents[0].description", "method": MASKED_IN_TEXT}]
    assert mask_free_text(doc) == []


# ---------------------------------------------------------------- the office: store, log, export, replay


def _clear_spellings() -> list[str]:
    return [ID, ID[:-1], ID[6:14] + ID[14:17], MOBILE, "13912345678", "139-1234-5678", "65123456", "13711112222", "13600001111", "110105194912"]


def _raw_bytes(store) -> bytes:
    if store.backend != "sqlite":
        return b""
    path = Path(store.url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_no_number_typed_into_free_text_is_stored_logged_or_exported(store, tmp_path):
    from icv_permits.adapters.store import tables as T
    from icv_permits.services import audit
    from icv_permits.services import office as W

    app = _with_numbers(baseline(DA))
    first = submit(store, tmp_path, app)
    sid = first.submission.id
    decide(store, sid, "return", reason=f"请补正：驾驶人身份证号 {ID} 与驾驶证不符，请联系 {MOBILE}")
    submit(store, tmp_path, app)
    res = W.decide(store, sid, "approve", reason="经审核同意，经办人电话13711112222", actor="审核员乙 13600001111", clock=SUBMIT_DAY)
    assert res.review["reason"] == f"经审核同意，经办人电话{mask_phone('13711112222')}"
    assert res.review["actor"] == f"审核员乙 {mask_phone('13600001111')}"
    W.renew_plates(store, res.notice["number"], actor="窗口 13600001111", clock=clock(2027, 5, 20))

    _, text = dump_text(store)
    out = io.StringIO()
    audit.export_jsonl(store, out)
    exported = out.getvalue()
    raw = _raw_bytes(store)
    for clear in _clear_spellings():
        assert clear not in text, clear
        assert clear not in exported, clear
        assert clear.encode() not in raw, clear
        assert clear.translate(FULL_WIDTH).encode() not in raw
    assert ID_MASKED in text and ID_MASKED in exported
    assert mask_phone("13600001111") in exported  # the actor, in the review and the renewal records

    with store.read() as s:
        versions = s.exec(sa.select(T.SubmissionVersion).order_by(T.SubmissionVersion.number)).scalars().all()
        entity_name = s.exec(sa.select(T.Entity.name)).scalars().one()
        driver_names = s.exec(sa.select(T.Driver.name)).scalars().all()
    assert entity_name == f"合肥测试智行科技有限公司（联系人{MOBILE_MASKED}）"
    assert f"张三 {ID_MASKED}" in driver_names
    for v in versions:
        changed = json.loads(v.masked_fields)
        assert {"path": "incidents[0].description", "method": MASKED_IN_TEXT} in changed
        assert {"path": "drivers[0].name", "method": MASKED_IN_TEXT} in changed
    # the log's engine decisions carry the same list, so an auditor sees it without the database
    engine = [r for r in map(json.loads, exported.splitlines()) if r.get("kind") == "engine_decision"]
    assert len(engine) == 4
    for r in engine:
        body = r["body"] if isinstance(r["body"], dict) else json.loads(r["body"])
        assert {"path": "incidents[0].description", "method": MASKED_IN_TEXT} in body["masked_fields"]

    # the engine judged the stored, masked snapshot: every decision replays identically
    results = list(audit.replay(store))
    assert len(results) == 4 and all(r.match for r in results), [r.to_json() for r in results]


def test_the_file_name_and_the_actor_of_a_submission_are_masked_too(store, tmp_path):
    from icv_permits.services import office as W

    path = write(tmp_path, baseline(DA))
    named = path.with_name(f"张三{MOBILE}.yaml")
    path.rename(named)
    res = W.submit(store, named, actor=f"申请人{MOBILE}", clock=SUBMIT_DAY)
    view, _ = W.show(store, res.submission.id)
    assert view.versions[0]["file_name"] == f"张三{MOBILE_MASKED}.yaml"
    assert view.versions[0]["actor"] == f"申请人{MOBILE_MASKED}"
    _, text = dump_text(store)
    assert MOBILE not in text


def test_a_decision_reason_given_on_the_command_line_is_stored_masked(store, tmp_path):
    from icv_permits.services import office as W

    sid = W.submit(store, write(tmp_path, baseline(DA)), actor=ACTOR, clock=SUBMIT_DAY).submission.id
    r = cli("decide", sid, "--return", "--reason", f"请核对身份证{ID}", "--format", "json",
            env={"ICV_PERMITS_NOW": "2026-11-27T10:00:00+08:00"})
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["review"]["reason"] == f"请核对身份证{ID_MASKED}"
    assert ID not in r.stdout
    _, text = dump_text(store)
    assert ID not in text


# ---------------------------------------------------------------- error messages


def _bad_file(tmp_path, value) -> Path:
    return write(tmp_path, with_(baseline(DA), "drivers[0].contract", value))


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", f'drivers[0].contract: "{ID_MASKED}" is not an allowed value'),
    ("zh", f"drivers[0].contract: “{ID_MASKED}”不是允许的取值"),
])
def test_an_id_number_in_the_wrong_field_is_echoed_masked(tmp_path, lang, expected):
    r = cli("check", _bad_file(tmp_path, ID), "--lang", lang)
    assert r.exit_code == 2
    assert expected in r.output
    assert ID not in r.output and ID[6:14] not in r.output


@pytest.mark.parametrize("value", [MOBILE, 13812345678, f"  {MOBILE} ", "+86 138-1234-5678", ID[:-1] + "5"])
def test_any_number_in_an_error_message_is_masked_whatever_the_field(tmp_path, value):
    r = cli("check", _bad_file(tmp_path, value), "--lang", "en")
    assert r.exit_code == 2
    digits = "".join(c for c in str(value) if c.isdigit())
    assert digits not in "".join(c for c in r.output if c.isdigit() or c == "\n")
    assert "*" in r.output


def test_a_number_in_a_date_or_an_unknown_field_is_masked_and_the_path_is_kept(tmp_path):
    app = with_(baseline(DA), "period.start", f"见电话{MOBILE}", "drivers[0].licence.first_issued", f"{ID}")
    app["drivers"][0]["remark"] = MOBILE
    r = cli("check", write(tmp_path, app), "--lang", "en")
    assert r.exit_code == 2
    assert "period.start" in r.output and "drivers[0].licence.first_issued" in r.output and "drivers[0].remark" in r.output
    assert MOBILE not in r.output and ID not in r.output and ID[:14] not in r.output
    assert MOBILE_MASKED in r.output


def test_a_clipped_value_in_a_message_never_shows_the_start_of_a_number(tmp_path):
    long = "说明" * 15 + ID + " 备注"  # a validator shows the first 40 characters: the ID would be cut after 10
    r = cli("check", write(tmp_path, with_(baseline(DA), "application_date", long)), "--lang", "en")
    assert r.exit_code == 2
    assert ID[:10] not in r.output and "1101051949" not in r.output


def test_the_pydantic_conversion_masks_values_not_locations():
    from pydantic import ValidationError

    from icv_permits.adapters.documents import validation_problems

    doc = with_(baseline(DA), "drivers[0].contract", ID, "drivers[0].licence.classes", [MOBILE])
    with pytest.raises(ValidationError) as exc:
        Application.model_validate(doc)
    problems = validation_problems(exc.value, model=Application)
    assert [p.location for p in problems] == ["drivers[0].contract", "drivers[0].licence.classes[0]"]
    text = json.dumps([p.params for p in problems], ensure_ascii=False)
    assert ID not in text and MOBILE not in text and ID_MASKED in text and MOBILE_MASKED in text


# ---------------------------------------------------------------- the applicant's pre-check


def test_the_pre_check_report_shows_free_text_masked_as_the_office_will(tmp_path):
    app = _with_numbers(baseline(DA))
    path = write(tmp_path, app)
    for fmt in ("text", "json", "markdown"):
        r = cli("check", path, "--format", fmt, "--lang", "zh", "--as-of", "2026-11-27", "--verbose")
        assert r.exit_code in (0, 1, 3), r.output
        assert ID not in r.output and MOBILE not in r.output, fmt
    r = cli("check", path, "--format", "json", "--lang", "en", "--as-of", "2026-11-27", "--verbose")
    assert f"张三 {ID_MASKED}" in r.output  # the driver's label: name (masked ID number)

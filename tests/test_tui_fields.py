"""The guided application's table of fields (tui/fields.py) and the typed-text forms of values
(tui/common.py), without running the app.

F1 shows, for the focused field, the rules of the pack that declare it (``fields:`` in
``rules.yaml``): the declarations must be right. The test changes each field of the examples
(removed, a yes/no flipped, a list emptied) and checks that the rules F1 names for the example's
activity include one whose findings change."""

from __future__ import annotations

import collections
import copy
import datetime as dt
from pathlib import Path

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("textual")

from icv_permits.adapters.documents import read_document  # noqa: E402
from icv_permits.adapters.packs import load_pack  # noqa: E402
from icv_permits.services import drafts as D  # noqa: E402
from icv_permits.services.precheck import FixedClock, check_application  # noqa: E402
from icv_permits.tui import fields as F  # noqa: E402
from icv_permits.tui.common import STRUCTURED, parse_text, show_text  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLOCK = FixedClock(pendulum.datetime(2026, 11, 27, 10, 0, tz="Asia/Shanghai"))


def _specs():
    for s in F.STEPS:
        for f in s.fields:
            yield f.path, f
        for p in s.lists:
            for f in p.fields:
                yield f"{p.path}[0].{f.path}", f


@pytest.fixture(scope="module")
def pack():
    return load_pack("anhui-2025")


@pytest.fixture(scope="module")
def examples():
    return {p: read_document(p) for p in sorted(EXAMPLES.glob("*.yaml")) if p.name != "expected.yaml"}


def _outcomes(doc: dict, pack, base: Path):
    status = D.validate_draft(doc)
    if status.application is None:
        return None
    result = check_application(status.application, pack=pack, clock=CLOCK, base_dir=base)
    out = collections.defaultdict(list)
    for f in result.decision.findings:
        out[f.rule_id].append((f.outcome.value, f.reason, f.field, sorted(map(str, f.values.items()))))
    return out


def test_every_field_is_a_path_of_the_application_model():
    from icv_permits.core.pack_fields import path_exists

    for path, _spec in _specs():
        assert path_exists(path.replace("[0]", "[]")), path


def test_f1_names_the_rules_that_judge_each_field(pack, examples):
    """For each field and example: when changing the field changes findings, F1 (the rules of the
    pack declaring the field, for the example's activity) names at least one of the rules whose
    findings change; a field whose changes move findings must be declared by some rule."""
    judged = set()
    wrong = []
    for path, _spec in _specs():
        for file, doc in examples.items():
            value = D.get_path(doc, path)
            if value is None:
                continue
            base = _outcomes(doc, pack, file.parent)
            variants = [None]
            if isinstance(value, bool):
                variants.append(not value)
            elif isinstance(value, list) and value:
                variants.append([])
            changed: set[str] = set()
            for v in variants:
                mutated = copy.deepcopy(doc)
                D.set_path(mutated, path, v)
                after = _outcomes(mutated, pack, file.parent)
                if base is None or after is None:
                    continue
                changed |= {rid for rid in set(base) | set(after) if base.get(rid) != after.get(rid)}
            if changed:
                judged.add(path)
                named = F.rules_for(path, doc, pack)
                if not set(named) & changed:
                    wrong.append(f"{path} ({file.name}): F1 names {named}, the findings of {sorted(changed)} change")
    assert not wrong, "\n".join(wrong)
    assert len(judged) >= 60  # most fields are exercised by the examples


# ---------------------------------------------------------------- typed text ↔ values

_dates = st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
_word = st.text(st.sampled_from("超速闯红灯违停占用公交车道ABCxyz50%"), min_size=1, max_size=8)
_violations = st.lists(st.fixed_dictionaries({
    "date": _dates, "kind": st.lists(_word, min_size=1, max_size=3).map(" ".join), "serious": st.booleans()}), max_size=4)
_accidents = st.lists(st.fixed_dictionaries({
    "date": _dates, "liability": st.sampled_from(["full", "main", "equal", "minor", "none"]),
    "death_or_serious_injury": st.booleans()}), max_size=4)


@given(_violations, st.sampled_from(["zh", "en"]))
def test_violations_typed_back_are_the_same_records(records, lang):
    assert parse_text("violations", show_text("violations", records, lang)) == records


@given(_accidents, st.sampled_from(["zh", "en"]))
def test_accidents_typed_back_are_the_same_records(records, lang):
    assert parse_text("accidents", show_text("accidents", records, lang)) == records


@given(st.one_of(st.none(), st.booleans()), st.sampled_from(["zh", "en"]))
def test_yes_no_shown_in_the_language_reads_back(value, lang):
    shown = show_text("bool", value, lang)
    assert parse_text("bool", shown) == value
    assert shown in ({"", "是", "否"} if lang == "zh" else {"", "yes", "no"})


@pytest.mark.parametrize(("kind", "text", "value"), [
    ("violations", "none", []),
    ("violations", "无", []),
    ("violations", "", None),  # not stated
    ("violations", "2024-03-02 超速50%以上 serious", [{"date": "2024-03-02", "kind": "超速50%以上", "serious": True}]),
    ("violations", "2024-03-02 超速 严重；2023-01-05 违停", [
        {"date": "2024-03-02", "kind": "超速", "serious": True}, {"date": "2023-01-05", "kind": "违停", "serious": False}]),
    ("violations", "2024-03-02 serious", [{"date": "2024-03-02", "kind": "serious", "serious": False}]),
    ("accidents", "2023-05-01 minor; 2021-09-12 main injury", [
        {"date": "2023-05-01", "liability": "minor", "death_or_serious_injury": False},
        {"date": "2021-09-12", "liability": "main", "death_or_serious_injury": True}]),
    ("accidents", "2021-09-12 main 伤亡", [{"date": "2021-09-12", "liability": "main", "death_or_serious_injury": True}]),
])
def test_records_are_read_as_typed(kind, text, value):
    assert parse_text(kind, text) == value


@pytest.mark.parametrize(("kind", "text"), [
    ("violations", "2024-03-02"),  # no kind
    ("accidents", "2024-03-02"),  # no liability
    ("accidents", "2024-03-02 main badly hurt"),  # one word too many
    ("prior", "HF-GX-001 180"),  # no km
])
def test_what_cannot_be_read_is_kept_as_typed(kind, text):
    assert kind in STRUCTURED
    assert parse_text(kind, text) == text


def test_one_item_of_each_list_is_shown_on_the_form(pack):
    draft = read_document(Path(__file__).resolve().parent.parent / "bench" / "data" / "app-5x5.yaml")
    vehicles = F.step("vehicles")
    every = [p for _h, spec, p in F.rows(vehicles, draft, pack) if spec]
    one = [p for _h, spec, p in F.rows(vehicles, draft, pack, {"vehicles": 3}) if spec]
    assert len(every) == 5 * len(one)
    assert all(p.startswith("vehicles[3].") for p in one)
    # an index past the end shows the last item
    assert all(p.startswith("vehicles[4].") for _h, spec, p in F.rows(vehicles, draft, pack, {"vehicles": 9}) if spec)


def test_consortium_members_and_incidents_are_asked_where_they_apply(pack):
    da = {"activity": "demonstration_application", "entity": {"consortium": {"members": [{}, {}]}}, "incidents": [{}]}
    entity = [p for _h, spec, p in F.rows(F.step("entity"), da, pack) if spec]
    assert "entity.consortium.members[1].credit_code" in entity
    assert "incidents[0].liability" in [p for _h, spec, p in F.rows(F.step("evidence"), da, pack) if spec]
    rt = dict(da, activity="road_test")
    assert not [p for _h, _s, p in F.rows(F.step("entity"), rt, pack) if p.startswith("entity.consortium.members")]
    # the pack judges incidents during road testing (EVD-02/03) for a demonstration only
    assert not [p for _h, _s, p in F.rows(F.step("evidence"), rt, pack) if p.startswith("incidents")]
    assert F.rules_for("entity.consortium.members[1].credit_code", da, pack) == ("ENT-07",)
